// bench_balance.cpp: cost of one pick for every algorithm at 10, 100 and 1000
// usable servers, and of building a Maglev table (done on config or weight
// changes, never per connection).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "balance/balancer.hpp"
#include "balance/maglev.hpp"
#include "config/config.hpp"

namespace {

using namespace ep::balance;
using ep::config::Balance;

// A service with mixed weights (1..4) and some active connections, so
// leastconn and p2c compare real ratios instead of always tying.
struct BenchService {
    std::vector<ServerInfo> all;
    std::vector<int64_t> rr;
    std::vector<Candidate> usable;

    explicit BenchService(size_t n) : rr(n, 0) {
        Rng rng(42);
        for (size_t i = 0; i < n; ++i) {
            const auto weight = uint32_t(1 + i % 4);
            all.push_back({"server-" + std::to_string(i), weight, false});
            usable.push_back({uint32_t(i), weight, rng.below(50), &rr[i]});
        }
    }
};

void pick_loop(benchmark::State& state, Balance algorithm, bool with_key, size_t down = 0) {
    BenchService s(size_t(state.range(0)));
    // Leaving `down` servers out of `usable` sends their clients through the
    // fallback table (hashing algorithms only).
    if (down > 0) s.usable.erase(s.usable.begin(), s.usable.begin() + long(down));
    auto balancer = make_balancer(algorithm);
    Rng rng(7);
    uint32_t client = 0;
    uint8_t bytes[4] = {10, 0, 0, 0};
    for (auto _ : state) {
        // A new client address each pick, so hashing sees varied keys.
        ++client;
        bytes[1] = uint8_t(client >> 16);
        bytes[2] = uint8_t(client >> 8);
        bytes[3] = uint8_t(client);
        const Key key = with_key ? Key{bytes, sizeof bytes} : Key{};
        benchmark::DoNotOptimize(balancer->pick(s.usable, s.all, key, rng));
    }
}

void BM_Pick_RoundRobin(benchmark::State& state) { pick_loop(state, Balance::RoundRobin, false); }
void BM_Pick_LeastConn(benchmark::State& state) { pick_loop(state, Balance::LeastConn, false); }
void BM_Pick_Random(benchmark::State& state) { pick_loop(state, Balance::Random, false); }
void BM_Pick_P2C(benchmark::State& state) { pick_loop(state, Balance::P2C, false); }
void BM_Pick_Maglev(benchmark::State& state) { pick_loop(state, Balance::Maglev, true); }
// A tenth of the servers down: a tenth of the keys take the fallback table.
void BM_Pick_MaglevTenthDown(benchmark::State& state) {
    pick_loop(state, Balance::Maglev, true, size_t(state.range(0)) / 10);
}
void BM_Pick_MaglevNoKey(benchmark::State& state) { pick_loop(state, Balance::Maglev, false); }

// range(1): 0 = the paper's size (100 x servers), 1 = the balancer's size
// (at least kBalancerTableMin, so a server change moves only its clients).
void BM_MaglevBuild(benchmark::State& state) {
    std::vector<MaglevEntry> entries;
    for (int64_t i = 0; i < state.range(0); ++i)
        entries.push_back({"server-" + std::to_string(i), uint32_t(1 + i % 4)});
    const uint32_t size = maglev_table_size(entries.size(), state.range(1) ? kBalancerTableMin : 101);
    for (auto _ : state) benchmark::DoNotOptimize(maglev_build(entries, size));
    state.counters["slots"] = size;
}

void BM_MaglevBuildEqualWeights(benchmark::State& state) {
    std::vector<MaglevEntry> entries;
    for (int64_t i = 0; i < state.range(0); ++i) entries.push_back({"server-" + std::to_string(i), 1});
    const uint32_t size = maglev_table_size(entries.size());
    for (auto _ : state) benchmark::DoNotOptimize(maglev_build(entries, size));
}

}  // namespace

BENCHMARK(BM_Pick_RoundRobin)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_Pick_LeastConn)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_Pick_Random)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_Pick_P2C)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_Pick_Maglev)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_Pick_MaglevTenthDown)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_Pick_MaglevNoKey)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_MaglevBuild)->ArgsProduct({{10, 100, 1000}, {0, 1}})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaglevBuildEqualWeights)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
