// maglev.hpp: Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4),
// with Katran's weighted population. Tables are keyed by server *name* and
// built from fixed hash functions, so any instance with the same config
// builds the same table.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ep::balance {

struct MaglevEntry {
    std::string name;   // identity hashed for offset/skip
    uint32_t weight;    // 0: not in the table
};

// Smallest prime >= max(min_size, 100 * number of entries with weight > 0).
uint32_t maglev_table_size(size_t servers, uint32_t min_size = 101);

// The balancer's tables are never smaller than this (Katran's default ring
// size), so adding or removing a server does not change the table size, which
// would reshuffle every client: only the changed server's slots move.
inline constexpr uint32_t kBalancerTableMin = 65537;

// Returns `size` slots, each an index into `entries` (or -1 if every weight is 0).
// `size` must be prime.
std::vector<int32_t> maglev_build(const std::vector<MaglevEntry>& entries, uint32_t size);

// Slot for a 64-bit key hash.
inline uint32_t maglev_slot(uint64_t key_hash, uint32_t size) { return uint32_t(key_hash % size); }

}  // namespace ep::balance
