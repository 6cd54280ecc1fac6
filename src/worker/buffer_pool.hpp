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
// never take more than kMaxPipes * 2 descriptors; when it is exhausted a flow
// just keeps using buffers.
class PipePool {
public:
    static constexpr size_t kMaxPipes = 256;
    static constexpr int kPipeSize = 256 * 1024;

    PipePool() = default;
    PipePool(const PipePool&) = delete;
    PipePool& operator=(const PipePool&) = delete;
    ~PipePool() {
        for (auto [r, w] : free_) {
            ::close(r);
            ::close(w);
        }
    }

    bool take(int& r, int& w) {
        if (!free_.empty()) {
            std::tie(r, w) = free_.back();
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
        if (empty) {
            free_.emplace_back(r, w);
            return;
        }
        ::close(r);
        ::close(w);
        --in_use_;
    }

private:
    std::vector<std::pair<int, int>> free_;
    size_t in_use_ = 0;  // pipes created and not closed (in flows or free)
};

}  // namespace ep::worker
