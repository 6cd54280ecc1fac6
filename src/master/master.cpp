// master.cpp: the master process. Its life reads top to bottom in Master::run():
// lock the run dir, bind, create the shared memory, fork the workers, then one
// loop that sleeps in ppoll() and acts on what woke it: dead workers, signal
// flags (the handlers only set them, as in nginx's master cycle), timers.
#include "master/master.hpp"

#include "config.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "config/summary.hpp"
#include "control/protocol.hpp"
#include "health/checker.hpp"
#include "kernel/sockmap.hpp"
#include "master/control_server.hpp"
#include "master/listeners.hpp"
#include "master/privileges.hpp"
#include "master/stats_server.hpp"
#include "master/steering.hpp"
#include "master/watcher.hpp"
#include "shm/catalog.hpp"
#include "shm/segment.hpp"
#include "tls/tickets.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"
#include "worker/buffer_pool.hpp"
#include "http/rate_limit.hpp"
#include "worker/worker.hpp"

namespace ep::master {

namespace {

volatile sig_atomic_t g_child = 0;
volatile sig_atomic_t g_terminate = 0;
volatile sig_atomic_t g_quit = 0;
volatile sig_atomic_t g_reload = 0;
volatile sig_atomic_t g_reopen = 0;

void on_signal(int sig) {
    switch (sig) {
    case SIGCHLD: g_child = 1; break;
    case SIGTERM:
    case SIGINT: g_terminate = 1; break;
    case SIGQUIT: g_quit = 1; break;
    case SIGHUP: g_reload = 1; break;
    case SIGUSR1: g_reopen = 1; break;
    }
}

// relay = "sockmap": connections a worker may have in the kernel at once
// (beyond it, it relays them itself). The flow table holds them for every
// worker slot (8 per worker and 8 more, for reloads), at 128 bytes each:
// 12 MiB of kernel memory with 2 workers.
constexpr int kSockmapPerWorker = 4096;
constexpr int kMasterSignals[] = {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1};
constexpr uint64_t kTickMs = 1000;
// With the watchdog on, the loop looks at the workers' heartbeats this often;
// an idle worker stamps one twice a second, so one older than kStalledMs
// means its loop is not turning: new clients are steered away from its queue.
constexpr uint64_t kWatchdogTickMs = 250;
constexpr uint64_t kStalledMs = 1000;
constexpr uint64_t kFirstBackoffMs = 100;
constexpr uint64_t kMaxBackoffMs = 10000;
constexpr uint64_t kStableAfterMs = 2000;  // a worker that lived this long resets its backoff
// rate_limit buckets (8 bytes each): busy clients of every rate_limit middleware
constexpr size_t kRateEntries = 65536;

log::Level to_log_level(config::LogLevel l) {
    switch (l) {
    case config::LogLevel::Debug: return log::Level::Debug;
    case config::LogLevel::Info: return log::Level::Info;
    case config::LogLevel::Notice: return log::Level::Notice;
    case config::LogLevel::Warning: return log::Level::Warning;
    case config::LogLevel::Error: return log::Level::Error;
    }
    return log::Level::Info;
}

// global.workers, where 0 means one per online CPU.
uint32_t worker_count(const config::Config& cfg) {
    return cfg.global.workers > 0 ? uint32_t(cfg.global.workers)
                                  : uint32_t(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
}

std::string describe_exit(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
    return "stopped (status " + std::to_string(status) + ")";
}

// systemd's readiness protocol (sd_notify), done by hand: one datagram.
void notify_systemd(const char* state) {
    const char* path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) return;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const size_t len = strnlen(path, sizeof addr.sun_path - 1);
    memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
    UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return;
    ::sendto(fd.get(), state, strlen(state), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
             socklen_t(offsetof(sockaddr_un, sun_path) + len));
}

// Closes every descriptor above stderr except `keep` (a forked worker must
// not hold the master's control socket, health checks or other workers' queues).
void close_fds_except(std::vector<int> keep) {
    std::sort(keep.begin(), keep.end());
    unsigned next = 3;
    for (int fd : keep) {
        if (fd < int(next)) continue;
        if (unsigned(fd) > next) ::close_range(next, unsigned(fd) - 1, 0);
        next = unsigned(fd) + 1;
    }
    ::close_range(next, ~0U, 0);
}

struct WorkerProc {
    pid_t pid = 0;
    uint32_t set = 0;        // listener set and worker number
    uint32_t slot = 0;       // WorkerSlot in shared memory
    uint64_t generation = 0;
    uint64_t started_ms = 0;
    uint64_t backoff_ms = 0;
    uint64_t respawn_at = 0; // when pid == 0: monotonic time to respawn
    bool hung = false;       // killed by the watchdog, not reaped yet
};

class Master final : public ControlActions {
public:
    Master(config::Config cfg, Options options)
        : cfg_(std::move(cfg)), options_(std::move(options)), tls_(std::move(options_.tls)) {}
    int run();

