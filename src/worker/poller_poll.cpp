// poller_poll.cpp: the poll() backend of the worker's Poller. poll() scans
// every watched fd on every call, so fds that only wait for input and have been
// quiet for a while leave the hot set for a cold set that a helper thread
// watches with its own blocking poll(); when one becomes ready the thread hands
// it back through a pipe in the hot set. The worker's loop then scans only its
// active connections, and thousands of idle ones cost it nothing.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "util/clock.hpp"
#include "util/unique_fd.hpp"
#include "worker/poller.hpp"

namespace ep::worker {

namespace {

constexpr uint64_t kColdAfterMs = 1000;  // quiet this long with read-only interest: cold
constexpr uint64_t kSweepEveryMs = 250;

short to_poll(uint32_t interest) {
    short ev = 0;
    if (interest & kRead) ev |= POLLIN;
    if (interest & kWrite) ev |= POLLOUT;
    return ev;
}

uint32_t from_poll(short re) {
    uint32_t ev = 0;
    if (re & POLLIN) ev |= kRead;
    if (re & POLLOUT) ev |= kWrite;
    if (re & (POLLERR | POLLHUP | POLLNVAL)) ev |= kError;
    return ev;
}

void write_byte(int fd) {
    const char b = 1;
    ssize_t ignored = ::write(fd, &b, 1);  // a full pipe already means "wake up"
    (void)ignored;
}

void drain(int fd) {
    char buf[256];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
}

// A watched fd moves hot -> cold -> hot; `generation` tells a stale report
// from the cold thread (the fd was taken back, or closed and reused) from a
// current one.
struct Entry {
    IoTarget* target = nullptr;
    uint32_t interest = 0;
    int hot_slot = -1;       // position in the hot pollfd array, -1 when cold or unused
    bool cold = false;
    uint32_t generation = 0;
    uint64_t last_active_ms = 0;
};

// The helper thread's side: a set of fds it polls, fed by commands.
class ColdSet {
public:
    struct Report {
        int fd;
        uint32_t generation;
        short revents;
    };

    // Without both pipes the two sides could not wake each other: the poller
    // is unusable, which setup_error() says.
    ColdSet() {
        if (!make_pipe(to_cold_r_, to_cold_w_) || !make_pipe(to_hot_r_, to_hot_w_))
            error_ = std::string("pipe2: ") + std::strerror(errno);
    }
    const std::string& setup_error() const { return error_; }
    ~ColdSet() {
        if (thread_.joinable()) {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                stop_ = true;
            }
            write_byte(to_cold_w_.get());
            thread_.join();
        }
    }

    int hot_wake_fd() const { return to_hot_r_.get(); }

    void add(int fd, uint32_t generation) { command(fd, generation, true); }
    void remove(int fd, uint32_t generation) { command(fd, generation, false); }

    // Reports since the last call (the caller drained hot_wake_fd()).
    void take_reports(std::vector<Report>& out) {
        std::lock_guard<std::mutex> lock(mutex_);
        out.swap(reports_);
        reports_.clear();
    }

private:
    static bool make_pipe(UniqueFd& r, UniqueFd& w) {
        int p[2];
        if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) return false;
        r.reset(p[0]);
        w.reset(p[1]);
        return true;
    }

    struct Command {
        int fd;
        uint32_t generation;
        bool add;
    };

    void command(int fd, uint32_t generation, bool add) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            commands_.push_back(Command{fd, generation, add});
        }
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
        write_byte(to_cold_w_.get());
    }

    void run() {
        // Signals are for the worker's loop, never for this thread.
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, nullptr);
        fds_.push_back(pollfd{to_cold_r_.get(), POLLIN, 0});  // [0]: the command pipe
        generations_.push_back(0);
        std::vector<Command> pending;
        for (;;) {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (stop_) return;
                pending.swap(commands_);
            }
            for (const Command& c : pending) apply(c);
            pending.clear();
            if (::poll(fds_.data(), fds_.size(), -1) < 0) continue;
            if (fds_[0].revents) drain(to_cold_r_.get());
            bool reported = false;
            for (size_t i = 1; i < fds_.size();) {
                if (!fds_[i].revents) {
                    ++i;
                    continue;
                }
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    reports_.push_back(Report{fds_[i].fd, generations_[i], fds_[i].revents});
                }
                reported = true;
                erase(i);  // a reported fd belongs to the hot side again
            }
            if (reported) write_byte(to_hot_w_.get());
        }
    }

    void apply(const Command& c) {
        if (size_t(c.fd) < position_.size() && position_[size_t(c.fd)] > 0) erase(size_t(position_[size_t(c.fd)]));
        if (!c.add) return;
        if (size_t(c.fd) >= position_.size()) position_.resize(size_t(c.fd) * 2 + 64, 0);
        position_[size_t(c.fd)] = int(fds_.size());
        fds_.push_back(pollfd{c.fd, POLLIN, 0});
        generations_.push_back(c.generation);
    }

    void erase(size_t i) {
        position_[size_t(fds_[i].fd)] = 0;
        if (i != fds_.size() - 1) {
            fds_[i] = fds_.back();
            generations_[i] = generations_.back();
            position_[size_t(fds_[i].fd)] = int(i);
        }
        fds_.pop_back();
        generations_.pop_back();
    }

    // The cold thread's own state.
    std::vector<pollfd> fds_;           // [0] is the command pipe
    std::vector<uint32_t> generations_; // parallel to fds_
    std::vector<int> position_;         // fd -> index in fds_ (0: not cold)

    UniqueFd to_cold_r_, to_cold_w_;  // commands: hot -> cold
    UniqueFd to_hot_r_, to_hot_w_;    // reports: cold -> hot
    std::mutex mutex_;
    std::vector<Command> commands_;
    std::vector<Report> reports_;
    bool stop_ = false;
    std::thread thread_;
    std::string error_;
};

