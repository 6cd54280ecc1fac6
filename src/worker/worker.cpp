// worker.cpp: the worker process: one event loop (poller + timers) over its
// listeners and connections. It accepts, checks limits and ACLs, and hands
// each connection to the handler of its service's mode: the TCP relay here
// (pick a server, connect without blocking, retry elsewhere on failure, relay
// both directions passing half-closes on) or the HTTP session (http/).
#include "worker/worker.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "balance/balancer.hpp"
#include "http/middleware.hpp"
#include "http/router.hpp"
#include "http/server_pool.hpp"
#include "http/session.hpp"
#include "kernel/sockmap.hpp"
#include "net/proxy_protocol.hpp"
#include "net/socket.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"
#include "worker/buffer_pool.hpp"
#include "worker/connection.hpp"
#include "worker/context.hpp"
#include "worker/timers.hpp"
#include "worker/tls_handshake.hpp"
#include "worker/upstream.hpp"
#include "worker/worker_loop.hpp"

namespace ep::worker {

namespace {

volatile sig_atomic_t g_stop = 0;      // SIGTERM/SIGINT: close everything now
volatile sig_atomic_t g_graceful = 0;  // SIGQUIT: stop accepting, finish connections
volatile sig_atomic_t g_reopen = 0;    // SIGUSR1: reopen the access log

void on_signal(int sig) {
    if (sig == SIGQUIT) g_graceful = 1;
    else if (sig == SIGUSR1) g_reopen = 1;
    else g_stop = 1;
}

constexpr uint64_t kHousekeepingMs = 250;
constexpr uint64_t kAcceptPauseMs = 100;  // after EMFILE/ENFILE
constexpr int kAcceptBurst = 32;
constexpr uint8_t kStreamingReads = 4;    // full reads in a row before splice()

uint64_t seed_from_kernel() {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = monotonic_us() ^ uint64_t(getpid()) << 32;
    return seed;
}

}  // namespace

void Listener::on_io(int, uint32_t) { worker->on_accept_ready(*this); }
void Connection::on_io(int fd, uint32_t events) { worker->on_connection_io(*this, fd, events); }
void Connection::on_timer() { worker->on_connection_timer(*this); }
void Connection::close(const char* code) { worker->close_connection(*this, code); }
void Connection::housekeeping(uint64_t) { worker->relay_housekeeping(*this); }

Worker::Worker(const Setup& setup, std::unique_ptr<Poller> poller)
    : setup_(setup),
      cfg_(*setup.config),
      tls_(setup.tls),
      slot_(setup.segment->workers()[setup.slot]),
      sessions_(setup.segment->sessions(setup.slot)),
      poller_(std::move(poller)),
      middlewares_(*setup.config, setup.rates),
      sockmap_(setup.sockmap),
      rng_(seed_from_kernel()) {
    auto all_services = setup.segment->services();
    auto all_servers = setup.segment->servers();
    upstreams_.reserve(cfg_.services.size());
    for (size_t i = 0; i < cfg_.services.size(); ++i) {
        const uint32_t slot_index = setup.slots->service[i];
        std::vector<shm::ServerSlot*> servers;
        for (uint32_t x : setup.slots->server[i]) servers.push_back(&all_servers[x]);
        upstreams_.emplace_back(cfg_.services[i], all_services[slot_index], slot_index, std::move(servers),
                                setup.slots->server[i]);
        routers_.push_back(cfg_.services[i].is_entry_point()
                               ? std::make_unique<http::Router>(cfg_.services[i].routes)
                               : nullptr);
    }
    auto all_routes = setup.segment->routes();
    for (const auto& routes : setup.slots->route) {
        auto& slots = route_slots_.emplace_back();
        for (uint32_t x : routes) slots.push_back(&all_routes[x]);
    }
    auto all_middlewares = setup.segment->middlewares();
    for (uint32_t x : setup.slots->middleware) middleware_slots_.push_back(&all_middlewares[x]);
    if (sockmap_ && !sockmap_->map_slot(setup.slot)) {
        LOG_WARN("relay = \"sockmap\": cannot map the flow table (%s); this worker relays every connection itself",
                 std::strerror(errno));
        sockmap_ = nullptr;
    }
    if (sockmap_) {
        sockmap_->forget_slot(setup.slot);  // what a killed worker in this slot left
        for (int32_t n = int32_t(sockmap_->per_slot()) - 1; n >= 0; --n) free_kernel_.push_back(n);
    }
    free_sessions_.reserve(sessions_.size());
    for (int32_t i = int32_t(sessions_.size()) - 1; i >= 0; --i) free_sessions_.push_back(i);
    for (const auto& ref : setup.listeners) {
        auto l = std::make_unique<Listener>();
        l->worker = this;
        l->fd = ref.fd;
        l->owner.reset(ref.fd);
        l->service = ref.service;
        listeners_.push_back(std::move(l));
    }
}

int Worker::run() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGUSR1}) sigaction(sig, &sa, nullptr);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    // Signals stay blocked except inside ppoll(), so none is lost between
    // checking the flags and going to sleep.
    sigset_t blocked, during_wait;
    sigemptyset(&blocked);
    for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGUSR1}) sigaddset(&blocked, sig);
    sigprocmask(SIG_BLOCK, &blocked, &during_wait);
    for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGUSR1}) sigdelset(&during_wait, sig);

    open_access_log();
    now_ = monotonic_ms();
    slot_.heartbeat_ms.store(now_, std::memory_order_relaxed);
    set_accepting(true);
    std::vector<Event> events;
    while (!g_stop) {
        if (g_graceful && !draining_) start_graceful();
        if (g_reopen) {
            g_reopen = 0;
            open_access_log();
        }
        if (draining_ && (conns_.empty() || now_ >= graceful_deadline_)) break;

        uint64_t timeout = kHousekeepingMs;
        // Idle, the loop still turns twice a second: its heartbeat tells the
        // master it is alive (a stale one steers new clients elsewhere).
        if (conns_.empty() && accept_paused_until_ == 0 && !draining_) timeout = 500;
        poller_->wait(int(timers_.wait_ms(now_, timeout)), &during_wait, events);
        now_ = monotonic_ms();
        // Proof of life for the master's watchdog: every turn of the loop,
        // idle (at least once a second) or busy.
        slot_.heartbeat_ms.store(now_, std::memory_order_relaxed);
        for (const Event& e : events) e.target->on_io(e.fd, e.events);
        reap_closed();
        timers_.run_due(now_);
        reap_closed();
        server_pool_.reap();
        if (now_ >= next_housekeeping_) housekeeping();
    }
    // Fast stop, or the graceful deadline passed: close what is left.
    for (auto& h : conns_)
        if (!h->closed) h->close("KD");
    reap_closed();
    slot_.state.store(uint32_t(shm::WorkerState::Free));
    slot_.pid.store(0);
    return 0;
}

