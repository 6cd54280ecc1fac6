// rate_limit.cpp: the shared GCRA table of the rate_limit middleware
// (rate_limit.hpp): lock-free slots in an anonymous MAP_SHARED mapping.
#include "http/rate_limit.hpp"

#include <sys/mman.h>

#include <new>

#include "util/clock.hpp"

namespace ep::http {

namespace {

constexpr uint64_t kTimeBits = 48;
constexpr uint64_t kTimeMask = (uint64_t(1) << kTimeBits) - 1;
// The most a bucket may hold, in µs of credit: keeps TAT within 48 bits for
// any configured rate (12.7 days; a burst that long is no limit anyway).
constexpr uint64_t kMaxSpan = uint64_t(1) << 40;
// CAS attempts before giving up on a slot that other workers keep changing.
constexpr int kAttempts = 16;

static_assert(std::atomic<uint64_t>::is_always_lock_free, "the table is shared between processes");

uint64_t pack(uint64_t fingerprint, uint64_t tat) { return fingerprint << kTimeBits | (tat & kTimeMask); }

}  // namespace

// The mapping: this header, then the slots.
struct RateTable::Shared {
    alignas(64) std::atomic<uint64_t> fail_open{0};
    std::atomic<uint64_t>* slots() { return reinterpret_cast<std::atomic<uint64_t>*>(this + 1); }
};


std::unique_ptr<RateTable> RateTable::create(size_t entries) {
    size_t n = kProbe;
    while (n < entries) n <<= 1;
    const size_t bytes = sizeof(Shared) + n * sizeof(std::atomic<uint64_t>);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    static_assert(sizeof(Shared) == 64, "the slots start on their own cache line");
    auto* shared = new (p) Shared;
    for (size_t i = 0; i < n; ++i) new (&shared->slots()[i]) std::atomic<uint64_t>(0);
    return std::unique_ptr<RateTable>(new RateTable(shared, bytes, n, monotonic_us() - 1));
}

RateTable::RateTable(Shared* shared, size_t bytes, size_t entries, uint64_t epoch_us)
    : shared_(shared), bytes_(bytes), mask_(entries - 1), epoch_us_(epoch_us) {}

RateTable::~RateTable() { munmap(shared_, bytes_); }

uint64_t RateTable::now_us() const { return monotonic_us() - epoch_us_; }

uint64_t RateTable::fail_open_count() const { return shared_->fail_open.load(std::memory_order_relaxed); }

uint64_t RateTable::take(uint64_t key, uint64_t interval_us, uint64_t burst, uint64_t now) {
    if (interval_us == 0) interval_us = 1;
    if (interval_us > kMaxSpan) interval_us = kMaxSpan;
    if (burst == 0) burst = 1;
    const uint64_t span = burst > kMaxSpan / interval_us ? kMaxSpan : burst * interval_us;
    now &= kTimeMask;
    // the index from the low bits, the fingerprint from the high ones: of a
    // well-mixed hash, independent
    const uint64_t fingerprint = key >> kTimeBits;
    const size_t start = size_t(key) & mask_;
    std::atomic<uint64_t>* slots = shared_->slots();

    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        std::atomic<uint64_t>* mine = nullptr;
        std::atomic<uint64_t>* expired = nullptr;
        uint64_t seen = 0, expired_seen = 0;
        for (size_t i = 0; i < kProbe; ++i) {
            std::atomic<uint64_t>& slot = slots[(start + i) & mask_];
            const uint64_t w = slot.load(std::memory_order_acquire);
            if (w >> kTimeBits == fingerprint) {
                mine = &slot;
                seen = w;
                break;
            }
            if (expired == nullptr && (w & kTimeMask) <= now) {
                expired = &slot;
                expired_seen = w;
            }
        }
        if (mine != nullptr) {
            const uint64_t tat = seen & kTimeMask;
            const uint64_t next = (tat > now ? tat : now) + interval_us;
            if (next - now > span) return next - now - span;
            if (mine->compare_exchange_weak(seen, pack(fingerprint, next), std::memory_order_acq_rel))
                return 0;
            continue;  // another worker moved this bucket (or took the slot): look again
        }
        if (expired == nullptr) break;
        // a full bucket, whoever held the slot: this request is its first
        if (expired->compare_exchange_weak(expired_seen, pack(fingerprint, now + interval_us),
                                           std::memory_order_acq_rel))
            return 0;
    }
    shared_->fail_open.fetch_add(1, std::memory_order_relaxed);
    return 0;
}

}  // namespace ep::http
