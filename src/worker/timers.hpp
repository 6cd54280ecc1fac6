// timers.hpp: the worker's timers, a binary min-heap of deadlines. A Timer is
// embedded in whatever owns it (a connection, an HTTP session) and knows its
// place in the heap, so arming, moving and cancelling are O(log n) and the
// loop sleeps exactly until the next deadline: no periodic scan of every
// connection is needed for per-request timeouts.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ep::worker {

class Timer {
public:
    virtual ~Timer() = default;
    virtual void on_timer() = 0;
    bool armed() const { return pos_ != kNotArmed; }
    uint64_t deadline() const { return deadline_; }

private:
    friend class TimerHeap;
    static constexpr size_t kNotArmed = SIZE_MAX;
    uint64_t deadline_ = 0;
    size_t pos_ = kNotArmed;
};

class TimerHeap {
public:
    // Arms `t` for `deadline_ms`, or moves it there when already armed.
    void arm(Timer& t, uint64_t deadline_ms) {
        t.deadline_ = deadline_ms;
        if (!t.armed()) {
            t.pos_ = heap_.size();
            heap_.push_back(&t);
        }
        if (!up(t.pos_)) down(t.pos_);
    }
    void cancel(Timer& t) {
        if (!t.armed()) return;
        const size_t pos = t.pos_;
        t.pos_ = Timer::kNotArmed;
        Timer* last = heap_.back();
        heap_.pop_back();
        if (last == &t) return;
        heap_[pos] = last;
        last->pos_ = pos;
        if (!up(pos)) down(pos);
    }
    // Milliseconds until the earliest deadline (0 if past), or `cap` if later or none.
    uint64_t wait_ms(uint64_t now_ms, uint64_t cap) const {
        if (heap_.empty()) return cap;
        const uint64_t d = heap_.front()->deadline_;
        return d <= now_ms ? 0 : (d - now_ms < cap ? d - now_ms : cap);
    }
    // Fires every timer due at `now_ms` (a fired timer is disarmed first, so
    // its handler may arm it again).
    void run_due(uint64_t now_ms) {
        while (!heap_.empty() && heap_.front()->deadline_ <= now_ms) {
            Timer* t = heap_.front();
            cancel(*t);
            t->on_timer();
        }
    }
    size_t size() const { return heap_.size(); }

private:
    bool up(size_t i) {
        bool moved = false;
        while (i > 0) {
            const size_t parent = (i - 1) / 2;
            if (heap_[parent]->deadline_ <= heap_[i]->deadline_) break;
            swap(i, parent);
            i = parent;
            moved = true;
        }
        return moved;
    }
    void down(size_t i) {
        for (;;) {
            const size_t l = 2 * i + 1, r = l + 1;
            size_t least = i;
            if (l < heap_.size() && heap_[l]->deadline_ < heap_[least]->deadline_) least = l;
            if (r < heap_.size() && heap_[r]->deadline_ < heap_[least]->deadline_) least = r;
            if (least == i) return;
            swap(i, least);
            i = least;
        }
    }
    void swap(size_t a, size_t b) {
        Timer* t = heap_[a];
        heap_[a] = heap_[b];
        heap_[b] = t;
        heap_[a]->pos_ = a;
        heap_[b]->pos_ = b;
    }
    std::vector<Timer*> heap_;
};

}  // namespace ep::worker