// ---- accepting -------------------------------------------------------------

void Worker::set_accepting(bool on) {
    if (draining_) on = false;
    if (on == accepting_) return;
    accepting_ = on;
    for (auto& l : listeners_) {
        if (on && !l->watched) poller_->add(l->fd, kRead, l.get());
        if (!on && l->watched) poller_->remove(l->fd);
        l->watched = on;
    }
}

void Worker::on_accept_ready(Listener& l) { accept_from(l); }

void Worker::accept_from(Listener& l) {
    Upstream& svc = upstreams_[l.service];
    for (int i = 0; i < kAcceptBurst; ++i) {
        if (conns_.size() >= size_t(cfg_.global.max_connections)) {
            set_accepting(false);  // resumed when a connection closes
            return;
        }
        net::Address peer;
        peer.length = sizeof peer.storage;
        int fd = ::accept4(l.fd, peer.sa(), &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (net::is_local_error(errno)) {
                LOG_WARN("accept: %s; pausing accepts for %llu ms", std::strerror(errno),
                         (unsigned long long)kAcceptPauseMs);
                slot_.local_errors.fetch_add(1, std::memory_order_relaxed);
                svc.slot().local_errors.fetch_add(1, std::memory_order_relaxed);
                pause_accepting();
            }
            return;  // EAGAIN, or the client already left (ECONNABORTED)
        }
        UniqueFd client(fd);
        slot_.accepted.fetch_add(1, std::memory_order_relaxed);
        svc.slot().accepted.fetch_add(1, std::memory_order_relaxed);
        if (!admitted(svc, peer)) {
            svc.slot().denied.fetch_add(1, std::memory_order_relaxed);
            continue;  // closed by UniqueFd
        }
        slot_.active.fetch_add(1, std::memory_order_relaxed);
        svc.slot().active.fetch_add(1, std::memory_order_relaxed);
        if (const tls::ServerSide* side = tls_ ? tls_->server_side(l.service) : nullptr) {
            SSL* ssl = side->new_session(fd);
            if (!ssl) {  // OpenSSL is out of memory: a shortage of ours
                slot_.local_errors.fetch_add(1, std::memory_order_relaxed);
                svc.slot().local_errors.fetch_add(1, std::memory_order_relaxed);
                slot_.active.fetch_sub(1, std::memory_order_relaxed);
                svc.slot().active.fetch_sub(1, std::memory_order_relaxed);
                continue;
            }
            std::unique_ptr<TlsHandshake> hs = make_tls_handshake(*this, l.service, std::move(client), peer,
                                                                  tls::Stream(ssl), side->handshake_timeout_ms);
            TlsHandshake& h = *hs;
            add_handler(std::move(hs));
            session_begin(h, peer);
            h.start();
            continue;
        }
        ClientStart c;
        c.service = l.service;
        c.client = std::move(client);
        c.peer = peer;
        c.accepted_ms = now_;
        open_client(std::move(c));
    }
}

