// segment.cpp: create / map the shared-memory file described in layout.hpp.
#include "shm/segment.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

#include "util/clock.hpp"
#include "util/unique_fd.hpp"

namespace ep::shm {

namespace {
size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

std::runtime_error sys_error(const std::string& what, const std::string& path) {
    return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}
}  // namespace

namespace {

// Where each region starts, and the total size: the one description of the
// layout that creating and validating a segment both use.
struct Offsets {
    uint64_t services, servers, workers, sessions, routes, middlewares, total;
};

Offsets layout_offsets(const Capacity& cap) {
    Offsets o;
    o.services = round_up(sizeof(Header), 64);
    o.servers = o.services + uint64_t(cap.services) * sizeof(ServiceSlot);
    o.workers = o.servers + uint64_t(cap.servers) * sizeof(ServerSlot);
    o.sessions = o.workers + uint64_t(cap.workers) * sizeof(WorkerSlot);
    o.routes = o.sessions + uint64_t(cap.workers) * cap.sessions_per_worker * sizeof(SessionSlot);
    o.middlewares = o.routes + uint64_t(cap.routes) * sizeof(RouteSlot);
    o.total = round_up(o.middlewares + uint64_t(cap.middlewares) * sizeof(MiddlewareSlot), 4096);
    return o;
}

}  // namespace

size_t layout_size(const Capacity& cap) { return layout_offsets(cap).total; }

Segment::Segment(Segment&& o) noexcept
    : base_(std::exchange(o.base_, nullptr)), size_(std::exchange(o.size_, 0)) {}

Segment& Segment::operator=(Segment&& o) noexcept {
    if (this != &o) {
        if (base_) munmap(base_, size_);
        base_ = std::exchange(o.base_, nullptr);
        size_ = std::exchange(o.size_, 0);
    }
    return *this;
}

Segment::~Segment() {
    if (base_) munmap(base_, size_);
}

Segment Segment::create(const std::string& path, const Capacity& cap) {
    const size_t size = layout_size(cap);
    // A fresh inode each time: a reader that still maps an older file keeps a
    // consistent (stale) view instead of seeing it truncated under it.
    ::unlink(path.c_str());
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) throw sys_error("cannot create shared memory file", path);
    if (::ftruncate(fd.get(), off_t(size)) != 0) throw sys_error("cannot size shared memory file", path);
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (base == MAP_FAILED) throw sys_error("cannot map shared memory file", path);

    Segment seg(base, size);
    auto* h = new (base) Header{};
    h->magic = kMagic;
    h->version = kLayoutVersion;
    h->total_size = size;
    h->services_cap = cap.services;
    h->servers_cap = cap.servers;
    h->workers_cap = cap.workers;
    h->sessions_per_worker = cap.sessions_per_worker;
    h->routes_cap = cap.routes;
    h->middlewares_cap = cap.middlewares;
    const Offsets offsets = layout_offsets(cap);
    h->services_offset = offsets.services;
    h->servers_offset = offsets.servers;
    h->workers_offset = offsets.workers;
    h->sessions_offset = offsets.sessions;
    h->routes_offset = offsets.routes;
    h->middlewares_offset = offsets.middlewares;
    h->master_pid.store(int32_t(getpid()));
    h->start_unix_ms = wall_ms();
    h->heartbeat_ms.store(wall_ms());
    // The file is all zeroes (ftruncate), which is the initial state of every
    // slot; placement-new them so the atomics are formally alive.
    for (auto& s : seg.services()) new (&s) ServiceSlot{};
    for (auto& s : seg.servers()) new (&s) ServerSlot{};
    for (auto& w : seg.workers()) new (&w) WorkerSlot{};
    for (auto& r : seg.routes()) new (&r) RouteSlot{};
    for (auto& m : seg.middlewares()) new (&m) MiddlewareSlot{};
    return seg;
}

Segment Segment::open_readonly(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw sys_error("cannot open", path);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) throw sys_error("cannot stat", path);
    if (size_t(st.st_size) < sizeof(Header))
        throw std::runtime_error(path + ": not an easyproxy shared memory file (too small)");
    void* base = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd.get(), 0);
    if (base == MAP_FAILED) throw sys_error("cannot map", path);
    Segment seg(base, size_t(st.st_size));
    const Header& h = seg.header();
    if (h.magic != kMagic)
        throw std::runtime_error(path + ": not an easyproxy shared memory file (bad magic)");
    if (h.version != kLayoutVersion)
        throw std::runtime_error(path + ": shared memory layout version " + std::to_string(h.version) +
                                 ", this tool reads version " + std::to_string(kLayoutVersion));
    const Capacity cap{h.services_cap, h.servers_cap, h.workers_cap, h.sessions_per_worker, h.routes_cap,
                       h.middlewares_cap};
    const Offsets offsets = layout_offsets(cap);
    if (h.total_size != size_t(st.st_size) || h.total_size != offsets.total || h.routes_offset != offsets.routes ||
        h.middlewares_offset != offsets.middlewares)
        throw std::runtime_error(path + ": shared memory file size does not match its header");
    return seg;
}

std::span<ServiceSlot> Segment::services() const {
    const Header& h = header();
    return {reinterpret_cast<ServiceSlot*>(base_ + h.services_offset), h.services_cap};
}
std::span<ServerSlot> Segment::servers() const {
    const Header& h = header();
    return {reinterpret_cast<ServerSlot*>(base_ + h.servers_offset), h.servers_cap};
}
std::span<WorkerSlot> Segment::workers() const {
    const Header& h = header();
    return {reinterpret_cast<WorkerSlot*>(base_ + h.workers_offset), h.workers_cap};
}
std::span<SessionSlot> Segment::sessions(uint32_t worker_slot) const {
    const Header& h = header();
    auto* first = reinterpret_cast<SessionSlot*>(base_ + h.sessions_offset) + size_t(worker_slot) * h.sessions_per_worker;
    return {first, h.sessions_per_worker};
}

std::span<RouteSlot> Segment::routes() const {
    const Header& h = header();
    return {reinterpret_cast<RouteSlot*>(base_ + h.routes_offset), h.routes_cap};
}
std::span<MiddlewareSlot> Segment::middlewares() const {
    const Header& h = header();
    return {reinterpret_cast<MiddlewareSlot*>(base_ + h.middlewares_offset), h.middlewares_cap};
}

SpinGuard::SpinGuard(std::atomic<uint32_t>& word, uint32_t owner) : word_(word) {
    for (unsigned spins = 0;; ++spins) {
        uint32_t expected = 0;
        if (word_.compare_exchange_weak(expected, owner, std::memory_order_acquire, std::memory_order_relaxed)) return;
        if (spins > 64) sched_yield();
    }
}

}  // namespace ep::shm
