// control_server.cpp: the control socket RUN_DIR/easyproxy.sock (protocol in
// control/protocol.hpp). Non-blocking all the way: a slow, silent or hostile
// client costs one small buffer and is cut off by size, idle time or a newer
// client needing its slot, never by stalling the master loop. Only whole lines
// run, each gets one answer, in order. Admin changes go to shared memory and
// the state file.
#include "master/control_server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "control/state_file.hpp"
#include "shm/catalog.hpp"
#include "stats/snapshot.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace ep::master {

namespace {

// When every slot is taken, a new client gets the slot of the one that has
// waited longest with nothing in progress (silent clients first): so clients
// that connect and say nothing, however many, never lock the operator's
// epctl out. Only clients that all owe or await an answer make a newcomer
// `busy`, and those are bounded by the idle limit.
constexpr size_t kMaxClients = 32;
constexpr uint64_t kIdleTimeoutMs = 10000;
constexpr uint64_t kAcceptPauseMs = 100;     // after running out of descriptors
// Answers are small; a client that pipelines commands without reading its
// answers stops being read once this much is waiting for it.
constexpr size_t kMaxPendingOutput = 64 * 1024;

std::string errno_text() { return std::strerror(errno); }

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
    return out;
}

struct Peer {
    pid_t pid = 0;
    uid_t uid = uid_t(-1);
    gid_t gid = gid_t(-1);
    bool writer = false;  // may change state
};

struct Client {
    UniqueFd fd;
    Peer peer;
    std::string in;
    std::string out;
    uint64_t last_active_ms = 0;
    bool said_anything = false;  // sent at least one byte
    bool peer_done = false;     // the client shut its sending side
    bool closing = false;       // close once `out` is flushed
    bool stop_after = false;    // run actions.stop() once the answer is flushed
    bool stop_graceful = false;
};

// A server slot named by a command, with its names for answers and logs.
struct Named {
    shm::ServerSlot* slot;
    std::string label;  // "web/app1"
};

}  // namespace

struct ControlServer::Impl {
    std::string path;
    gid_t group;                 // the socket's group: its members may change state
    std::string group_name;
    config::Config cfg;          // own copy: the master replaces its config on reload
    const shm::Segment& seg;
    ControlActions& actions;
    UniqueFd listener;
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<Client*> polled;  // clients whose fds append_pollfds() handed out, in order
    uint64_t accept_paused_until_ms = 0;  // after EMFILE/ENFILE

    Impl(const std::string& p, gid_t g, const config::Config& c, const shm::Segment& s, ControlActions& a)
        : path(p), group(g), cfg(c), seg(s), actions(a) {}

    void accept_clients();
    Client* idlest_client() const;
    void make_room(Client& c, uint64_t now_ms);
    void identify(Client& c);
    bool in_group(const Client& c) const;
    void read_from(Client& c, uint64_t now_ms);
    void log_lost_fragment(const Client& c, const char* how) const;
    void handle_lines(Client& c);
    bool run_lines(Client& c);
    void flush(Client& c);
    std::string execute(Client& c, std::string_view line);
    std::string change_state(const Client& c, const control::Command& cmd);
    bool resolve(const control::Target& target, std::vector<Named>& out, std::string& error) const;
};

void ControlServer::Impl::identify(Client& c) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(c.fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        LOG_WARN("control socket: cannot read the peer's credentials: %s", errno_text().c_str());
        return;  // unknown peer: status only
    }
    c.peer.pid = cred.pid;
    c.peer.uid = cred.uid;
    c.peer.gid = cred.gid;
    c.peer.writer = cred.uid == 0 || cred.uid == ::geteuid() || in_group(c);
}