    control::Answer status() override;
    control::Answer reload() override;
    void stop(bool graceful) override;

private:
    bool start_services();
    void load_sockmap(const char* when);
    void loop_once();
    bool lock_run_dir();
    void raise_fd_limit();
    void create_shared_memory();
    void write_pid_file();
    void install_signals();
    bool spawn(WorkerProc& w);
    [[noreturn]] void worker_main(const WorkerProc& w);
    control::Answer switch_config();
    void watch_config_files();
    void reap_children();
    void undo_worker_counts(uint32_t slot);
    void respawn_due();
    void watchdog();
    void steer(const std::vector<bool>& stalled);
    void stop_workers(int sig);
    bool wait_workers_gone(uint64_t deadline_ms);
    uint32_t free_worker_slot() const;
    bool worker_slot_free(uint32_t i) const;
    void init_logging() const;
    void daemonize();
    void cleanup_files();
    void enforce_old_generation_deadline();
    bool drop_privileges();
    void publish_certificates();
    uint32_t free_worker_slots() const;

    config::Config cfg_;
    Options options_;
    std::shared_ptr<const tls::Contexts> tls_;  // the SSL_CTXs of cfg_, inherited by workers at fork
    Identity identity_;
    uint32_t workers_count_ = 1;
    Listeners listeners_;
    shm::Segment segment_;
    shm::SlotMap slots_;
    // rate_limit buckets: one table for the master's life, so limits hold
    // across workers and across reloads
    std::unique_ptr<http::RateTable> rates_;
    // relay = "sockmap": the BPF program and maps, loaded while privileged
    // (at start, or at a reload that first asks for them) and kept for life
    std::unique_ptr<kernel::Sockmap> sockmap_;
    uint64_t old_generations_deadline_ = 0;  // hard stop for draining generations
    std::vector<WorkerProc> workers_;
    Steering steering_;
    std::vector<bool> stalled_;  // by set: its worker's loop is not turning (logged once each way)
    std::string steering_error_;
    UniqueFd pid_lock_;
    std::string pid_path_;
    std::string shm_path_;
    uint64_t generation_ = 1;
    uint64_t started_ms_ = 0;
    bool stopping_ = false;
    std::unique_ptr<ControlServer> control_;
    std::unique_ptr<health::HealthChecker> checker_;
    std::unique_ptr<StatsServer> stats_;  // only with global.stats.listen
    Watcher watcher_;                     // watches nothing unless global.watch
    std::vector<pollfd> pollfds_;
    sigset_t during_wait_{};
};

bool Master::lock_run_dir() {
    const std::string& dir = cfg_.global.run_dir;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        LOG_ERROR("cannot create run_dir %s: %s", dir.c_str(), std::strerror(errno));
        return false;
    }
    pid_path_ = dir + "/easyproxy.pid";
    shm_path_ = dir + "/easyproxy.shm";
    UniqueFd fd(::open(pid_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) {
        LOG_ERROR("cannot open pid file %s: %s", pid_path_.c_str(), std::strerror(errno));
        return false;
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {};
        ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
        (void)n;
        LOG_ERROR("another easyproxy (pid %d) is already running with run_dir %s", atoi(buf), dir.c_str());
        return false;
    }
    pid_lock_ = std::move(fd);
    return true;
}

void Master::write_pid_file() {
    const std::string text = std::to_string(getpid()) + "\n";
    if (::ftruncate(pid_lock_.get(), 0) != 0 || ::pwrite(pid_lock_.get(), text.data(), text.size(), 0) < 0)
        LOG_WARN("cannot write pid file %s: %s", pid_path_.c_str(), std::strerror(errno));
}

// Each worker needs two descriptors per connection, two per splice pipe, its
// listeners and a few more (access log, epoll, the poll backend's pipes).
void Master::raise_fd_limit() {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    const rlim_t wanted = rlim_t(cfg_.global.max_connections) * 2 + worker::PipePool::kMaxPipes * 2 + 256;
    if (rl.rlim_cur >= wanted) return;
    rlimit up = rl;
    up.rlim_cur = std::min(wanted, rl.rlim_max);
    if (wanted > rl.rlim_max) {
        up.rlim_max = wanted;
        up.rlim_cur = wanted;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) return;
        up.rlim_max = rl.rlim_max;
        up.rlim_cur = rl.rlim_max;
    }
    setrlimit(RLIMIT_NOFILE, &up);
    if (up.rlim_cur < wanted)
        LOG_WARN("max_connections %d needs %llu open files per worker, but the limit is %llu: "
                 "a worker will pause accepting when it runs out",
                 cfg_.global.max_connections, (unsigned long long)wanted, (unsigned long long)up.rlim_cur);
}

void Master::create_shared_memory() {
    shm::Capacity cap;
    cap.services = uint32_t(cfg_.services.size());
    for (const auto& s : cfg_.services) cap.servers += uint32_t(s.servers.size());
    // Slots are reused by name across reloads; the spare room is for the
    // servers and services a reload adds while the old ones still drain.
    cap.services = cap.services * 2 + 16;
    cap.servers = cap.servers * 2 + 64;
    // Routes and middlewares are small and a reload may add many: fixed
    // room, more when the config already holds more.
    uint32_t routes = 0;
    for (const auto& s : cfg_.services) routes += uint32_t(s.routes.size());
    cap.routes = std::max<uint32_t>(1024, routes * 2 + 64);
    cap.middlewares = std::max<uint32_t>(256, uint32_t(cfg_.middlewares.size()) * 2 + 16);
    // Room for several generations at once (reloads in quick succession while
    // old workers finish their connections), plus respawns.
    cap.workers = workers_count_ * 8 + 8;
    cap.sessions_per_worker = uint32_t(std::min(cfg_.global.max_connections, 65536));
    segment_ = shm::Segment::create(shm_path_, cap);

    shm::Header& h = segment_.header();
    shm::copy_text(h.config_file, options_.config_path.c_str());
    h.generation.store(generation_);
    slots_ = shm::publish_catalog(segment_, cfg_);
    publish_certificates();
    rates_ = http::RateTable::create(kRateEntries);
    if (!rates_) LOG_WARN("rate limits are off: no shared memory for their table: %s", std::strerror(errno));
}

// Loaded once, when a service first asks for it; without it such a service
// relays in the worker, as with relay = "worker", and the log says why.
void Master::load_sockmap(const char* when) {
    std::string names;
    for (const auto& svc : cfg_.services)
        if (svc.relay == config::Relay::Sockmap) names += (names.empty() ? "" : ", ") + svc.name;
    if (names.empty() || sockmap_) return;
    std::string why;
    const uint32_t per_worker = uint32_t(std::min(cfg_.global.max_connections, kSockmapPerWorker));
    sockmap_ = kernel::Sockmap::load(uint32_t(segment_.workers().size()), per_worker, why);
    if (sockmap_)
        LOG_INFO("%srelay = \"sockmap\": BPF program loaded (%u connections per worker in the kernel)", when,
                 per_worker);
    else
        LOG_WARN("%srelay = \"sockmap\" is not available: %s; %s relay%s in the worker", when, why.c_str(),
                 names.c_str(), names.find(',') == std::string::npos ? "s" : "");
}

void Master::install_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigset_t blocked;
    sigemptyset(&blocked);
    for (int sig : kMasterSignals) {
        sigaction(sig, &sa, nullptr);
        sigaddset(&blocked, sig);
    }
    signal(SIGPIPE, SIG_IGN);
    // Blocked everywhere but inside ppoll(): a signal can't slip in between
    // checking the flags and going to sleep.
    sigprocmask(SIG_BLOCK, &blocked, &during_wait_);
    for (int sig : kMasterSignals) sigdelset(&during_wait_, sig);
}

