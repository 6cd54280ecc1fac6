// stats_server.hpp: the stats HTTP endpoint (global.stats.listen, DESIGN.md
// §6) served by the master's poll() loop: the dashboard at /, Prometheus text
// at /metrics and /stats.json, from the same snapshot and formatters as epstat.
// Requests are bounded in size and time; it never blocks the master.
#pragma once
#include <poll.h>

#include <memory>
#include <span>
#include <vector>

#include "config/config.hpp"
#include "shm/segment.hpp"

namespace ep::master {

class StatsServer {
public:
    // Binds cfg.global.stats.listen. Throws std::runtime_error naming the
    // address and errno text.
    StatsServer(const config::Config& cfg, const shm::Segment& seg);
    ~StatsServer();
    StatsServer(const StatsServer&) = delete;
    StatsServer& operator=(const StatsServer&) = delete;

    // Appends the fds to watch; process() gets exactly those back, same order.
    void append_pollfds(std::vector<pollfd>& fds, uint64_t now_ms);
    void process(std::span<const pollfd> fds, uint64_t now_ms);
    uint64_t next_wakeup_ms() const;  // e.g. a client's request deadline
    void set_config(const config::Config& cfg);  // after a reload (allow list, config file)

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ep::master
