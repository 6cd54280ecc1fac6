// context.hpp: what a worker offers the handlers of its connections. A
// connection is handled by the TCP relay or by the HTTP session, chosen by
// its service's mode; both see the worker only through this interface: the
// poller, the timers, the buffer pool, each service's upstream, the shared
// session, route and middleware slots and the access log.
#pragma once
#include <cstdint>
#include <string_view>

#include "balance/balancer.hpp"
#include "net/address.hpp"
#include "shm/layout.hpp"
#include "util/unique_fd.hpp"
#include "worker/buffer_pool.hpp"
#include "worker/poller.hpp"
#include "worker/timers.hpp"
#include "worker/upstream.hpp"

namespace ep::http {
class ServerPool;
class Router;
class Middlewares;
}

namespace ep::worker {

// One accepted client connection, whatever handles it.
class Handler : public IoTarget {
public:
    uint32_t pos = 0;        // position in the worker's list
    uint32_t service = 0;
    int32_t session = -1;    // session slot in shared memory
    bool closed = false;
    // Ends the connection now (stop, graceful deadline); `term` for the log.
    virtual void close(const char* term) = 0;
    // Every 250 ms: idle timeouts of quiet relays, `maint --kill`.
    virtual void housekeeping(uint64_t now_ms) = 0;
    // The worker stops gracefully: finish what is under way, take nothing
    // new (an HTTP connection closes after its current response).
    virtual void drain() {}
};

// A tunnel's starting point: two connected sockets and the bytes already read
// from each side that the other has not been sent yet.
struct TunnelStart {
    uint32_t service = 0;
    int32_t session = -1;
    UniqueFd client;
    net::Address client_addr;
    UniqueFd server;
    int32_t server_index = -1;   // holds one unit of its active count
    std::string_view to_server;  // copied before start_tunnel returns
    std::string_view to_client;
    uint64_t accepted_ms = 0;
};

class Context {
public:
    virtual ~Context() = default;
    virtual Poller& poller() = 0;
    virtual TimerHeap& timers() = 0;
    virtual BufferPool& buffers() = 0;
    virtual balance::Rng& rng() = 0;
    virtual uint32_t lock_owner() const = 0;
    virtual uint64_t now_ms() const = 0;
    virtual shm::WorkerSlot& slot() = 0;
    virtual Upstream& upstream(uint32_t service) = 0;
    virtual http::ServerPool& server_pool() = 0;
    // The router of an entry point (a service with routes), else null.
    virtual http::Router* router(uint32_t service) = 0;
    // Every middleware of the config, with the worker's state for them.
    virtual http::Middlewares& middlewares() = 0;
    // Records in the connection's shared session slot which server it holds
    // (server slot index), or none (-1).
    virtual void session_server(int32_t session, int32_t server_slot) = 0;
    virtual void session_bytes(int32_t session, uint64_t in, uint64_t out) = 0;
    // The handler has closed its sockets: it is freed after the event batch.
    virtual void finished(Handler& h) = 0;
    virtual bool access_log_enabled() const = 0;
    virtual void access_log(std::string_view line) = 0;
    // Opening a connection to server `index` of `service` failed for a
    // shortage of the proxy's own (net::is_local_error): releases the server,
    // counts the error (never against the server), logs it at most once a
    // second, and stops accepting for a moment when descriptors ran out.
    virtual void local_shortage(uint32_t service, int32_t index, int err) = 0;
    // Hands both sockets to the TCP relay (WebSocket after 101).
    virtual void start_tunnel(TunnelStart&& t) = 0;
    // Where a request's route and middlewares count (shm::RouteSlot,
    // shm::MiddlewareSlot), resolved at start-up: route `route` in the match
    // order of config service `service`, middleware `middleware` of
    // Config::middlewares. Null when out of range.
    virtual shm::RouteSlot* route_slot(uint32_t service, uint32_t route) = 0;
    virtual shm::MiddlewareSlot* middleware_slot(uint32_t middleware) = 0;
};

}  // namespace ep::worker