// The peer's supplementary groups as its process holds them (SO_PEERGROUPS,
// recorded at connect): exact, and no user-database lookup that could stall
// the master. getgrouplist() of the peer's user only where the kernel lacks it.
bool ControlServer::Impl::in_group(const Client& c) const {
    if (c.peer.gid == group) return true;
#ifdef SO_PEERGROUPS
    std::vector<gid_t> groups(64);
    for (int attempt = 0; attempt < 2; ++attempt) {
        socklen_t len = socklen_t(groups.size() * sizeof(gid_t));
        if (::getsockopt(c.fd.get(), SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
            groups.resize(len / sizeof(gid_t));
            return std::find(groups.begin(), groups.end(), group) != groups.end();
        }
        if (errno != ERANGE) break;
        groups.resize(len / sizeof(gid_t) + 1);
    }
#endif
    const passwd* pw = ::getpwuid(c.peer.uid);
    if (!pw) return false;
    int count = 64;
    std::vector<gid_t> list(static_cast<size_t>(count));
    if (::getgrouplist(pw->pw_name, c.peer.gid, list.data(), &count) < 0) {
        list.resize(size_t(count));
        if (::getgrouplist(pw->pw_name, c.peer.gid, list.data(), &count) < 0) return false;
    }
    list.resize(size_t(count));
    return std::find(list.begin(), list.end(), group) != list.end();
}

void ControlServer::Impl::accept_clients() {
    for (;;) {
        UniqueFd fd(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                LOG_WARN("control socket %s: accept: %s", path.c_str(), errno_text().c_str());
                // Out of descriptors: the listener stays readable, so stop
                // watching it for a moment instead of spinning the master.
                accept_paused_until_ms = monotonic_ms() + kAcceptPauseMs;
            }
            return;
        }
        if (clients.size() >= kMaxClients) {
            if (Client* idle = idlest_client()) make_room(*idle, monotonic_ms());
        }
        if (clients.size() >= kMaxClients) {
            // Tell the client why before closing; the answer fits any socket buffer.
            const std::string busy =
                control::err_answer("busy: " + std::to_string(kMaxClients) + " control clients already connected");
            ssize_t n = ::send(fd.get(), busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            char sink[1024];  // a close with unread input would reset the answer away
            for (int i = 0; i < 16 && n >= 0 && ::recv(fd.get(), sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
            }
            continue;
        }
        auto c = std::make_unique<Client>();
        c->fd = std::move(fd);
        c->last_active_ms = monotonic_ms();
        identify(*c);
        clients.push_back(std::move(c));
    }
}

// The client that can give up its slot: nothing unread in its socket, no
// answer owed or queued, no stop pending. One that never said anything goes
// first (likely a stuck or hostile connection), then the longest idle.
Client* ControlServer::Impl::idlest_client() const {
    Client* best = nullptr;
    for (const auto& c : clients) {
        if (!c->fd || c->closing || c->stop_after || !c->out.empty()) continue;
        int unread = 0;
        if (::ioctl(c->fd.get(), FIONREAD, &unread) != 0 || unread > 0) continue;
        if (!best || (!c->said_anything && best->said_anything) ||
            (c->said_anything == best->said_anything && c->last_active_ms < best->last_active_ms))
            best = c.get();
    }
    return best;
}

void ControlServer::Impl::make_room(Client& c, uint64_t now_ms) {
    const std::string idle_text = std::to_string((now_ms - c.last_active_ms) / 1000) + " s";
    LOG_INFO("control socket: closed a client of uid %d (pid %d) %s for %s to make room for a new one",
             int(c.peer.uid), int(c.peer.pid), c.said_anything ? "idle" : "silent", idle_text.c_str());
    log_lost_fragment(c, "was closed to make room");
    const std::string bye = control::err_answer("closed after " + idle_text + " idle to make room for another client (" +
                                                std::to_string(kMaxClients) + " control clients connected)");
    const ssize_t n = ::send(c.fd.get(), bye.data(), bye.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n;  // best effort: the socket buffer is empty, so it fits
    std::erase_if(clients, [&](const std::unique_ptr<Client>& x) { return x.get() == &c; });
}

// A fragment of a line that will never be completed is not run (it might
// spell a shorter command than the one meant); the log says so.
void ControlServer::Impl::log_lost_fragment(const Client& c, const char* how) const {
    if (c.in.empty()) return;
    LOG_WARN("control socket: uid %d (pid %d) %s: %s", int(c.peer.uid), int(c.peer.pid), how,
             control::incomplete_line_error(c.in).c_str());
}

void ControlServer::Impl::read_from(Client& c, uint64_t now_ms) {
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                log_lost_fragment(c, "lost its connection");
                c.fd.reset();
            }
            break;
        }
        if (n == 0) {
            c.peer_done = true;  // answer what it sent, then close
            break;
        }
        c.last_active_ms = now_ms;
        c.said_anything = true;
        c.in.append(buf, size_t(n));
        // No need to buffer more than a line's worth ahead: handle_lines
        // works this off (or refuses an endless line) before we read again.
        if (c.in.size() > control::kMaxLineLength + 2) break;
    }
    if (c.fd) handle_lines(c);
}

