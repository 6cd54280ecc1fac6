// test_balance.cpp: the balancing cores against the peers' exact semantics
// (nginx SWRR golden sequences and nginx-tests counts, least_conn, random,
// power of two choices) and the make_balancer table.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <typeinfo>
#include <vector>

#include "balance/balancer.hpp"
#include "config/config.hpp"

#include <CppUTest/TestHarness.h>

using namespace ep::balance;
using ep::config::Balance;

namespace {

// A service's usable servers as the worker would offer them, with the SWRR
// state in a vector instead of shared memory.
struct Pool {
    std::vector<int64_t> rr;
    std::vector<Candidate> c;

    Pool(std::initializer_list<uint32_t> weights, std::initializer_list<uint64_t> active = {})
        : rr(weights.size(), 0) {
        uint32_t i = 0;
        for (uint32_t w : weights) {
            c.push_back({i, w, 0, &rr[i]});
            ++i;
        }
        i = 0;
        for (uint64_t a : active) c[i++].active = a;
    }
    Pool(const Pool&) = delete;  // candidates point into rr
    Pool& operator=(const Pool&) = delete;
};

std::string swrr_sequence(std::initializer_list<uint32_t> weights, size_t picks) {
    Pool p(weights);
    std::string s;
    for (size_t i = 0; i < picks; ++i) s += char('a' + swrr_pick(p.c));
    return s;
}

std::vector<size_t> count_picks(size_t servers, size_t picks, auto&& pick) {
    std::vector<size_t> count(servers, 0);
    for (size_t i = 0; i < picks; ++i) ++count[pick()];
    return count;
}

}  // namespace

TEST_GROUP(Balance){};

TEST(Balance, SwrrGoldenSequencesTwoPeriods) {
    // peers.md §3.1: one period each, computed from nginx's loop; the second
    // period shows the state returns to all zeros.
    STRCMP_EQUAL("aabacaaaabacaa", swrr_sequence({5, 1, 1}, 14).c_str());
    STRCMP_EQUAL("abaaba", swrr_sequence({2, 1}, 6).c_str());
    STRCMP_EQUAL("abcabc", swrr_sequence({1, 1, 1}, 6).c_str());
    STRCMP_EQUAL("ababaababa", swrr_sequence({3, 2}, 10).c_str());
    STRCMP_EQUAL("abacabaabacaba", swrr_sequence({4, 2, 1}, 14).c_str());
    STRCMP_EQUAL("babbab", swrr_sequence({1, 2}, 6).c_str());
}

TEST(Balance, SwrrFollowsNginxCommitTrace) {
    // nginx commit 52327e06: current weights after each pick for 5,1,1.
    Pool p({5, 1, 1});
    const int64_t after[7][3] = {{-2, 1, 1}, {-4, 2, 2}, {1, -4, 3}, {-1, -3, 4},
                                 {4, -2, -2}, {2, -1, -1}, {0, 0, 0}};
    for (const auto& row : after) {
        swrr_pick(p.c);
        LONGS_EQUAL(row[0], p.rr[0]);
        LONGS_EQUAL(row[1], p.rr[1]);
        LONGS_EQUAL(row[2], p.rr[2]);
    }
}

TEST(Balance, SwrrTwoEqualServersSplitThirtyPicks) {
    // nginx-tests stream_upstream.t: 30 sequential connections → 15/15.
    Pool p({1, 1});
    auto count = count_picks(2, 30, [&] { return swrr_pick(p.c); });
    UNSIGNED_LONGS_EQUAL(15, count[0]);
    UNSIGNED_LONGS_EQUAL(15, count[1]);
}

TEST(Balance, SwrrWeightsOneTwoGiveTenAndTwenty) {
    Pool p({1, 2});
    auto count = count_picks(2, 30, [&] { return swrr_pick(p.c); });
    UNSIGNED_LONGS_EQUAL(10, count[0]);
    UNSIGNED_LONGS_EQUAL(20, count[1]);
}