// A slot is free when no worker we track holds it and no process (a worker
// that has not been reaped yet) says it is there.
bool Master::worker_slot_free(uint32_t i) const {
    const bool tracked = std::any_of(workers_.begin(), workers_.end(),
                                     [&](const WorkerProc& w) { return w.pid != 0 && w.slot == i; });
    return !tracked && segment_.workers()[i].pid.load() == 0;
}

uint32_t Master::free_worker_slot() const {
    for (uint32_t i = 0; i < segment_.workers().size(); ++i)
        if (worker_slot_free(i)) return i;
    return UINT32_MAX;
}

bool Master::spawn(WorkerProc& w) {
    w.slot = free_worker_slot();
    if (w.slot == UINT32_MAX) {
        LOG_ERROR("no free worker slot in shared memory; worker %u not started", w.set);
        return false;
    }
    shm::WorkerSlot& ws = segment_.workers()[w.slot];
    ws.generation.store(w.generation);
    ws.active.store(0);
    ws.accepted.store(0);
    ws.started_unix_ms.store(wall_ms());
    ws.heartbeat_ms.store(monotonic_ms());  // the watchdog's clock starts at the fork
    ws.bytes_spliced.store(0);
    ws.cold_fds.store(0);
    ws.local_errors.store(0);
    ws.kernel_relays.store(0);
    ws.bytes_kernel.store(0);
    ws.listener_set = w.set;
    ws.state.store(uint32_t(shm::WorkerState::Running));
    const pid_t master_pid = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
        LOG_ERROR("fork: %s", std::strerror(errno));
        ws.state.store(uint32_t(shm::WorkerState::Free));
        return false;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the master
        if (getppid() != master_pid) _exit(0);
        worker_main(w);
    }
    ws.pid.store(pid);
    w.pid = pid;
    w.hung = false;
    w.started_ms = monotonic_ms();
    LOG_INFO("worker %u started (pid %d, generation %llu)", w.set, int(pid), (unsigned long long)w.generation);
    return true;
}

