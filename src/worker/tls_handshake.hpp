// tls_handshake.hpp: the first handler of a client on a TLS listener: runs
// the server side of the handshake without blocking, inside the worker's loop,
// under the service's handshake_timeout; then hands the client (and its TLS
// session) to the handler of the service's mode. A slow or broken client only
// ever holds its own socket and timer.
#pragma once
#include <memory>

#include "net/address.hpp"
#include "tls/stream.hpp"
#include "util/unique_fd.hpp"
#include "worker/context.hpp"

namespace ep::worker {

class TlsHandshake : public Handler {
public:
    // Registers the socket and makes the first step (a ClientHello may be here already).
    virtual void start() = 0;
};

std::unique_ptr<TlsHandshake> make_tls_handshake(Context& ctx, uint32_t service, UniqueFd client,
                                                 const net::Address& peer, tls::Stream stream, uint64_t timeout_ms);

}  // namespace ep::worker