TEST(Balance, LeastConnPicksFewestActivePerWeight) {
    Pool ratios({1, 2, 1}, {3, 4, 1});  // 3, 2, 1 per weight
    UNSIGNED_LONGS_EQUAL(2, leastconn_pick(ratios.c));
    Pool cross({1, 3}, {1, 2});  // 1 vs 0.67: the heavier server wins despite more connections
    UNSIGNED_LONGS_EQUAL(1, leastconn_pick(cross.c));
    Pool untouched({1, 1}, {2, 1});  // a single best leaves the round-robin state alone
    UNSIGNED_LONGS_EQUAL(1, leastconn_pick(untouched.c));
    LONGS_EQUAL(0, untouched.rr[0]);
    LONGS_EQUAL(0, untouched.rr[1]);
}

TEST(Balance, LeastConnIdleTiesAlternate) {
    // nginx-tests stream_upstream_least_conn.t: 10 short connections → 5/5.
    Pool p({1, 1});
    std::string order;
    for (int i = 0; i < 10; ++i) order += char('a' + leastconn_pick(p.c));
    STRCMP_EQUAL("ababababab", order.c_str());
}

TEST(Balance, LeastConnHeldConnectionSendsNextTenToTheOther) {
    Pool p({1, 1}, {1, 0});  // one long connection held on the first server
    auto count = count_picks(2, 10, [&] { return leastconn_pick(p.c); });
    UNSIGNED_LONGS_EQUAL(0, count[0]);
    UNSIGNED_LONGS_EQUAL(10, count[1]);
}

TEST(Balance, LeastConnTiesRoundRobinOverTiedServersOnly) {
    Pool p({1, 1, 1}, {0, 5, 0});
    std::string order;
    for (int i = 0; i < 6; ++i) order += char('a' + leastconn_pick(p.c));
    STRCMP_EQUAL("acacac", order.c_str());
    LONGS_EQUAL(0, p.rr[1]);  // the busy server's turn is not consumed
}

TEST(Balance, LeastConnWeightedTiesFollowWeights) {
    Pool idle({2, 1});
    std::string order;
    for (int i = 0; i < 6; ++i) order += char('a' + leastconn_pick(idle.c));
    STRCMP_EQUAL("abaaba", order.c_str());
    Pool loaded({2, 1}, {4, 2});  // equal per weight: still SWRR between them
    order.clear();
    for (int i = 0; i < 3; ++i) order += char('a' + leastconn_pick(loaded.c));
    STRCMP_EQUAL("aba", order.c_str());
}

TEST(Balance, LeastConnSpreadsLongConnectionsByWeight) {
    // Connections that stay open: each pick raises the chosen server's count.
    Pool p({1, 3});
    for (int i = 0; i < 40; ++i) ++p.c[leastconn_pick(p.c)].active;
    UNSIGNED_LONGS_EQUAL(10, p.c[0].active);
    UNSIGNED_LONGS_EQUAL(30, p.c[1].active);
}

TEST(Balance, RandomHonoursWeightsWithinThreePercent) {
    Pool p({1, 2, 3, 4});
    Rng rng(12345);
    auto count = count_picks(4, 10000, [&] { return weighted_random_pick(p.c, rng); });
    for (size_t i = 0; i < 4; ++i) {
        const double share = double(count[i]) / 10000.0;
        const double expected = double(i + 1) / 10.0;
        DOUBLES_EQUAL(expected, share, 0.03);
    }
}

TEST(Balance, RandomSameSeedSameChoices) {
    Pool p({1, 1, 1, 1, 1});
    Rng a(99), b(99);
    for (int i = 0; i < 100; ++i) {
        const size_t expected = weighted_random_pick(p.c, a);
        UNSIGNED_LONGS_EQUAL(expected, weighted_random_pick(p.c, b));
    }
}

TEST(Balance, P2cPrefersTheLessLoaded) {
    Pool two({1, 1}, {10, 0});
    Rng rng(1);
    // Two distinct draws out of two always see both servers.
    for (int i = 0; i < 100; ++i) UNSIGNED_LONGS_EQUAL(1, p2c_pick(two.c, rng));

    Pool three({1, 1, 1}, {100, 0, 0});
    auto count = count_picks(3, 3000, [&] { return p2c_pick(three.c, rng); });
    UNSIGNED_LONGS_EQUAL(0, count[0]);  // would need both draws to hit it
    CHECK(count[1] > 1300);
    CHECK(count[2] > 1300);
}