// The handler of the service's mode takes the client (counted active already).
void Worker::open_client(ClientStart&& s) {
    auto take_session = [&](Handler& h) {
        if (s.session >= 0) h.session = s.session;
        else session_begin(h, s.peer);
    };
    if (upstreams_[s.service].config().mode == config::Mode::Http) {
        std::unique_ptr<http::Session> session =
            http::make_session(*this, s.service, std::move(s.client), s.peer, std::move(s.io));
        http::Session& h = *session;
        add_handler(std::move(session));
        take_session(h);
        h.start(s.watched);
        // A handshake that ended after a graceful stop began: one request, then close.
        if (draining_ && !h.closed) h.drain();
        return;
    }
    // The relay registers the client once connected to a server.
    if (s.watched) poller_->remove(s.client.get());
    auto conn = std::make_unique<Connection>();
    Connection& c = *conn;
    c.worker = this;
    c.client = std::move(s.client);
    c.client_io = std::move(s.io);
    c.client_addr = s.peer;
    c.service = s.service;
    c.accepted_ms = s.accepted_ms;
    c.last_active_ms = now_;
    add_handler(std::move(conn));
    take_session(c);
    start_connect(c);
}

// The TLS handshake is done: the mode's handler takes over. The handshake's
// handler is finished (and uncounted) right after.
void Worker::start_client(ClientStart&& c) {
    slot_.active.fetch_add(1, std::memory_order_relaxed);
    upstreams_[c.service].slot().active.fetch_add(1, std::memory_order_relaxed);
    open_client(std::move(c));
}

void Worker::add_handler(std::unique_ptr<Handler> h) {
    h->pos = uint32_t(conns_.size());
    conns_.push_back(std::move(h));
}

bool Worker::admitted(Upstream& svc, const net::Address& client) {
    const config::Service& sc = svc.config();
    if (sc.max_connections > 0 &&
        svc.slot().active.load(std::memory_order_relaxed) >= uint64_t(sc.max_connections))
        return false;
    if (client.family() == AF_UNIX) return true;
    for (const auto& d : sc.deny)
        if (d.contains(client)) return false;
    if (sc.allow.empty()) return true;
    for (const auto& a : sc.allow)
        if (a.contains(client)) return true;
    return false;
}

// ---- choosing and connecting to a server -----------------------------------

int32_t Worker::pick_server(Connection& c) {
    uint8_t keybuf[16];
    balance::Key key;
    key.size = net::client_key_bytes(c.client_addr, keybuf);
    key.data = keybuf;
    Upstream& svc = upstreams_[c.service];
    const int32_t index = svc.pick(c.tried, key, rng_, pid_);
    if (index >= 0) session_server(c.session, int32_t(svc.server_slot(index)));
    return index;
}

void Worker::start_connect(Connection& c) {
    Upstream& svc = upstreams_[c.service];
    for (;;) {
        const int32_t index = pick_server(c);
        if (index < 0) {
            if (c.tried.count == 0) svc.slot().no_server.fetch_add(1, std::memory_order_relaxed);
            close_connection(c, c.tried.count == 0 ? "SC" : c.term);
            return;
        }
        c.server_index = index;
        shm::ServerSlot& s = svc.server(index);
        bool in_progress = false;
        int err = 0;
        c.server = net::connect_nonblocking(svc.server_config(index).address, in_progress, err);
        if (!c.server && net::is_local_error(err)) {
            local_failure(c, err);
            return;
        }
        if (!c.server) {
            connect_failed(c, err, false);
            if (c.phase == Phase::Closed) return;
            continue;
        }
        c.kill_seq = s.kill_seq.load(std::memory_order_relaxed);
        if (in_progress) {
            timers_.arm(c, now_ + svc.config().connect_timeout_ms);
            c.server_interest = kWrite;
            poller_->add(c.server.get(), kWrite, &c);
            return;
        }
        secure_server(c);
        return;
    }
}

void Worker::on_connect_result(Connection& c, int err) {
    if (err == 0) {
        secure_server(c);
        return;
    }
    timers_.cancel(c);
    if (err != 0) {
        poller_->forget(c.server.get());
        c.server_interest = 0;
        c.server.reset();
        connect_failed(c, err, false);
        if (c.phase != Phase::Closed) start_connect(c);
        return;
    }
    begin_relay(c);
}

