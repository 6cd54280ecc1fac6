// test_format.cpp: the stats path from shared memory to text. A real segment
// is created in a temporary directory, filled as the master and workers would,
// read back with read_snapshot and printed in every format; the expected
// outputs are pinned byte for byte because scripts parse them.
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "config/config.hpp"
#include "shm/segment.hpp"
#include "stats/format.hpp"
#include "stats/snapshot.hpp"

// CppUTest last: its leak-detector macros must not see std headers.
#include <CppUTest/TestHarness.h>

namespace {

using namespace ep;

constexpr uint64_t kNow = 1700000000000;        // the reference "now" of every test
constexpr uint64_t kStart = kNow - 3723000;     // master started 1h02m03s ago
constexpr int32_t kDeadPid = 2147483000;        // above any pid_max: kill() says ESRCH

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/ep-test-format-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        ::unlink((path + "/easyproxy.shm").c_str());
        ::rmdir(path.c_str());
    }
};

void set_service(shm::ServiceSlot& s, const char* name, config::Balance balance) {
    shm::copy_text(s.name, name);
    s.state = uint8_t(shm::SlotState::Live);
    s.mode = uint8_t(config::Mode::Tcp);
    s.balance = uint8_t(balance);
}

void set_server(shm::ServerSlot& s, uint32_t service, const char* name, const char* address, uint32_t weight) {
    shm::copy_text(s.name, name);
    shm::copy_text(s.address, address);
    s.state = uint8_t(shm::SlotState::Live);
    s.service_index = service;
    s.config_weight = weight;
    s.weight.store(weight);
}

void set_check(shm::ServerSlot& s, const char* text, uint32_t us) {
    const uint32_t seq = shm::seq_write_begin(s.check_seq);
    shm::copy_text(s.last_check, text);
    s.last_check_us = us;
    shm::seq_write_end(s.check_seq, seq);
}

void set_counters(shm::ServerSlot& s, uint64_t active, uint64_t total, uint64_t failures, uint64_t retries,
                  uint64_t in, uint64_t out) {
    s.active.store(active);
    s.total.store(total);
    s.failures.store(failures);
    s.retries.store(retries);
    s.bytes_in.store(in);
    s.bytes_out.store(out);
}

// Two services, four servers in every state, one worker with two sessions.
void fill(shm::Segment& seg) {
    shm::Header& h = seg.header();
    h.start_unix_ms = kStart;
    h.heartbeat_ms.store(kNow - 250);
    h.generation.store(2);
    h.master_pid.store(kDeadPid);

    const uint32_t seq = shm::seq_write_begin(h.catalog_seq);
    shm::copy_text(h.config_file, "/etc/easyproxy/easyproxy.conf");
    auto services = seg.services();
    set_service(services[0], "web", config::Balance::RoundRobin);
    set_service(services[1], "db", config::Balance::LeastConn);
    auto servers = seg.servers();
    set_server(servers[0], 0, "app1", "10.0.0.1:8080", 5);
    set_server(servers[1], 0, "app2", "10.0.0.2:8080", 1);
    set_server(servers[2], 0, "app3", "10.0.0.3:8080", 1);
    servers[2].backup = 1;
    set_server(servers[3], 1, "db,1", "[2001:db8::1]:3306", 1);  // a comma: CSV must quote it
    h.service_count.store(2);
    h.server_count.store(4);
    shm::seq_write_end(h.catalog_seq, seq);

    services[0].accepted.store(1500);
    services[0].active.store(12);
    services[0].denied.store(3);
    services[1].accepted.store(7);
    services[1].no_server.store(2);
    services[1].local_errors.store(4);
    h.watchdog_kills.store(1);

    servers[0].health.store(uint8_t(shm::Health::Up));
    servers[0].last_change_unix_ms.store(kNow - 192000);
    set_check(servers[0], "ok", 350);
    set_counters(servers[0], 10, 1200, 1, 0, 1258291, 5 * 1048576);

    servers[1].admin.store(uint8_t(shm::AdminState::Drain));
    servers[1].health.store(uint8_t(shm::Health::Up));
    servers[1].weight.store(0);
    servers[1].last_change_unix_ms.store(kNow - 5000);
    set_check(servers[1], "ok", 12000);
    set_counters(servers[1], 2, 300, 0, 1, 512, 2048);

    servers[2].health.store(uint8_t(shm::Health::Down));
    servers[2].last_change_unix_ms.store(kNow - 45000);
    set_check(servers[2], "connection refused", 1000000);
    set_counters(servers[2], 0, 0, 4, 4, 0, 0);

    servers[3].admin.store(uint8_t(shm::AdminState::Maint));
    set_counters(servers[3], 0, 7, 0, 0, 100, 200);

    auto workers = seg.workers();
    workers[0].pid.store(5001);
    workers[0].state.store(uint32_t(shm::WorkerState::Running));
    workers[0].generation.store(2);
    workers[0].started_unix_ms.store(kNow - 60000);
    workers[0].active.store(12);
    workers[0].accepted.store(1507);
    workers[0].bytes_spliced.store(3 * 1048576);
    workers[0].cold_fds.store(7);
    workers[0].local_errors.store(4);
    workers[0].kernel_relays.store(9);
    workers[0].bytes_kernel.store(6979321856);  // 6.5 GiB: more than 32 bits hold
    workers[1].pid.store(4999);
    workers[1].state.store(uint32_t(shm::WorkerState::Draining));
    workers[1].generation.store(1);
    workers[1].started_unix_ms.store(kNow - 3600000);
    workers[1].active.store(1);
    workers[1].accepted.store(99);
    workers[1].kernel_relays.store(2);
    workers[1].bytes_kernel.store(1536);

    auto sessions = seg.sessions(0);
    shm::SessionSlot& a = sessions[0];
    a.service = 0;
    a.server = 0;
    a.family = AF_INET;
    a.client_port = 51000;
    const uint8_t v4[4] = {192, 0, 2, 7};
    std::memcpy(a.client_addr, v4, 4);
    a.start_unix_ms = kNow - 75000;
    a.bytes_in.store(4096);
    a.bytes_out.store(3 * 1048576);
    a.seq.store(2);
    shm::SessionSlot& b = sessions[2];
    b.service = 1;
    b.server = shm::kNoServer;  // connecting: no server yet
    b.family = AF_INET6;
    b.client_port = 40000;
    inet_pton(AF_INET6, "2001:db8::7", b.client_addr);
    b.start_unix_ms = kNow - 500;
    b.seq.store(4);
    sessions[1].seq.store(0);  // a free slot between them
}

// An http service adds its request counters: a second table, JSON keys and
// metric families that tcp-only configurations never show. `web` of the
// fixture becomes one.
void make_web_http(shm::Segment& seg) {
    auto services = seg.services();
    services[0].mode = uint8_t(config::Mode::Http);
    services[0].http_requests.store(120);
    services[0].http_responses[1].store(100);
    services[0].http_responses[3].store(12);
    services[0].http_responses[4].store(8);
    services[0].http_502.store(5);
    services[0].http_503.store(2);
    services[0].http_504.store(1);
    services[0].server_conns_opened.store(4);
    services[0].server_conns_reused.store(116);
}