TEST(Balance, P2cComparesPerWeight) {
    Pool p({3, 1}, {3, 2});  // 1 vs 2 per weight
    Rng rng(5);
    for (int i = 0; i < 50; ++i) UNSIGNED_LONGS_EQUAL(0, p2c_pick(p.c, rng));
}

TEST(Balance, P2cTieKeepsTheSecondDraw) {
    // The first draw uses the rng exactly as weighted_random_pick does, so a
    // twin rng tells which server was drawn first; with two idle servers the
    // second draw is the other one, and it must win.
    Pool p({1, 1});
    Rng twin(77), rng(77);
    for (int i = 0; i < 50; ++i) {
        const size_t first = weighted_random_pick(p.c, twin);
        twin.next();  // the second draw's number
        UNSIGNED_LONGS_EQUAL(1 - first, p2c_pick(p.c, rng));
    }
}

TEST(Balance, SingleCandidateIsAlwaysChosen) {
    Pool p({3}, {1000});
    Rng rng(3);
    const uint8_t bytes[] = {10, 0, 0, 1};
    const Key key{bytes, sizeof bytes};
    const std::vector<ServerInfo> all{{"only", 3, false}};
    for (int i = 0; i < 5; ++i) {
        UNSIGNED_LONGS_EQUAL(0, swrr_pick(p.c));
        UNSIGNED_LONGS_EQUAL(0, leastconn_pick(p.c));
        UNSIGNED_LONGS_EQUAL(0, weighted_random_pick(p.c, rng));
        UNSIGNED_LONGS_EQUAL(0, p2c_pick(p.c, rng));
    }
    for (Balance b : {Balance::RoundRobin, Balance::Random, Balance::Source, Balance::LeastConn, Balance::P2C,
                      Balance::Maglev, Balance::Uri, Balance::Header, Balance::Cookie}) {
        auto balancer = make_balancer(b);
        UNSIGNED_LONGS_EQUAL(0, balancer->pick(p.c, all, key, rng));
        UNSIGNED_LONGS_EQUAL(0, balancer->pick(p.c, all, Key{}, rng));
    }
}

TEST(Balance, MakeBalancerMapsEveryAlgorithm) {
    const auto rr = make_roundrobin(), lc = make_leastconn(), rnd = make_random(), p2c = make_p2c(),
               maglev = make_maglev();
    const struct {
        Balance algorithm;
        const char* name;
        const Balancer& kind;
        bool locks;
    } table[] = {
        {Balance::RoundRobin, "roundrobin", *rr, true}, {Balance::LeastConn, "leastconn", *lc, true},
        {Balance::Random, "random", *rnd, false},       {Balance::P2C, "p2c", *p2c, false},
        {Balance::Source, "source", *maglev, false},    {Balance::Maglev, "maglev", *maglev, false},
        {Balance::Uri, "uri", *maglev, false},          {Balance::Header, "header", *maglev, false},
        {Balance::Cookie, "cookie", *maglev, false},
    };
    for (const auto& row : table) {
        const auto made = make_balancer(row.algorithm);
        CHECK_TEXT(typeid(*made) == typeid(row.kind), row.name);
        CHECK_EQUAL_TEXT(row.locks, made->needs_lock(), row.name);
    }
    // The five kinds are distinct classes.
    CHECK(typeid(*rr) != typeid(*lc));
    CHECK(typeid(*rnd) != typeid(*p2c));
    CHECK(typeid(*maglev) != typeid(*rnd));
}

TEST(Balance, RngIsDeterministicAndBounded) {
    Rng a(1);
    // Frozen: splitmix64-expanded seed 1, first xoshiro256** output.
    UNSIGNED_LONGLONGS_EQUAL(0xb3f2af6d0fc710c5ULL, a.next());
    Rng b(2), c(2);
    for (int i = 0; i < 100; ++i) UNSIGNED_LONGLONGS_EQUAL(b.next(), c.next());
    for (uint64_t n : {1ULL, 2ULL, 3ULL, 7ULL, 1000ULL, (1ULL << 63) + 1}) {
        for (int i = 0; i < 100; ++i) CHECK(b.below(n) < n);
    }
}