class PollPoller final : public Poller {
public:
    PollPoller() {
        // The report pipe is always in the hot set, at slot 0.
        fds_.push_back(pollfd{cold_.hot_wake_fd(), POLLIN, 0});
        targets_.push_back(nullptr);
    }

    void add(int fd, uint32_t interest, IoTarget* target) override {
        if (size_t(fd) >= entries_.size()) entries_.resize(size_t(fd) * 2 + 64);
        Entry& e = entries_[size_t(fd)];
        e.target = target;
        e.interest = interest;
        e.cold = false;
        ++e.generation;
        e.last_active_ms = monotonic_ms();
        to_hot(fd, e);
        ++count_;
    }

    void modify(int fd, uint32_t interest) override {
        Entry& e = entries_[size_t(fd)];
        e.interest = interest;
        e.last_active_ms = now_ms_;
        if (e.cold) warm(fd, e);
        else fds_[size_t(e.hot_slot)].events = to_poll(interest);
    }

    void retarget(int fd, IoTarget* target) override {
        Entry& e = entries_[size_t(fd)];
        e.target = target;
        if (!e.cold) targets_[size_t(e.hot_slot)] = target;
    }

    void remove(int fd) override {
        Entry& e = entries_[size_t(fd)];
        if (e.cold) cold_.remove(fd, e.generation);
        else drop_hot(e);
        e = Entry{.generation = e.generation + 1};
        --count_;
    }

    int wait(int timeout_ms, const sigset_t* sigmask, std::vector<Event>& out) override {
        out.clear();
        now_ms_ = monotonic_ms();
        if (now_ms_ >= next_sweep_ms_) sweep();
        timespec ts{timeout_ms / 1000, long(timeout_ms % 1000) * 1000000L};
        const int n = ::ppoll(fds_.data(), fds_.size(), timeout_ms < 0 ? nullptr : &ts, sigmask);
        if (n < 0) return errno == EINTR ? -1 : 0;
        now_ms_ = monotonic_ms();
        int seen = 0;
        for (size_t i = 1; i < fds_.size() && seen < n; ++i) {
            const short re = fds_[i].revents;
            if (re == 0) continue;
            ++seen;
            Entry& e = entries_[size_t(fds_[i].fd)];
            e.last_active_ms = now_ms_;
            out.push_back(Event{fds_[i].fd, from_poll(re), targets_[i]});
        }
        if (fds_[0].revents) take_back_cold(out);
        return int(out.size());
    }

    size_t size() const override { return count_; }
    size_t cold() const override { return count_ - (fds_.size() - 1); }  // slot 0 is the report pipe
    const std::string& setup_error() const { return cold_.setup_error(); }

private:
    void to_hot(int fd, Entry& e) {
        e.hot_slot = int(fds_.size());
        fds_.push_back(pollfd{fd, to_poll(e.interest), 0});
        targets_.push_back(e.target);
    }

    void drop_hot(Entry& e) {
        const int slot = e.hot_slot;
        const int last = int(fds_.size()) - 1;
        if (slot != last) {
            fds_[size_t(slot)] = fds_[size_t(last)];
            targets_[size_t(slot)] = targets_[size_t(last)];
            entries_[size_t(fds_[size_t(slot)].fd)].hot_slot = slot;
        }
        fds_.pop_back();
        targets_.pop_back();
        e.hot_slot = -1;
    }

    // The worker wants to do something with a cold fd: take it back.
    void warm(int fd, Entry& e) {
        cold_.remove(fd, e.generation);
        e.cold = false;
        ++e.generation;
        to_hot(fd, e);
    }

    // Quiet read-only fds go cold, in one batch per sweep.
    void sweep() {
        next_sweep_ms_ = now_ms_ + kSweepEveryMs;
        for (size_t i = 1; i < fds_.size();) {
            const int fd = fds_[i].fd;
            Entry& e = entries_[size_t(fd)];
            if (e.interest == kRead && now_ms_ - e.last_active_ms >= kColdAfterMs) {
                drop_hot(e);  // moves another fd into slot i
                e.cold = true;
                ++e.generation;
                cold_.add(fd, e.generation);
                continue;
            }
            ++i;
        }
    }

    void take_back_cold(std::vector<Event>& out) {
        drain(cold_.hot_wake_fd());
        cold_.take_reports(reports_);
        for (const ColdSet::Report& r : reports_) {
            if (size_t(r.fd) >= entries_.size()) continue;
            Entry& e = entries_[size_t(r.fd)];
            if (!e.cold || e.generation != r.generation) continue;  // taken back or reused meanwhile
            e.cold = false;
            e.last_active_ms = now_ms_;
            to_hot(r.fd, e);
            out.push_back(Event{r.fd, from_poll(r.revents), e.target});
        }
        reports_.clear();
    }

    std::vector<pollfd> fds_;          // the hot set
    std::vector<IoTarget*> targets_;   // parallel to fds_
    std::vector<Entry> entries_;       // by fd
    std::vector<ColdSet::Report> reports_;
    ColdSet cold_;
    size_t count_ = 0;
    uint64_t now_ms_ = 0;
    uint64_t next_sweep_ms_ = 0;
};

}  // namespace

std::unique_ptr<Poller> make_poll_poller(std::string& error) {
    auto poller = std::make_unique<PollPoller>();
    if (poller->setup_error().empty()) return poller;
    error = poller->setup_error();
    return nullptr;
}

}  // namespace ep::worker
