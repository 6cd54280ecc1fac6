// buffer_pool.hpp: the per-worker pool of relay buffers. A connection takes a
// buffer only while bytes are in flight and gives it back as soon as they are
// sent, so idle connections hold no buffer memory and the relay never
// allocates per chunk.
#pragma once
#include <cstddef>
#include <memory>
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

}  // namespace ep::worker
