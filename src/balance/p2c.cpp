// p2c.cpp: power of two choices (nginx `random two least_conn`): two distinct
// weighted draws, keep the one with fewer active connections per weight. Nearly
// as even as leastconn, but reads only two counters and needs no lock.
#include "balance/balancer.hpp"

namespace ep::balance {

size_t p2c_pick(std::span<Candidate> c, Rng& rng) {
    if (c.size() == 1) return 0;
    const size_t first = weighted_random_pick(c, rng);

    // Second draw over everyone but `first`, weighted the same way: drawing in
    // the remaining weight and skipping `first` keeps the two distinct without
    // retries.
    uint64_t rest = 0;
    for (size_t i = 0; i < c.size(); ++i)
        if (i != first) rest += c[i].weight;
    uint64_t draw = rng.below(rest);
    size_t second = first == 0 ? 1 : 0;
    for (size_t i = 0; i < c.size(); ++i) {
        if (i == first) continue;
        second = i;
        if (draw < c[i].weight) break;
        draw -= c[i].weight;
    }

    // Cross-multiplied so weights need no division; a tie keeps the second
    // draw, as nginx does.
    using Wide = unsigned __int128;
    const bool first_less_loaded =
        Wide(c[first].active) * c[second].weight < Wide(c[second].active) * c[first].weight;
    return first_less_loaded ? first : second;
}

namespace {

class PowerOfTwo final : public Balancer {
public:
    size_t pick(std::span<Candidate> usable, std::span<const ServerInfo>, const Key&, Rng& rng) override {
        return p2c_pick(usable, rng);
    }
};

}  // namespace

std::unique_ptr<Balancer> make_p2c() { return std::make_unique<PowerOfTwo>(); }

}  // namespace ep::balance
