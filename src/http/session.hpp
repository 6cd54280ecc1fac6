// session.hpp: the handler of one client connection of an http service
// (DESIGN.md §7): reads each request head, picks a server, forwards the
// rewritten head and streams the body, relays the response back, and keeps
// both sides alive for the next request (server connections through the
// worker's pool). An upgraded WebSocket connection becomes a TCP tunnel.
#pragma once
#include <memory>

#include "net/address.hpp"
#include "tls/stream.hpp"
#include "util/unique_fd.hpp"
#include "worker/context.hpp"

namespace ep::http {

class Session : public worker::Handler {
public:
    // Starts reading the first request (called once the worker has
    // registered the session). `watched`: the client socket is already in
    // the poller with that interest (after a TLS handshake), 0 when not.
    virtual void start(uint32_t watched = 0) = 0;
};

// `io` is plain, or the client's established TLS session.
std::unique_ptr<Session> make_session(worker::Context& ctx, uint32_t service, UniqueFd client,
                                      const net::Address& peer, tls::Stream io);

}  // namespace ep::http
