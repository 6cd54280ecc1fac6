// roundrobin.cpp: nginx's smooth weighted round robin (DESIGN.md §4,
// ngx_stream_upstream_round_robin.c). Weights 5,1,1 give a a b a c a a: the
// heavy server's turns are spread out instead of served in one burst.
#include "balance/balancer.hpp"

namespace ep::balance {

// Each pick adds every weight to its server's current weight, takes the
// largest, and charges it the total. The current weights live in shared memory
// so that all workers together follow one sequence (hence the lock).
// Strict '>' makes the earliest server win ties, as nginx does, which keeps the
// golden sequences stable. effective_weight == weight here: failures take a
// server out of `c` instead of slowly lowering its weight.
size_t swrr_pick(std::span<Candidate> c) {
    return swrr_pick_where(c, 0, [](const Candidate&) { return true; });
}

namespace {

class RoundRobin final : public Balancer {
public:
    size_t pick(std::span<Candidate> usable, std::span<const ServerInfo>, const Key&, Rng&) override {
        return swrr_pick(usable);
    }
    bool needs_lock() const override { return true; }
};

}  // namespace

std::unique_ptr<Balancer> make_roundrobin() { return std::make_unique<RoundRobin>(); }

}  // namespace ep::balance