// Lines already read have no wake-up of their own (their bytes left the
// socket), so keep running them for as long as flushing makes room: when this
// returns, either no whole line is waiting, or the output is full and POLLOUT
// will bring us back.
void ControlServer::Impl::handle_lines(Client& c) {
    while (c.fd) {
        const bool ran = run_lines(c);
        flush(c);
        if (!ran || c.out.size() >= kMaxPendingOutput) break;
    }
}

// Runs whole lines until the output is full; true if it took any input.
bool ControlServer::Impl::run_lines(Client& c) {
    const size_t before = c.in.size();
    while (c.fd && !c.closing && !c.stop_after && c.out.size() < kMaxPendingOutput) {
        const control::NextLine next = control::next_line(c.in, c.peer_done);
        if (next.status == control::LineStatus::NeedMore) break;
        if (next.status == control::LineStatus::TooLong) {
            c.out += control::err_answer("line too long (at most " + std::to_string(control::kMaxLineLength) +
                                         " bytes)");
            c.closing = true;
            break;
        }
        if (next.status == control::LineStatus::Incomplete) {
            log_lost_fragment(c, "ended its input");
            c.out += control::err_answer(control::incomplete_line_error(next.line));
            c.closing = true;
            break;
        }
        const std::string line(next.line);
        c.in.erase(0, next.consumed);
        c.out += execute(c, line);
    }
    if (c.peer_done && c.in.empty()) c.closing = true;
    if (c.closing) c.in.clear();
    return c.in.size() != before;
}

void ControlServer::Impl::flush(Client& c) {
    while (c.fd && !c.out.empty()) {
        const ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) c.fd.reset();  // gone: drop it
            return;
        }
        c.out.erase(0, size_t(n));
    }
    if (!c.fd || !c.out.empty()) return;
    if (c.stop_after) {
        // The answer is out; now the master may stop (and close us).
        c.stop_after = false;
        c.closing = true;
        actions.stop(c.stop_graceful);
    }
    if (c.closing) {
        // Input left unread would make the close a reset on the client's
        // side, which may lose our answer; read what is already there first.
        char sink[4096];
        for (int i = 0; i < 16 && ::recv(c.fd.get(), sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
        }
        c.fd.reset();
    }
}

