// buffer_pool.hpp: the per-worker pool of relay buffers. A connection takes a
// buffer only while bytes are in flight and gives it back as soon as they are
// sent, so idle connections hold no buffer memory and the relay never
// allocates per chunk.
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "util/unique_fd.hpp"

namespace ep::worker {

class BufferPool {
public:
    static constexpr size_t kBufferSize = 16 * 1024;

    char* take() {
        if (free_.empty()) {
            owned_.push_back(std::make_unique<char[]>(kBufferSize));
            return owned_.back().get();
        }
        char* b = free_.back();
        free_.pop_back();
        return b;
    }
    void give(char* b) { free_.push_back(b); }
    size_t allocated() const { return owned_.size(); }

private:
    std::vector<std::unique_ptr<char[]>> owned_;
    std::vector<char*> free_;
};

// The per-worker pool of pipe pairs for splice(). Bounded, so bulk transfers
// never take more than kMaxPipes * 2 descriptors; when it is exhausted (or
// pipe2() fails, e.g. out of fds) a flow just keeps using buffers. The pool
// owns the pipes it holds; a flow owns the pair it took until it gives it back.
class PipePool {
public:
    static constexpr size_t kMaxPipes = 256;
    static constexpr int kPipeSize = 256 * 1024;

    bool take(int& r, int& w) {
        if (!free_.empty()) {
            r = free_.back().first.release();
            w = free_.back().second.release();
            free_.pop_back();
            return true;
        }
        if (in_use_ >= kMaxPipes) return false;
        int fds[2];
        if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
        ::fcntl(fds[0], F_SETPIPE_SZ, kPipeSize);  // fewer, larger splices; best effort
        r = fds[0];
        w = fds[1];
        ++in_use_;
        return true;
    }
    // A pipe that still holds bytes cannot be reused (they belong to a closed
    // connection): it is closed instead.
    void give(int r, int w, bool empty) {
        Pipe pipe{UniqueFd(r), UniqueFd(w)};
        if (empty) {
            free_.push_back(std::move(pipe));
            return;
        }
        --in_use_;  // closed as `pipe` goes
    }

private:
    using Pipe = std::pair<UniqueFd, UniqueFd>;  // read end, write end
    std::vector<Pipe> free_;
    size_t in_use_ = 0;  // pipes created and not closed (in flows or free)
};

}  // namespace ep::worker
