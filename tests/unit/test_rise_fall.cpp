// test_rise_fall.cpp: HAProxy's rise/fall health counter (src/check.c,
// peers.md §3.10): the exact trace for rise=2 fall=3, the initial state, and
// that flapping checks never change a server's state.
#include "health/rise_fall.hpp"

#include <CppUTest/TestHarness.h>

using ep::health::RiseFall;
using Change = RiseFall::Change;

namespace {

// CppUTest prints ints, not enum classes.
int as_int(Change c) { return static_cast<int>(c); }

}  // namespace

TEST_GROUP(RiseFall){};

TEST(RiseFall, HaproxyTraceRiseTwoFallThree) {
    RiseFall rf(2, 3);
    rf.force(true);
    LONGS_EQUAL(4, rf.counter());  // fully UP: rise + fall - 1

    LONGS_EQUAL(as_int(Change::None), as_int(rf.on_result(false)));
    LONGS_EQUAL(3, rf.counter());  // "UP 2/3"
    LONGS_EQUAL(1, rf.failed_in_row());
    LONGS_EQUAL(as_int(Change::None), as_int(rf.on_result(false)));
    LONGS_EQUAL(2, rf.counter());  // "UP 1/3"
    LONGS_EQUAL(2, rf.failed_in_row());
    CHECK(rf.up());
    LONGS_EQUAL(as_int(Change::WentDown), as_int(rf.on_result(false)));
    LONGS_EQUAL(0, rf.counter());
    CHECK(!rf.up());

    LONGS_EQUAL(as_int(Change::None), as_int(rf.on_result(true)));
    LONGS_EQUAL(1, rf.counter());  // "DOWN 1/2"
    LONGS_EQUAL(1, rf.passed_in_row());
    LONGS_EQUAL(as_int(Change::WentUp), as_int(rf.on_result(true)));
    LONGS_EQUAL(4, rf.counter());
    CHECK(rf.up());
}

TEST(RiseFall, InitialStateIsRiseSoOneFailureGoesDown) {
    RiseFall rf(2, 3);
    LONGS_EQUAL(2, rf.counter());
    CHECK(rf.up());
    LONGS_EQUAL(as_int(Change::WentDown), as_int(rf.on_result(false)));
    LONGS_EQUAL(0, rf.counter());
}

TEST(RiseFall, InitialSuccessMakesFullyUp) {
    RiseFall rf(2, 3);
    LONGS_EQUAL(as_int(Change::None), as_int(rf.on_result(true)));
    LONGS_EQUAL(4, rf.counter());
}

TEST(RiseFall, StartDownNeedsRiseSuccesses) {
    RiseFall rf(3, 2, false);
    CHECK(!rf.up());
    LONGS_EQUAL(as_int(Change::None), as_int(rf.on_result(true)));
    LONGS_EQUAL(as_int(Change::None), as_int(rf.on_result(true)));
    LONGS_EQUAL(as_int(Change::WentUp), as_int(rf.on_result(true)));
    LONGS_EQUAL(4, rf.counter());
}

TEST(RiseFall, FlappingNeverChangesState) {
    RiseFall up(2, 3);
    up.force(true);
    for (int i = 0; i < 20; ++i) {
        LONGS_EQUAL(as_int(Change::None), as_int(up.on_result(i % 2 == 0)));  // ok, fail, ok, ...
        CHECK(up.up());
    }
    RiseFall down(2, 3, false);
    for (int i = 0; i < 20; ++i) {
        LONGS_EQUAL(as_int(Change::None), as_int(down.on_result(i % 2 == 0)));
        CHECK(!down.up());
    }
}

TEST(RiseFall, OneSuccessWhileGoingDownResets) {
    RiseFall rf(2, 3);
    rf.force(true);
    rf.on_result(false);
    rf.on_result(false);
    rf.on_result(true);
    LONGS_EQUAL(4, rf.counter());
}

TEST(RiseFall, CounterStaysInRange) {
    RiseFall rf(2, 3);
    for (int i = 0; i < 10; ++i) rf.on_result(true);
    LONGS_EQUAL(4, rf.counter());
    for (int i = 0; i < 10; ++i) rf.on_result(false);
    LONGS_EQUAL(0, rf.counter());
}

TEST(RiseFall, RiseOneFallOneFollowsEveryResult) {
    RiseFall rf(1, 1);
    LONGS_EQUAL(as_int(Change::WentDown), as_int(rf.on_result(false)));
    LONGS_EQUAL(as_int(Change::WentUp), as_int(rf.on_result(true)));
    LONGS_EQUAL(as_int(Change::None), as_int(rf.on_result(true)));
}