// Connected to the server: over server_tls a handshake comes first, still
// under connect_timeout; otherwise relaying starts.
void Worker::secure_server(Connection& c) {
    const tls::ClientSide* side = server_tls(c.service);
    if (!side) {
        timers_.cancel(c);
        begin_relay(c);
        return;
    }
    SSL* ssl = side->new_session(c.server.get(), upstreams_[c.service].server_config(c.server_index).address_text);
    if (!ssl) {
        local_failure(c, ENOMEM);
        return;
    }
    c.server_io = tls::Stream(ssl);
    c.phase = Phase::Securing;
    if (!c.server_interest) {  // connected at once: not registered yet
        poller_->add(c.server.get(), kWrite, &c);
        c.server_interest = kWrite;
    }
    if (!c.armed()) timers_.arm(c, now_ + upstreams_[c.service].config().connect_timeout_ms);
    server_handshake(c);
}

// A failed handshake with a server is a connect failure: counted on the
// server, and retried on another one under `retries`.
void Worker::server_handshake(Connection& c) {
    tls::Failure why = tls::Failure::Other;
    const int r = c.server_io.handshake(why);
    if (r == 0) {
        if (c.server_io.wants() != c.server_interest) {
            poller_->modify(c.server.get(), c.server_io.wants());
            c.server_interest = c.server_io.wants();
        }
        return;
    }
    if (r > 0) {
        timers_.cancel(c);
        begin_relay(c);
        return;
    }
    Upstream& svc = upstreams_[c.service];
    svc.slot().tls_server_failures.fetch_add(1, std::memory_order_relaxed);
    LOG_WARN("%s/%s: TLS handshake failed: %s", svc.config().name.c_str(), svc.server(c.server_index).name,
             tls::failure_name(why));
    timers_.cancel(c);
    poller_->forget(c.server.get());
    c.server_interest = 0;
    c.server_io.reset();
    c.server.reset();
    c.phase = Phase::Connecting;
    connect_failed(c, EPROTO, false);
    if (c.phase != Phase::Closed) start_connect(c);
}

void Worker::on_connection_timer(Connection& c) {
    if (c.kernel_n >= 0) kernel_recheck(c);
    else on_connect_timeout(c);
}

void Worker::on_connect_timeout(Connection& c) {
    poller_->forget(c.server.get());
    c.server_interest = 0;
    c.server_io.reset();
    c.server.reset();
    c.phase = Phase::Connecting;
    connect_failed(c, ETIMEDOUT, true);
    if (c.phase != Phase::Closed) start_connect(c);
}

// The proxy itself ran short (descriptors, buffers, local ports): the server
// did nothing wrong, so nothing is counted against it, and another server
// would fail the same way. The client is closed ("RC": a resource of the
// proxy, at connect) and accepting pauses briefly so the shortage can clear
// while new clients wait in the listen queue.
void Worker::local_failure(Connection& c, int err) {
    session_server(c.session, -1);
    local_shortage(c.service, c.server_index, err);
    close_connection(c, "RC");
}

void Worker::local_shortage(uint32_t service, int32_t index, int err) {
    Upstream& svc = upstreams_[service];
    svc.local_failure(index);
    slot_.local_errors.fetch_add(1, std::memory_order_relaxed);
    if (now_ >= next_local_error_log_) {  // at most one line a second, however many clients
        next_local_error_log_ = now_ + 1000;
        LOG_WARN("%s/%s: cannot open a connection: %s (a local shortage of the proxy, not counted against the "
                 "server)", svc.config().name.c_str(), svc.server(index).name, std::strerror(err));
    }
    if (err == EMFILE || err == ENFILE) pause_accepting();
}

// Counts the failure on the server (passive health) and decides whether the
// caller should try another server.
void Worker::connect_failed(Connection& c, int err, bool timeout) {
    session_server(c.session, -1);
    const bool retry = upstreams_[c.service].failed(c.server_index, err, timeout, now_, c.tried.count);
    std::memcpy(c.term, timeout ? "sC" : "SC", 3);
    if (!retry) close_connection(c, c.term);
}

