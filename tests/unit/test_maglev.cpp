// test_maglev.cpp: Maglev tables (paper §3.4, Katran MaglevHashTest style) and
// the balancer built on them: balance, determinism, weights, and DESIGN.md §4's
// "when a server goes down only its clients move; when it comes back they return".
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "balance/balancer.hpp"
#include "balance/maglev.hpp"
#include "config/config.hpp"

#include <CppUTest/TestHarness.h>

using namespace ep::balance;

namespace {

bool is_prime(uint32_t n) {
    if (n < 2) return false;
    for (uint32_t d = 2; d * d <= n; ++d)
        if (n % d == 0) return false;
    return true;
}

std::vector<MaglevEntry> servers(size_t n, uint32_t weight = 1) {
    std::vector<MaglevEntry> v;
    for (size_t i = 0; i < n; ++i) v.push_back({"srv" + std::to_string(i), weight});
    return v;
}

std::vector<size_t> slot_counts(const std::vector<int32_t>& table, size_t n) {
    std::vector<size_t> count(n, 0);
    for (int32_t owner : table) ++count[size_t(owner)];
    return count;
}

// A service as the worker sees it: every server, and the usable subset as
// candidates (in config order).
struct Service {
    std::vector<ServerInfo> all;
    std::vector<int64_t> rr;
    std::vector<Candidate> usable;

    explicit Service(std::vector<ServerInfo> servers) : all(std::move(servers)), rr(all.size(), 0) {
        set_usable([](uint32_t) { return true; });
    }
    void set_usable(auto&& is_usable) {
        usable.clear();
        for (uint32_t i = 0; i < all.size(); ++i)
            if (is_usable(i)) usable.push_back({i, all[i].weight, 0, &rr[i]});
    }
};

// Client keys as the worker builds them for `source`: the IPv4 address bytes.
struct ClientKey {
    uint8_t bytes[4];
    explicit ClientKey(uint32_t n) : bytes{10, uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)} {}
    Key key() const { return Key{bytes, sizeof bytes}; }
};

// Server index (within the service) chosen for each of `clients` keys.
std::vector<uint32_t> route(Balancer& b, Service& s, uint32_t clients, Rng& rng) {
    std::vector<uint32_t> chosen;
    for (uint32_t n = 0; n < clients; ++n) {
        const ClientKey ck(n);
        chosen.push_back(s.usable[b.pick(s.usable, s.all, ck.key(), rng)].index);
    }
    return chosen;
}

}  // namespace

TEST_GROUP(Maglev){};

TEST(Maglev, TableSizeIsSmallestPrimeAtLeastHundredPerServer) {
    UNSIGNED_LONGS_EQUAL(101, maglev_table_size(0));
    UNSIGNED_LONGS_EQUAL(101, maglev_table_size(1));
    UNSIGNED_LONGS_EQUAL(503, maglev_table_size(5));
    UNSIGNED_LONGS_EQUAL(1009, maglev_table_size(10));
    UNSIGNED_LONGS_EQUAL(100003, maglev_table_size(1000));
    UNSIGNED_LONGS_EQUAL(65537, maglev_table_size(3, 65537));
    for (size_t n : {2, 3, 7, 13, 64, 100, 333}) {
        const uint32_t m = maglev_table_size(n);
        CHECK(is_prime(m));
        CHECK(m >= 100 * n);
        for (uint32_t smaller = uint32_t(100 * n); smaller < m; ++smaller) CHECK(!is_prime(smaller));
    }
}

TEST(Maglev, EverySlotIsFilled) {
    std::vector<MaglevEntry> v{{"a", 1}, {"b", 5}, {"c", 2}, {"d", 0}, {"e", 3}, {"f", 1}, {"g", 7}};
    const auto table = maglev_build(v, maglev_table_size(6));
    for (int32_t owner : table) {
        CHECK(owner >= 0 && owner < int32_t(v.size()));
        CHECK(owner != 3);  // weight 0 owns nothing
    }
}

TEST(Maglev, NoWeightNoSlots) {
    const auto table = maglev_build({{"a", 0}, {"b", 0}}, 101);
    UNSIGNED_LONGS_EQUAL(101, table.size());
    CHECK(std::all_of(table.begin(), table.end(), [](int32_t o) { return o == -1; }));
}

