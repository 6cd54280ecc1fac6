// test_steering.cpp: the SO_REUSEPORT steering program picks only live sets,
// each as often as the others, whatever the random word.
#include <map>

#include "master/steering.hpp"

#include <CppUTest/TestHarness.h>  // last: its memory-leak macros clash with the standard headers

using ep::master::run_steering_program;
using ep::master::steering_program;

TEST_GROUP(Steering){};

TEST(Steering, OnlyLiveSetsEachEquallyOften) {
    const auto program = steering_program({1, 3, 4});
    std::map<uint32_t, int> picks;
    for (uint32_t r = 0; r < 3000; ++r) ++picks[run_steering_program(program, 0xfffff000u + r)];
    LONGS_EQUAL(3, picks.size());
    LONGS_EQUAL(1000, picks[1]);
    LONGS_EQUAL(1000, picks[3]);
    LONGS_EQUAL(1000, picks[4]);
}

TEST(Steering, OneLiveSetTakesEverything) {
    const auto program = steering_program({2});
    LONGS_EQUAL(3, program.size());  // load the random word, modulo, return
    for (uint32_t r : {0u, 1u, 77u, 0xffffffffu}) LONGS_EQUAL(2, run_steering_program(program, r));
}

TEST(Steering, ProgramSizeGrowsByTwoPerSet) {
    LONGS_EQUAL(2 + 2 * 63 + 1, steering_program(std::vector<uint32_t>(64, 0)).size());
}
