// layout.hpp: the shared-memory file RUN_DIR/easyproxy.shm, an ABI between the
// master, the workers, epstat and epctl. Plain fixed-size structs, versioned,
// laid out as: Header | ServiceSlot[services_cap] | ServerSlot[servers_cap] |
// WorkerSlot[workers_cap] | SessionSlot[workers_cap * sessions_per_worker] |
// RouteSlot[routes_cap] | MiddlewareSlot[middlewares_cap].
//
// Writers: the master writes the catalog (names, addresses, config weights)
// under Header::catalog_seq (a seqlock) and admin/health states; workers add to
// counters with relaxed atomics. Readers map the file read-only.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ep::shm {

inline constexpr uint32_t kMagic = 0x50505945;  // "EYPP" little-endian
inline constexpr uint32_t kLayoutVersion = 5;
inline constexpr size_t kNameMax = 64;     // service / server names, NUL included
inline constexpr size_t kAddressMax = 128; // formatted address, NUL included
inline constexpr size_t kTextMax = 96;     // last health-check result text
inline constexpr size_t kPathMax = 256;
inline constexpr size_t kRouteTextMax = 160;  // a route's conditions and pool (config::route_text), NUL included
inline constexpr size_t kTypeMax = 32;        // a middleware's type name, NUL included

enum class AdminState : uint8_t { Ready = 0, Drain = 1, Maint = 2 };
enum class Health : uint8_t { Unchecked = 0, Up = 1, Down = 2 };
enum class WorkerState : uint32_t { Free = 0, Running = 1, Draining = 2 };
// Service and server slots are keyed by name and reused across reloads, so a
// server that keeps its SERVICE/SERVER name keeps its slot: admin state,
// health, weight override, counters and balancing state carry over, and old
// and new workers count into the same place. A removed one is Retired until
// the workers that may still use it are gone, then Free. Routes are keyed the
// same way by their entry point and text (conditions and pool), middlewares
// by name.
enum class SlotState : uint8_t { Free = 0, Live = 1, Retired = 2 };

struct Header {
    uint32_t magic;
    uint32_t version;
    uint64_t total_size;
    uint32_t services_cap;
    uint32_t servers_cap;
    uint32_t workers_cap;
    uint32_t sessions_per_worker;
    uint64_t services_offset;
    uint64_t servers_offset;
    uint64_t workers_offset;
    uint64_t sessions_offset;
    uint32_t routes_cap;
    uint32_t middlewares_cap;
    uint64_t routes_offset;
    uint64_t middlewares_offset;

    std::atomic<int32_t> master_pid;
    std::atomic<uint32_t> catalog_seq;     // odd while the master rewrites the catalog
    std::atomic<uint64_t> generation;      // worker generation, +1 per reload
    std::atomic<uint64_t> heartbeat_ms;    // wall clock, written by the master loop
    uint64_t start_unix_ms;
    std::atomic<uint32_t> service_count;   // slots [0, count) may be in use; check each slot's state
    std::atomic<uint32_t> server_count;
    std::atomic<uint32_t> route_count;
    std::atomic<uint32_t> middleware_count;
    std::atomic<uint64_t> watchdog_kills;  // workers killed because their loop stopped turning
    char config_file[kPathMax];
    // TLS certificates of the listeners (CertificateSlot), under catalog_seq
    uint32_t certificates_cap;
    std::atomic<uint32_t> certificate_count;  // slots [0, count) hold the running config's
    uint64_t certificates_offset;
};

