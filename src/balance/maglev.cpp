// maglev.cpp: Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4) with
// Katran's weighted population (MaglevHashV2), and the balancer that serves
// `source`, `maglev`, `uri`, `header:NAME` and `cookie:NAME` from its tables.
#include "balance/maglev.hpp"

#include <algorithm>

#include "balance/balancer.hpp"
#include "balance/hash.hpp"

namespace ep::balance {

namespace {

// Two independent hashes of the server name give each server its permutation
// of the slots. The values only need to be fixed forever: changing them moves
// every client of every installation. 42 and 2718281828 echo Katran's seeds.
constexpr uint64_t kOffsetSeed = 42;
constexpr uint64_t kSkipSeed = 2718281828ULL;

bool is_prime(uint64_t n) {
    if (n < 2) return false;
    if (n % 2 == 0) return n == 2;
    for (uint64_t d = 3; d * d <= n; d += 2)
        if (n % d == 0) return false;
    return true;
}

}  // namespace

uint32_t maglev_table_size(size_t servers, uint32_t min_size) {
    uint64_t n = std::max<uint64_t>({min_size, 100 * uint64_t(servers), 2});
    while (!is_prime(n)) ++n;
    return static_cast<uint32_t>(n);
}

// Paper §3.4, "Lookup table population": each server walks its own
// permutation (offset + j * skip) mod M and takes the next free slot in turn.
// Because M is prime, every walk visits every slot, so the loop always ends
// with the table full. Katran V2 adds weights: every round each server earns
// its weight in credit, and only a server with credit >= the largest weight
// takes a slot (and pays that much back). With equal weights every server
// takes a slot every round, which is exactly the paper's unweighted loop, so
// the near-perfect balance (shares differ by at most one slot) is kept.
// Katran hashes endpoint ids with MurmurHash3; we hash names (hash.hpp), so
// tables match Katran's in shape, not slot for slot.
std::vector<int32_t> maglev_build(const std::vector<MaglevEntry>& entries, uint32_t size) {
    std::vector<int32_t> table(size, -1);

    struct Walk {
        int32_t entry;
        uint32_t weight;
        uint64_t slot;    // current position in this server's permutation
        uint64_t skip;
        uint64_t credit;  // Katran's cum_weight
    };
    std::vector<Walk> walks;
    uint32_t max_weight = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        if (e.weight == 0) continue;
        const uint64_t offset = hash_string(e.name, kOffsetSeed) % size;
        const uint64_t skip = size > 1 ? hash_string(e.name, kSkipSeed) % (size - 1) + 1 : 1;
        walks.push_back({int32_t(i), e.weight, offset, skip, 0});
        max_weight = std::max(max_weight, e.weight);
    }
    if (walks.empty() || size == 0) return table;
    // Population order decides who wins a contested slot. Walking in name
    // order makes the table a function of the set of (name, weight) only, so
    // reordering servers in the config moves no client.
    std::sort(walks.begin(), walks.end(), [&](const Walk& a, const Walk& b) {
        return entries[size_t(a.entry)].name < entries[size_t(b.entry)].name;
    });

    uint32_t filled = 0;
    for (;;) {
        for (auto& w : walks) {
            w.credit += w.weight;
            if (w.credit < max_weight) continue;
            w.credit -= max_weight;
            while (table[w.slot] >= 0) {
                w.slot += w.skip;
                if (w.slot >= size) w.slot -= size;
            }
            table[w.slot] = w.entry;
            w.slot += w.skip;
            if (w.slot >= size) w.slot -= size;
            if (++filled == size) return table;
        }
    }
}