void set_route(shm::RouteSlot& r, uint32_t service, uint32_t position, const char* text, const char* pool) {
    shm::copy_text(r.text, text);
    shm::copy_text(r.pool, pool);
    r.service_index = service;
    r.position = position;
    r.state = uint8_t(shm::SlotState::Live);
}

void set_middleware(shm::MiddlewareSlot& m, const char* name, const char* type, uint64_t denials) {
    shm::copy_text(m.name, name);
    shm::copy_text(m.type, type);
    m.state = uint8_t(shm::SlotState::Live);
    m.denials.store(denials);
}

// An entry point `www` (service slot 2) with three routes and two
// middlewares, as a reload leaves them: slots out of match order, one route
// retired. A route's text holds commas (CSV must quote it) and a quote.
void make_gateway(shm::Segment& seg) {
    shm::Header& h = seg.header();
    const uint32_t seq = shm::seq_write_begin(h.catalog_seq);
    auto services = seg.services();
    set_service(services[2], "www", config::Balance::RoundRobin);
    services[2].mode = uint8_t(config::Mode::Http);
    auto routes = seg.routes();
    set_route(routes[0], 2, 2, "any -> web", "web");
    set_route(routes[1], 2, 0, "host=api.example.com path_prefix=/v1/ -> api", "api");
    set_route(routes[2], 2, 1, "host=*.example.com methods=GET,HEAD header X-Tag=\"a\" -> web", "web");
    set_route(routes[3], 2, 1, "path=/old -> web", "web");
    routes[3].state = uint8_t(shm::SlotState::Retired);
    auto middlewares = seg.middlewares();
    set_middleware(middlewares[0], "api-limit", "rate_limit", 29);
    set_middleware(middlewares[1], "admin", "basic_auth", 4);
    h.service_count.store(3);
    h.route_count.store(4);
    h.middleware_count.store(2);
    shm::seq_write_end(h.catalog_seq, seq);

    services[2].http_requests.store(1000);
    services[2].http_404_no_route.store(6);
    shm::RouteSlot& api = routes[1];
    api.hits.store(700);
    api.http_responses[1].store(650);
    api.http_responses[3].store(40);
    api.http_responses[4].store(10);
    api.http_401.store(4);
    api.http_403.store(7);
    api.http_429.store(29);
    routes[2].hits.store(200);
    routes[2].http_responses[1].store(180);
    routes[2].http_responses[2].store(20);
    routes[0].hits.store(94);
    routes[0].http_responses[0].store(1);
    routes[0].http_responses[1].store(93);
    routes[3].hits.store(12345);  // retired: never shown
}

}  // namespace

TEST_GROUP(Format) {
    TempDir dir;
    shm::Segment seg;
    stats::Snapshot snap;

    void setup() override {
        seg = shm::Segment::create(dir.path + "/easyproxy.shm", {4, 8, 2, 4, 4, 2});
        fill(seg);
        snap = stats::read_snapshot(seg, kNow);
    }
    void teardown() override {
        seg = shm::Segment();
        snap = stats::Snapshot();
    }
    // The fixture with `web` in http mode.
    stats::Snapshot http_snapshot() {
        make_web_http(seg);
        return stats::read_snapshot(seg, kNow);
    }
    // The fixture with the entry point `www`.
    stats::Snapshot gateway_snapshot() {
        make_gateway(seg);
        return stats::read_snapshot(seg, kNow);
    }
};

TEST(Format, TableServices) {
    STRCMP_EQUAL(R"~(SERVICE  MODE  BALANCE     SERVERS  ACTIVE  ACCEPTED  DENIED  NO SERVER  LOCAL ERR  FAILED  RETRIES       IN      OUT
web      tcp   roundrobin      1/3      12      1500       3          0          0       5        5  1.2 MiB  5.0 MiB
db       tcp   leastconn       0/1       0         7       0          2          4       0        0    100 B    200 B
)~",
                 stats::format(snap, stats::View::Services, stats::Format::Table, false).c_str());
}

TEST(Format, TableServers) {
    STRCMP_EQUAL(R"~(SERVICE  SERVER  ADDRESS             ADMIN  HEALTH     WEIGHT  BACKUP  ACTIVE  TOTAL  FAILED  RETRIES       IN      OUT  LAST CHECK                 CHANGED
web      app1    10.0.0.1:8080       ready  up              5  -           10   1200       1        0  1.2 MiB  5.0 MiB  ok (0.3ms)               3m12s ago
web      app2    10.0.0.2:8080       drain  up              0  -            2    300       0        1    512 B  2.0 KiB  ok (12ms)                   5s ago
web      app3    10.0.0.3:8080       ready  down            1  yes          0      0       4        4      0 B      0 B  connection refused (1s)    45s ago
db       db,1    [2001:db8::1]:3306  maint  unchecked       1  -            0      7       0        0    100 B    200 B  -                                -
)~",
                 stats::format(snap, stats::View::Servers, stats::Format::Table, false).c_str());
}

TEST(Format, TableWorkers) {
    STRCMP_EQUAL(R"~(SLOT   PID  GEN  STATE     ACTIVE  ACCEPTED  UPTIME    LOOP  SPLICED   KERNEL  KERN CONNS  COLD  LOCAL ERR
   0  5001    2  running       12      1507      1m  0s ago  3.0 MiB  6.5 GiB           9     7          4
   1  4999    1  draining       1        99      1h  0s ago      0 B  1.5 KiB           2     0          0
)~",
                 stats::format(snap, stats::View::Workers, stats::Format::Table, false).c_str());
}

TEST(Format, TableSessions) {
    STRCMP_EQUAL(R"~(WORKER  CLIENT               SERVICE  SERVER    AGE       IN      OUT
  5001  192.0.2.7:51000      web      app1    1m15s  4.0 KiB  3.0 MiB
  5001  [2001:db8::7]:40000  db       -       500ms      0 B      0 B
)~",
                 stats::format(snap, stats::View::Sessions, stats::Format::Table, false).c_str());
}

TEST(Format, CsvServices) {
    STRCMP_EQUAL(R"~(# service,mode,balance,servers,servers_usable,active,accepted,denied,no_server,connections,failures,retries,bytes_in,bytes_out,local_errors,requests,responses_1xx,responses_2xx,responses_3xx,responses_4xx,responses_5xx,errors_502,errors_503,errors_504,server_connections_opened,server_connections_reused,errors_404
web,tcp,roundrobin,3,1,12,1500,3,0,1500,5,5,1258803,5244928,0,0,0,0,0,0,0,0,0,0,0,0,0
db,tcp,leastconn,1,0,0,7,0,2,7,0,0,100,200,4,0,0,0,0,0,0,0,0,0,0,0,0
)~",
                 stats::format(snap, stats::View::Services, stats::Format::Csv, false).c_str());
}

TEST(Format, CsvServers) {
    STRCMP_EQUAL(R"~(# service,server,address,admin,health,state,weight,backup,active,total,failures,retries,bytes_in,bytes_out,last_check,last_check_ms,since_change_s
web,app1,10.0.0.1:8080,ready,up,up,5,0,10,1200,1,0,1258291,5242880,ok,0.350,192
web,app2,10.0.0.2:8080,drain,up,drain,0,0,2,300,0,1,512,2048,ok,12.000,5
web,app3,10.0.0.3:8080,ready,down,down,1,1,0,0,4,4,0,0,connection refused,1000.000,45
db,"db,1",[2001:db8::1]:3306,maint,unchecked,maint,1,0,0,7,0,0,100,200,,,
)~",
                 stats::format(snap, stats::View::Servers, stats::Format::Csv, false).c_str());
}