void Master::worker_main(const WorkerProc& w) {
    // Default dispositions, but the master's signals stay blocked until the
    // worker has installed its handlers: a stop signal that arrives right
    // after the fork waits for the worker's loop instead of killing it.
    for (int sig : kMasterSignals) signal(sig, SIG_DFL);
    std::vector<int> keep = listeners_.fds_of_set(w.set);
    if (sockmap_)
        for (int fd : sockmap_->fds()) keep.push_back(fd);
    close_fds_except(std::move(keep));
    drop_all_capabilities();  // a worker never binds: it needs no privilege
    init_logging();
    static char role[32];
    snprintf(role, sizeof role, "worker %u", w.set);
    log::set_role(role);

    worker::Setup setup;
    setup.config = &cfg_;
    setup.tls = tls_.get();
    setup.segment = &segment_;
    setup.slots = &slots_;
    setup.slot = w.slot;
    setup.generation = w.generation;
    setup.listeners = listeners_.for_set(w.set);
    setup.rates = rates_.get();
    setup.sockmap = sockmap_.get();
    const int code = worker::run(setup);
    _exit(code);
}

// A killed worker never decremented the counts of its open connections; its
// session slots say exactly which ones it held.
void Master::undo_worker_counts(uint32_t slot) {
    shm::WorkerSlot& ws = segment_.workers()[slot];
    const int32_t pid = ws.pid.load();
    auto services = segment_.services();
    auto servers = segment_.servers();
    for (shm::SessionSlot& ss : segment_.sessions(slot)) {
        const uint32_t seq = ss.seq.load(std::memory_order_acquire);
        if (seq == 0) continue;
        if (ss.service < services.size()) services[ss.service].active.fetch_sub(1, std::memory_order_relaxed);
        if (ss.server != shm::kNoServer && ss.server < servers.size())
            servers[ss.server].active.fetch_sub(1, std::memory_order_relaxed);
        ss.seq.store(0, std::memory_order_relaxed);
    }
    // A worker killed while picking a server still holds its service's lock.
    for (shm::ServiceSlot& svc : services) shm::release_if_owner(svc.lock, uint32_t(pid));
    ws.active.store(0);
    ws.pid.store(0);
    ws.state.store(uint32_t(shm::WorkerState::Free));
}

void Master::reap_children() {
    g_child = 0;
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        auto it = std::find_if(workers_.begin(), workers_.end(), [&](const WorkerProc& w) { return w.pid == pid; });
        if (it == workers_.end()) continue;  // a health-check helper or unknown child
        WorkerProc& w = *it;
        const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        // A stop signal may reach the workers (a terminal's Ctrl-C goes to the
        // whole process group) before the master's loop acts on it.
        const bool stopping = stopping_ || g_terminate || g_quit;
        if (stopping || w.generation != generation_) {
            LOG_INFO("worker %u (pid %d) %s", w.set, int(pid), describe_exit(status).c_str());
        } else {
            LOG_ERROR("worker %u (pid %d) %s; respawning", w.set, int(pid), describe_exit(status).c_str());
        }
        if (!clean) undo_worker_counts(w.slot);
        else {
            segment_.workers()[w.slot].pid.store(0);
            segment_.workers()[w.slot].state.store(uint32_t(shm::WorkerState::Free));
        }
        w.pid = 0;
        if (stopping || w.generation != generation_) continue;
        const uint64_t now = monotonic_ms();
        const bool lived_long = now - w.started_ms >= kStableAfterMs;
        w.backoff_ms = lived_long ? 0 : std::min(kMaxBackoffMs, w.backoff_ms ? w.backoff_ms * 2 : kFirstBackoffMs);
        w.respawn_at = now + w.backoff_ms;
        if (w.backoff_ms)
            LOG_WARN("worker %u keeps dying; next start in %llu ms", w.set, (unsigned long long)w.backoff_ms);
    }
    std::erase_if(workers_, [&](const WorkerProc& w) { return w.pid == 0 && w.generation != generation_; });
    const bool old_left = std::any_of(workers_.begin(), workers_.end(),
                                      [&](const WorkerProc& w) { return w.generation != generation_; });
    if (!old_left && old_generations_deadline_) {
        old_generations_deadline_ = 0;
        shm::free_retired_slots(segment_);
        LOG_INFO("previous generations have finished");
    }
}

void Master::enforce_old_generation_deadline() {
    if (!old_generations_deadline_ || monotonic_ms() < old_generations_deadline_) return;
    for (const WorkerProc& w : workers_)
        if (w.pid > 0 && w.generation != generation_) {
            LOG_WARN("worker %u (pid %d, generation %llu) still has connections at shutdown_timeout; killing it",
                     w.set, int(w.pid), (unsigned long long)w.generation);
            ::kill(w.pid, SIGKILL);
        }
}