std::string ControlServer::Impl::execute(Client& c, std::string_view line) {
    control::Command cmd;
    std::string error;
    if (!control::parse_command(line, cmd, error)) return control::err_answer(error);
    if (cmd.verb != control::Verb::Status && !c.peer.writer) {
        LOG_WARN("control socket: %s refused to uid %d (pid %d): neither root nor in group %s",
                 control::verb_name(cmd.verb), int(c.peer.uid), int(c.peer.pid), group_name.c_str());
        return control::err_answer("permission denied: uid " + std::to_string(int(c.peer.uid)) +
                                   " is neither root nor in group " + group_name);
    }
    switch (cmd.verb) {
        case control::Verb::Status: return control::format_answer(actions.status());
        case control::Verb::Reload:
            LOG_NOTICE("reload requested on the control socket by uid %d", int(c.peer.uid));
            return control::format_answer(actions.reload());
        case control::Verb::Stop:
            LOG_NOTICE("%s stop requested on the control socket by uid %d", cmd.graceful ? "graceful" : "fast",
                       int(c.peer.uid));
            c.stop_after = true;
            c.stop_graceful = cmd.graceful;
            return control::ok_answer(cmd.graceful ? "stopping gracefully" : "stopping");
        case control::Verb::Drain:
        case control::Verb::Maint:
        case control::Verb::Ready:
        case control::Verb::Weight: return change_state(c, cmd);
    }
    return control::err_answer("unknown command");
}

bool ControlServer::Impl::resolve(const control::Target& target, std::vector<Named>& out, std::string& error) const {
    auto srv_slots = seg.servers();
    for (const config::Service& svc : cfg.services) {
        if (svc.name != target.service) continue;
        std::vector<std::string> names;
        for (const config::Server& server : svc.servers) {
            names.push_back(server.name);
            if (!target.all_servers() && server.name != target.server) continue;
            const int32_t index = shm::find_server_slot(seg, svc.name, server.name);
            if (index < 0) continue;
            out.push_back({&srv_slots[size_t(index)], svc.name + "/" + server.name});
        }
        if (out.empty()) {
            error = "no such server: " + target.text() + " (servers of " + svc.name + ": " + join(names) + ")";
            return false;
        }
        return true;
    }
    std::vector<std::string> names;
    for (const auto& svc : cfg.services) names.push_back(svc.name);
    error = "no such service: " + target.service + " (services: " + join(names) + ")";
    return false;
}

std::string ControlServer::Impl::change_state(const Client& c, const control::Command& cmd) {
    std::vector<Named> targets;
    std::string error;
    if (!resolve(cmd.target, targets, error)) return control::err_answer(error);
    const int uid = int(c.peer.uid);
    const uint64_t now = wall_ms();
    for (const Named& t : targets) {
        shm::ServerSlot& s = *t.slot;
        if (cmd.verb == control::Verb::Weight) {
            s.weight.store(uint32_t(cmd.weight), std::memory_order_relaxed);
            LOG_NOTICE("%s weight set to %d by uid %d", t.label.c_str(), cmd.weight, uid);
            continue;
        }
        const shm::AdminState admin = cmd.verb == control::Verb::Drain   ? shm::AdminState::Drain
                                      : cmd.verb == control::Verb::Maint ? shm::AdminState::Maint
                                                                         : shm::AdminState::Ready;
        if (s.admin.exchange(uint8_t(admin), std::memory_order_relaxed) != uint8_t(admin))
            s.last_change_unix_ms.store(now, std::memory_order_relaxed);
        if (cmd.kill) s.kill_seq.fetch_add(1, std::memory_order_relaxed);  // workers close the older connections
        LOG_NOTICE("%s set to %s%s by uid %d", t.label.c_str(), stats::admin_name(admin),
                   cmd.kill ? " (closing its connections)" : "", uid);
    }

    std::string what;
    switch (cmd.verb) {
        case control::Verb::Drain: what = "draining"; break;
        case control::Verb::Maint: what = cmd.kill ? "maint, its connections are being closed" : "in maintenance"; break;
        case control::Verb::Ready: what = "ready"; break;
        default: what = "weight " + std::to_string(cmd.weight); break;
    }
    std::string text = cmd.target.text() + " " + what;
    if (cmd.target.all_servers()) {
        std::vector<std::string> names;
        for (const Named& t : targets) names.push_back(t.label.substr(cmd.target.service.size() + 1));
        text += " (" + std::to_string(targets.size()) + (targets.size() == 1 ? " server: " : " servers: ") +
                join(names) + ")";
    }
    std::vector<std::string> details;
    std::string save_error;
    if (!save_admin_state(cfg, seg, save_error)) {
        LOG_ERROR("cannot save the server state: %s", save_error.c_str());
        details.push_back("warning: the change is live but was not saved, it will not survive a restart: " +
                          save_error);
    }
    return control::ok_answer(text, details);
}