TEST(Format, CsvWorkers) {
    STRCMP_EQUAL(R"~(# slot,pid,generation,state,active,accepted,uptime_s,loop_age_ms,bytes_spliced,cold_fds,local_errors,kernel_relays,bytes_kernel
0,5001,2,running,12,1507,60,0,3145728,7,4,9,6979321856
1,4999,1,draining,1,99,3600,0,0,0,0,2,1536
)~",
                 stats::format(snap, stats::View::Workers, stats::Format::Csv, false).c_str());
}

TEST(Format, CsvSessions) {
    STRCMP_EQUAL(R"~(# worker_pid,client,service,server,age_s,bytes_in,bytes_out
5001,192.0.2.7:51000,web,app1,75,4096,3145728
5001,[2001:db8::7]:40000,db,,0,0,0
)~",
                 stats::format(snap, stats::View::Sessions, stats::Format::Csv, false).c_str());
}

TEST(Format, JsonServices) {
    STRCMP_EQUAL(R"~({
  "master": {"pid":2147483000,"alive":false,"generation":2,"start_unix_ms":1699996277000,"uptime_ms":3723000,"heartbeat_age_ms":250,"watchdog_kills":1,"config_file":"/etc/easyproxy/easyproxy.conf"},
  "services": [
    {"service":"web","mode":"tcp","balance":"roundrobin","servers":3,"servers_usable":1,"active":12,"accepted":1500,"denied":3,"no_server":0,"local_errors":0,"connections":1500,"failures":5,"retries":5,"bytes_in":1258803,"bytes_out":5244928},
    {"service":"db","mode":"tcp","balance":"leastconn","servers":1,"servers_usable":0,"active":0,"accepted":7,"denied":0,"no_server":2,"local_errors":4,"connections":7,"failures":0,"retries":0,"bytes_in":100,"bytes_out":200}
  ]
}
)~",
                 stats::format(snap, stats::View::Services, stats::Format::Json, false).c_str());
}

TEST(Format, JsonServers) {
    STRCMP_EQUAL(R"~({
  "master": {"pid":2147483000,"alive":false,"generation":2,"start_unix_ms":1699996277000,"uptime_ms":3723000,"heartbeat_age_ms":250,"watchdog_kills":1,"config_file":"/etc/easyproxy/easyproxy.conf"},
  "servers": [
    {"service":"web","server":"app1","address":"10.0.0.1:8080","admin":"ready","health":"up","passive_down":false,"state":"up","weight":5,"config_weight":5,"backup":false,"max_connections":0,"active":10,"total":1200,"failures":1,"retries":0,"bytes_in":1258291,"bytes_out":5242880,"last_check":"ok","last_check_us":350,"since_change_ms":192000},
    {"service":"web","server":"app2","address":"10.0.0.2:8080","admin":"drain","health":"up","passive_down":false,"state":"drain","weight":0,"config_weight":1,"backup":false,"max_connections":0,"active":2,"total":300,"failures":0,"retries":1,"bytes_in":512,"bytes_out":2048,"last_check":"ok","last_check_us":12000,"since_change_ms":5000},
    {"service":"web","server":"app3","address":"10.0.0.3:8080","admin":"ready","health":"down","passive_down":false,"state":"down","weight":1,"config_weight":1,"backup":true,"max_connections":0,"active":0,"total":0,"failures":4,"retries":4,"bytes_in":0,"bytes_out":0,"last_check":"connection refused","last_check_us":1000000,"since_change_ms":45000},
    {"service":"db","server":"db,1","address":"[2001:db8::1]:3306","admin":"maint","health":"unchecked","passive_down":false,"state":"maint","weight":1,"config_weight":1,"backup":false,"max_connections":0,"active":0,"total":7,"failures":0,"retries":0,"bytes_in":100,"bytes_out":200,"last_check":null,"last_check_us":null,"since_change_ms":null}
  ]
}
)~",
                 stats::format(snap, stats::View::Servers, stats::Format::Json, false).c_str());
}

TEST(Format, JsonWorkers) {
    STRCMP_EQUAL(R"~({
  "master": {"pid":2147483000,"alive":false,"generation":2,"start_unix_ms":1699996277000,"uptime_ms":3723000,"heartbeat_age_ms":250,"watchdog_kills":1,"config_file":"/etc/easyproxy/easyproxy.conf"},
  "workers": [
    {"slot":0,"pid":5001,"generation":2,"state":"running","active":12,"accepted":1507,"started_unix_ms":1699999940000,"uptime_ms":60000,"loop_age_ms":0,"bytes_spliced":3145728,"cold_fds":7,"local_errors":4,"kernel_relays":9,"bytes_kernel":6979321856},
    {"slot":1,"pid":4999,"generation":1,"state":"draining","active":1,"accepted":99,"started_unix_ms":1699996400000,"uptime_ms":3600000,"loop_age_ms":0,"bytes_spliced":0,"cold_fds":0,"local_errors":0,"kernel_relays":2,"bytes_kernel":1536}
  ]
}
)~",
                 stats::format(snap, stats::View::Workers, stats::Format::Json, false).c_str());
}

TEST(Format, JsonSessions) {
    STRCMP_EQUAL(R"~({
  "master": {"pid":2147483000,"alive":false,"generation":2,"start_unix_ms":1699996277000,"uptime_ms":3723000,"heartbeat_age_ms":250,"watchdog_kills":1,"config_file":"/etc/easyproxy/easyproxy.conf"},
  "sessions": [
    {"worker_pid":5001,"client":"192.0.2.7:51000","service":"web","server":"app1","age_ms":75000,"bytes_in":4096,"bytes_out":3145728},
    {"worker_pid":5001,"client":"[2001:db8::7]:40000","service":"db","server":null,"age_ms":500,"bytes_in":0,"bytes_out":0}
  ]
}
)~",
                 stats::format(snap, stats::View::Sessions, stats::Format::Json, false).c_str());
}

