// poller_poll.cpp: the poll() backend of the worker's Poller. A dense pollfd
// array (swap-remove keeps it dense) plus an fd -> slot map, so add, modify
// and remove are O(1) and each wait costs one ppoll() over the watched fds.
#include <poll.h>

#include <cerrno>

#include "worker/poller.hpp"

namespace ep::worker {

namespace {

short to_poll(uint32_t interest) {
    short ev = 0;
    if (interest & kRead) ev |= POLLIN;
    if (interest & kWrite) ev |= POLLOUT;
    return ev;
}

class PollPoller final : public Poller {
public:
    void add(int fd, uint32_t interest, IoTarget* target) override {
        if (size_t(fd) >= slot_of_.size()) slot_of_.resize(size_t(fd) * 2 + 64, -1);
        slot_of_[size_t(fd)] = int(fds_.size());
        fds_.push_back(pollfd{fd, to_poll(interest), 0});
        targets_.push_back(target);
    }

    void modify(int fd, uint32_t interest) override {
        fds_[size_t(slot_of_[size_t(fd)])].events = to_poll(interest);
    }

    void remove(int fd) override {
        const int slot = slot_of_[size_t(fd)];
        const int last = int(fds_.size()) - 1;
        if (slot != last) {
            fds_[size_t(slot)] = fds_[size_t(last)];
            targets_[size_t(slot)] = targets_[size_t(last)];
            slot_of_[size_t(fds_[size_t(slot)].fd)] = slot;
        }
        fds_.pop_back();
        targets_.pop_back();
        slot_of_[size_t(fd)] = -1;
    }

    int wait(int timeout_ms, const sigset_t* sigmask, std::vector<Event>& out) override {
        out.clear();
        timespec ts{timeout_ms / 1000, long(timeout_ms % 1000) * 1000000L};
        int n = ::ppoll(fds_.data(), fds_.size(), timeout_ms < 0 ? nullptr : &ts, sigmask);
        if (n < 0) return errno == EINTR ? -1 : 0;
        for (size_t i = 0; i < fds_.size() && int(out.size()) < n; ++i) {
            const short re = fds_[i].revents;
            if (re == 0) continue;
            uint32_t ev = 0;
            if (re & POLLIN) ev |= kRead;
            if (re & POLLOUT) ev |= kWrite;
            if (re & (POLLERR | POLLHUP | POLLNVAL)) ev |= kError;
            out.push_back(Event{fds_[i].fd, ev, targets_[i]});
        }
        return int(out.size());
    }

    size_t size() const override { return fds_.size(); }

private:
    std::vector<pollfd> fds_;
    std::vector<IoTarget*> targets_;
    std::vector<int> slot_of_;
};

}  // namespace

std::unique_ptr<Poller> make_poll_poller() { return std::make_unique<PollPoller>(); }

}  // namespace ep::worker
