// server_pool.hpp: the worker's idle keep-alive connections to servers
// (DESIGN.md §7 `keepalive`), so a busy proxy reuses a few server connections
// instead of opening one per request and leaving a pile of TIME_WAIT sockets.
// Idle connections stay watched: data or a close from the server ends them at
// once, and so does `keepalive.idle_timeout`. Last in, first out: the warmest
// connection is reused first, and the oldest goes when a server's list is full.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "tls/stream.hpp"
#include "util/unique_fd.hpp"
#include "worker/context.hpp"

namespace ep::http {

class ServerPool {
public:
    explicit ServerPool(worker::Context& ctx);
    ~ServerPool();
    ServerPool(const ServerPool&) = delete;
    ServerPool& operator=(const ServerPool&) = delete;

    // An idle connection to server `index` of `service`, with the count of
    // requests it has carried; empty when none. It stays registered in the
    // poller with read interest: the taker retargets it (no system call).
    // `io` gets the connection's TLS session (plain when none).
    UniqueFd take(uint32_t service, int32_t index, uint32_t& requests, tls::Stream& io);
    // Keeps a connection that finished a response cleanly, unless the
    // service's keepalive settings say otherwise (then it is closed). The fd
    // is still registered in the poller, with `interest`.
    void give(uint32_t service, int32_t index, UniqueFd fd, tls::Stream io, uint32_t requests, uint32_t interest);
    size_t idle() const { return count_; }
    // Frees the entries dropped during the event batch (an event may still be
    // queued for them, as for closed connections).
    void reap();

private:
    struct Idle;
    using List = std::vector<std::unique_ptr<Idle>>;
    List& list(uint32_t service, int32_t index);
    // Closes it and removes it from its list; `ours`: we end it (not the server).
    void drop(Idle& idle, bool ours);

    worker::Context& ctx_;
    std::vector<std::vector<List>> lists_;  // [service][server]
    List dead_;   // no longer in a list; an event of this batch may still name them
    List spare_;  // reusable entries
    size_t count_ = 0;
};

}  // namespace ep::http