// promtool check metrics accepts this text without warnings (checked when the
// formatter changed; the test pins it so it cannot drift).
TEST(Format, Prometheus) {
    STRCMP_EQUAL(R"~(# HELP easyproxy_start_time_seconds Start time of the easyproxy master since the Unix epoch.
# TYPE easyproxy_start_time_seconds gauge
easyproxy_start_time_seconds 1699996277.000
# HELP easyproxy_generation Worker generation; it grows by one at each reload.
# TYPE easyproxy_generation gauge
easyproxy_generation 2
# HELP easyproxy_watchdog_kills_total Workers killed because their event loop stopped turning.
# TYPE easyproxy_watchdog_kills_total counter
easyproxy_watchdog_kills_total 1
# HELP easyproxy_service_active_connections Client connections open now.
# TYPE easyproxy_service_active_connections gauge
easyproxy_service_active_connections{service="web"} 12
easyproxy_service_active_connections{service="db"} 0
# HELP easyproxy_service_connections_total Client connections accepted.
# TYPE easyproxy_service_connections_total counter
easyproxy_service_connections_total{service="web"} 1500
easyproxy_service_connections_total{service="db"} 7
# HELP easyproxy_service_denied_connections_total Client connections refused by allow/deny rules or max_connections.
# TYPE easyproxy_service_denied_connections_total counter
easyproxy_service_denied_connections_total{service="web"} 3
easyproxy_service_denied_connections_total{service="db"} 0
# HELP easyproxy_service_no_server_total Client connections closed because no server was usable.
# TYPE easyproxy_service_no_server_total counter
easyproxy_service_no_server_total{service="web"} 0
easyproxy_service_no_server_total{service="db"} 2
# HELP easyproxy_service_local_errors_total Client connections closed because the proxy itself ran short (descriptors, memory, local ports).
# TYPE easyproxy_service_local_errors_total counter
easyproxy_service_local_errors_total{service="web"} 0
easyproxy_service_local_errors_total{service="db"} 4
# HELP easyproxy_service_servers Servers configured in the service.
# TYPE easyproxy_service_servers gauge
easyproxy_service_servers{service="web"} 3
easyproxy_service_servers{service="db"} 1
# HELP easyproxy_service_usable_servers Servers that take new connections (up and ready).
# TYPE easyproxy_service_usable_servers gauge
easyproxy_service_usable_servers{service="web"} 1
easyproxy_service_usable_servers{service="db"} 0
# HELP easyproxy_server_active_connections Connections to the server open now.
# TYPE easyproxy_server_active_connections gauge
easyproxy_server_active_connections{service="web",server="app1"} 10
easyproxy_server_active_connections{service="web",server="app2"} 2
easyproxy_server_active_connections{service="web",server="app3"} 0
easyproxy_server_active_connections{service="db",server="db,1"} 0
# HELP easyproxy_server_connections_total Connections made to the server.
# TYPE easyproxy_server_connections_total counter
easyproxy_server_connections_total{service="web",server="app1"} 1200
easyproxy_server_connections_total{service="web",server="app2"} 300
easyproxy_server_connections_total{service="web",server="app3"} 0
easyproxy_server_connections_total{service="db",server="db,1"} 7
# HELP easyproxy_server_connect_failures_total Failed connects to the server.
# TYPE easyproxy_server_connect_failures_total counter
easyproxy_server_connect_failures_total{service="web",server="app1"} 1
easyproxy_server_connect_failures_total{service="web",server="app2"} 0
easyproxy_server_connect_failures_total{service="web",server="app3"} 4
easyproxy_server_connect_failures_total{service="db",server="db,1"} 0
# HELP easyproxy_server_retries_total Connects retried on another server after failing here.
# TYPE easyproxy_server_retries_total counter
easyproxy_server_retries_total{service="web",server="app1"} 0
easyproxy_server_retries_total{service="web",server="app2"} 1
easyproxy_server_retries_total{service="web",server="app3"} 4
easyproxy_server_retries_total{service="db",server="db,1"} 0
# HELP easyproxy_server_bytes_in_total Bytes relayed from clients to the server.
# TYPE easyproxy_server_bytes_in_total counter
easyproxy_server_bytes_in_total{service="web",server="app1"} 1258291
easyproxy_server_bytes_in_total{service="web",server="app2"} 512
easyproxy_server_bytes_in_total{service="web",server="app3"} 0
easyproxy_server_bytes_in_total{service="db",server="db,1"} 100
# HELP easyproxy_server_bytes_out_total Bytes relayed from the server to clients.
# TYPE easyproxy_server_bytes_out_total counter
easyproxy_server_bytes_out_total{service="web",server="app1"} 5242880
easyproxy_server_bytes_out_total{service="web",server="app2"} 2048
easyproxy_server_bytes_out_total{service="web",server="app3"} 0
easyproxy_server_bytes_out_total{service="db",server="db,1"} 200
# HELP easyproxy_server_weight Effective weight (run-time override or config).
# TYPE easyproxy_server_weight gauge
easyproxy_server_weight{service="web",server="app1"} 5
easyproxy_server_weight{service="web",server="app2"} 0
easyproxy_server_weight{service="web",server="app3"} 1
easyproxy_server_weight{service="db",server="db,1"} 1
# HELP easyproxy_server_backup 1 for a backup server, used only when no other server is usable.
# TYPE easyproxy_server_backup gauge
easyproxy_server_backup{service="web",server="app1"} 0
easyproxy_server_backup{service="web",server="app2"} 0
easyproxy_server_backup{service="web",server="app3"} 1
easyproxy_server_backup{service="db",server="db,1"} 0
# HELP easyproxy_server_state Server state as the balancer sees it: 1 for the current state (maint, drain, down or up), 0 otherwise.
# TYPE easyproxy_server_state gauge
easyproxy_server_state{service="web",server="app1",state="up"} 1
easyproxy_server_state{service="web",server="app1",state="down"} 0
easyproxy_server_state{service="web",server="app1",state="drain"} 0
easyproxy_server_state{service="web",server="app1",state="maint"} 0
easyproxy_server_state{service="web",server="app2",state="up"} 0
easyproxy_server_state{service="web",server="app2",state="down"} 0
easyproxy_server_state{service="web",server="app2",state="drain"} 1
easyproxy_server_state{service="web",server="app2",state="maint"} 0
easyproxy_server_state{service="web",server="app3",state="up"} 0
easyproxy_server_state{service="web",server="app3",state="down"} 1
easyproxy_server_state{service="web",server="app3",state="drain"} 0
easyproxy_server_state{service="web",server="app3",state="maint"} 0
easyproxy_server_state{service="db",server="db,1",state="up"} 0
easyproxy_server_state{service="db",server="db,1",state="down"} 0
easyproxy_server_state{service="db",server="db,1",state="drain"} 0
easyproxy_server_state{service="db",server="db,1",state="maint"} 1
# HELP easyproxy_server_check_duration_seconds Duration of the last active health check.
# TYPE easyproxy_server_check_duration_seconds gauge
easyproxy_server_check_duration_seconds{service="web",server="app1"} 0.000350
easyproxy_server_check_duration_seconds{service="web",server="app2"} 0.012000
easyproxy_server_check_duration_seconds{service="web",server="app3"} 1.000000
# HELP easyproxy_server_last_change_seconds Seconds since the last state change of the server.
# TYPE easyproxy_server_last_change_seconds gauge
easyproxy_server_last_change_seconds{service="web",server="app1"} 192.000
easyproxy_server_last_change_seconds{service="web",server="app2"} 5.000
easyproxy_server_last_change_seconds{service="web",server="app3"} 45.000
# HELP easyproxy_worker_active_connections Client connections the worker holds now.
# TYPE easyproxy_worker_active_connections gauge
easyproxy_worker_active_connections{worker="0"} 12
easyproxy_worker_active_connections{worker="1"} 1
# HELP easyproxy_worker_accepted_connections_total Client connections the worker accepted.
# TYPE easyproxy_worker_accepted_connections_total counter
easyproxy_worker_accepted_connections_total{worker="0"} 1507
easyproxy_worker_accepted_connections_total{worker="1"} 99
# HELP easyproxy_worker_start_time_seconds Start time of the worker since the Unix epoch.
# TYPE easyproxy_worker_start_time_seconds gauge
easyproxy_worker_start_time_seconds{worker="0"} 1699999940.000
easyproxy_worker_start_time_seconds{worker="1"} 1699996400.000
# HELP easyproxy_worker_loop_age_seconds Seconds since the worker's event loop last turned.
# TYPE easyproxy_worker_loop_age_seconds gauge
easyproxy_worker_loop_age_seconds{worker="0"} 0.000
easyproxy_worker_loop_age_seconds{worker="1"} 0.000
# HELP easyproxy_worker_spliced_bytes_total Bytes the worker relayed with splice().
# TYPE easyproxy_worker_spliced_bytes_total counter
easyproxy_worker_spliced_bytes_total{worker="0"} 3145728
easyproxy_worker_spliced_bytes_total{worker="1"} 0
# HELP easyproxy_worker_kernel_relays_total Connections relay = "sockmap" handed to the kernel.
# TYPE easyproxy_worker_kernel_relays_total counter
easyproxy_worker_kernel_relays_total{worker="0"} 9
easyproxy_worker_kernel_relays_total{worker="1"} 2
# HELP easyproxy_worker_kernel_bytes_total Bytes the kernel relayed (relay = "sockmap"), never copied to the worker.
# TYPE easyproxy_worker_kernel_bytes_total counter
easyproxy_worker_kernel_bytes_total{worker="0"} 6979321856
easyproxy_worker_kernel_bytes_total{worker="1"} 1536
# HELP easyproxy_worker_cold_fds Quiet descriptors parked in the poll() backend's cold set.
# TYPE easyproxy_worker_cold_fds gauge
easyproxy_worker_cold_fds{worker="0"} 7
easyproxy_worker_cold_fds{worker="1"} 0
# HELP easyproxy_worker_local_errors_total Accepts and server connections that failed for a shortage of the proxy's own.
# TYPE easyproxy_worker_local_errors_total counter
easyproxy_worker_local_errors_total{worker="0"} 4
easyproxy_worker_local_errors_total{worker="1"} 0
)~",
                 stats::format(snap, stats::View::Servers, stats::Format::Prometheus, false).c_str());
}

