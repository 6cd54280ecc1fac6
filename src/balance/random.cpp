// random.cpp: weighted random choice. No shared state at all, so workers
// never take the service lock for it; the spread is fair only on average.
#include "balance/balancer.hpp"

namespace ep::balance {

// One draw in [0, total weight), then a walk over the cumulative weights (as
// nginx `random` does, without its binary search: the candidate list is built
// per connection anyway, so the walk is no extra order of cost).
size_t weighted_random_pick(std::span<Candidate> c, Rng& rng) {
    if (c.size() == 1) return 0;
    uint64_t total = 0;
    for (const auto& s : c) total += s.weight;
    uint64_t draw = rng.below(total);
    for (size_t i = 0; i < c.size(); ++i) {
        if (draw < c[i].weight) return i;
        draw -= c[i].weight;
    }
    return c.size() - 1;  // unreachable: draw < total
}

namespace {

class Random final : public Balancer {
public:
    size_t pick(std::span<Candidate> usable, std::span<const ServerInfo>, const Key&, Rng& rng) override {
        return weighted_random_pick(usable, rng);
    }
};

}  // namespace

std::unique_ptr<Balancer> make_random() { return std::make_unique<Random>(); }

}  // namespace ep::balance
