// socket.cpp: listening sockets and non-blocking connects (see socket.hpp).
#include "net/socket.hpp"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ep::net {

UniqueFd listen_on(const Address& addr, bool reuseport, int backlog, std::string& error) {
    UniqueFd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        error = "socket for " + format_address(addr) + ": " + std::strerror(errno);
        return {};
    }
    int one = 1;
    if (addr.family() == AF_UNIX) {
        ::unlink(reinterpret_cast<const sockaddr_un*>(addr.sa())->sun_path);
    } else {
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (reuseport && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
            error = "SO_REUSEPORT on " + format_address(addr) + ": " + std::strerror(errno);
            return {};
        }
        if (addr.family() == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        // Accepted sockets inherit TCP_NODELAY on Linux: set once here
        // instead of once per connection.
        set_nodelay(fd.get());
    }
    if (::bind(fd.get(), addr.sa(), addr.length) != 0) {
        error = "bind " + format_address(addr) + ": " + std::strerror(errno);
        if (errno == EACCES && addr.family() != AF_UNIX && addr.port() < 1024)
            error += " (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
        return {};
    }
    if (::listen(fd.get(), backlog) != 0) {
        error = "listen " + format_address(addr) + ": " + std::strerror(errno);
        return {};
    }
    return fd;
}

bool listener_exists(const Address& addr, std::string& error) {
    if (addr.family() == AF_UNIX) return false;
    // A probe bound without SO_REUSEPORT conflicts with any listening socket
    // on the address (SO_REUSEADDR only lets it share with non-listening
    // ones, such as TIME_WAIT or accepted connections).
    UniqueFd probe(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!probe) return false;  // the real bind will say what is wrong
    int one = 1;
    ::setsockopt(probe.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (addr.family() == AF_INET6) ::setsockopt(probe.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (addr.port() == 0 || ::bind(probe.get(), addr.sa(), addr.length) == 0 || errno != EADDRINUSE) return false;
    error = "listen " + format_address(addr) + ": address already in use by another process";
    return true;
}

bool is_local_error(int err) {
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM || err == EADDRNOTAVAIL;
}

UniqueFd connect_nonblocking(const Address& addr, bool& in_progress, int& err) {
    in_progress = false;
    err = 0;
    UniqueFd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        err = errno;
        return {};
    }
    if (addr.family() != AF_UNIX) set_nodelay(fd.get());
    if (::connect(fd.get(), addr.sa(), addr.length) == 0) return fd;
    if (errno == EINPROGRESS) {
        in_progress = true;
        return fd;
    }
    err = errno;
    return {};
}

int socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
}

void close_with_reset(UniqueFd& fd) {
    if (!fd) return;
    const linger abortive{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
    fd.reset();
}

void set_nodelay(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace ep::net