TEST(Format, JsonAll) {
    STRCMP_EQUAL(R"~({
  "master": {"pid":2147483000,"alive":false,"generation":2,"start_unix_ms":1699996277000,"uptime_ms":3723000,"heartbeat_age_ms":250,"watchdog_kills":1,"config_file":"/etc/easyproxy/easyproxy.conf"},
  "services": [
    {"service":"web","mode":"tcp","balance":"roundrobin","servers":3,"servers_usable":1,"active":12,"accepted":1500,"denied":3,"no_server":0,"local_errors":0,"connections":1500,"failures":5,"retries":5,"bytes_in":1258803,"bytes_out":5244928},
    {"service":"db","mode":"tcp","balance":"leastconn","servers":1,"servers_usable":0,"active":0,"accepted":7,"denied":0,"no_server":2,"local_errors":4,"connections":7,"failures":0,"retries":0,"bytes_in":100,"bytes_out":200}
  ],
  "servers": [
    {"service":"web","server":"app1","address":"10.0.0.1:8080","admin":"ready","health":"up","passive_down":false,"state":"up","weight":5,"config_weight":5,"backup":false,"max_connections":0,"active":10,"total":1200,"failures":1,"retries":0,"bytes_in":1258291,"bytes_out":5242880,"last_check":"ok","last_check_us":350,"since_change_ms":192000},
    {"service":"web","server":"app2","address":"10.0.0.2:8080","admin":"drain","health":"up","passive_down":false,"state":"drain","weight":0,"config_weight":1,"backup":false,"max_connections":0,"active":2,"total":300,"failures":0,"retries":1,"bytes_in":512,"bytes_out":2048,"last_check":"ok","last_check_us":12000,"since_change_ms":5000},
    {"service":"web","server":"app3","address":"10.0.0.3:8080","admin":"ready","health":"down","passive_down":false,"state":"down","weight":1,"config_weight":1,"backup":true,"max_connections":0,"active":0,"total":0,"failures":4,"retries":4,"bytes_in":0,"bytes_out":0,"last_check":"connection refused","last_check_us":1000000,"since_change_ms":45000},
    {"service":"db","server":"db,1","address":"[2001:db8::1]:3306","admin":"maint","health":"unchecked","passive_down":false,"state":"maint","weight":1,"config_weight":1,"backup":false,"max_connections":0,"active":0,"total":7,"failures":0,"retries":0,"bytes_in":100,"bytes_out":200,"last_check":null,"last_check_us":null,"since_change_ms":null}
  ],
  "workers": [
    {"slot":0,"pid":5001,"generation":2,"state":"running","active":12,"accepted":1507,"started_unix_ms":1699999940000,"uptime_ms":60000,"loop_age_ms":0,"bytes_spliced":3145728,"cold_fds":7,"local_errors":4,"kernel_relays":9,"bytes_kernel":6979321856},
    {"slot":1,"pid":4999,"generation":1,"state":"draining","active":1,"accepted":99,"started_unix_ms":1699996400000,"uptime_ms":3600000,"loop_age_ms":0,"bytes_spliced":0,"cold_fds":0,"local_errors":0,"kernel_relays":2,"bytes_kernel":1536}
  ],
  "routes": [],
  "middlewares": []
}
)~",
                 stats::format_json_all(snap).c_str());
}

TEST(Format, SummaryOfStaleData) {
    STRCMP_EQUAL("master pid 2147483000 not running (data is stale, last update 250ms ago), generation 2, config "
                 "/etc/easyproxy/easyproxy.conf",
                 stats::format_summary(snap).c_str());
}

namespace {
// The table with its ANSI sequences removed.
std::string strip_ansi(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\033') {
            while (i < s.size() && s[i] != 'm') ++i;
            continue;
        }
        out += s[i];
    }
    return out;
}
}  // namespace

TEST(Format, ColourOnlyWhenAskedAndAlignmentKept) {
    const std::string plain = stats::format(snap, stats::View::Servers, stats::Format::Table, false);
    const std::string colored = stats::format(snap, stats::View::Servers, stats::Format::Table, true);
    CHECK(plain.find('\033') == std::string::npos);
    STRCMP_CONTAINS("\033[32mready\033[0m", colored.c_str());
    STRCMP_CONTAINS("\033[33mdrain\033[0m", colored.c_str());
    STRCMP_CONTAINS("\033[35mmaint\033[0m", colored.c_str());
    STRCMP_CONTAINS("\033[31mdown\033[0m", colored.c_str());
    STRCMP_EQUAL(plain.c_str(), strip_ansi(colored).c_str());
    // Machine formats never carry colour.
    CHECK(stats::format(snap, stats::View::Servers, stats::Format::Csv, true).find('\033') == std::string::npos);
}

TEST(Format, SummaryOfLiveMaster) {
    seg.header().master_pid.store(int32_t(getpid()));
    const stats::Snapshot live = stats::read_snapshot(seg, kNow);
    CHECK(live.master_alive);
    const std::string expected = "master pid " + std::to_string(getpid()) +
                                 " running, generation 2, up 1h02m, config /etc/easyproxy/easyproxy.conf";
    STRCMP_EQUAL(expected.c_str(), stats::format_summary(live).c_str());
}

