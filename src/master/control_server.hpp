// control_server.hpp: the master's control socket RUN_DIR/easyproxy.sock
// (DESIGN.md §2): accepts epctl and socat clients without ever blocking the
// master loop, checks peer credentials (SO_PEERCRED), parses one command per
// line (control/protocol.hpp) and applies admin changes to shared memory,
// persisting them to the state file.
#pragma once
#include <poll.h>
#include <sys/types.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "control/protocol.hpp"
#include "shm/segment.hpp"

namespace ep::master {

// What only the master can do; the control server asks for it.
class ControlActions {
public:
    virtual ~ControlActions() = default;
    virtual control::Answer status() = 0;
    // Validates the file and, if valid, starts a new generation. The answer
    // lists what changed, or the FILE:LINE errors.
    virtual control::Answer reload() = 0;
    virtual void stop(bool graceful) = 0;
};

class ControlServer {
public:
    // Binds `path` (mode 0660, group `group` unless (gid_t)-1). Throws
    // std::runtime_error naming the path and errno text. Writers must be root
    // or in `group` (or the daemon's own uid).
    ControlServer(const std::string& path, gid_t group, const config::Config& cfg, const shm::Segment& seg,
                  ControlActions& actions);
    ~ControlServer();  // closes clients, unlinks the socket
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Appends the fds to watch; process() gets exactly those back, same order.
    void append_pollfds(std::vector<pollfd>& fds);
    void process(std::span<const pollfd> fds);
    // After a reload: names and servers may have changed.
    void set_config(const config::Config& cfg);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Writes every server's admin state and weight override to cfg's state_file
// (atomically). Returns false with `error` on failure.
bool save_admin_state(const config::Config& cfg, const shm::Segment& seg, std::string& error);
// Applies the state file to the servers that exist in cfg (at start and after
// a reload); unknown entries are logged and ignored.
void restore_admin_state(const config::Config& cfg, const shm::Segment& seg);

}  // namespace ep::master
