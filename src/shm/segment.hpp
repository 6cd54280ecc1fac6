// segment.hpp: creating and mapping the shared-memory file (layout.hpp).
// The master creates it read-write before forking (workers inherit the
// mapping); epstat and epctl map it read-only by path.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "shm/layout.hpp"

namespace ep::shm {

struct Capacity {
    uint32_t services = 0;
    uint32_t servers = 0;
    uint32_t workers = 0;
    uint32_t sessions_per_worker = 0;
    uint32_t routes = 0;
    uint32_t middlewares = 0;
};

size_t layout_size(const Capacity& cap);

// An mmap()ed segment; unmapped on destruction. Move-only.
class Segment {
public:
    Segment() = default;
    Segment(const Segment&) = delete;
    Segment& operator=(const Segment&) = delete;
    Segment(Segment&& o) noexcept;
    Segment& operator=(Segment&& o) noexcept;
    ~Segment();

    // Creates (or truncates) `path`, sizes it for `cap` and initialises the
    // header. Throws std::runtime_error naming the path and errno text.
    static Segment create(const std::string& path, const Capacity& cap);
    // Maps an existing segment read-only and validates magic, version and size.
    // Throws std::runtime_error with a clear message on any mismatch.
    static Segment open_readonly(const std::string& path);

    bool valid() const { return base_ != nullptr; }
    Header& header() const { return *reinterpret_cast<Header*>(base_); }
    std::span<ServiceSlot> services() const;   // all services_cap slots
    std::span<ServerSlot> servers() const;     // all servers_cap slots
    std::span<WorkerSlot> workers() const;     // all workers_cap slots
    std::span<SessionSlot> sessions(uint32_t worker_slot) const;
    std::span<RouteSlot> routes() const;           // all routes_cap slots
    std::span<MiddlewareSlot> middlewares() const; // all middlewares_cap slots

private:
    Segment(void* base, size_t size) : base_(static_cast<char*>(base)), size_(size) {}
    char* base_ = nullptr;
    size_t size_ = 0;
};

// Seqlock helpers for the catalog and per-server check text.
inline uint32_t seq_write_begin(std::atomic<uint32_t>& seq) {
    uint32_t s = seq.load(std::memory_order_relaxed) + 1;
    seq.store(s, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    return s;
}
inline void seq_write_end(std::atomic<uint32_t>& seq, uint32_t begun) {
    seq.store(begun + 1, std::memory_order_release);
}

// A process-shared spinlock word in the mapping (critical sections are a few
// hundred nanoseconds: one balancing decision). The word holds the owner's
// pid, so the master can release the lock of a worker killed while holding it.
class SpinGuard {
public:
    SpinGuard(std::atomic<uint32_t>& word, uint32_t owner);
    ~SpinGuard() { word_.store(0, std::memory_order_release); }
    SpinGuard(const SpinGuard&) = delete;
    SpinGuard& operator=(const SpinGuard&) = delete;

private:
    std::atomic<uint32_t>& word_;
};

// Frees a SpinGuard word that `owner` (a dead process) still holds; a word
// held by anyone else, or free, is left alone. True when it was released.
inline bool release_if_owner(std::atomic<uint32_t>& word, uint32_t owner) {
    return word.compare_exchange_strong(owner, 0, std::memory_order_release, std::memory_order_relaxed);
}

}  // namespace ep::shm