TEST(Format, EscapesNamesInEveryMachineFormat) {
    {
        const uint32_t seq = shm::seq_write_begin(seg.header().catalog_seq);
        shm::copy_text(seg.servers()[0].name, "a\"b\\c");
        shm::seq_write_end(seg.header().catalog_seq, seq);
    }
    const stats::Snapshot s = stats::read_snapshot(seg, kNow);
    STRCMP_CONTAINS("easyproxy_server_weight{service=\"web\",server=\"a\\\"b\\\\c\"} 5\n",
                    stats::format(s, stats::View::Servers, stats::Format::Prometheus, false).c_str());
    STRCMP_CONTAINS("\"server\":\"a\\\"b\\\\c\"",
                    stats::format(s, stats::View::Servers, stats::Format::Json, false).c_str());
    STRCMP_CONTAINS("\nweb,\"a\"\"b\\c\",10.0.0.1:8080,",
                    stats::format(s, stats::View::Servers, stats::Format::Csv, false).c_str());
}

TEST(Format, JsonQuote) {
    STRCMP_EQUAL("\"plain\"", stats::json_quote("plain").c_str());
    STRCMP_EQUAL("\"q\\\"b\\\\n\\nt\\tc\\u0001d\\u007f\"", stats::json_quote("q\"b\\n\nt\tc\x01" "d\x7f").c_str());
    STRCMP_EQUAL("\"h\xc3\xa9\"", stats::json_quote("h\xc3\xa9").c_str());  // UTF-8 passes through
}

TEST(Format, HumanUnits) {
    STRCMP_EQUAL("0 B", stats::human_bytes(0).c_str());
    STRCMP_EQUAL("1023 B", stats::human_bytes(1023).c_str());
    STRCMP_EQUAL("1.0 KiB", stats::human_bytes(1024).c_str());
    STRCMP_EQUAL("1.5 KiB", stats::human_bytes(1536).c_str());
    STRCMP_EQUAL("1.0 MiB", stats::human_bytes(1048575).c_str());  // not "1024.0 KiB"
    STRCMP_EQUAL("1.2 MiB", stats::human_bytes(1258291).c_str());
    STRCMP_EQUAL("3.0 GiB", stats::human_bytes(3ull << 30).c_str());
    STRCMP_EQUAL("16.0 EiB", stats::human_bytes(UINT64_MAX).c_str());
    STRCMP_EQUAL("0.0ms", stats::human_check_duration(0).c_str());
    STRCMP_EQUAL("0.3ms", stats::human_check_duration(350).c_str());
    STRCMP_EQUAL("9.9ms", stats::human_check_duration(9949).c_str());
    STRCMP_EQUAL("250ms", stats::human_check_duration(250000).c_str());
    STRCMP_EQUAL("1.5s", stats::human_check_duration(1500000).c_str());
}

TEST(Format, ViewAndFormatWords) {
    stats::View v = stats::View::Servers;
    stats::Format f = stats::Format::Table;
    CHECK(stats::parse_view("sessions", v));
    CHECK(v == stats::View::Sessions);
    CHECK(stats::parse_view("services", v));
    CHECK(v == stats::View::Services);
    CHECK_FALSE(stats::parse_view("server", v));
    CHECK(stats::parse_format("prometheus", f));
    CHECK(f == stats::Format::Prometheus);
    CHECK(stats::parse_format("json", f));
    CHECK(f == stats::Format::Json);
    CHECK_FALSE(stats::parse_format("xml", f));
    STRCMP_EQUAL("workers", stats::view_name(stats::View::Workers));
    CHECK(stats::parse_view("routes", v));
    CHECK(v == stats::View::Routes);
    CHECK(stats::parse_view("middlewares", v));
    CHECK(v == stats::View::Middlewares);
    STRCMP_EQUAL("routes", stats::view_name(stats::View::Routes));
}

TEST(Format, EmptySegmentPrintsHeadersOnly) {
    TempDir empty_dir;
    const shm::Segment empty = shm::Segment::create(empty_dir.path + "/easyproxy.shm", {1, 1, 1, 1});
    const stats::Snapshot s = stats::read_snapshot(empty, kNow);
    STRCMP_EQUAL("SERVICE  SERVER  ADDRESS  ADMIN  HEALTH  WEIGHT  BACKUP  ACTIVE  TOTAL  FAILED  RETRIES  IN  OUT"
                 "  LAST CHECK  CHANGED\n",
                 stats::format(s, stats::View::Servers, stats::Format::Table, false).c_str());
    STRCMP_EQUAL("# worker_pid,client,service,server,age_s,bytes_in,bytes_out\n",
                 stats::format(s, stats::View::Sessions, stats::Format::Csv, false).c_str());
    STRCMP_CONTAINS("\"sessions\": []\n}\n", stats::format(s, stats::View::Sessions, stats::Format::Json, false).c_str());
}

// ---- read_snapshot: what it copies and how it copes with writers ----------

TEST_GROUP(StatsSnapshot) {
    TempDir dir;
    shm::Segment seg;

    void setup() override {
        seg = shm::Segment::create(dir.path + "/easyproxy.shm", {4, 8, 2, 4});
        fill(seg);
    }
    void teardown() override { seg = shm::Segment(); }
};

TEST(StatsSnapshot, CopiesHeaderServicesServersWorkersSessions) {
    const stats::Snapshot s = stats::read_snapshot(seg, kNow);
    LONGS_EQUAL(kDeadPid, s.master_pid);
    CHECK_FALSE(s.master_alive);
    LONGS_EQUAL(250, s.heartbeat_age_ms);
    LONGS_EQUAL(2, s.generation);
    CHECK(s.catalog_consistent);
    STRCMP_EQUAL("/etc/easyproxy/easyproxy.conf", s.config_file.c_str());
    LONGS_EQUAL(2, s.services.size());
    LONGS_EQUAL(4, s.servers.size());
    LONGS_EQUAL(2, s.workers.size());
    LONGS_EQUAL(2, s.sessions.size());  // the free slot between them is skipped
    STRCMP_EQUAL("leastconn", s.services[1].balance.c_str());
    LONGS_EQUAL(12, s.services[0].server_active);
    STRCMP_EQUAL("db", s.servers[3].service.c_str());
    CHECK(s.servers[2].backup);
    STRCMP_EQUAL("connection refused", s.servers[2].last_check.c_str());
    UNSIGNED_LONGLONGS_EQUAL(9, s.workers[0].kernel_relays);
    UNSIGNED_LONGLONGS_EQUAL(6979321856ULL, s.workers[0].bytes_kernel);
    UNSIGNED_LONGLONGS_EQUAL(2, s.workers[1].kernel_relays);
    UNSIGNED_LONGLONGS_EQUAL(1536, s.workers[1].bytes_kernel);
}

TEST(StatsSnapshot, ReadsTheSegmentAsEpstatMapsIt) {
    const shm::Segment ro = shm::Segment::open_readonly(dir.path + "/easyproxy.shm");
    const stats::Snapshot s = stats::read_snapshot(ro, kNow);
    STRCMP_EQUAL(stats::format(stats::read_snapshot(seg, kNow), stats::View::Servers, stats::Format::Csv, false).c_str(),
                 stats::format(s, stats::View::Servers, stats::Format::Csv, false).c_str());
}

TEST(StatsSnapshot, MasterStuckInCatalogWriteDoesNotHangTheReader) {
    shm::seq_write_begin(seg.header().catalog_seq);  // never ended: the writer died
    const stats::Snapshot s = stats::read_snapshot(seg, kNow);
    CHECK_FALSE(s.catalog_consistent);
    STRCMP_EQUAL("app1", s.servers[0].name.c_str());  // best effort copy still shown
}

