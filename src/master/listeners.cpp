// listeners.cpp: binding the listening sockets (see listeners.hpp).
#include "master/listeners.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>

#include "net/socket.hpp"

namespace ep::master {

namespace {
constexpr int kBacklog = 4096;
}

bool Listeners::bind_all(const config::Config& cfg, uint32_t sets, std::vector<std::string>& errors,
                         const Listeners* previous) {
    for (uint32_t si = 0; si < cfg.services.size(); ++si) {
        for (const net::Address& addr : cfg.services[si].listen) {
            const bool shared = addr.family() == AF_UNIX;
            // Only our own workers and generations share a port: an address
            // we do not hold yet must be free.
            const bool ours = previous && std::any_of(previous->sockets_.begin(), previous->sockets_.end(),
                                                      [&](const Socket& s) { return s.address == addr; });
            if (std::string error; !ours && net::listener_exists(addr, error)) {
                errors.push_back("service " + cfg.services[si].name + ": " + error);
                continue;
            }
            for (uint32_t set = 0; set < (shared ? 1 : sets); ++set) {
                const uint32_t want_set = shared ? kShared : set;
                if (previous) {
                    auto it = std::find_if(previous->sockets_.begin(), previous->sockets_.end(), [&](const Socket& s) {
                        return s.set == want_set && s.address == addr;
                    });
                    if (it != previous->sockets_.end()) {
                        UniqueFd dup(::fcntl(it->fd.get(), F_DUPFD_CLOEXEC, 3));
                        if (dup) {
                            sockets_.push_back(Socket{si, want_set, addr, std::move(dup)});
                            continue;
                        }
                    }
                }
                std::string error;
                UniqueFd fd = net::listen_on(addr, !shared, kBacklog, error);
                if (!fd) {
                    errors.push_back("service " + cfg.services[si].name + ": " + error);
                    break;
                }
                sockets_.push_back(Socket{si, want_set, addr, std::move(fd)});
            }
        }
    }
    return errors.empty();
}

std::vector<worker::ListenerRef> Listeners::for_set(uint32_t set) const {
    std::vector<worker::ListenerRef> out;
    for (const auto& s : sockets_)
        if (s.set == set || s.set == kShared) out.push_back(worker::ListenerRef{s.fd.get(), s.service});
    return out;
}

std::vector<int> Listeners::reuseport_groups() const {
    std::vector<int> out;
    for (const auto& s : sockets_)
        if (s.set == 0) out.push_back(s.fd.get());
    return out;
}

std::vector<int> Listeners::fds_of_set(uint32_t set) const {
    std::vector<int> out;
    for (const auto& s : sockets_)
        if (s.set == set || s.set == kShared) out.push_back(s.fd.get());
    return out;
}

}  // namespace ep::master