namespace {

// Consistent hashing over the servers that are usable *now* would move some
// clients of healthy servers whenever another server fails (Maglev trades a
// little consistency for balance). DESIGN.md §4 asks for more: only the failed
// server's clients move, and they return when it recovers. So the balancer
// keeps two tables:
//  - a primary table over every server of the tier (down or not, weight > 0),
//    which changes only when the config (names, weights) changes;
//  - a fallback table over the usable servers, consulted only for keys whose
//    primary server is not usable right now.
// Both are rebuilt lazily when their inputs change, compared member by member
// (no allocation while nothing changes). Each worker has its own balancer, so
// no lock is needed: the tables are a pure function of the config.
class MaglevBalancer final : public Balancer {
public:
    size_t pick(std::span<Candidate> usable, std::span<const ServerInfo> all, const Key& key,
                Rng& rng) override {
        if (usable.size() == 1) return 0;
        // No key (e.g. a missing header): spread by weight rather than send
        // every such client to one server.
        if (key.size == 0) return weighted_random_pick(usable, rng);
        // `all` must cover `usable`; without names there is nothing to hash.
        if (usable[0].index >= all.size()) return weighted_random_pick(usable, rng);

        const uint64_t hash = hash_bytes(key.data, key.size);
        Primary& primary = tiers_[all[usable[0].index].backup ? 1 : 0];
        const bool backup = &primary == &tiers_[1];
        if (!primary.matches(all, backup)) rebuild_primary(primary, all, backup);

        if (!primary.slots.empty()) {
            const int32_t server = primary.slots[maglev_slot(hash, uint32_t(primary.slots.size()))];
            if (server >= 0) {
                // `usable` is in config order, so a binary search finds the server.
                const auto it = std::lower_bound(
                    usable.begin(), usable.end(), uint32_t(server),
                    [](const Candidate& c, uint32_t index) { return c.index < index; });
                if (it != usable.end() && it->index == uint32_t(server)) return size_t(it - usable.begin());
            }
        }

        if (!fallback_matches(usable)) {
            if (!rebuild_fallback(usable, all)) return weighted_random_pick(usable, rng);
        }
        // Re-mixed so the fallback slot is not correlated with the primary one
        // when both tables happen to have the same size.
        const int32_t slot = fallback_slots_[maglev_slot(mix64(hash), uint32_t(fallback_slots_.size()))];
        return slot >= 0 ? size_t(slot) : 0;  // -1 only if every weight were 0: callers exclude it
    }

private:
    struct Member {
        uint32_t index;
        uint32_t weight;
        std::string name;
    };

    struct Primary {
        bool built = false;
        std::vector<Member> members;  // what the table was built from
        std::vector<int32_t> slots;   // server index within the service, -1: none

        bool matches(std::span<const ServerInfo> all, bool backup) const {
            if (!built) return false;
            size_t k = 0;
            for (uint32_t i = 0; i < all.size(); ++i) {
                const ServerInfo& s = all[i];
                if (s.backup != backup || s.weight == 0) continue;
                if (k == members.size()) return false;
                const Member& m = members[k++];
                if (m.index != i || m.weight != s.weight || m.name != s.name) return false;
            }
            return k == members.size();
        }
    };

    void rebuild_primary(Primary& primary, std::span<const ServerInfo> all, bool backup) {
        primary.members.clear();
        entries_.clear();
        for (uint32_t i = 0; i < all.size(); ++i) {
            const ServerInfo& s = all[i];
            if (s.backup != backup || s.weight == 0) continue;
            primary.members.push_back({i, s.weight, s.name});
            entries_.push_back({s.name, s.weight});
        }
        primary.slots.clear();
        if (!entries_.empty()) {
            primary.slots = maglev_build(entries_, maglev_table_size(entries_.size(), kBalancerTableMin));
            for (auto& slot : primary.slots) slot = int32_t(primary.members[size_t(slot)].index);
        }
        primary.built = true;
        fallback_.clear();  // names may have changed under the same indexes
        fallback_slots_.clear();
    }

    bool fallback_matches(std::span<const Candidate> usable) const {
        if (fallback_slots_.empty() || fallback_.size() != usable.size()) return false;
        for (size_t i = 0; i < usable.size(); ++i) {
            if (fallback_[i].index != usable[i].index || fallback_[i].weight != usable[i].weight)
                return false;
        }
        return true;
    }

    bool rebuild_fallback(std::span<const Candidate> usable, std::span<const ServerInfo> all) {
        fallback_.clear();
        fallback_slots_.clear();
        entries_.clear();
        for (const Candidate& c : usable) {
            if (c.index >= all.size()) return false;
            fallback_.push_back({c.index, c.weight});
            entries_.push_back({all[c.index].name, c.weight});
        }
        // Slots hold positions in `usable`, valid while the set is unchanged.
        fallback_slots_ = maglev_build(entries_, maglev_table_size(entries_.size(), kBalancerTableMin));
        return true;
    }

    struct Usable {
        uint32_t index;
        uint32_t weight;
    };

    Primary tiers_[2];                   // [0] primaries, [1] backups
    std::vector<Usable> fallback_;       // the usable set the fallback was built from
    std::vector<int32_t> fallback_slots_;
    std::vector<MaglevEntry> entries_;   // build scratch, reused
};

}  // namespace

std::unique_ptr<Balancer> make_maglev() { return std::make_unique<MaglevBalancer>(); }

}  // namespace ep::balance