TEST(StatsSnapshot, TornCheckTextIsNotShown) {
    shm::seq_write_begin(seg.servers()[0].check_seq);
    const stats::Snapshot s = stats::read_snapshot(seg, kNow);
    STRCMP_EQUAL("", s.servers[0].last_check.c_str());
    STRCMP_EQUAL("ok", s.servers[1].last_check.c_str());
}

TEST(StatsSnapshot, PassiveDownCountsAsDown) {
    seg.servers()[0].passive_down.store(1);
    const stats::Snapshot s = stats::read_snapshot(seg, kNow);
    STRCMP_EQUAL("down", stats::server_state_name(s.servers[0]));
    LONGS_EQUAL(0, s.services[0].servers_usable);
    STRCMP_CONTAINS("  down (passive)  ", stats::format(s, stats::View::Servers, stats::Format::Table, false).c_str());
}

TEST(StatsSnapshot, FreeWorkersAndTheirSessionsAreSkipped) {
    seg.workers()[0].state.store(uint32_t(shm::WorkerState::Free));
    const stats::Snapshot s = stats::read_snapshot(seg, kNow);
    LONGS_EQUAL(1, s.workers.size());
    LONGS_EQUAL(4999, s.workers[0].pid);
    LONGS_EQUAL(0, s.sessions.size());
}

TEST(StatsSnapshot, SessionBeingWrittenIsSkipped) {
    seg.sessions(0)[0].seq.store(3);
    const stats::Snapshot s = stats::read_snapshot(seg, kNow);
    LONGS_EQUAL(1, s.sessions.size());
    STRCMP_EQUAL("[2001:db8::7]:40000", s.sessions[0].client.c_str());
}

TEST(StatsSnapshot, OnlyLiveSlotsGroupedByService) {
    // After reloads: web/app1 was removed (Retired) while an old worker still
    // relays one of its connections, and web/app9 was added in a slot after db's.
    {
        shm::Header& h = seg.header();
        const uint32_t seq = shm::seq_write_begin(h.catalog_seq);
        seg.servers()[0].state = uint8_t(shm::SlotState::Retired);
        set_server(seg.servers()[4], 0, "app9", "10.0.0.9:8080", 1);
        set_service(seg.services()[2], "gone", config::Balance::Random);
        seg.services()[2].state = uint8_t(shm::SlotState::Retired);
        h.service_count.store(3);
        h.server_count.store(6);  // slot 5 stays Free
        shm::seq_write_end(h.catalog_seq, seq);
    }
    const stats::Snapshot s = stats::read_snapshot(seg, kNow);
    LONGS_EQUAL(2, s.services.size());
    LONGS_EQUAL(3, s.services[0].servers);
    LONGS_EQUAL(4, s.servers.size());
    const char* expected[][2] = {{"web", "app2"}, {"web", "app3"}, {"web", "app9"}, {"db", "db,1"}};
    for (size_t i = 0; i < 4; ++i) {
        STRCMP_EQUAL(expected[i][0], s.servers[i].service.c_str());
        STRCMP_EQUAL(expected[i][1], s.servers[i].name.c_str());
    }
    LONGS_EQUAL(4, s.servers[2].index);
    STRCMP_EQUAL("app1", s.sessions[0].server.c_str());  // the retired slot keeps its name
}

TEST(StatsSnapshot, ProcessAlive) {
    CHECK(stats::process_alive(int32_t(getpid())));
    CHECK(stats::process_alive(1));  // exists even when we may not signal it
    CHECK_FALSE(stats::process_alive(kDeadPid));
    CHECK_FALSE(stats::process_alive(0));
}

TEST(Format, HttpJsonHasRequestCountersForHttpServicesOnly) {
    const std::string json = stats::format(http_snapshot(), stats::View::Services, stats::Format::Json, false);
    CHECK(json.find("\"service\":\"web\",\"mode\":\"http\"") != std::string::npos);
    CHECK(json.find(",\"requests\":120,\"responses_1xx\":0,\"responses_2xx\":100,\"responses_3xx\":0,"
                    "\"responses_4xx\":12,\"responses_5xx\":8,\"errors_502\":5,\"errors_503\":2,\"errors_504\":1,"
                    "\"server_connections_opened\":4,\"server_connections_reused\":116,\"errors_404\":0}") !=
          std::string::npos);
    CHECK(json.find("\"bytes_out\":200}") != std::string::npos);  // db, tcp: no http keys
}

TEST(Format, HttpCsvColumns) {
    const std::string csv = stats::format(http_snapshot(), stats::View::Services, stats::Format::Csv, false);
    CHECK(csv.find("\nweb,http,roundrobin,3,1,12,1500,3,0,1500,5,5,1258803,5244928,0,120,0,100,0,12,8,5,2,1,4,116,0\n") !=
          std::string::npos);
}

TEST(Format, HttpTableAddsARequestsTable) {
    const std::string table = stats::format(http_snapshot(), stats::View::Services, stats::Format::Table, false);
    CHECK(table.find("SERVICE  REQUESTS  1XX  2XX  3XX  4XX  5XX  502  503  504  SRV CONN NEW  SRV CONN REUSED\n"
                     "web           120    0  100    0   12    8    5    2    1             4              116\n") !=
          std::string::npos);
}

TEST(Format, HttpPrometheusFamilies) {
    const std::string m = stats::format(http_snapshot(), stats::View::Services, stats::Format::Prometheus, false);
    CHECK(m.find("easyproxy_service_http_requests_total{service=\"web\"} 120\n") != std::string::npos);
    CHECK(m.find("easyproxy_service_http_responses_total{service=\"web\",class=\"2xx\"} 100\n") != std::string::npos);
    CHECK(m.find("easyproxy_service_http_errors_total{service=\"web\",status=\"502\"} 5\n") != std::string::npos);
    CHECK(m.find("easyproxy_service_server_connections_total{service=\"web\",how=\"reused\"} 116\n") !=
          std::string::npos);
    CHECK(m.find("{service=\"db\",class=") == std::string::npos);
}

// ---- routes and middlewares (DESIGN.md §8) ---------------------------------

TEST(Format, TableRoutesInMatchOrderThenNoRoute) {
    STRCMP_EQUAL(R"~(SERVICE  #  ROUTE                                                        HITS  2XX  3XX  4XX  5XX  401  403  429
www      1  host=api.example.com path_prefix=/v1/ -> api                  700  650    0   40   10    4    7   29
www      2  host=*.example.com methods=GET,HEAD header X-Tag="a" -> web   200  180   20    0    0    0    0    0
www      3  any -> web                                                     94   93    0    0    0    0    0    0
www      -  no route (404)                                                  6    -    -    6    -    -    -    -
)~",
                 stats::format(gateway_snapshot(), stats::View::Routes, stats::Format::Table, false).c_str());
}

TEST(Format, TableMiddlewares) {
    STRCMP_EQUAL(R"~(MIDDLEWARE  TYPE        DENIALS
api-limit   rate_limit       29
admin       basic_auth        4
)~",
                 stats::format(gateway_snapshot(), stats::View::Middlewares, stats::Format::Table, false).c_str());
}