ControlServer::ControlServer(const std::string& path, gid_t group, const config::Config& cfg,
                             const shm::Segment& seg, ControlActions& actions)
    : impl_(std::make_unique<Impl>(path, group, cfg, seg, actions)) {
    Impl& m = *impl_;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        throw std::runtime_error("control socket " + path + ": path too long for a unix socket");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

    // A socket left by a crashed master would make bind() fail; the run dir
    // lock says no other master uses it. Anything else at the path is kept.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            throw std::runtime_error("control socket " + path + ": the path exists and is not a socket");
        if (::unlink(path.c_str()) != 0)
            throw std::runtime_error("control socket " + path + ": cannot remove the old socket: " + errno_text());
    }
    m.listener.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!m.listener) throw std::runtime_error("control socket " + path + ": socket: " + errno_text());
    // Created without group/other access (umask 0177) so nobody connects
    // before chmod/chown below set the intended rights.
    const mode_t old_umask = ::umask(0177);
    const int rc = ::bind(m.listener.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    const int bind_errno = errno;
    ::umask(old_umask);
    if (rc != 0) {
        errno = bind_errno;
        throw std::runtime_error("control socket " + path + ": bind: " + errno_text());
    }
    auto fail = [&](const char* what) {
        const std::string text = "control socket " + path + ": " + what + ": " + errno_text();
        ::unlink(path.c_str());  // the destructor will not run
        throw std::runtime_error(text);
    };
    if (group != gid_t(-1) && ::chown(path.c_str(), uid_t(-1), group) != 0)
        LOG_WARN("control socket %s: cannot give it to group %d: %s", path.c_str(), int(group), errno_text().c_str());
    if (::chmod(path.c_str(), 0660) != 0) fail("chmod");
    if (::listen(m.listener.get(), 16) != 0) fail("listen");
    // Members of the socket's group are writers: whatever group it ended up with.
    if (::stat(path.c_str(), &st) == 0) m.group = st.st_gid;
    if (const struct group* g = ::getgrgid(m.group)) m.group_name = g->gr_name;
    else m.group_name = std::to_string(int(m.group));
}

ControlServer::~ControlServer() {
    impl_->clients.clear();
    impl_->listener.reset();
    ::unlink(impl_->path.c_str());
}

void ControlServer::append_pollfds(std::vector<pollfd>& fds) {
    Impl& m = *impl_;
    const uint64_t now = monotonic_ms();
    // Idle clients go here: the master loop passes by at least once a second.
    for (auto& c : m.clients)
        if (c->fd && now - c->last_active_ms >= kIdleTimeoutMs) c->fd.reset();
    std::erase_if(m.clients, [](const std::unique_ptr<Client>& c) { return !c->fd; });

    m.polled.clear();
    const bool paused = now < m.accept_paused_until_ms;
    fds.push_back(pollfd{m.listener.get(), short(paused ? 0 : POLLIN), 0});
    for (auto& c : m.clients) {
        short events = 0;
        if (!c->out.empty()) events |= POLLOUT;
        if (!c->closing && !c->peer_done && c->out.size() < kMaxPendingOutput) events |= POLLIN;
        fds.push_back(pollfd{c->fd.get(), events, 0});
        m.polled.push_back(c.get());
    }
}

