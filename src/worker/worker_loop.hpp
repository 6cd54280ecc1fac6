// worker_loop.hpp: the worker's event loop as a class, shared by the files
// that implement it (worker.cpp: accept, connect, relay; kernel_relay.cpp:
// the relay = "sockmap" part). Private to src/worker.
#pragma once
#include <memory>
#include <vector>

#include "balance/balancer.hpp"
#include "http/middleware.hpp"
#include "http/router.hpp"
#include "http/server_pool.hpp"
#include "util/unique_fd.hpp"
#include "worker/buffer_pool.hpp"
#include "worker/connection.hpp"
#include "worker/context.hpp"
#include "worker/timers.hpp"
#include "worker/upstream.hpp"
#include "worker/worker.hpp"

namespace ep::worker {

struct Listener final : IoTarget {
    Worker* worker;
    int fd;            // the worker's copy of a listening socket, owned by `owner`
    UniqueFd owner;    // closed with the Listener
    uint32_t service;
    bool watched = false;
    void on_io(int, uint32_t) override;
};

class Worker final : public Context {
public:
    Worker(const Setup& setup, std::unique_ptr<Poller> poller);
    int run();

    void on_accept_ready(Listener& l);
    void on_connection_io(Connection& c, int fd, uint32_t events);
    void on_connect_timeout(Connection& c);
    void on_connection_timer(Connection& c);
    void close_connection(Connection& c, const char* term);
    void relay_housekeeping(Connection& c);

    // Context
    Poller& poller() override { return *poller_; }
    TimerHeap& timers() override { return timers_; }
    BufferPool& buffers() override { return pool_; }
    balance::Rng& rng() override { return rng_; }
    uint32_t lock_owner() const override { return pid_; }
    uint64_t now_ms() const override { return now_; }
    shm::WorkerSlot& slot() override { return slot_; }
    Upstream& upstream(uint32_t service) override { return upstreams_[service]; }
    http::ServerPool& server_pool() override { return server_pool_; }
    const tls::ClientSide* server_tls(uint32_t service) override {
        return tls_ ? tls_->client_side(service) : nullptr;
    }
    http::Router* router(uint32_t service) override { return routers_[service].get(); }
    http::Middlewares& middlewares() override { return middlewares_; }
    void session_server(int32_t session, int32_t server_slot) override;
    void session_bytes(int32_t session, uint64_t in, uint64_t out) override;
    void finished(Handler& h) override;
    bool access_log_enabled() const override { return bool(access_log_); }
    void access_log(std::string_view line) override;
    void local_shortage(uint32_t service, int32_t index, int err) override;
    void start_tunnel(TunnelStart&& t) override;
    void start_client(ClientStart&& c) override;
    shm::RouteSlot* route_slot(uint32_t service, uint32_t route) override {
        if (service >= route_slots_.size() || route >= route_slots_[service].size()) return nullptr;
        return route_slots_[service][route];
    }
    shm::MiddlewareSlot* middleware_slot(uint32_t middleware) override {
        return middleware < middleware_slots_.size() ? middleware_slots_[middleware] : nullptr;
    }

private:
    void open_client(ClientStart&& c);
    void accept_from(Listener& l);
    bool admitted(Upstream& svc, const net::Address& client);
    void start_connect(Connection& c);
    void on_connect_result(Connection& c, int err);
    void secure_server(Connection& c);
    void server_handshake(Connection& c);
    int32_t pick_server(Connection& c);
    void connect_failed(Connection& c, int err, bool timeout);
    void local_failure(Connection& c, int err);
    void pause_accepting();
    void begin_relay(Connection& c);
    bool pump(Connection& c, Flow& f, int from, int to, bool upstream);
    bool pump_spliced(Connection& c, Flow& f, int from, int to, bool upstream);
    bool flush(Connection& c, Flow& f, int to);
    bool closed_after_io(Connection& c, int fd, uint32_t events);
    void on_eof(Connection& c, Flow& f, int to);
    void pass_fin(Connection& c, Flow& f, int to);
    void update_interest(Connection& c);
    void release_buffer(Flow& f);
    void release_pipe(Flow& f);
    void count_bytes(Connection& c, bool upstream, size_t n);
    void housekeeping();
    void check_connect_deadlines();
    void set_accepting(bool on);
    void start_graceful();
    void reap_closed();
    void open_access_log();
    void write_access_log(const Connection& c);
    void session_begin(Handler& h, const net::Address& client);
    void session_end(Handler& h);
    void add_handler(std::unique_ptr<Handler> h);

    // relay = "sockmap" (kernel_relay.cpp)
    void hand_to_kernel(Connection& c);
    void kernel_io(Connection& c, int fd, uint32_t events);
    bool kernel_pump(Connection& c, Flow& f, KernelFlow& k, int from, int to, bool upstream);
    bool kernel_flush(Connection& c, Flow& f, KernelFlow& k, int to);
    bool kernel_finish(Connection& c, Flow& f, KernelFlow& k, int to);
    uint64_t kernel_backlog(const KernelFlow& k, int to);
    void kernel_grant(KernelFlow& k, uint64_t passed);
    void kernel_hold(Connection& c, Flow& f);
    void kernel_recheck(Connection& c);
    void kernel_count(Connection& c);
    void kernel_release(Connection& c);

    const Setup& setup_;
    const config::Config& cfg_;
    const tls::Contexts* tls_;
    shm::WorkerSlot& slot_;
    std::span<shm::SessionSlot> sessions_;
    std::vector<int32_t> free_sessions_;
    std::unique_ptr<Poller> poller_;
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::vector<Upstream> upstreams_;                  // by service
    std::vector<std::vector<shm::RouteSlot*>> route_slots_;  // [service][route in match order]
    std::vector<shm::MiddlewareSlot*> middleware_slots_;     // by config middleware
    std::vector<std::unique_ptr<Handler>> conns_;      // all live connections
    std::vector<Handler*> closed_;                     // freed after the event batch
    TimerHeap timers_;
    BufferPool pool_;
    http::ServerPool server_pool_{*this};
    std::vector<std::unique_ptr<http::Router>> routers_;  // by service: entry points only
    http::Middlewares middlewares_;
    PipePool pipes_;
    kernel::Sockmap* sockmap_ = nullptr;    // relay = "sockmap" (null: not loaded)
    std::vector<int32_t> free_kernel_;      // connection numbers free in our part of its flow table
    balance::Rng rng_;
    UniqueFd access_log_;
    const uint32_t pid_ = uint32_t(getpid());  // lock owner id; getpid() is a syscall
    uint64_t now_ = 0;
    uint64_t next_housekeeping_ = 0;
    uint64_t accept_paused_until_ = 0;
    uint64_t next_local_error_log_ = 0;  // a shortage is logged at most once a second
    uint64_t graceful_deadline_ = 0;
    bool accepting_ = false;
    bool draining_ = false;
};

}  // namespace ep::worker