TEST(Maglev, EqualWeightsShareSlotsWithinOne) {
    // With equal weights the weighted loop takes one slot per server per round,
    // i.e. it is the paper's unweighted loop, so each server owns ⌊M/N⌋ or
    // ⌈M/N⌉ slots (Katran CHHelpersTest: 400 endpoints, max − min == 1).
    for (size_t n : {5, 400}) {
        const uint32_t m = maglev_table_size(n);
        const auto count = slot_counts(maglev_build(servers(n, 3), m), n);
        const auto [lo, hi] = std::minmax_element(count.begin(), count.end());
        CHECK(*hi - *lo <= 1);
        UNSIGNED_LONGS_EQUAL(m / n, *lo);
    }
}

TEST(Maglev, DeterministicWithFrozenGolden) {
    const std::vector<MaglevEntry> v{{"alpha", 1}, {"beta", 1}, {"gamma", 1}};
    const uint32_t m = maglev_table_size(v.size());
    UNSIGNED_LONGS_EQUAL(307, m);
    const auto a = maglev_build(v, m);
    CHECK(a == maglev_build(v, m));
    // Frozen once: a change of hash function or seeds moves every client of
    // every installation, so it must show up here.
    const int32_t golden[20] = {2, 2, 0, 2, 0, 0, 2, 0, 2, 0, 1, 2, 0, 0, 0, 1, 2, 0, 0, 2};
    for (size_t i = 0; i < 20; ++i) LONGS_EQUAL(golden[i], a[i]);
}

TEST(Maglev, TableDependsOnNamesNotOrder) {
    const std::vector<MaglevEntry> sorted{{"alpha", 1}, {"beta", 2}, {"gamma", 1}};
    const std::vector<MaglevEntry> shuffled{{"gamma", 1}, {"alpha", 1}, {"beta", 2}};
    const auto a = maglev_build(sorted, 307);
    const auto b = maglev_build(shuffled, 307);
    for (size_t i = 0; i < a.size(); ++i)
        STRCMP_EQUAL(sorted[size_t(a[i])].name.c_str(), shuffled[size_t(b[i])].name.c_str());
}

TEST(Maglev, KatranWeightedPopulationTwoToOneInSevenSlots) {
    // Katran MaglevHashTest (V2): weights 2,1 in 7 slots → 5 and 2, whatever the hashes.
    const auto count = slot_counts(maglev_build({{"heavy", 2}, {"light", 1}}, 7), 2);
    UNSIGNED_LONGS_EQUAL(5, count[0]);
    UNSIGNED_LONGS_EQUAL(2, count[1]);
}

TEST(Maglev, WeightsHonouredWithinTwoPercent) {
    // Ten servers, weights alternating 2 and 1: each share within 2% (relative)
    // of weight / 15.
    std::vector<MaglevEntry> v = servers(10);
    for (size_t i = 0; i < v.size(); i += 2) v[i].weight = 2;
    const uint32_t m = maglev_table_size(v.size());
    const auto count = slot_counts(maglev_build(v, m), v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        const double expected = double(m) * v[i].weight / 15.0;
        DOUBLES_EQUAL(expected, double(count[i]), expected * 0.02);
    }
    const auto pair = slot_counts(maglev_build({{"a", 2}, {"b", 1}}, maglev_table_size(2)), 2);
    DOUBLES_EQUAL(2.0 / 3.0, double(pair[0]) / (pair[0] + pair[1]), 0.02 * 2.0 / 3.0);
}

TEST(Maglev, RebuildWithoutOneServerMovesFewOtherSlots) {
    // The plain table trades a little consistency for balance (paper §3.4):
    // besides the removed server's slots, only a few others change owner.
    // Measured: 7 to 11 of 503 (≤ 2.2%) for 5 servers, ≤ 3.4% for 10.
    for (size_t n : {5, 10}) {
        const auto v = servers(n);
        const uint32_t m = maglev_table_size(n);
        const auto before = maglev_build(v, m);
        for (size_t removed = 0; removed < n; ++removed) {
            auto w = v;
            w[removed].weight = 0;  // same size, same indexes
            const auto after = maglev_build(w, m);
            size_t moved = 0;
            for (uint32_t s = 0; s < m; ++s)
                if (before[s] != int32_t(removed) && before[s] != after[s]) ++moved;
            CHECK(moved < m / 20);  // < 5%
        }
    }
}