struct alignas(64) ServiceSlot {
    // catalog
    char name[kNameMax];
    uint8_t state;           // SlotState
    uint8_t mode;            // config::Mode
    uint8_t balance;         // config::Balance
    uint8_t tls_listener;    // 1: terminates TLS (tls = { ... })
    uint8_t pad_[12];
    // balancing state shared by all workers (SWRR needs a consistent update)
    std::atomic<uint32_t> lock;
    uint32_t rr_cursor;      // tie-break cursor (leastconn) under `lock`
    // counters
    std::atomic<uint64_t> denied;      // refused by allow/deny or max_connections
    std::atomic<uint64_t> no_server;   // closed because no server was usable
    std::atomic<uint64_t> accepted;    // client connections accepted
    std::atomic<uint64_t> active;      // client connections open now
    // connections closed because the proxy itself ran short (EMFILE, ENFILE,
    // ENOBUFS, ENOMEM, EADDRNOTAVAIL): never counted against a server
    std::atomic<uint64_t> local_errors;
    // http mode
    std::atomic<uint64_t> http_requests;
    std::atomic<uint64_t> http_responses[5];  // by class: 1xx .. 5xx (what the client got)
    std::atomic<uint64_t> http_502;           // connect failure or invalid response
    std::atomic<uint64_t> http_503;           // no usable server
    std::atomic<uint64_t> http_504;           // no response head in time, or connect timeout
    std::atomic<uint64_t> server_conns_opened;  // new connections to servers
    std::atomic<uint64_t> server_conns_reused;  // requests sent on a pooled connection
    // TLS on the listeners (DESIGN.md §9)
    std::atomic<uint64_t> tls_handshakes;       // completed: full and resumed
    std::atomic<uint64_t> tls_resumed;          // of which resumed (a session ticket)
    std::atomic<uint64_t> tls_failures[5];      // by tls::Failure: no shared cipher, unknown CA,
                                                // timeout, protocol, other
    // TLS to the servers: handshakes that failed (each also a connect failure of its server)
    std::atomic<uint64_t> tls_server_failures;
    std::atomic<uint64_t> http_404_no_route;    // entry point: no route matched the request
};

struct alignas(64) ServerSlot {
    // catalog (master, under catalog_seq)
    char name[kNameMax];
    char address[kAddressMax];
    uint32_t service_index;
    uint32_t config_weight;
    uint32_t max_connections;   // 0: unlimited
    uint8_t backup;
    uint8_t state;              // SlotState
    uint8_t pad_[2];

    // state (master writes; workers read on every pick)
    std::atomic<uint8_t> admin;     // AdminState
    std::atomic<uint8_t> health;    // Health
    std::atomic<uint8_t> passive_down;  // 1 while max_fails tripped
    uint8_t pad2_;
    std::atomic<uint32_t> weight;   // effective weight: override or config
    std::atomic<uint64_t> last_change_unix_ms;

    // health-check result (master; seqlock check_seq)
    std::atomic<uint32_t> check_seq;
    int32_t check_health;           // rise/fall counter
    uint32_t last_check_us;         // duration of the last check
    uint32_t pad3_;
    char last_check[kTextMax];      // "ok", "connection refused", "status 503"

    // counters (workers, relaxed)
    std::atomic<uint64_t> active;
    std::atomic<uint64_t> total;
    std::atomic<uint64_t> failures;  // failed connects
    std::atomic<uint64_t> retries;   // connects retried elsewhere after failing here
    std::atomic<uint64_t> bytes_in;  // client -> server
    std::atomic<uint64_t> bytes_out; // server -> client

    // passive checks (workers count, master decides)
    std::atomic<uint32_t> recent_fails;
    std::atomic<uint32_t> kill_seq;   // bumped by `maint --kill`: workers close older connections
    std::atomic<uint64_t> fail_window_start_ms;  // monotonic

    // balancing state, guarded by the owning ServiceSlot::lock
    int64_t rr_current;
};

struct alignas(64) WorkerSlot {
    std::atomic<int32_t> pid;
    std::atomic<uint32_t> state;        // WorkerState
    std::atomic<uint64_t> generation;
    std::atomic<uint64_t> started_unix_ms;
    std::atomic<uint64_t> active;
    std::atomic<uint64_t> accepted;
    uint32_t listener_set;              // which SO_REUSEPORT socket set it accepts on
    uint32_t pad_;
    // The worker's loop stamps this (monotonic ms) on every turn, however busy;
    // the master's watchdog kills a worker whose stamp stops moving.
    std::atomic<uint64_t> heartbeat_ms;
    std::atomic<uint64_t> bytes_spliced;   // relayed by splice() instead of through a buffer
    std::atomic<uint64_t> cold_fds;        // poll() backend: fds parked in the cold set now
    std::atomic<uint64_t> local_errors;    // accept/socket/connect failures of the proxy's own resources
    std::atomic<uint64_t> kernel_relays;   // relay = "sockmap": connections handed to the kernel
    std::atomic<uint64_t> bytes_kernel;    // relayed by the kernel (BPF sockmap), never seen by the worker
};

