// snapshot.hpp: a consistent, plain copy of the shared-memory segment (names,
// states, counters, routes, middlewares, workers, sessions) taken in one pass, so that epstat, epctl
// and the stats endpoint format numbers that belong together (DESIGN.md §6).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "shm/layout.hpp"
#include "shm/segment.hpp"

namespace ep::stats {

struct ServerStats {
    uint32_t index = 0;            // slot index in the server array
    std::string service;
    std::string name;
    std::string address;
    shm::AdminState admin = shm::AdminState::Ready;
    shm::Health health = shm::Health::Unchecked;
    bool passive_down = false;     // max_fails tripped (counts as down)
    bool backup = false;
    uint32_t weight = 0;           // effective (override or config)
    uint32_t config_weight = 0;
    uint32_t max_connections = 0;  // 0: unlimited
    uint64_t active = 0;
    uint64_t total = 0;
    uint64_t failures = 0;
    uint64_t retries = 0;
    uint64_t bytes_in = 0;         // client -> server
    uint64_t bytes_out = 0;        // server -> client
    std::string last_check;        // "" when never checked
    uint64_t last_check_us = 0;
    bool changed = false;          // false: no state change since start
    uint64_t since_change_ms = 0;  // valid when `changed`
};

struct ServiceStats {
    std::string name;
    std::string mode;              // "tcp" | "http"
    std::string balance;           // "roundrobin", ...
    uint32_t servers = 0;
    uint32_t servers_usable = 0;   // up (or unchecked), ready, not passive-down
    // the service's own counters (client side)
    uint64_t accepted = 0;
    uint64_t active = 0;
    uint64_t denied = 0;
    uint64_t no_server = 0;
    uint64_t local_errors = 0;     // closed for a shortage of the proxy's own (fds, memory, ports)
    // http mode (all 0 for tcp)
    uint64_t requests = 0;
    uint64_t responses[5] = {};    // by class, 1xx .. 5xx
    uint64_t errors_502 = 0;
    uint64_t errors_503 = 0;
    uint64_t errors_504 = 0;
    uint64_t server_conns_opened = 0;
    uint64_t server_conns_reused = 0;
    // tls (all 0 without tls / server_tls)
    bool tls = false;              // terminates TLS on its listeners
    uint64_t tls_handshakes = 0;   // completed, full and resumed
    uint64_t tls_resumed = 0;
    uint64_t tls_failures[5] = {}; // by tls::Failure (kTlsFailureNames)
    uint64_t tls_server_failures = 0;  // handshakes with servers that failed
    uint64_t errors_404 = 0;       // entry point: no route matched
    // sums over its servers
    uint64_t server_active = 0;
    uint64_t total = 0;
    uint64_t failures = 0;
    uint64_t retries = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
};

// Names of the TLS handshake failure reasons, in tls::Failure order.
inline constexpr const char* kTlsFailureNames[5] = {"no_shared_cipher", "unknown_ca", "timeout", "protocol", "other"};
// One route of an entry point (DESIGN.md §8).
struct RouteStats {
    std::string service;           // the entry point
    uint32_t position = 0;         // 0-based place in its match order
    std::string route;             // config::route_text: "host=api.example.com -> api"
    std::string pool;              // the service it sends to
    uint64_t hits = 0;
    uint64_t responses[5] = {};    // by class, 1xx .. 5xx
    uint64_t denied_401 = 0;       // basic_auth
    uint64_t denied_403 = 0;       // ip_allow
    uint64_t denied_429 = 0;       // rate_limit
};

struct MiddlewareStats {
    std::string name;
    std::string type;              // "rate_limit", ...
    uint64_t denials = 0;          // requests it refused itself
};

// A certificate a TLS listener serves, and when it expires.
struct CertificateStats {
    std::string service;
    std::string file;
    std::string names;             // comma-separated DNS names (SAN, else CN)
    int64_t not_after_unix = 0;
};

struct WorkerStats {
    uint32_t slot = 0;
    int32_t pid = 0;
    uint64_t generation = 0;
    shm::WorkerState state = shm::WorkerState::Free;
    uint64_t active = 0;
    uint64_t accepted = 0;
    uint64_t started_unix_ms = 0;
    uint64_t uptime_ms = 0;
    uint64_t loop_age_ms = 0;      // since its event loop last turned (the watchdog's measure)
    uint64_t bytes_spliced = 0;    // relayed with splice(), never copied to user space
    uint64_t cold_fds = 0;         // poll() backend: quiet fds parked in the cold set
    uint64_t local_errors = 0;
    uint64_t kernel_relays = 0;    // relay = "sockmap": connections handed to the kernel
    uint64_t bytes_kernel = 0;     // relayed by the kernel, never seen by the worker
};

struct SessionStats {
    int32_t worker_pid = 0;
    std::string client;            // as net::format_address prints it
    std::string service;           // "" when the slot names no known service
    std::string server;            // "" before a server was picked
    uint64_t age_ms = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
};

struct Snapshot {
    uint64_t taken_unix_ms = 0;
    int32_t master_pid = 0;
    bool master_alive = false;     // false: kill(pid, 0) said ESRCH, data is stale
    uint64_t heartbeat_age_ms = 0;
    uint64_t watchdog_kills = 0;   // workers killed because their loop stopped turning
    uint64_t generation = 0;
    uint64_t start_unix_ms = 0;
    uint64_t uptime_ms = 0;
    std::string config_file;
    bool catalog_consistent = true;  // false: the master kept rewriting it while we read
    std::vector<ServiceStats> services;
    std::vector<ServerStats> servers;
    std::vector<RouteStats> routes;          // by entry point (service order), then match order
    std::vector<MiddlewareStats> middlewares;
    std::vector<CertificateStats> certificates;
    std::vector<WorkerStats> workers;
    std::vector<SessionStats> sessions;
};

// Reads everything at once. Names are read under Header::catalog_seq and check
// texts under ServerSlot::check_seq, each with a bounded number of retries (a
// reader never waits for a writer that died mid-update). `now_unix_ms` is the
// reference for ages; tests pass a fixed value.
Snapshot read_snapshot(const shm::Segment& segment, uint64_t now_unix_ms);
Snapshot read_snapshot(const shm::Segment& segment);

// Whether a process still exists: kill(pid, 0) succeeds or fails with EPERM.
bool process_alive(int32_t pid);

// Stable words used by every output format.
const char* admin_name(shm::AdminState s);     // ready | drain | maint
const char* health_name(shm::Health h);        // up | down | unchecked
const char* worker_state_name(shm::WorkerState s);  // free | running | draining
// What the balancer makes of a server: maint, drain, down (active or passive
// checks) or up (also when unchecked).
const char* server_state_name(const ServerStats& s);

}  // namespace ep::stats
