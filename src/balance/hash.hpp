// hash.hpp: stable 64-bit hashing for consistent balancing. Fixed functions,
// no seeds from the environment, so separate easyproxy instances with the same
// config make the same choices.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ep::balance {

// splitmix64 finaliser: good avalanche for small keys.
constexpr uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// FNV-1a 64 over bytes, then mixed with `seed` through mix64.
constexpr uint64_t hash_bytes(const uint8_t* p, size_t n, uint64_t seed = 0) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return mix64(h ^ mix64(seed));
}

inline uint64_t hash_string(std::string_view s, uint64_t seed = 0) {
    return hash_bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size(), seed);
}

}  // namespace ep::balance