TEST(Maglev, BalancerDownServerMovesOnlyItsClientsAndTheyReturn) {
    Service s({{"web1", 1, false},
               {"web2", 1, false},
               {"web3", 1, false},
               {"web4", 1, false},
               {"web5", 1, false}});
    auto b = make_balancer(ep::config::Balance::Source);
    Rng rng(1);
    const auto before = route(*b, s, 1000, rng);

    s.set_usable([](uint32_t i) { return i != 2; });  // web3 goes down
    const auto during = route(*b, s, 1000, rng);
    size_t moved = 0;
    std::vector<size_t> moved_to(5, 0);
    for (size_t k = 0; k < before.size(); ++k) {
        if (before[k] != 2) {
            UNSIGNED_LONGS_EQUAL(before[k], during[k]);
        } else {
            CHECK(during[k] != 2);
            ++moved;
            ++moved_to[during[k]];
        }
    }
    CHECK(moved > 100);  // about a fifth of the clients
    // Its clients spread over the survivors instead of piling onto one.
    for (uint32_t i : {0, 1, 3, 4}) CHECK(moved_to[i] > 0);

    s.set_usable([](uint32_t) { return true; });  // web3 comes back
    CHECK(before == route(*b, s, 1000, rng));
}

TEST(Maglev, BalancerInstancesAgree) {
    // Same config, separate processes or instances: same choices, no seed.
    Service s({{"a", 1, false}, {"b", 2, false}, {"c", 1, false}});
    auto one = make_balancer(ep::config::Balance::Maglev);
    auto two = make_balancer(ep::config::Balance::Uri);
    Rng r1(1), r2(2);
    CHECK(route(*one, s, 500, r1) == route(*two, s, 500, r2));
}

TEST(Maglev, BalancerKeysFollowNamesNotPositions) {
    // A reload that reorders servers keeps every client on the same named server.
    Service s({{"a", 1, false}, {"b", 1, false}, {"c", 1, false}});
    auto b = make_balancer(ep::config::Balance::Maglev);
    Rng rng(1);
    const auto before = route(*b, s, 300, rng);
    Service reordered({{"c", 1, false}, {"a", 1, false}, {"b", 1, false}});
    const auto after = route(*b, reordered, 300, rng);
    for (size_t k = 0; k < before.size(); ++k)
        STRCMP_EQUAL(s.all[before[k]].name.c_str(), reordered.all[after[k]].name.c_str());
}

TEST(Maglev, BalancerHonoursWeights) {
    Service s({{"a", 1, false}, {"b", 1, false}, {"c", 2, false}});
    auto b = make_balancer(ep::config::Balance::Source);
    Rng rng(1);
    std::vector<size_t> count(3, 0);
    for (uint32_t server : route(*b, s, 4000, rng)) ++count[server];
    DOUBLES_EQUAL(0.25, count[0] / 4000.0, 0.04);
    DOUBLES_EQUAL(0.25, count[1] / 4000.0, 0.04);
    DOUBLES_EQUAL(0.50, count[2] / 4000.0, 0.04);
}

TEST(Maglev, BalancerUsesTheBackupTierOnItsOwn) {
    // Only backups usable: the table is built over the backup tier, so the
    // backups' clients stay put when one backup fails, like primaries.
    Service s({{"p1", 1, false}, {"p2", 1, false}, {"b1", 1, true}, {"b2", 1, true}, {"b3", 1, true}});
    auto b = make_balancer(ep::config::Balance::Source);
    Rng rng(1);
    s.set_usable([](uint32_t i) { return i >= 2; });
    const auto before = route(*b, s, 600, rng);
    for (uint32_t server : before) CHECK(server >= 2);
    s.set_usable([](uint32_t i) { return i == 2 || i == 4; });  // b2 fails
    const auto during = route(*b, s, 600, rng);
    for (size_t k = 0; k < before.size(); ++k)
        if (before[k] != 3) UNSIGNED_LONGS_EQUAL(before[k], during[k]);
    s.set_usable([](uint32_t) { return true; });  // primaries back: clients on p1/p2 only
    for (uint32_t server : route(*b, s, 600, rng)) CHECK(server < 2);
}

TEST(Maglev, BalancerEmptyKeyDrawsByWeight) {
    Service s({{"a", 1, false}, {"b", 3, false}});
    auto b = make_balancer(ep::config::Balance::Header);
    CHECK(!b->needs_lock());
    Rng rng(4);
    size_t on_b = 0;
    for (int i = 0; i < 4000; ++i) on_b += b->pick(s.usable, s.all, Key{}, rng);
    DOUBLES_EQUAL(0.75, on_b / 4000.0, 0.03);
}
