// listeners.hpp: the listening sockets the master binds before forking and
// owns for its whole life. Each TCP listen address gets one SO_REUSEPORT
// socket per worker (its own accept queue); a unix path gets one socket
// shared by all workers. A respawned worker takes over its predecessor's set.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "util/unique_fd.hpp"
#include "worker/worker.hpp"

namespace ep::master {

class Listeners {
public:
    static constexpr uint32_t kShared = UINT32_MAX;  // socket used by every set

    // Binds everything for `sets` workers. On failure returns false and fills
    // `errors` with one message per address that could not be bound.
    // With `previous`, a socket for the same address and set is shared
    // (duplicated), never closed and re-bound: no SYN is refused during a
    // reload. Sockets of `previous` that are not taken close with it.
    bool bind_all(const config::Config& cfg, uint32_t sets, std::vector<std::string>& errors,
                  const Listeners* previous = nullptr);
    std::vector<worker::ListenerRef> for_set(uint32_t set) const;
    std::vector<int> fds_of_set(uint32_t set) const;
    // One socket of each SO_REUSEPORT group (a TCP listen address): what a
    // steering program is attached to, for the whole group.
    std::vector<int> reuseport_groups() const;
    void close_all() { sockets_.clear(); }

private:
    struct Socket {
        uint32_t service;
        uint32_t set;
        net::Address address;
        UniqueFd fd;
    };
    std::vector<Socket> sockets_;
};

}  // namespace ep::master
