// checker.hpp: active health checks run by the master (DESIGN.md §5): tcp
// connect, http GET + status, send-expect, all non-blocking inside the master's
// poll() loop and spread over the interval. Results drive the rise/fall state
// machine (rise_fall.hpp) and land in shared memory; transitions are logged.
// Also ends passive "down" marks (workers' max_fails) when due.
#pragma once
#include <poll.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "config/config.hpp"
#include "shm/segment.hpp"
#include "tls/context.hpp"

namespace ep::health {

class HealthChecker {
public:
    // `tls`: the config's contexts; a service with server_tls checks over TLS.
    HealthChecker(const config::Config& cfg, const shm::Segment& seg, const tls::Contexts* tls = nullptr);
    ~HealthChecker();
    HealthChecker(const HealthChecker&) = delete;
    HealthChecker& operator=(const HealthChecker&) = delete;

    // Starts the checks that are due and appends the fds of checks in flight;
    // process() gets exactly those back, in the same order.
    void append_pollfds(std::vector<pollfd>& fds, uint64_t now_ms);
    void process(std::span<const pollfd> fds, uint64_t now_ms);
    // Monotonic ms when the checker next needs the loop (a check due or timing out).
    uint64_t next_wakeup_ms() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ep::health