void Worker::begin_relay(Connection& c) {
    Upstream& svc = upstreams_[c.service];
    svc.connected(c.server_index);
    c.phase = Phase::Relaying;
    c.connected_ms = c.last_active_ms = now_;
    poller_->add(c.client.get(), kRead, &c);
    if (c.server_interest) poller_->modify(c.server.get(), kRead);  // registered while connecting
    else poller_->add(c.server.get(), kRead, &c);
    c.client_interest = kRead;
    c.server_interest = kRead;
    if (svc.config().proxy_protocol != config::ProxyProtocol::Off) {
        // The header goes first in the client-to-server flow, so no client
        // byte can overtake it and a partial send is simply finished later.
        net::Address local;
        local.length = sizeof local.storage;
        if (::getsockname(c.client.get(), local.sa(), &local.length) != 0) {
            // Without our own address there is no true header to send.
            LOG_ERROR("%s: cannot send the PROXY header: getsockname: %s; closing the connection",
                      svc.config().name.c_str(), std::strerror(errno));
            close_connection(c, "PC");
            return;
        }
        const std::string header = svc.config().proxy_protocol == config::ProxyProtocol::V1
                                       ? net::proxy_header_v1(c.client_addr, local)
                                       : net::proxy_header_v2(c.client_addr, local);
        c.up.buf = pool_.take();
        std::memcpy(c.up.buf, header.data(), header.size());
        c.up.start = 0;
        c.up.end = uint32_t(header.size());
        if (!flush(c, c.up, c.server.get())) return;
        update_interest(c);
    }
    hand_to_kernel(c);  // with sockmap_after = 0, at once
    if (c.phase != Phase::Closed) update_interest(c);
}

// A session slot is taken at accept and records the server once one is
// picked: while its `server` is set, the connection holds one unit of that
// server's `active`, which lets the master undo the counts of a killed worker.
void Worker::session_begin(Handler& h, const net::Address& client) {
    if (free_sessions_.empty()) return;
    h.session = free_sessions_.back();
    free_sessions_.pop_back();
    shm::SessionSlot& ss = sessions_[size_t(h.session)];
    const uint32_t seq = shm::seq_write_begin(ss.seq);
    ss.service = uint16_t(upstreams_[h.service].slot_index());
    ss.server = shm::kNoServer;
    ss.family = uint8_t(client.family());
    ss.client_port = client.port();
    std::memset(ss.client_addr, 0, sizeof ss.client_addr);
    if (client.family() == AF_INET6)
        std::memcpy(ss.client_addr, &reinterpret_cast<const sockaddr_in6*>(client.sa())->sin6_addr, 16);
    else if (client.family() == AF_INET)
        std::memcpy(ss.client_addr, &reinterpret_cast<const sockaddr_in*>(client.sa())->sin_addr, 4);
    ss.start_unix_ms = wall_ms();
    ss.bytes_in.store(0, std::memory_order_relaxed);
    ss.bytes_out.store(0, std::memory_order_relaxed);
    shm::seq_write_end(ss.seq, seq);  // even and non-zero: in use
}

void Worker::session_end(Handler& h) {
    if (h.session < 0) return;
    sessions_[size_t(h.session)].seq.store(0, std::memory_order_release);
    free_sessions_.push_back(h.session);
    h.session = -1;
}

void Worker::session_server(int32_t session, int32_t server_slot) {
    if (session < 0) return;
    shm::SessionSlot& ss = sessions_[size_t(session)];
    const uint32_t seq = shm::seq_write_begin(ss.seq);
    ss.server = server_slot < 0 ? shm::kNoServer : uint16_t(server_slot);
    shm::seq_write_end(ss.seq, seq);
}

void Worker::session_bytes(int32_t session, uint64_t in, uint64_t out) {
    if (session < 0) return;
    if (in) sessions_[size_t(session)].bytes_in.fetch_add(in, std::memory_order_relaxed);
    if (out) sessions_[size_t(session)].bytes_out.fetch_add(out, std::memory_order_relaxed);
}

// A handler that closed its sockets (its counts already undone) is freed
// after the event batch, like a closed relay.
void Worker::finished(Handler& h) {
    if (h.closed) return;
    h.closed = true;
    session_end(h);
    slot_.active.fetch_sub(1, std::memory_order_relaxed);
    upstreams_[h.service].slot().active.fetch_sub(1, std::memory_order_relaxed);
    closed_.push_back(&h);
}

// ---- relaying --------------------------------------------------------------

