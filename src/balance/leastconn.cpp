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

    // Smooth round robin over the tied servers only; untied servers keep
    // their round-robin state untouched, as in nginx.
    const Candidate reference = c[best];
    return swrr_pick_where(c, best, [&](const Candidate& x) { return compare_per_weight(x, reference) == 0; });
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
