// balancer.hpp: the one interface behind which every balancing algorithm lives
// (DESIGN.md §4), one file per algorithm. Algorithms see plain candidate lists,
// so unit tests call them with vectors; the worker feeds them from shared memory.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace ep::balance {

// One usable server offered to an algorithm, in config order.
struct Candidate {
    uint32_t index;        // server position within its service
    uint32_t weight;       // current effective weight (> 0)
    uint64_t active;       // active connections over all workers
    int64_t* rr_current;   // SWRR state of this server (shared memory or a test vector)
};

// The hashing key of a connection: client address bytes (tcp) or the
// uri/header/cookie value (http). Empty: algorithms that hash fall back to a
// weighted random draw (no shared state, so still no lock).
struct Key {
    const uint8_t* data = nullptr;
    size_t size = 0;
};

// Per-worker random source (xoshiro256**); seeded from getrandom() in workers,
// fixed in tests.
class Rng {
public:
    explicit Rng(uint64_t seed);
    uint64_t next();
    uint64_t below(uint64_t n);  // uniform in [0, n), n > 0

private:
    uint64_t s_[4];
};

// The whole picture of one service's servers, used by the hashing algorithms
// to keep a table that does not depend on which servers are usable right now.
struct ServerInfo {
    std::string name;
    uint32_t weight;   // current effective weight; 0 = never chosen
    bool backup;
};

class Balancer {
public:
    virtual ~Balancer() = default;
    // Chooses among `usable` (non-empty). Returns a position in `usable`.
    // `all` is every server of the service (same tier filtering is the
    // caller's: `usable` holds only primaries, or only backups).
    // Callers hold the service lock when needs_lock() is true.
    virtual size_t pick(std::span<Candidate> usable, std::span<const ServerInfo> all, const Key& key,
                        Rng& rng) = 0;
    virtual bool needs_lock() const { return false; }
};

std::unique_ptr<Balancer> make_balancer(config::Balance algorithm);

// One factory per algorithm file (HAProxy's one-file-per-algorithm layout);
// make_balancer() is the table that maps config names onto them.
std::unique_ptr<Balancer> make_roundrobin();
std::unique_ptr<Balancer> make_leastconn();
std::unique_ptr<Balancer> make_random();
std::unique_ptr<Balancer> make_p2c();
std::unique_ptr<Balancer> make_maglev();  // source, maglev, uri, header, cookie

// Pure cores, shared by the algorithm classes and called directly by tests.
// nginx smooth weighted round robin over `c` (updates *rr_current).
size_t swrr_pick(std::span<Candidate> c);

// One SWRR step over the candidates from `first` on for which keep(candidate)
// holds (`first` must be kept); the others' state is untouched. swrr_pick is
// this over everything; leastconn runs it over the tied servers. In place:
// a pick allocates nothing.
template <typename Keep>
size_t swrr_pick_where(std::span<Candidate> c, size_t first, Keep keep) {
    int64_t total = 0;
    size_t best = first;
    for (size_t i = first; i < c.size(); ++i) {
        if (!keep(c[i])) continue;
        const auto weight = static_cast<int64_t>(c[i].weight);
        *c[i].rr_current += weight;
        total += weight;
        if (*c[i].rr_current > *c[best].rr_current) best = i;  // strict: the earliest wins ties
    }
    *c[best].rr_current -= total;
    return best;
}
// Fewest active per weight (cross-multiplied); ties resolved by SWRR over the tied set.
size_t leastconn_pick(std::span<Candidate> c);
// Weighted random draw.
size_t weighted_random_pick(std::span<Candidate> c, Rng& rng);
// Two distinct weighted draws, the one with fewer active per weight (tie: second draw).
size_t p2c_pick(std::span<Candidate> c, Rng& rng);

}  // namespace ep::balance
