// test_timers.cpp: the worker's timer heap fires timers in deadline order,
// moves and cancels them anywhere in the heap, and tells the loop how long
// it may sleep.
#include <vector>

#include "worker/timers.hpp"

#include <CppUTest/TestHarness.h>  // last: its memory-leak macros clash with the standard headers

using ep::worker::Timer;
using ep::worker::TimerHeap;

namespace {

struct Recorder final : Timer {
    int id = 0;
    std::vector<int>* fired = nullptr;
    void on_timer() override { fired->push_back(id); }
};

}  // namespace

TEST_GROUP(Timers) {
    TimerHeap heap;
    std::vector<int> fired;
    Recorder t[8];
    void setup() override {
        for (int i = 0; i < 8; ++i) {
            t[i].id = i;
            t[i].fired = &fired;
        }
    }
};

TEST(Timers, FireInDeadlineOrderOnlyWhenDue) {
    const uint64_t deadlines[8] = {50, 10, 70, 30, 20, 80, 60, 40};
    for (int i = 0; i < 8; ++i) heap.arm(t[i], deadlines[i]);
    LONGS_EQUAL(8, heap.size());
    heap.run_due(35);
    CHECK((fired == std::vector<int>{1, 4, 3}));
    CHECK(!t[1].armed());
    CHECK(t[0].armed());
    heap.run_due(1000);
    CHECK((fired == std::vector<int>{1, 4, 3, 7, 0, 6, 2, 5}));
    LONGS_EQUAL(0, heap.size());
}

TEST(Timers, MoveAndCancelAnywhere) {
    for (int i = 0; i < 8; ++i) heap.arm(t[i], uint64_t(100 + i));
    heap.cancel(t[3]);
    heap.cancel(t[0]);
    heap.cancel(t[0]);         // twice: no effect
    heap.arm(t[7], 50);        // earlier
    heap.arm(t[1], 500);       // later
    heap.run_due(1000);
    CHECK((fired == std::vector<int>{7, 2, 4, 5, 6, 1}));
}

TEST(Timers, WaitIsCappedAndNeverNegative) {
    UNSIGNED_LONGLONGS_EQUAL(250, heap.wait_ms(1000, 250));  // nothing armed
    heap.arm(t[0], 1100);
    UNSIGNED_LONGLONGS_EQUAL(100, heap.wait_ms(1000, 250));
    UNSIGNED_LONGLONGS_EQUAL(250, heap.wait_ms(500, 250));
    UNSIGNED_LONGLONGS_EQUAL(0, heap.wait_ms(2000, 250));
}

TEST(Timers, AHandlerMayArmItsTimerAgain) {
    struct Again final : Timer {
        TimerHeap* heap;
        int runs = 0;
        void on_timer() override {
            if (++runs < 3) heap->arm(*this, deadline() + 10);
        }
    } again;
    again.heap = &heap;
    heap.arm(again, 10);
    heap.run_due(100);
    LONGS_EQUAL(3, again.runs);
    CHECK(!again.armed());
}
