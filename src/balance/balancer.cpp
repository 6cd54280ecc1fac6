// balancer.cpp: the parts every algorithm shares: the per-worker random source
// and the table that maps a configured `balance` onto its algorithm file.
#include "balance/balancer.hpp"

namespace ep::balance {

namespace {

// splitmix64 step: spreads one 64-bit seed over xoshiro's 256-bit state, as
// its authors recommend, so that nearby seeds give unrelated streams.
uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

constexpr uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed) {
    for (auto& word : s_) word = splitmix64(seed);
}

// xoshiro256** (Blackman & Vigna): fast, small state, good enough for
// spreading load; nothing here needs cryptographic randomness.
uint64_t Rng::next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

// Lemire's multiply-shift with rejection: unbiased for any n, and the
// rejection branch is almost never taken, so it costs one multiplication.
uint64_t Rng::below(uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
    auto low = static_cast<uint64_t>(m);
    if (low < n) {
        const uint64_t threshold = -n % n;
        while (low < threshold) {
            m = static_cast<unsigned __int128>(next()) * n;
            low = static_cast<uint64_t>(m);
        }
    }
    return static_cast<uint64_t>(m >> 64);
}

std::unique_ptr<Balancer> make_balancer(config::Balance algorithm) {
    using config::Balance;
    switch (algorithm) {
    case Balance::RoundRobin: return make_roundrobin();
    case Balance::LeastConn: return make_leastconn();
    case Balance::Random: return make_random();
    case Balance::P2C: return make_p2c();
    // Every key-hashing mode differs only in where the key comes from (client
    // address or an http field); the worker extracts it, the table is the same.
    case Balance::Source:
    case Balance::Maglev:
    case Balance::Uri:
    case Balance::Header:
    case Balance::Cookie: return make_maglev();
    }
    return make_roundrobin();  // unreachable with a valid enum; keeps -Wreturn-type quiet
}

}  // namespace ep::balance