void Worker::on_connection_io(Connection& c, int fd, uint32_t events) {
    if (c.phase == Phase::Closed) return;
    if (c.phase == Phase::Connecting) {
        // Writable without an error flag means connected; only a failure
        // needs SO_ERROR (for its reason).
        if (fd == c.server.get()) on_connect_result(c, (events & kError) ? net::socket_error(fd) : 0);
        return;
    }
    if (c.phase == Phase::Securing) {
        if (fd == c.server.get()) server_handshake(c);
        return;
    }
    if (c.kernel_n >= 0) {
        kernel_io(c, fd, events);
        return;
    }
    const bool is_client = fd == c.client.get();
    const int other = is_client ? c.server.get() : c.client.get();
    Flow& incoming = is_client ? c.up : c.down;   // bytes read from fd
    Flow& outgoing = is_client ? c.down : c.up;   // bytes written to fd
    // A TLS read may wait for the socket to be writable and a write for it
    // to be readable: on a TLS socket any event retries both.
    if (c.io_of(fd).secure()) events |= kRead | kWrite;
    if ((events & (kWrite | kError)) && outgoing.pending()) {
        if (!flush(c, outgoing, fd)) return;
    }
    if ((events & (kRead | kError)) && !incoming.eof && !incoming.pending()) {
        if (!pump(c, incoming, fd, other, is_client)) return;
        // Decrypted bytes left in the TLS session raise no poller event. And
        // a TLS connection never moves to splice(): while reads come full and
        // are sent at once, read on instead of waiting for the next event.
        for (int i = 0; i < 16 && c.phase == Phase::Relaying && !incoming.eof && !incoming.pending() &&
                        (c.io_of(fd).pending() || (c.secure() && incoming.full_reads > 0));
             ++i)
            if (!pump(c, incoming, fd, other, is_client)) return;
    }
    if (closed_after_io(c, fd, events)) return;
    hand_to_kernel(c);
    if (c.phase != Phase::Closed) update_interest(c);
}

// The end of an event on a relaying connection: poll() reports errors
// whatever we asked for, and a reset peer that we are not reading from must
// end the connection, not spin the loop; both flows done end it too. True
// when it closed.
bool Worker::closed_after_io(Connection& c, int fd, uint32_t events) {
    if ((events & kError) && net::socket_error(fd) != 0) {
        close_connection(c, fd == c.client.get() ? "CD" : "SD");
        return true;
    }
    if (c.up.done() && c.down.done()) {
        close_connection(c, "--");
        return true;
    }
    return false;
}

// Reads once from `from` and writes what it got to `to`. Returns false when
// the connection was closed.
bool Worker::pump(Connection& c, Flow& f, int from, int to, bool upstream) {
    if (f.spliced()) return pump_spliced(c, f, from, to, upstream);
    if (!f.buf) f.buf = pool_.take();
    const ssize_t n = c.io_of(from).recv(from, f.buf, BufferPool::kBufferSize);
    if (n > 0) {
        c.last_active_ms = now_;
        count_bytes(c, upstream, size_t(n));
        f.start = 0;
        f.end = uint32_t(n);
        f.full_reads = size_t(n) == BufferPool::kBufferSize ? uint8_t(f.full_reads + 1) : 0;
        if (!flush(c, f, to)) return false;
        // A streaming flow moves to splice() once its buffer is drained;
        // TLS bytes must pass through OpenSSL, so they never do.
        if (f.full_reads >= kStreamingReads && !f.pending() && !c.secure()) pipes_.take(f.pipe_r, f.pipe_w);
        return true;
    }
    if (n == 0) {
        release_buffer(f);
        on_eof(c, f, to);
        return true;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        release_buffer(f);
        return true;
    }
    close_connection(c, upstream ? "CD" : "SD");
    return false;
}