void ControlServer::process(std::span<const pollfd> fds) {
    Impl& m = *impl_;
    if (fds.empty()) return;
    const uint64_t now = monotonic_ms();
    for (size_t k = 1; k < fds.size() && k - 1 < m.polled.size(); ++k) {
        Client& c = *m.polled[k - 1];
        const short rev = fds[k].revents;
        if (!rev || !c.fd || fds[k].fd != c.fd.get()) continue;
        if (rev & POLLOUT) {
            c.last_active_ms = now;
            m.flush(c);
            if (c.fd && c.out.size() < kMaxPendingOutput) m.handle_lines(c);  // lines held back by a full output
        }
        if (c.fd && (rev & (POLLIN | POLLHUP | POLLERR))) {
            if (!c.closing && !c.peer_done) m.read_from(c, now);
            else if (rev & (POLLHUP | POLLERR)) c.fd.reset();  // gone before reading its answer
        }
    }
    m.polled.clear();
    std::erase_if(m.clients, [](const std::unique_ptr<Client>& c) { return !c->fd; });
    if (fds[0].revents & POLLIN) m.accept_clients();
}

void ControlServer::set_config(const config::Config& cfg) { impl_->cfg = cfg; }

// Only what differs from the config is worth keeping: servers that are ready
// at their config weight are left out, so the file stays short and readable.
bool save_admin_state(const config::Config& cfg, const shm::Segment& seg, std::string& error) {
    std::vector<control::StateEntry> entries;
    auto srv_slots = seg.servers();
    for (const config::Service& svc : cfg.services) {
        for (const config::Server& server : svc.servers) {
            const int32_t index = shm::find_server_slot(seg, svc.name, server.name);
            if (index < 0) continue;
            const shm::ServerSlot& s = srv_slots[size_t(index)];
            control::StateEntry e;
            e.service = svc.name;
            e.server = server.name;
            e.admin = shm::AdminState(s.admin.load(std::memory_order_relaxed));
            const uint32_t weight = s.weight.load(std::memory_order_relaxed);
            e.weight = weight == uint32_t(server.weight) ? -1 : int(weight);
            if (e.admin == shm::AdminState::Ready && e.weight < 0) continue;
            entries.push_back(std::move(e));
        }
    }
    return control::save_state(cfg.global.state_file, entries, error);
}

void restore_admin_state(const config::Config& cfg, const shm::Segment& seg) {
    std::vector<control::StateEntry> entries;
    std::vector<std::string> warnings;
    std::string error;
    const bool loaded = control::load_state(cfg.global.state_file, entries, warnings, error);
    for (const auto& w : warnings) LOG_WARN("%s", w.c_str());
    if (!loaded) {
        LOG_ERROR("%s; every server starts ready at its config weight", error.c_str());
        return;
    }
    auto srv_slots = seg.servers();
    const uint64_t now = wall_ms();
    for (const control::StateEntry& e : entries) {
        const config::Server* server = nullptr;
        for (const config::Service& svc : cfg.services)
            if (svc.name == e.service)
                for (const config::Server& x : svc.servers)
                    if (x.name == e.server) server = &x;
        const int32_t index = server ? shm::find_server_slot(seg, e.service, e.server) : -1;
        const bool found = index >= 0;
        if (found) {
            shm::ServerSlot& s = srv_slots[size_t(index)];
            if (s.admin.exchange(uint8_t(e.admin), std::memory_order_relaxed) != uint8_t(e.admin))
                s.last_change_unix_ms.store(now, std::memory_order_relaxed);
            s.weight.store(uint32_t(e.weight >= 0 ? e.weight : server->weight), std::memory_order_relaxed);
            if (e.admin != shm::AdminState::Ready || e.weight >= 0)
                LOG_NOTICE("%s/%s restored from %s: %s, weight %s", e.service.c_str(), e.server.c_str(),
                           cfg.global.state_file.c_str(), stats::admin_name(e.admin),
                           e.weight >= 0 ? std::to_string(e.weight).c_str() : "from the config");
        }
        if (!found)
            LOG_WARN("%s: %s/%s is not in the configuration, its saved state (%s) is ignored",
                     cfg.global.state_file.c_str(), e.service.c_str(), e.server.c_str(), stats::admin_name(e.admin));
    }
}

}  // namespace ep::master
