// poller_epoll.cpp: the epoll backend of the worker's Poller (Linux). The cost
// of a wait does not grow with the number of watched sockets, so thousands of
// idle connections cost the relay nothing; level-triggered, so the worker's
// logic is the same as with poll(): interest changes only when it must.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "util/log.hpp"
#include "util/unique_fd.hpp"
#include "worker/poller.hpp"

namespace ep::worker {

namespace {

uint32_t to_epoll(uint32_t interest) {
    uint32_t ev = 0;
    if (interest & kRead) ev |= EPOLLIN;
    if (interest & kWrite) ev |= EPOLLOUT;
    return ev;
}

class EpollPoller final : public Poller {
public:
    EpollPoller() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (!epfd_) error_ = std::string("epoll_create1: ") + std::strerror(errno);
    }
    const std::string& setup_error() const { return error_; }

    // A failed epoll_ctl (out of memory, max_user_watches) leaves the fd
    // unwatched: a connection then ends by its connect or idle timeout (the
    // next modify() registers it again if memory came back), and a listener's
    // clients go to the other workers.
    void add(int fd, uint32_t interest, IoTarget* target) override {
        if (size_t(fd) >= targets_.size()) targets_.resize(size_t(fd) * 2 + 64, nullptr);
        targets_[size_t(fd)] = target;
        epoll_event ev{to_epoll(interest), {.u64 = uint64_t(fd)}};
        if (::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) log_failure("add", fd);
        ++count_;
    }

    void modify(int fd, uint32_t interest) override {
        epoll_event ev{to_epoll(interest), {.u64 = uint64_t(fd)}};
        if (::epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, fd, &ev) == 0) return;
        if (errno == ENOENT && ::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) == 0) return;  // its add failed
        log_failure("modify", fd);
    }

    void remove(int fd) override {
        // ENOENT: its add failed, which was logged then.
        if (::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != ENOENT) log_failure("remove", fd);
        targets_[size_t(fd)] = nullptr;
        --count_;
    }

    void retarget(int fd, IoTarget* target) override { targets_[size_t(fd)] = target; }

    // close() drops the fd from the epoll set (workers never duplicate a
    // connection's fd), so no epoll_ctl is needed.
    void forget(int fd) override {
        targets_[size_t(fd)] = nullptr;
        --count_;
    }

    int wait(int timeout_ms, const sigset_t* sigmask, std::vector<Event>& out) override {
        out.clear();
        const int n = ::epoll_pwait(epfd_.get(), events_, kBatch, timeout_ms, sigmask);
        if (n < 0) return errno == EINTR ? -1 : 0;
        for (int i = 0; i < n; ++i) {
            const int fd = int(events_[i].data.u64);
            IoTarget* target = targets_[size_t(fd)];
            if (!target) continue;
            const uint32_t re = events_[i].events;
            uint32_t ev = 0;
            if (re & EPOLLIN) ev |= kRead;
            if (re & EPOLLOUT) ev |= kWrite;
            if (re & (EPOLLERR | EPOLLHUP)) ev |= kError;
            out.push_back(Event{fd, ev, target});
        }
        return int(out.size());
    }

    size_t size() const override { return count_; }

private:
    static void log_failure(const char* what, int fd) {
        LOG_ERROR("epoll: cannot %s fd %d: %s", what, fd, std::strerror(errno));
    }

    static constexpr int kBatch = 256;
    UniqueFd epfd_;
    std::string error_;
    std::vector<IoTarget*> targets_;
    epoll_event events_[kBatch];
    size_t count_ = 0;
};

}  // namespace

std::unique_ptr<Poller> make_epoll_poller(std::string& error) {
    auto poller = std::make_unique<EpollPoller>();
    if (poller->setup_error().empty()) return poller;
    error = poller->setup_error();
    return nullptr;
}

}  // namespace ep::worker
