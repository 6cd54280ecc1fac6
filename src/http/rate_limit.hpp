// rate_limit.hpp: the buckets of the rate_limit middleware (research/http.md
// §7), shared by every worker of every generation: a table in an anonymous
// shared mapping that the master makes before it forks, so N workers behind
// SO_REUSEPORT hold one limit, not N.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace ep::http {

// A token bucket per key as GCRA (the generic cell rate algorithm): one
// "theoretical arrival time" (TAT) per key says when the bucket is full
// again; a request at `now` is allowed when max(TAT, now) + interval is at
// most now + burst * interval, and then moves the TAT there. So `burst`
// requests pass at once, then one per interval.
//
// Each slot is one 64-bit word updated with compare-and-swap, so no lock is
// held between processes (a worker killed mid-update leaves nothing
// locked): the top 16 bits are a fingerprint of the key, the low 48 the TAT
// in µs of table time (8.9 years). A slot whose TAT is past is a full bucket
// whichever key it holds, so any key may take it over. Slots are found by
// open addressing over a short probe from the key's hash; when every slot of
// the probe holds a live bucket of other keys the request is allowed (fail
// open: a full table must not deny service) and counted. Two keys with the
// same slot range and fingerprint share a bucket (1 in 65536 among the few
// keys of one probe): they are limited together, never let through.
class RateTable {
public:
    static constexpr size_t kProbe = 8;

    // Maps a table of `entries` slots (rounded up to a power of two) shared
    // with the children forked after this. Null when mmap fails (errno kept).
    static std::unique_ptr<RateTable> create(size_t entries);
    ~RateTable();
    RateTable(const RateTable&) = delete;
    RateTable& operator=(const RateTable&) = delete;

    // Table time: µs of CLOCK_MONOTONIC since create() (plus one, so it is
    // never 0), the same in every process sharing the table.
    uint64_t now_us() const;

    // One request of `key` (any 64-bit hash) at table time `now_us`: 0 when
    // allowed, else the µs to wait before the next request of this key would
    // be. `interval_us` = period / average (at least 1); `burst` >= 1.
    uint64_t take(uint64_t key, uint64_t interval_us, uint64_t burst, uint64_t now_us);

    // Requests let through because the probe found no usable slot.
    uint64_t fail_open_count() const;
    size_t entries() const { return mask_ + 1; }

private:
    struct Shared;
    RateTable(Shared* shared, size_t bytes, size_t entries, uint64_t epoch_us);
    Shared* shared_;
    size_t bytes_;
    size_t mask_;
    uint64_t epoch_us_;   // monotonic µs at create(), minus one
};

}  // namespace ep::http
