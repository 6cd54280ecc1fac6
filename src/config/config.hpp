// config.hpp: the plain C++ model of an easyproxy configuration (DESIGN.md §3).
// The loader fills it from libconfig; nothing past the loader sees libconfig.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "net/address.hpp"

namespace ep::config {

enum class Mode { Tcp, Http };
enum class Balance { RoundRobin, Random, Source, LeastConn, P2C, Maglev, Uri, Header, Cookie };
enum class ProxyProtocol { Off, V1, V2 };
enum class CheckType { None, Tcp, Http, SendExpect };
enum class LogLevel { Debug, Info, Notice, Warning, Error };
enum class LogTarget { Default, Stderr, Syslog };  // Default: stderr with -f, syslog otherwise
enum class Poller { Auto, Poll, Epoll };
// Who moves a tcp service's bytes: the worker (buffers, splice), or the
// kernel once a connection is established (a BPF sockmap, kernel/).
enum class Relay { Worker, Sockmap };

struct HealthCheck {
    CheckType type = CheckType::None;  // None: no health_check group
    uint64_t interval_ms = 2000;
    uint64_t timeout_ms = 1000;
    int rise = 2;
    int fall = 3;
    std::string path = "/";      // http
    int expect_status = 200;     // http
    std::string host;            // http Host header; empty: the server's address
    std::string send;            // send-expect
    std::string expect;          // send-expect: expected reply prefix
};

struct Passive {
    int max_fails = 3;                // 0: passive checks off
    uint64_t fail_timeout_ms = 10000;
};

// http = { ... } (DESIGN.md §7): the client side of an HTTP service, and
// server_timeout toward its servers.
struct Http {
    uint64_t request_timeout_ms = 10000;    // whole request head (slowloris): else 408
    uint64_t keepalive_timeout_ms = 60000;  // idle client between requests
    uint64_t server_timeout_ms = 60000;     // no response head (504), or no byte of the body
    int max_header_size = 16384;            // request head, else 431
    uint64_t max_body_size = 0;             // 0: unlimited, else 413
    std::vector<net::Cidr> trusted_proxies; // their X-Forwarded-* / X-Real-IP are kept
};

// keepalive = { ... }: the per-worker pool of idle connections to each server.
struct KeepAlive {
    int max_idle = 32;                // idle connections kept per server per worker (0: no pool)
    uint64_t idle_timeout_ms = 4000;  // below the 5 s that many servers use
    int max_requests = 10000;         // requests per server connection
};

// One route of an entry point (DESIGN.md §8, research/http.md §6). All the
// conditions given must hold. The loader keeps an entry point's routes in
// match order (route_order below), lower-cases hosts, and resolves names to
// indexes, so the worker only compares.
struct Route {
    std::string host;                // "" none, "api.example.com" exact, "*.example.com" one label
    std::string path;                // exact normalised path; "" none
    std::string path_prefix;         // byte prefix of the normalised path; "" none
    std::vector<std::string> methods;                          // as written (upper case); empty: any
    std::vector<std::pair<std::string, std::string>> headers;  // name (any case), exact value
    bool has_priority = false;
    int priority = 0;                // higher first, before every other rule (not given: 0)
    std::string service;             // the pool it sends to
    std::vector<std::string> middlewares;  // the route's own, as written
    // resolved by the loader
    uint32_t service_index = 0;      // into Config::services
    std::vector<uint32_t> chain;     // entry point's middlewares then the route's, into Config::middlewares
    int ordinal = 0;                 // position in the file (0-based), the last tie-break
    int line = 0;
};

enum class MiddlewareType {
    Headers, StripPrefix, AddPrefix, Redirect, BasicAuth, IpAllow, RateLimit, RequestId, Retry, MaxBodySize
};

// A named middleware (DESIGN.md §8, semantics in research/http.md §7). One
// struct for every type; each type reads only its own fields.
struct Middleware {
    std::string name;
    MiddlewareType type = MiddlewareType::Headers;
    // headers: set replaces every line of the name, add appends one, remove deletes all
    std::vector<std::pair<std::string, std::string>> request_set, request_add, response_set, response_add;
    std::vector<std::string> request_remove, response_remove;
    // strip_prefix: the first of `prefixes` that byte-prefixes the path; add_prefix: `prefixes[0]`
    std::vector<std::string> prefixes;
    // redirect: what is not given is kept from the request. `code` 301 or 302
    // becomes 308 or 307 for methods other than GET and HEAD (the method is kept).
    std::string scheme, host, path;
    int port = 0;                    // 0: none given (the request's own is dropped when the scheme changes)
    int code = 302;                  // 301 | 302 | 307 | 308
    // basic_auth: users from the htpasswd file, read at load
    std::string htpasswd;
    std::string realm = "easyproxy";
    bool remove_header = false;      // Authorization is not forwarded
    std::vector<std::pair<std::string, std::string>> users;  // user, crypt(3) hash
    // ip_allow: the TCP peer must be in one of these, else 403
    std::vector<net::Cidr> allow;
    // rate_limit: `average` requests per `period`, up to `burst` at once; per
    // client address (IPv6 per /64), shared by all workers; else 429
    uint64_t average = 0;
    uint64_t period_ms = 1000;
    uint64_t burst = 1;
    // request_id: the header set when absent (or from an untrusted peer) and echoed
    std::string header = "X-Request-ID";
    // retry: an idempotent request that got no response byte is sent again
    // to another server, up to `attempts` times in all
    int attempts = 2;
    // max_body_size: bytes, else 413
    uint64_t max_body_size = 0;
    int line = 0;
};

// Where a setting was written, for messages found after loading (a
// certificate that cannot be read): "FILE:LINE: path: message".
struct Where {
    std::string file;
    int line = 0;
    std::string path;  // "services[0].tls.certificates[1].cert"
};

// One certificate of a TLS listener: its chain (leaf first) and private key.
struct Certificate {
    std::string cert;
    std::string key;
    Where cert_where;
    Where key_where;
};

// tls = { ... } (DESIGN.md §9): the service terminates TLS on its listeners.
struct Tls {
    bool enabled = false;
    std::vector<Certificate> certificates;  // the first is the default (no SNI, or no name matches)
    int min_version = 0x0303;               // TLS1_2_VERSION or TLS1_3_VERSION
    std::string ciphers;                    // TLS <= 1.2 cipher string; empty: OpenSSL's default
    std::string ciphersuites;               // TLS 1.3 suites; empty: OpenSSL's default
    std::vector<std::string> alpn;          // offered protocols, in preference order
    uint64_t handshake_timeout_ms = 10000;
    Where where;
};

// server_tls = { ... }: the service reaches its servers over TLS.
struct ServerTls {
    bool enabled = false;
    bool verify = true;        // the server's chain against ca_file (else the system store) and its name
    std::string ca_file;       // empty: the system's trusted CAs
    std::string sni;           // name sent and verified; empty: the server's address host when a name
    std::string cert;          // client certificate (mutual TLS), with key
    std::string key;
    Where ca_where, cert_where, key_where;
    Where where;
};

struct Server {
    std::string name;
    std::string address_text;  // as written
    net::Address address;
    int weight = 1;            // 0..256
    bool backup = false;
    int max_connections = 0;   // 0: unlimited
    int line = 0;              // config line, for messages
};

struct Service {
    std::string name;
    std::vector<std::string> listen_text;
    std::vector<net::Address> listen;
    Mode mode = Mode::Tcp;
    Balance balance = Balance::RoundRobin;
    std::string balance_key;   // NAME of header:NAME / cookie:NAME
    uint64_t connect_timeout_ms = 3000;
    uint64_t idle_timeout_ms = 600000;
    int retries = 2;
    int max_connections = 0;   // 0: unlimited
    std::vector<net::Cidr> allow;
    std::vector<net::Cidr> deny;
    ProxyProtocol proxy_protocol = ProxyProtocol::Off;
    Relay relay = Relay::Worker;
    // relay = "sockmap": bytes the worker relays itself before it hands a
    // connection to the kernel (a short one costs more to hand over than it saves).
    uint64_t sockmap_after = 65536;
    HealthCheck health_check;
    Passive passive;
    Http http;
    KeepAlive keepalive;
    std::vector<Server> servers;
    // An entry point (listen + routes, DESIGN.md §8): its own middlewares run
    // before each route's; routes are in match order.
    std::vector<std::string> middlewares;
    std::vector<Route> routes;
    // A pool may pin clients to a server with a cookie (research/http.md §8):
    // `sticky = { cookie = "EPSRV"; }`; empty: off.
    std::string sticky_cookie;
    Tls tls;                   // on a service that listens
    ServerTls server_tls;      // on a service with servers
    int line = 0;
    bool is_entry_point() const { return !routes.empty(); }
    bool is_pool() const { return listen.empty(); }
};

struct Log {
    LogLevel level = LogLevel::Info;
    LogTarget target = LogTarget::Default;
    std::string access_log;    // empty: no access log
};

struct Stats {
    std::string listen_text;   // empty: no stats endpoint
    net::Address listen;
    std::vector<net::Cidr> allow;
};

struct Global {
    int workers = 0;           // 0: one per online CPU
    std::string user;          // empty: keep the starting user
    std::string group;
    std::string run_dir = RUNSTATEDIR "/easyproxy";
    std::string state_file = LOCALSTATEDIR "/lib/easyproxy/server-state";
    int max_connections = 20000;  // per worker
    uint64_t shutdown_timeout_ms = 30000;
    uint64_t watchdog_timeout_ms = 5000;  // a worker whose loop stalls this long is killed; 0: off
    Poller poller = Poller::Auto;
    bool watch = false;        // reload by itself when the config file or a file it names changes
    Log log;
    Stats stats;
};

struct Config {
    std::string file;          // path it was loaded from
    Global global;
    std::vector<Service> services;
    std::vector<Middleware> middlewares;
    // Every file the config was read from or names (includes, htpasswd): what
    // `global.watch` watches.
    std::vector<std::string> files;
    // What loads but is likely a mistake (a pool no route uses), each as
    // "FILE:LINE: warning: key.path: message"; printed by -t and at start.
    std::vector<std::string> warnings;
};

const char* balance_name(Balance b);
const char* mode_name(Mode m);
const char* check_type_name(CheckType t);
const char* middleware_type_name(MiddlewareType t);

// Sorts an entry point's routes into match order (DESIGN.md §8): priority
// (higher first; not given is 0), then exact host > wildcard > none,
// then `path` > longer `path_prefix` > shorter > none, then more conditions,
// then file order.
void sort_routes(std::vector<Route>& routes);

// A route in one line, its conditions in a fixed order then its pool:
// "priority=5 host=api.example.com path_prefix=/v1/ methods=GET,HEAD
// header X-Canary="1" -> api", or "any -> web" when it has none. What `-t`, epstat and the statistics call it
// (the shared memory keys a route's counters by it).
std::string route_text(const Route& r);

}  // namespace ep::config