TEST(Format, CsvRoutes) {
    STRCMP_EQUAL(R"~(# service,position,route,pool,hits,responses_1xx,responses_2xx,responses_3xx,responses_4xx,responses_5xx,denied_401,denied_403,denied_429
www,1,host=api.example.com path_prefix=/v1/ -> api,api,700,0,650,0,40,10,4,7,29
www,2,"host=*.example.com methods=GET,HEAD header X-Tag=""a"" -> web",web,200,0,180,20,0,0,0,0,0
www,3,any -> web,web,94,1,93,0,0,0,0,0,0
)~",
                 stats::format(gateway_snapshot(), stats::View::Routes, stats::Format::Csv, false).c_str());
}

TEST(Format, CsvMiddlewares) {
    STRCMP_EQUAL("# middleware,type,denials\napi-limit,rate_limit,29\nadmin,basic_auth,4\n",
                 stats::format(gateway_snapshot(), stats::View::Middlewares, stats::Format::Csv, false).c_str());
}

TEST(Format, JsonRoutes) {
    STRCMP_EQUAL(R"~({
  "master": {"pid":2147483000,"alive":false,"generation":2,"start_unix_ms":1699996277000,"uptime_ms":3723000,"heartbeat_age_ms":250,"watchdog_kills":1,"config_file":"/etc/easyproxy/easyproxy.conf"},
  "routes": [
    {"service":"www","position":1,"route":"host=api.example.com path_prefix=/v1/ -> api","pool":"api","hits":700,"responses_1xx":0,"responses_2xx":650,"responses_3xx":0,"responses_4xx":40,"responses_5xx":10,"denied_401":4,"denied_403":7,"denied_429":29},
    {"service":"www","position":2,"route":"host=*.example.com methods=GET,HEAD header X-Tag=\"a\" -> web","pool":"web","hits":200,"responses_1xx":0,"responses_2xx":180,"responses_3xx":20,"responses_4xx":0,"responses_5xx":0,"denied_401":0,"denied_403":0,"denied_429":0},
    {"service":"www","position":3,"route":"any -> web","pool":"web","hits":94,"responses_1xx":1,"responses_2xx":93,"responses_3xx":0,"responses_4xx":0,"responses_5xx":0,"denied_401":0,"denied_403":0,"denied_429":0}
  ]
}
)~",
                 stats::format(gateway_snapshot(), stats::View::Routes, stats::Format::Json, false).c_str());
}

TEST(Format, JsonMiddlewaresAndTheEntryPointsNoRouteCount) {
    const stats::Snapshot s = gateway_snapshot();
    STRCMP_CONTAINS(R"~(  "middlewares": [
    {"middleware":"api-limit","type":"rate_limit","denials":29},
    {"middleware":"admin","type":"basic_auth","denials":4}
  ]
}
)~",
                    stats::format(s, stats::View::Middlewares, stats::Format::Json, false).c_str());
    STRCMP_CONTAINS("{\"service\":\"www\",\"mode\":\"http\"",
                    stats::format(s, stats::View::Services, stats::Format::Json, false).c_str());
    STRCMP_CONTAINS("\"requests\":1000,", stats::format(s, stats::View::Services, stats::Format::Json, false).c_str());
    STRCMP_CONTAINS("\"errors_404\":6}", stats::format(s, stats::View::Services, stats::Format::Json, false).c_str());
    STRCMP_CONTAINS(",0,0,6\n", stats::format(s, stats::View::Services, stats::Format::Csv, false).c_str());
    // /stats.json carries both, after the workers.
    const std::string all = stats::format_json_all(s);
    STRCMP_CONTAINS("\n  ],\n  \"routes\": [\n    {\"service\":\"www\",\"position\":1,", all.c_str());
    STRCMP_CONTAINS("\n  ],\n  \"middlewares\": [\n    {\"middleware\":\"api-limit\",", all.c_str());
}

TEST(Format, PrometheusRouteAndMiddlewareFamilies) {
    const std::string m = stats::format(gateway_snapshot(), stats::View::Servers, stats::Format::Prometheus, false);
    STRCMP_CONTAINS(R"~(# HELP easyproxy_route_requests_total HTTP requests that matched the route.
# TYPE easyproxy_route_requests_total counter
easyproxy_route_requests_total{service="www",route="host=api.example.com path_prefix=/v1/ -> api"} 700
easyproxy_route_requests_total{service="www",route="host=*.example.com methods=GET,HEAD header X-Tag=\"a\" -> web"} 200
easyproxy_route_requests_total{service="www",route="any -> web"} 94
# HELP easyproxy_route_responses_total HTTP responses sent to clients for requests of the route, by status class.
# TYPE easyproxy_route_responses_total counter
easyproxy_route_responses_total{service="www",route="host=api.example.com path_prefix=/v1/ -> api",class="1xx"} 0
easyproxy_route_responses_total{service="www",route="host=api.example.com path_prefix=/v1/ -> api",class="2xx"} 650
)~",
                    m.c_str());
    STRCMP_CONTAINS(R"~(# TYPE easyproxy_route_denials_total counter
easyproxy_route_denials_total{service="www",route="host=api.example.com path_prefix=/v1/ -> api",status="401"} 4
easyproxy_route_denials_total{service="www",route="host=api.example.com path_prefix=/v1/ -> api",status="403"} 7
easyproxy_route_denials_total{service="www",route="host=api.example.com path_prefix=/v1/ -> api",status="429"} 29
)~",
                    m.c_str());
    STRCMP_CONTAINS(R"~(# HELP easyproxy_middleware_denials_total Requests the middleware refused itself.
# TYPE easyproxy_middleware_denials_total counter
easyproxy_middleware_denials_total{middleware="api-limit",type="rate_limit"} 29
easyproxy_middleware_denials_total{middleware="admin",type="basic_auth"} 4
)~",
                    m.c_str());
    STRCMP_CONTAINS("easyproxy_service_http_errors_total{service=\"www\",status=\"404\"} 6\n", m.c_str());
}

// Two routes with one text (a duplicate, or texts cut at the slot's length)
// must not make two samples with the same labels: a scraper would refuse the
// whole page.
TEST(Format, PrometheusRouteLabelsStayUnique) {
    make_gateway(seg);
    {
        const uint32_t seq = shm::seq_write_begin(seg.header().catalog_seq);
        shm::copy_text(seg.routes()[2].text, "any -> web");
        shm::seq_write_end(seg.header().catalog_seq, seq);
    }
    const std::string m =
        stats::format(stats::read_snapshot(seg, kNow), stats::View::Routes, stats::Format::Prometheus, false);
    STRCMP_CONTAINS("easyproxy_route_requests_total{service=\"www\",route=\"any -> web\"} 200\n"
                    "easyproxy_route_requests_total{service=\"www\",route=\"any -> web #3\"} 94\n",
                    m.c_str());
}

TEST(Format, NoRouteFamiliesWithoutRoutes) {
    const std::string m = stats::format(snap, stats::View::Routes, stats::Format::Prometheus, false);
    CHECK(m.find("easyproxy_route_") == std::string::npos);
    CHECK(m.find("easyproxy_middleware_") == std::string::npos);
    STRCMP_EQUAL("SERVICE  #  ROUTE  HITS  2XX  3XX  4XX  5XX  401  403  429\n",
                 stats::format(snap, stats::View::Routes, stats::Format::Table, false).c_str());
}