// One certificate a TLS listener serves (DESIGN.md §9): what stats show of
// it. Written by the master at start and at each reload, under catalog_seq.
inline constexpr uint32_t kCertificateSlots = 128;
inline constexpr size_t kCertNamesMax = 256;  // "a.example.com,*.example.com", truncated
struct alignas(64) CertificateSlot {
    char service[kNameMax];
    char file[kPathMax];
    char names[kCertNamesMax];
    int64_t not_after_unix;   // expiry, seconds since the epoch
};

inline constexpr uint16_t kNoServer = 0xffff;  // SessionSlot::server before a pick

// One client connection of a worker. `service` and `server` are slot indexes.
// `server` is set (not kNoServer) exactly while the connection holds one unit
// of that server's `active` count.
struct alignas(64) SessionSlot {
    std::atomic<uint32_t> seq;          // 0: free; odd: being written; even: in use
    uint16_t service;
    uint16_t server;
    uint8_t family;                     // AF_INET / AF_INET6 / AF_UNIX
    uint8_t pad_;
    uint16_t client_port;
    uint8_t client_addr[16];
    uint64_t start_unix_ms;
    std::atomic<uint64_t> bytes_in;
    std::atomic<uint64_t> bytes_out;
};

// One route of an entry point (DESIGN.md §8). Counted by the worker that
// matched it; `http_401`/`_403`/`_429` are the answers its middlewares made
// (basic_auth, ip_allow, rate_limit), also counted in `http_responses`.
struct alignas(64) RouteSlot {
    // catalog (master, under catalog_seq)
    char text[kRouteTextMax];   // "host=api.example.com path_prefix=/v1/ -> api"
    char pool[kNameMax];        // the service it sends requests to
    uint32_t service_index;     // ServiceSlot of its entry point
    uint32_t position;          // 0-based place in the entry point's match order
    uint8_t state;              // SlotState
    uint8_t pad_[7];
    // counters (workers, relaxed)
    std::atomic<uint64_t> hits;               // requests that matched this route
    std::atomic<uint64_t> http_responses[5];  // by class: 1xx .. 5xx (what the client got)
    std::atomic<uint64_t> http_401;           // refused by basic_auth
    std::atomic<uint64_t> http_403;           // refused by ip_allow
    std::atomic<uint64_t> http_429;           // refused by rate_limit
};

// A named middleware (DESIGN.md §8); its type is kept as text so readers
// need no copy of the enum.
struct alignas(64) MiddlewareSlot {
    // catalog (master, under catalog_seq)
    char name[kNameMax];
    char type[kTypeMax];        // config::middleware_type_name: "rate_limit", ...
    uint8_t state;              // SlotState
    uint8_t pad_[7];
    // counters (workers, relaxed)
    std::atomic<uint64_t> denials;  // requests it refused itself (401, 403, 413, 429)
};

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<int32_t>::is_always_lock_free);
static_assert(std::atomic<uint8_t>::is_always_lock_free);
static_assert(std::is_standard_layout_v<Header> && std::is_standard_layout_v<ServerSlot>);
static_assert(std::is_standard_layout_v<RouteSlot> && std::is_standard_layout_v<MiddlewareSlot>);
static_assert(sizeof(Header) == 416);
static_assert(sizeof(CertificateSlot) == 640);
static_assert(sizeof(ServiceSlot) == 320);
static_assert(sizeof(ServerSlot) == 448);
static_assert(sizeof(WorkerSlot) == 128);
static_assert(sizeof(SessionSlot) == 64);
static_assert(sizeof(RouteSlot) == 320);
static_assert(sizeof(MiddlewareSlot) == 128);
static_assert(alignof(ServerSlot) == 64);

// Copies a string into a fixed char array, truncating, always NUL-terminated.
template <size_t N>
inline void copy_text(char (&dst)[N], const char* src) {
    size_t i = 0;
    for (; src && src[i] && i + 1 < N; ++i) dst[i] = src[i];
    dst[i] = '\0';
}

}  // namespace ep::shm