bool Worker::pump_spliced(Connection& c, Flow& f, int from, int to, bool upstream) {
    const ssize_t n = ::splice(from, nullptr, f.pipe_w, nullptr, size_t(PipePool::kPipeSize),
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
        c.last_active_ms = now_;
        count_bytes(c, upstream, size_t(n));
        slot_.bytes_spliced.fetch_add(uint64_t(n), std::memory_order_relaxed);
        f.piped += uint32_t(n);
        return flush(c, f, to);
    }
    if (n == 0) {
        on_eof(c, f, to);
        return true;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
    close_connection(c, upstream ? "CD" : "SD");
    return false;
}

void Worker::on_eof(Connection& c, Flow& f, int to) {
    f.eof = true;
    if (!f.pending()) pass_fin(c, f, to);
}

// Passes a FIN on. When the other direction is already finished the
// connection closes right after, and close() sends the FIN: no shutdown().
void Worker::pass_fin(Connection& c, Flow& f, int to) {
    f.shut = true;
    if (!(c.up.done() && c.down.done())) c.io_of(to).shutdown_write(to);
}

bool Worker::flush(Connection& c, Flow& f, int to) {
    while (f.pending()) {
        // A flow holds bytes either in its pipe (splice mode) or its buffer.
        const bool piped = f.piped > 0;
        const ssize_t n = piped ? ::splice(f.pipe_r, nullptr, to, nullptr, f.piped, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                                : c.io_of(to).send(to, f.buf + f.start, f.end - f.start);
        if (n > 0) {
            if (piped) f.piped -= uint32_t(n);
            else f.start += uint32_t(n);
            c.last_active_ms = now_;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        if (n < 0 && errno == EINTR) continue;
        close_connection(c, &f == &c.up ? "SD" : "CD");
        return false;
    }
    release_buffer(f);
    if (f.eof && !f.shut) pass_fin(c, f, to);
    return true;
}

void Worker::release_buffer(Flow& f) {
    if (f.buf) {
        pool_.give(f.buf);
        f.buf = nullptr;
    }
    f.start = f.end = 0;
}

void Worker::release_pipe(Flow& f) {
    if (!f.spliced()) return;
    pipes_.give(f.pipe_r, f.pipe_w, f.piped == 0);
    f.pipe_r = f.pipe_w = -1;
    f.piped = 0;
}

void Worker::count_bytes(Connection& c, bool upstream, size_t n) {
    shm::ServerSlot& s = upstreams_[c.service].server(c.server_index);
    if (upstream) {
        c.bytes_in += n;
        s.bytes_in.fetch_add(n, std::memory_order_relaxed);
        session_bytes(c.session, n, 0);
    } else {
        c.bytes_out += n;
        s.bytes_out.fetch_add(n, std::memory_order_relaxed);
        session_bytes(c.session, 0, n);
    }
}

// Reads a side only while nothing read from it waits to be sent (back-pressure);
// writes a side only while bytes wait for it.
void Worker::update_interest(Connection& c) {
    // A blocked TLS call adds the direction it waits for. A held flow (the
    // kernel relay's) waits for its timer, neither reading nor writing.
    auto reads = [](const Flow& f) { return !f.eof && !f.pending() && !f.held ? kRead : 0u; };
    auto writes = [](const Flow& f) { return f.pending() && !f.held ? kWrite : 0u; };
    const uint32_t ci = reads(c.up) | writes(c.down) | c.client_io.wants();
    const uint32_t si = reads(c.down) | writes(c.up) | c.server_io.wants();
    if (ci != c.client_interest) {
        poller_->modify(c.client.get(), ci);
        c.client_interest = ci;
    }
    if (si != c.server_interest) {
        poller_->modify(c.server.get(), si);
        c.server_interest = si;
    }
}

void Worker::close_connection(Connection& c, const char* term) {
    if (c.phase == Phase::Closed) return;
    timers_.cancel(c);
    // An open server socket (connecting or relaying) is registered in the
    // poller and holds one unit of its server's active count; the client
    // socket is registered only while relaying.
    if (c.server) {
        upstreams_[c.service].release(c.server_index);
        poller_->forget(c.server.get());
    }
    if (c.phase == Phase::Relaying) poller_->forget(c.client.get());
    if (c.kernel_n >= 0) kernel_release(c);
    std::memcpy(c.term, term, 2);
    c.term[2] = '\0';
    if (access_log_) write_access_log(c);
    release_buffer(c.up);
    release_buffer(c.down);
    release_pipe(c.up);
    release_pipe(c.down);
    c.client_io.reset();
    c.server_io.reset();
    c.client.reset();
    c.server.reset();
    c.phase = Phase::Closed;
    finished(c);
}

// Connections are freed only after the whole event batch ran, so an event
// still queued for a closed connection finds it (Closed) instead of freed memory.
void Worker::reap_closed() {
    if (closed_.empty()) return;
    for (Handler* c : closed_) {  // swap-remove: O(closed), not O(connections)
        const uint32_t pos = c->pos;
        if (pos != conns_.size() - 1) {
            std::swap(conns_[pos], conns_.back());
            conns_[pos]->pos = pos;
        }
        conns_.pop_back();
    }
    closed_.clear();
    if (!accepting_ && !draining_ && accept_paused_until_ == 0 &&
        conns_.size() < size_t(cfg_.global.max_connections))
        set_accepting(true);
}

// ---- timers ----------------------------------------------------------------

void Worker::housekeeping() {
    next_housekeeping_ = now_ + kHousekeepingMs;
    slot_.cold_fds.store(poller_->cold(), std::memory_order_relaxed);
    if (accept_paused_until_ && now_ >= accept_paused_until_) {
        accept_paused_until_ = 0;
        if (conns_.size() < size_t(cfg_.global.max_connections)) set_accepting(true);
    }
    for (auto& h : conns_)
        if (!h->closed) h->housekeeping(now_);
    reap_closed();
}

// A quiet relay past idle_timeout is closed, and so is one whose server was
// put in maint with --kill since it connected.
void Worker::relay_housekeeping(Connection& c) {
    if (c.phase != Phase::Relaying) return;
    if (c.kernel_n >= 0) kernel_count(c);  // the kernel's bytes: counters and activity
    Upstream& svc = upstreams_[c.service];
    if (now_ - c.last_active_ms >= svc.config().idle_timeout_ms) {
        close_connection(c, "cD");
        return;
    }
    if (svc.server(c.server_index).kill_seq.load(std::memory_order_relaxed) != c.kill_seq)
        close_connection(c, "KD");
}

void Worker::start_graceful() {
    draining_ = true;
    set_accepting(false);
    slot_.state.store(uint32_t(shm::WorkerState::Draining));
    graceful_deadline_ = now_ + cfg_.global.shutdown_timeout_ms;
    LOG_INFO("stopping gracefully: %zu connections to finish (at most %llu ms)", conns_.size(),
             (unsigned long long)cfg_.global.shutdown_timeout_ms);
    // Our copies of the listening sockets are no longer needed: the master
    // keeps the originals, so no queued client is lost.
    listeners_.clear();
    for (auto& h : conns_)
        if (!h->closed) h->drain();
    reap_closed();
}

// ---- access log ----------------------------------------------------------

void Worker::open_access_log() {
    const std::string& path = cfg_.global.log.access_log;
    if (path.empty()) return;
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        LOG_ERROR("cannot open access log %s: %s", path.c_str(), std::strerror(errno));
        return;
    }
    access_log_.reset(fd);
}

// One line per connection, HAProxy tcplog-like: time, client, service/server,
// connect time, duration, bytes each way, termination code.
void Worker::write_access_log(const Connection& c) {
    const Upstream& svc = upstreams_[c.service];
    const log::Stamp stamp = log::utc_stamp(wall_ms());
    const char* server = c.server_index >= 0 ? svc.server_config(c.server_index).name.c_str() : "<NOSRV>";
    const long long connect_ms = c.connected_ms ? (long long)(c.connected_ms - c.accepted_ms) : -1;
    char line[512];
    int n = snprintf(line, sizeof line, "%s %s %s/%s connect_ms=%lld duration_ms=%llu bytes_in=%llu bytes_out=%llu %s\n",
                     stamp.text, net::format_address(c.client_addr).c_str(), svc.config().name.c_str(), server, connect_ms,
                     (unsigned long long)(now_ - c.accepted_ms), (unsigned long long)c.bytes_in,
                     (unsigned long long)c.bytes_out, c.term);
    if (n > 0) access_log(std::string_view(line, size_t(std::min(n, int(sizeof line) - 1))));
}

void Worker::access_log(std::string_view line) {
    ssize_t ignored = ::write(access_log_.get(), line.data(), line.size());
    (void)ignored;
}

void Worker::pause_accepting() {
    set_accepting(false);
    accept_paused_until_ = now_ + kAcceptPauseMs;
}

// An upgraded HTTP connection becomes a plain two-way relay of its sockets,
// splice included; the bytes each side already sent are sent first.
void Worker::start_tunnel(TunnelStart&& t) {
    auto conn = std::make_unique<Connection>();
    Connection& c = *conn;
    c.worker = this;
    c.service = t.service;
    c.session = t.session;
    c.client = std::move(t.client);
    c.client_io = std::move(t.client_io);
    c.client_addr = t.client_addr;
    c.server = std::move(t.server);
    c.server_io = std::move(t.server_io);
    c.server_index = t.server_index;
    c.accepted_ms = t.accepted_ms;
    c.connected_ms = c.last_active_ms = now_;
    c.kill_seq = upstreams_[c.service].server(c.server_index).kill_seq.load(std::memory_order_relaxed);
    c.phase = Phase::Relaying;
    add_handler(std::move(conn));
    // The session that hands over is finished (and uncounted) right after.
    slot_.active.fetch_add(1, std::memory_order_relaxed);
    upstreams_[c.service].slot().active.fetch_add(1, std::memory_order_relaxed);
    auto preload = [&](Flow& f, std::string_view bytes) {
        if (bytes.empty()) return;
        f.buf = pool_.take();
        const size_t n = std::min(bytes.size(), BufferPool::kBufferSize);  // a head buffer's leftover fits
        std::memcpy(f.buf, bytes.data(), n);
        f.end = uint32_t(n);
    };
    preload(c.up, t.to_server);
    preload(c.down, t.to_client);
    poller_->add(c.client.get(), 0, &c);
    poller_->add(c.server.get(), 0, &c);
    if (c.up.pending() && !flush(c, c.up, c.server.get())) return;
    if (c.down.pending() && !flush(c, c.down, c.client.get())) return;
    update_interest(c);
}

int run(const Setup& setup) {
    shm::WorkerSlot& slot = setup.segment->workers()[setup.slot];
    slot.state.store(uint32_t(shm::WorkerState::Running));
    std::string error;
    std::unique_ptr<Poller> poller = setup.config->global.poller == config::Poller::Poll ? make_poll_poller(error)
                                                                                         : make_epoll_poller(error);
    if (!poller) {
        LOG_ERROR("cannot start: %s", error.c_str());
        return 1;
    }
    Worker w(setup, std::move(poller));
    return w.run();
}

}  // namespace ep::worker
