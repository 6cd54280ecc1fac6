// socket.hpp: thin helpers over the BSD socket calls easyproxy makes (in the
// spirit of redis's anet.c): listening sockets, non-blocking connects, options.
// Errors come back as errno values so callers decide how to report them.
#pragma once
#include <string>

#include "net/address.hpp"
#include "util/unique_fd.hpp"

namespace ep::net {

// A non-blocking listening socket bound to `addr`. TCP sockets get
// SO_REUSEADDR, TCP_NODELAY (inherited by accepted sockets), and SO_REUSEPORT
// when `reuseport` (one accept queue per worker). A unix socket path is unlinked first. On failure returns an empty
// UniqueFd and sets `error` ("bind 127.0.0.1:80: Permission denied").
UniqueFd listen_on(const Address& addr, bool reuseport, int backlog, std::string& error);

// Whether some other socket already listens on the TCP address `addr`. With
// SO_REUSEPORT a second process of the same user could otherwise join that
// listener's group silently and take part of its clients, so this is asked
// before our own first socket for an address is bound. Fills `error`
// ("127.0.0.1:80 is already in use by another process") when it returns true.
bool listener_exists(const Address& addr, std::string& error);

// Errors that are the proxy's own shortage (descriptors, memory, buffers,
// local ports), not a fault of the peer it was trying to reach.
bool is_local_error(int err);

// Starts a non-blocking connect. Returns the socket, with `in_progress` set
// when the connect has not completed yet; an empty fd and errno on failure.
UniqueFd connect_nonblocking(const Address& addr, bool& in_progress, int& err);

// SO_ERROR of a socket whose connect completed (0 = connected).
int socket_error(int fd);

void set_nodelay(int fd);

// Closes with a reset (SO_LINGER 0) instead of a FIN: for a connection that
// carries nothing more (a pooled server connection we end), so no TIME_WAIT
// socket is left on this side.
void close_with_reset(UniqueFd& fd);
bool set_nonblocking(int fd);

}  // namespace ep::net
