// leastconn.cpp: fewest active connections per weight, counted over all
// workers (nginx least_conn, ngx_stream_upstream_least_conn_module.c). Ties go
// smooth round robin over just the tied servers, so idle servers alternate.
#include "balance/balancer.hpp"

namespace ep::balance {

namespace {

using Wide = unsigned __int128;  // active * weight cannot overflow

// Compares a.active / a.weight with b.active / b.weight without division or
// rounding: negative, zero or positive like strcmp.
int compare_per_weight(const Candidate& a, const Candidate& b) {
    const Wide left = Wide(a.active) * b.weight;
    const Wide right = Wide(b.active) * a.weight;
    return left < right ? -1 : left > right ? 1 : 0;
}

}  // namespace

size_t leastconn_pick(std::span<Candidate> c) {
    size_t best = 0;
    size_t tied = 1;
    for (size_t i = 1; i < c.size(); ++i) {
        const int order = compare_per_weight(c[i], c[best]);
        if (order < 0) {
            best = i;
            tied = 1;
        } else if (order == 0) {
            ++tied;
        }
    }
    if (tied == 1) return best;

    // SWRR step over the tied servers only (same as swrr_pick, restricted),
    // done in place so a pick allocates nothing. Untied servers keep their
    // round-robin state untouched, as in nginx.
    const Candidate reference = c[best];
    int64_t total = 0;
    size_t chosen = best;
    for (size_t i = best; i < c.size(); ++i) {
        if (compare_per_weight(c[i], reference) != 0) continue;
        const auto weight = static_cast<int64_t>(c[i].weight);
        *c[i].rr_current += weight;
        total += weight;
        if (*c[i].rr_current > *c[chosen].rr_current) chosen = i;
    }
    *c[chosen].rr_current -= total;
    return chosen;
}

namespace {

class LeastConn final : public Balancer {
public:
    size_t pick(std::span<Candidate> usable, std::span<const ServerInfo>, const Key&, Rng&) override {
        return leastconn_pick(usable);
    }
    // Reads shared active counts and moves shared round-robin state.
    bool needs_lock() const override { return true; }
};

}  // namespace

std::unique_ptr<Balancer> make_leastconn() { return std::make_unique<LeastConn>(); }

}  // namespace ep::balance
