// poller.hpp: the small event-loop interface a worker is written against
// (HAProxy's ev_poll.c / ev_epoll.c split): poll() is the portable backend,
// epoll the Linux one (global.poller). A backend implements these five calls.
#pragma once
#include <signal.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ep::worker {

// Whoever owns an fd in the poller: a listener or a connection.
class IoTarget {
public:
    virtual ~IoTarget() = default;
    virtual void on_io(int fd, uint32_t events) = 0;
};

inline constexpr uint32_t kRead = 1;
inline constexpr uint32_t kWrite = 2;
inline constexpr uint32_t kError = 4;  // POLLERR/POLLHUP/POLLNVAL seen

struct Event {
    int fd;
    uint32_t events;
    IoTarget* target;
};

class Poller {
public:
    virtual ~Poller() = default;
    virtual void add(int fd, uint32_t interest, IoTarget* target) = 0;
    virtual void modify(int fd, uint32_t interest) = 0;
    virtual void remove(int fd) = 0;
    // The fd is about to be closed: stop reporting it. Cheaper than remove()
    // where closing already unregisters it (epoll).
    virtual void forget(int fd) { remove(fd); }
    // Another owner takes over a watched fd (a pooled server connection
    // moving between the pool and a session), interest unchanged: no system
    // call in either backend.
    virtual void retarget(int fd, IoTarget* target) = 0;
    // Waits up to timeout_ms (-1: forever) with `sigmask` installed while
    // blocked (ppoll semantics: a signal can never slip in before the wait).
    // Fills `out` with ready fds; returns their count, or -1 on EINTR.
    virtual int wait(int timeout_ms, const sigset_t* sigmask, std::vector<Event>& out) = 0;
    virtual size_t size() const = 0;
    // Watched fds parked away from the hot set (the poll() backend's cold
    // set); a backend without one has none.
    virtual size_t cold() const { return 0; }
};

// Each returns nullptr and says why in `error` ("epoll_create1: Too many open
// files") when the backend cannot be set up: the worker then exits with it.
std::unique_ptr<Poller> make_poll_poller(std::string& error);
std::unique_ptr<Poller> make_epoll_poller(std::string& error);

}  // namespace ep::worker