uint32_t Master::free_worker_slots() const {
    uint32_t n = 0;
    for (uint32_t i = 0; i < segment_.workers().size(); ++i) n += worker_slot_free(i) ? 1 : 0;
    return n;
}

void Master::respawn_due() {
    if (g_terminate || g_quit) return;
    const uint64_t now = monotonic_ms();
    for (WorkerProc& w : workers_)
        if (w.pid == 0 && w.generation == generation_ && now >= w.respawn_at) spawn(w);
}

// A worker whose loop stopped turning (stopped by a signal, stuck in a call,
// deadlocked) still owns its SO_REUSEPORT accept queue, and the kernel keeps
// giving it a share of the new clients. Its loop stamps a heartbeat on every
// turn, busy or idle; one that has not moved for watchdog_timeout is killed,
// and its replacement takes over the same queue, clients waiting in it included.
//
// Long before that, a heartbeat older than kStalledMs (or a worker waiting for
// its respawn) takes the worker's set out of the SO_REUSEPORT choice, so new
// clients stop queueing where nobody accepts (steering.hpp).
void Master::watchdog() {
    const uint64_t limit = cfg_.global.watchdog_timeout_ms;
    std::vector<bool> stalled(workers_count_, false);
    if (limit == 0) {  // off (perhaps by a reload): no set stays avoided
        if (steering_.steering()) steer(stalled);
        return;
    }
    const uint64_t now = monotonic_ms();
    for (WorkerProc& w : workers_) {
        const bool current = w.generation == generation_ && w.set < stalled.size();
        if (w.pid <= 0) {
            if (current) stalled[w.set] = true;
            continue;
        }
        const uint64_t beat = segment_.workers()[w.slot].heartbeat_ms.load(std::memory_order_relaxed);
        if (current && now >= beat + kStalledMs) stalled[w.set] = true;
        if (w.hung || now < beat + limit) continue;
        LOG_ERROR("worker %u (pid %d) has not run its event loop for %llu ms (watchdog_timeout %llu ms); killing it",
                  w.set, int(w.pid), (unsigned long long)(now - beat), (unsigned long long)limit);
        ::kill(w.pid, SIGKILL);
        w.hung = true;
        segment_.header().watchdog_kills.fetch_add(1, std::memory_order_relaxed);
    }
    steer(stalled);
}

void Master::steer(const std::vector<bool>& stalled) {
    stalled_.resize(stalled.size(), false);
    for (uint32_t set = 0; set < stalled.size(); ++set) {
        if (stalled[set] == stalled_[set]) continue;
        stalled_[set] = stalled[set];
        if (stalled[set])
            LOG_WARN("worker %u is not running its event loop; new connections go to the other workers until it "
                     "does", set);
        else
            LOG_NOTICE("worker %u is running its event loop again; new connections go to every worker", set);
    }
    std::string error;
    if (!steering_.apply(listeners_.reuseport_groups(), stalled, error) && error != steering_error_)
        LOG_WARN("cannot steer new connections away from a stalled worker: %s", error.c_str());
    steering_error_ = error;  // said once, not at every tick
}

void Master::stop_workers(int sig) {
    for (const WorkerProc& w : workers_)
        if (w.pid > 0) ::kill(w.pid, sig);
}

bool Master::wait_workers_gone(uint64_t deadline_ms) {
    for (;;) {
        reap_children();
        if (std::none_of(workers_.begin(), workers_.end(), [](const WorkerProc& w) { return w.pid > 0; }))
            return true;
        const uint64_t now = monotonic_ms();
        if (now >= deadline_ms) return false;
        timespec ts{0, long(std::min<uint64_t>(deadline_ms - now, 100)) * 1000000L};
        ::ppoll(nullptr, 0, &ts, &during_wait_);  // wakes on SIGCHLD
    }
}

