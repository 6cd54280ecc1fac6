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
    HealthCheck health_check;
    Passive passive;
    Http http;
    KeepAlive keepalive;
    std::vector<Server> servers;
    int line = 0;
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
    Log log;
    Stats stats;
};

struct Config {
    std::string file;          // path it was loaded from
    Global global;
    std::vector<Service> services;
};

const char* balance_name(Balance b);
const char* mode_name(Mode m);
const char* check_type_name(CheckType t);

}  // namespace ep::config