void Master::daemonize() {
    if (pid_t pid = fork(); pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    else if (pid > 0) _exit(0);
    setsid();
    if (pid_t pid = fork(); pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    else if (pid > 0) _exit(0);
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (null) {
        ::dup2(null.get(), STDIN_FILENO);
        ::dup2(null.get(), STDOUT_FILENO);
        ::dup2(null.get(), STDERR_FILENO);
    }
}

// Files the master must still manage after the switch (remove at exit,
// recreate) move to the daemon's user first.
bool Master::drop_privileges() {
    if (!identity_.drop) return true;
    for (const std::string& path : {cfg_.global.run_dir, pid_path_, shm_path_, cfg_.global.run_dir + "/easyproxy.sock"})
        if (::chown(path.c_str(), identity_.uid, identity_.gid) != 0 && errno != ENOENT)
            LOG_WARN("chown %s: %s", path.c_str(), std::strerror(errno));
    std::string error;
    if (!drop_to(identity_, error)) {
        LOG_ERROR("%s", error.c_str());
        return false;
    }
    LOG_INFO("running as user %s (uid %d), group %d; the master keeps only CAP_NET_BIND_SERVICE",
             identity_.user.empty() ? "root" : identity_.user.c_str(), int(getuid()), int(getgid()));
    return true;
}

void Master::cleanup_files() {
    ::unlink(pid_path_.c_str());
}

control::Answer Master::status() {
    control::Answer a;
    a.ok = true;
    a.text = "easyproxy " PACKAGE_VERSION;
    const uint64_t uptime_s = (monotonic_ms() - started_ms_) / 1000;
    a.details.push_back("master pid " + std::to_string(getpid()));
    a.details.push_back("uptime " + std::to_string(uptime_s) + "s");
    a.details.push_back("generation " + std::to_string(generation_));
    a.details.push_back("config " + options_.config_path);
    for (const WorkerProc& w : workers_)
        a.details.push_back("worker " + std::to_string(w.set) + " pid " + std::to_string(w.pid) + " generation " +
                            std::to_string(w.generation) + (w.pid ? "" : " (restarting)"));
    // Certificates that need renewing soon, so monitoring sees them here too.
    if (tls_) {
        const int64_t now = int64_t(wall_ms() / 1000);
        for (const tls::CertificateInfo& c : tls_->certificates()) {
            const int64_t left = c.not_after_unix - now;
            if (left >= tls::kExpiryWarningDays * 86400) continue;
            std::string names;
            for (const auto& n : c.names) names += (names.empty() ? "" : ",") + n;
            a.details.push_back("certificate " + cfg_.services[c.service].name + " " + c.file + " (" + names + ") " +
                                (left < 0 ? "expired " + std::to_string(-left / 86400) + " days ago"
                                          : "expires in " + std::to_string(left / 86400) + " days"));
        }
    }
    return a;
}

// What stats show of the running certificates (epstat, /metrics, dashboard).
void Master::publish_certificates() {
    std::vector<shm::CertificateEntry> entries;
    if (tls_) {
        for (const tls::CertificateInfo& c : tls_->certificates()) {
            shm::CertificateEntry e;
            e.service = cfg_.services[c.service].name;
            e.file = c.file;
            for (const auto& n : c.names) e.names += (e.names.empty() ? "" : ",") + n;
            e.not_after_unix = c.not_after_unix;
            entries.push_back(std::move(e));
        }
    }
    shm::publish_certificates(segment_, entries);
}

// SIGHUP, `epctl reload` and global.watch all come here.
control::Answer Master::reload() {
    control::Answer a = switch_config();
    // After a refused reload too: the configuration kept says what to watch.
    watch_config_files();
    return a;
}

// global.watch: the config file and every file it names (Config::files).
void Master::watch_config_files() {
    std::vector<std::string> files;
    if (cfg_.global.watch) {
        files = cfg_.files;
        files.push_back(options_.config_path);
    }
    const bool was = watcher_.active();
    watcher_.watch(files);
    if (watcher_.active() && !was) LOG_INFO("watch: reloading by itself when %s or a file it names changes",
                                            options_.config_path.c_str());
    else if (was && !watcher_.active()) LOG_INFO("watch: off, configuration changes wait for a reload");
}

// Reload (DESIGN.md §1): validate, bind what is new, publish the catalog
// (same-named servers keep their slot and so their state and counters), start
// a new generation, and let the old one finish its connections.
control::Answer Master::switch_config() {
    control::Answer a;
    config::Config next;
    std::shared_ptr<const tls::Contexts> next_tls;
    try {
        next = config::load_file(options_.config_path);
        // Certificates are read again: a renewed file takes effect, and a
        // bad one refuses the reload, so the running ones stay.
        std::vector<std::string> warnings;
        next_tls = tls::load(next, warnings, int64_t(wall_ms() / 1000));
        for (const auto& w : warnings) LOG_WARN("reload: %s", w.c_str());
    } catch (const config::ConfigError& e) {
        for (const auto& d : e.diagnostics()) {
            LOG_ERROR("reload: %s", d.str().c_str());
            a.details.push_back(d.str());
        }
        a.text = "configuration is invalid, keeping the running one";
        return a;
    }
    for (const std::string& w : next.warnings) LOG_WARN("reload: %s", w.c_str());
    if (next.global.run_dir != cfg_.global.run_dir) {
        a.text = "run_dir cannot change on reload (restart easyproxy to move it)";
        LOG_ERROR("reload: %s", a.text.c_str());
        return a;
    }
    const uint32_t count = worker_count(next);
    if (free_worker_slots() < count) {
        a.text = "too many generations still finishing their connections; try again later";
        LOG_ERROR("reload: %s", a.text.c_str());
        return a;
    }
    Listeners next_listeners;
    std::vector<std::string> errors;
    if (!next_listeners.bind_all(next, count, errors, &listeners_)) {
        for (const auto& e : errors) LOG_ERROR("reload: %s", e.c_str());
        a.text = "cannot bind the new listeners, keeping the running configuration";
        a.details = errors;
        return a;
    }
    shm::CatalogChanges changes;
    shm::SlotMap next_slots;
    try {
        next_slots = shm::publish_catalog(segment_, next, &changes);
    } catch (const std::exception& e) {
        shm::publish_catalog(segment_, cfg_);  // put the running catalog back
        a.text = std::string(e.what()) + "; restart easyproxy to grow the shared memory";
        LOG_ERROR("reload: %s", a.text.c_str());
        return a;
    }

    // Commit: from here on the new configuration is the running one.
    for (const WorkerProc& w : workers_)
        if (w.pid > 0) ::kill(w.pid, SIGQUIT);  // stop accepting, finish, exit
    ++generation_;
    segment_.header().generation.store(generation_);
    cfg_ = std::move(next);
    // The old contexts outlive the old health checker, whose checks may use them.
    const std::shared_ptr<const tls::Contexts> old_tls = std::move(tls_);
    tls_ = std::move(next_tls);
    publish_certificates();
    slots_ = std::move(next_slots);
    listeners_ = std::move(next_listeners);
    steering_.forget();  // new groups, or groups shared with the old ones: set them again
    workers_count_ = count;
    old_generations_deadline_ = monotonic_ms() + cfg_.global.shutdown_timeout_ms + 1000;
    log::set_level(to_log_level(cfg_.global.log.level));
    restore_admin_state(cfg_, segment_);
    load_sockmap("reload: ");
    control_->set_config(cfg_);
    checker_ = std::make_unique<health::HealthChecker>(cfg_, segment_, tls_.get());
    if (stats_) stats_->set_config(cfg_);
    else if (!cfg_.global.stats.listen_text.empty())
        LOG_WARN("reload: stats.listen %s takes effect at the next restart", cfg_.global.stats.listen_text.c_str());
    for (uint32_t i = 0; i < count; ++i) {
        WorkerProc w;
        w.set = i;
        w.generation = generation_;
        if (spawn(w)) workers_.push_back(w);
        else {
            w.respawn_at = monotonic_ms() + kFirstBackoffMs;
            workers_.push_back(w);
        }
    }
    if (changes.lines.empty()) changes.lines.push_back("no changes");
    for (const auto& line : changes.lines) LOG_NOTICE("reload: %s", line.c_str());
    LOG_NOTICE("reloaded %s: generation %llu serving", options_.config_path.c_str(), (unsigned long long)generation_);
    a.ok = true;
    a.text = "reloaded, generation " + std::to_string(generation_);
    a.details = std::move(changes.lines);
    return a;
}

void Master::stop(bool graceful) {
    if (graceful) g_quit = 1;
    else g_terminate = 1;
}

// The control socket and the health checks live in the master loop.
bool Master::start_services() {
    gid_t group = gid_t(-1);
    if (!cfg_.global.group.empty()) {
        if (const struct group* g = getgrnam(cfg_.global.group.c_str())) group = g->gr_gid;
        else LOG_WARN("group %s not found: the control socket keeps the master's group", cfg_.global.group.c_str());
    }
    try {
        control_ = std::make_unique<ControlServer>(cfg_.global.run_dir + "/easyproxy.sock", group, cfg_, segment_,
                                                   *this);
    } catch (const std::exception& e) {
        LOG_ERROR("%s", e.what());
        return false;
    }
    restore_admin_state(cfg_, segment_);
    checker_ = std::make_unique<health::HealthChecker>(cfg_, segment_, tls_.get());
    if (!cfg_.global.stats.listen_text.empty()) {
        try {
            stats_ = std::make_unique<StatsServer>(cfg_, segment_);
        } catch (const std::exception& e) {
            LOG_ERROR("%s", e.what());
            return false;
        }
    }
    return true;
}

void Master::loop_once() {
    const uint64_t now = monotonic_ms();
    uint64_t timeout = cfg_.global.watchdog_timeout_ms ? kWatchdogTickMs : kTickMs;
    for (const WorkerProc& w : workers_)
        if (w.pid == 0) timeout = std::min(timeout, w.respawn_at > now ? w.respawn_at - now : 0);
    pollfds_.clear();
    control_->append_pollfds(pollfds_);
    const size_t control_count = pollfds_.size();
    checker_->append_pollfds(pollfds_, now);
    const size_t checker_count = pollfds_.size() - control_count;
    if (stats_) stats_->append_pollfds(pollfds_, now);
    const size_t stats_end = pollfds_.size();
    watcher_.append_pollfds(pollfds_);
    uint64_t wake = std::min(checker_->next_wakeup_ms(), watcher_.next_wakeup_ms());
    if (stats_) wake = std::min(wake, stats_->next_wakeup_ms());
    if (wake < now + timeout) timeout = wake > now ? wake - now : 0;
    timespec ts{long(timeout / 1000), long(timeout % 1000) * 1000000L};
    const int n = ::ppoll(pollfds_.data(), pollfds_.size(), &ts, &during_wait_);
    const std::span<const pollfd> ready(pollfds_);
    if (n > 0) control_->process(ready.first(control_count));
    checker_->process(ready.subspan(control_count, checker_count), monotonic_ms());
    if (stats_) stats_->process(ready.subspan(control_count + checker_count, stats_end - control_count - checker_count),
                                monotonic_ms());
    watcher_.process(ready.subspan(stats_end), monotonic_ms());
}

// Logs go to stderr in the foreground and to syslog otherwise, unless
// log.target says which.
void Master::init_logging() const {
    const bool to_stderr = options_.foreground ? cfg_.global.log.target != config::LogTarget::Syslog
                                               : cfg_.global.log.target == config::LogTarget::Stderr;
    log::init("easyproxy", to_stderr, to_log_level(cfg_.global.log.level));
}

int Master::run() {
    init_logging();
    log::set_role("master");
    workers_count_ = worker_count(cfg_);

    {
        std::string error;
        if (!resolve_identity(cfg_.global.user, cfg_.global.group, identity_, error)) {
            LOG_ERROR("%s", error.c_str());
            return 1;
        }
    }
    if (!lock_run_dir()) return 1;
    std::vector<std::string> errors;
    if (!listeners_.bind_all(cfg_, workers_count_, errors)) {
        for (const auto& e : errors) LOG_ERROR("%s", e.c_str());
        return 1;
    }
    raise_fd_limit();
    try {
        create_shared_memory();
    } catch (const std::exception& e) {
        LOG_ERROR("%s", e.what());
        return 1;
    }
    if (!options_.foreground) daemonize();
    started_ms_ = monotonic_ms();
    segment_.header().master_pid.store(getpid());
    write_pid_file();
    install_signals();
    {
        std::string error;
        if (!tls::init_ticket_keys(error)) {
            LOG_ERROR("%s", error.c_str());
            return 1;
        }
        tls::rotation_due(monotonic_ms());  // starts the schedule
    }
    if (!start_services()) return 1;
    load_sockmap("");
    if (!drop_privileges()) return 1;
    watch_config_files();  // with the rights every later re-arming has
    LOG_NOTICE("easyproxy %s starting with %s (%u workers)", PACKAGE_VERSION, options_.config_path.c_str(),
               workers_count_);
    {
        const std::string text = config::summary(cfg_);
        size_t start = 0;
        while (start < text.size()) {
            size_t end = text.find('\n', start);
            if (end == std::string::npos) end = text.size();
            if (end > start) LOG_INFO("%s", text.substr(start, end - start).c_str());
            start = end + 1;
        }
    }

    for (uint32_t i = 0; i < workers_count_; ++i) {
        WorkerProc w;
        w.set = i;
        w.generation = generation_;
        if (!spawn(w)) return 1;
        workers_.push_back(w);
    }
    notify_systemd("READY=1");

    while (!g_terminate && !g_quit) {
        loop_once();
        if (g_child) reap_children();
        if (g_reload) {
            g_reload = 0;
            reload();
        }
        if (const std::string file = watcher_.changed(monotonic_ms()); !file.empty()) {
            LOG_INFO("config changed (%s), reloading", file.c_str());
            reload();
        }
        enforce_old_generation_deadline();
        if (g_reopen) {
            g_reopen = 0;
            stop_workers(SIGUSR1);  // workers reopen the access log
        }
        respawn_due();
        watchdog();
        if (tls::rotation_due(monotonic_ms()) && !tls::rotate_ticket_keys(monotonic_ms()))
            LOG_ERROR("TLS ticket keys: the random source failed; keeping the current key");
        segment_.header().heartbeat_ms.store(wall_ms(), std::memory_order_relaxed);
    }

    stopping_ = true;
    notify_systemd("STOPPING=1");
    if (g_quit && !g_terminate) {
        LOG_NOTICE("graceful stop: no new connections, waiting up to %llu ms for open ones",
                   (unsigned long long)cfg_.global.shutdown_timeout_ms);
        listeners_.close_all();  // new clients are refused at once instead of queueing
        stop_workers(SIGQUIT);
        if (!wait_workers_gone(monotonic_ms() + cfg_.global.shutdown_timeout_ms + 1000)) stop_workers(SIGKILL);
    } else {
        LOG_NOTICE("fast stop");
        stop_workers(SIGTERM);
        if (!wait_workers_gone(monotonic_ms() + 2000)) stop_workers(SIGKILL);
    }
    wait_workers_gone(monotonic_ms() + 2000);
    control_.reset();  // unlinks the socket
    cleanup_files();
    LOG_NOTICE("stopped");
    return 0;
}

}  // namespace

int run(config::Config cfg, const Options& options) {
    Master m(std::move(cfg), options);
    return m.run();
}

}  // namespace ep::master
