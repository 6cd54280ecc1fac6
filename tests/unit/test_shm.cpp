// test_shm.cpp: the shared-memory rules other processes rely on: catalog slots
// keyed by name across publishes (kept, retired, freed, reused; routes by
// entry point and text, middlewares by name), the seqlock
// between the master and readers, and the release of a spin lock whose owner died.
// Each test maps a real segment in a temporary file.
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "net/address.hpp"
#include "shm/catalog.hpp"
#include "shm/segment.hpp"
#include "stats/snapshot.hpp"

// CppUTest last: its leak-detector macros must not see std headers.
#include <CppUTest/TestHarness.h>

using namespace ep;

namespace {

constexpr uint64_t kNow = 1700000000000;

// A segment in a file made by mkstemp, removed with the object.
struct TempSegment {
    std::string path;
    shm::Segment seg;
    explicit TempSegment(const shm::Capacity& cap) {
        char tmpl[] = "/tmp/ep-test-shm-XXXXXX";
        const int fd = ::mkstemp(tmpl);
        if (fd < 0) FAIL("mkstemp failed");
        ::close(fd);
        path = tmpl;
        seg = shm::Segment::create(path, cap);
    }
    ~TempSegment() { ::unlink(path.c_str()); }
};

shm::Capacity small_capacity() {
    shm::Capacity cap;
    cap.services = 2;
    cap.servers = 4;
    cap.workers = 1;
    cap.sessions_per_worker = 1;
    return cap;
}

config::Server server(const char* name, const char* address, int weight = 1) {
    config::Server s;
    s.name = name;
    s.address_text = address;
    std::string error;
    if (!net::parse_address(address, s.address, error, false)) FAIL(error.c_str());
    s.weight = weight;
    return s;
}

config::Config config_of(std::vector<config::Server> servers, const char* service = "web") {
    config::Config cfg;
    config::Service svc;
    svc.name = service;
    svc.servers = std::move(servers);
    cfg.services.push_back(std::move(svc));
    return cfg;
}

// publish_catalog, with a throw turned into a test failure (an exception
// escaping a test body ends the whole run).
shm::SlotMap publish(const shm::Segment& seg, const config::Config& cfg, shm::CatalogChanges* changes = nullptr) {
    try {
        return shm::publish_catalog(seg, cfg, changes);
    } catch (const std::exception& e) {
        FAIL(e.what());
    }
    return {};
}

uint8_t state_of(const shm::ServerSlot& s) { return s.state; }
constexpr uint8_t kFree = uint8_t(shm::SlotState::Free);
constexpr uint8_t kLive = uint8_t(shm::SlotState::Live);
constexpr uint8_t kRetired = uint8_t(shm::SlotState::Retired);

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

}  // namespace

TEST_GROUP(ShmCatalog) {
    TempSegment* t = nullptr;
    void setup() override { t = new TempSegment(small_capacity()); }
    void teardown() override { delete t; }
};

TEST(ShmCatalog, KeptNameKeepsItsSlotStateAndCounters) {
    const shm::Segment& seg = t->seg;
    const shm::SlotMap first = publish(seg, config_of({server("a", "127.0.0.1:9001"),
                                                                   server("b", "127.0.0.1:9002")}));
    const uint32_t a = first.server[0][0];
    const uint32_t b = first.server[0][1];
    shm::ServerSlot& sa = seg.servers()[a];
    sa.total.store(41);
    sa.bytes_out.store(12345);
    sa.admin.store(uint8_t(shm::AdminState::Drain));
    sa.weight.store(7);  // a run-time override (config weight 1)

    // b leaves, a moves to second place with a new config weight, c arrives.
    shm::CatalogChanges changes;
    const shm::SlotMap second = publish(
        seg, config_of({server("c", "127.0.0.1:9003"), server("a", "127.0.0.1:9001", 5)}), &changes);
    UNSIGNED_LONGS_EQUAL(first.service[0], second.service[0]);
    UNSIGNED_LONGS_EQUAL(a, second.server[0][1]);
    LONGS_EQUAL(int32_t(a), shm::find_server_slot(seg, "web", "a"));
    UNSIGNED_LONGS_EQUAL(41, sa.total.load());
    UNSIGNED_LONGS_EQUAL(12345, sa.bytes_out.load());
    LONGS_EQUAL(uint8_t(shm::AdminState::Drain), sa.admin.load());
    UNSIGNED_LONGS_EQUAL(7, sa.weight.load());      // the override survives
    UNSIGNED_LONGS_EQUAL(5, sa.config_weight);
    STRCMP_EQUAL("server web/c added\nserver web/a changed: weight 1 -> 5\nserver web/b removed\n",
                 joined(changes.lines).c_str());

    // b's slot is retired, not reused while old workers may still count into it.
    LONGS_EQUAL(kRetired, state_of(seg.servers()[b]));
    LONGS_EQUAL(-1, shm::find_server_slot(seg, "web", "b"));
    const uint32_t c = second.server[0][0];
    CHECK(c != a && c != b);
    LONGS_EQUAL(kLive, state_of(seg.servers()[c]));
    UNSIGNED_LONGS_EQUAL(0, seg.servers()[c].total.load());
}

TEST(ShmCatalog, RetiredSlotsBecomeFreeAndANewNameTakesOneWithFreshCounters) {
    const shm::Segment& seg = t->seg;
    const shm::SlotMap first = publish(seg, config_of({server("a", "127.0.0.1:9001"),
                                                                   server("b", "127.0.0.1:9002")}));
    const uint32_t b = first.server[0][1];
    seg.servers()[b].total.store(99);
    publish(seg, config_of({server("a", "127.0.0.1:9001")}));
    LONGS_EQUAL(kRetired, state_of(seg.servers()[b]));
    UNSIGNED_LONGS_EQUAL(99, seg.servers()[b].total.load());  // old workers may still read it
    UNSIGNED_LONGS_EQUAL(2, seg.header().server_count.load());

    shm::free_retired_slots(seg);
    LONGS_EQUAL(kFree, state_of(seg.servers()[b]));
    UNSIGNED_LONGS_EQUAL(0, seg.servers()[b].total.load());
    STRCMP_EQUAL("", seg.servers()[b].name);

    // The lowest free slot is b's old one; the newcomer starts from zero there.
    const shm::SlotMap third = publish(seg, config_of({server("a", "127.0.0.1:9001"),
                                                                   server("d", "127.0.0.1:9004")}));
    UNSIGNED_LONGS_EQUAL(b, third.server[0][1]);
    STRCMP_EQUAL("d", seg.servers()[b].name);
    STRCMP_EQUAL("127.0.0.1:9004", seg.servers()[b].address);
    UNSIGNED_LONGS_EQUAL(0, seg.servers()[b].total.load());
    LONGS_EQUAL(kLive, state_of(seg.servers()[b]));
}

TEST(ShmCatalog, AddressChangeKeepsTheSlotButForgetsHealth) {
    const shm::Segment& seg = t->seg;
    const shm::SlotMap first = publish(seg, config_of({server("a", "127.0.0.1:9001")}));
    shm::ServerSlot& sa = seg.servers()[first.server[0][0]];
    sa.health.store(uint8_t(shm::Health::Down));
    sa.passive_down.store(1);
    sa.total.store(3);
    shm::CatalogChanges changes;
    const shm::SlotMap second = publish(seg, config_of({server("a", "127.0.0.2:9001")}), &changes);
    UNSIGNED_LONGS_EQUAL(first.server[0][0], second.server[0][0]);
    LONGS_EQUAL(uint8_t(shm::Health::Unchecked), sa.health.load());
    LONGS_EQUAL(0, sa.passive_down.load());
    UNSIGNED_LONGS_EQUAL(3, sa.total.load());
    STRCMP_EQUAL("server web/a changed: address 127.0.0.1:9001 -> 127.0.0.2:9001\n", joined(changes.lines).c_str());
}

TEST(ShmCatalog, RemovedServiceRetiresItsServers) {
    const shm::Segment& seg = t->seg;
    const shm::SlotMap first = publish(seg, config_of({server("a", "127.0.0.1:9001")}, "web"));
    shm::CatalogChanges changes;
    const shm::SlotMap second = publish(seg, config_of({server("a", "127.0.0.1:9001")}, "db"), &changes);
    CHECK(first.service[0] != second.service[0]);
    CHECK(first.server[0][0] != second.server[0][0]);  // web/a and db/a are different servers
    LONGS_EQUAL(kRetired, seg.services()[first.service[0]].state);
    LONGS_EQUAL(kRetired, state_of(seg.servers()[first.server[0][0]]));
    LONGS_EQUAL(-1, shm::find_service_slot(seg, "web"));
    LONGS_EQUAL(int32_t(second.service[0]), shm::find_service_slot(seg, "db"));
    STRCMP_EQUAL("service db added\nserver web/a removed\nservice web removed\n", joined(changes.lines).c_str());
}

TEST(ShmCatalog, NoFreeSlotThrowsAndLeavesTheSeqlockEven) {
    const shm::Segment& seg = t->seg;
    const config::Config running = config_of({server("a", "127.0.0.1:9001"), server("b", "127.0.0.1:9002")});
    publish(seg, running);
    // a and b hold 2 slots of 4 until the publish succeeds; the newcomers need 3.
    try {
        shm::publish_catalog(seg, config_of({server("c", "127.0.0.1:9003"), server("d", "127.0.0.1:9004"),
                                             server("e", "127.0.0.1:9005")}));
        FAIL("publish_catalog did not throw");
    } catch (const std::runtime_error& e) {
        STRCMP_EQUAL("no free shared-memory slot for server web/e", e.what());
    }
    UNSIGNED_LONGS_EQUAL(0, seg.header().catalog_seq.load() & 1);
    // The master puts the running catalog back (Master::reload): the slots
    // the failed publish claimed for c and d are retired, a and b stay put.
    publish(seg, running);
    LONGS_EQUAL(0, shm::find_server_slot(seg, "web", "a"));
    LONGS_EQUAL(1, shm::find_server_slot(seg, "web", "b"));
    LONGS_EQUAL(-1, shm::find_server_slot(seg, "web", "c"));
    LONGS_EQUAL(kRetired, state_of(seg.servers()[2]));
    LONGS_EQUAL(kRetired, state_of(seg.servers()[3]));
    // Once the workers that saw them are gone, two newcomers fit.
    shm::free_retired_slots(seg);
    publish(seg, config_of({server("c", "127.0.0.1:9003"), server("d", "127.0.0.1:9004")}));
    LONGS_EQUAL(2, shm::find_server_slot(seg, "web", "c"));
    LONGS_EQUAL(3, shm::find_server_slot(seg, "web", "d"));
    LONGS_EQUAL(kRetired, state_of(seg.servers()[0]));
}

namespace {

config::Route route(const char* host, const char* path_prefix, const char* pool) {
    config::Route r;
    r.host = host;
    r.path_prefix = path_prefix;
    r.service = pool;
    return r;
}

config::Middleware middleware(const char* name, config::MiddlewareType type) {
    config::Middleware m;
    m.name = name;
    m.type = type;
    return m;
}

// Entry point "www" (listen, routes in match order) sending to pools "api"
// and "web", and the given middlewares.
config::Config gateway(std::vector<config::Route> routes, std::vector<config::Middleware> middlewares = {}) {
    config::Config cfg;
    config::Service www;
    www.name = "www";
    www.mode = config::Mode::Http;
    www.routes = std::move(routes);
    cfg.services.push_back(std::move(www));
    for (const char* pool : {"api", "web"}) {
        config::Service p;
        p.name = pool;
        p.mode = config::Mode::Http;
        cfg.services.push_back(std::move(p));
    }
    cfg.middlewares = std::move(middlewares);
    return cfg;
}

shm::Capacity gateway_capacity() {
    shm::Capacity cap = small_capacity();
    cap.services = 4;
    cap.routes = 4;
    cap.middlewares = 2;
    return cap;
}

}  // namespace

TEST_GROUP(ShmRoutes) {
    TempSegment* t = nullptr;
    void setup() override { t = new TempSegment(gateway_capacity()); }
    void teardown() override { delete t; }
};

TEST(ShmRoutes, TextOfARouteNamesItsConditionsThenItsPool) {
    config::Route r = route("api.example.com", "/v1/", "api");
    STRCMP_EQUAL("host=api.example.com path_prefix=/v1/ -> api", config::route_text(r).c_str());
    r.path = "/v1/health";
    r.methods = {"GET", "HEAD"};
    r.headers = {{"X-Canary", "1"}};
    r.has_priority = true;
    r.priority = 5;
    STRCMP_EQUAL("priority=5 host=api.example.com path=/v1/health path_prefix=/v1/ methods=GET,HEAD "
                 "header X-Canary=\"1\" -> api",
                 config::route_text(r).c_str());
    STRCMP_EQUAL("any -> web", config::route_text(route("", "", "web")).c_str());
}

TEST(ShmRoutes, KeptRouteKeepsItsSlotAndCountersWhenAnotherIsInsertedBeforeIt) {
    const shm::Segment& seg = t->seg;
    const shm::SlotMap first = publish(seg, gateway({route("api.example.com", "/v1/", "api"), route("", "", "web")}));
    LONGS_EQUAL(3, first.route.size());
    LONGS_EQUAL(2, first.route[0].size());
    LONGS_EQUAL(0, first.route[1].size());  // pools have no routes
    shm::RouteSlot& api = seg.routes()[first.route[0][0]];
    shm::RouteSlot& web = seg.routes()[first.route[0][1]];
    STRCMP_EQUAL("host=api.example.com path_prefix=/v1/ -> api", api.text);
    STRCMP_EQUAL("api", api.pool);
    UNSIGNED_LONGS_EQUAL(first.service[0], api.service_index);
    UNSIGNED_LONGS_EQUAL(0, api.position);
    UNSIGNED_LONGS_EQUAL(1, web.position);
    api.hits.store(40);
    api.http_429.store(3);
    web.hits.store(7);

    // A new route goes first in match order; the api route changes pool, so
    // it is another route (its text says where it goes).
    shm::CatalogChanges changes;
    const shm::SlotMap second = publish(
        seg, gateway({route("admin.example.com", "", "web"), route("api.example.com", "/v1/", "web"),
                      route("", "", "web")}),
        &changes);
    UNSIGNED_LONGS_EQUAL(first.route[0][1], second.route[0][2]);
    UNSIGNED_LONGS_EQUAL(2, web.position);
    UNSIGNED_LONGS_EQUAL(7, web.hits.load());
    LONGS_EQUAL(kLive, web.state);
    CHECK(second.route[0][0] != first.route[0][0] && second.route[0][1] != first.route[0][0]);
    LONGS_EQUAL(kRetired, api.state);
    UNSIGNED_LONGS_EQUAL(40, api.hits.load());  // old workers may still count into it
    UNSIGNED_LONGS_EQUAL(0, seg.routes()[second.route[0][1]].hits.load());
    STRCMP_EQUAL("route www: host=admin.example.com -> web added\n"
                 "route www: host=api.example.com path_prefix=/v1/ -> web added\n"
                 "route www: host=api.example.com path_prefix=/v1/ -> api removed\n",
                 joined(changes.lines).c_str());
    UNSIGNED_LONGS_EQUAL(4, seg.header().route_count.load());

    // Once the old workers are gone the retired slot is free again.
    shm::free_retired_slots(seg);
    LONGS_EQUAL(kFree, api.state);
    UNSIGNED_LONGS_EQUAL(0, api.hits.load());
    STRCMP_EQUAL("", api.text);
}

TEST(ShmRoutes, RoutesOfARemovedEntryPointRetireAndTheSnapshotSkipsThem) {
    const shm::Segment& seg = t->seg;
    const shm::SlotMap first = publish(seg, gateway({route("", "/v1/", "api"), route("", "", "web")}));
    seg.routes()[first.route[0][0]].hits.store(5);
    stats::Snapshot snap = stats::read_snapshot(seg, kNow);
    LONGS_EQUAL(2, snap.routes.size());
    STRCMP_EQUAL("www", snap.routes[0].service.c_str());
    STRCMP_EQUAL("path_prefix=/v1/ -> api", snap.routes[0].route.c_str());
    UNSIGNED_LONGS_EQUAL(5, snap.routes[0].hits);

    config::Config renamed = gateway({route("", "/v1/", "api"), route("", "", "web")});
    renamed.services[0].name = "edge";
    shm::CatalogChanges changes;
    const shm::SlotMap second = publish(seg, renamed, &changes);
    // Same text, another entry point: other slots, fresh counters.
    LONGS_EQUAL(kRetired, seg.routes()[first.route[0][0]].state);
    LONGS_EQUAL(kRetired, seg.routes()[first.route[0][1]].state);
    UNSIGNED_LONGS_EQUAL(0, seg.routes()[second.route[0][0]].hits.load());
    snap = stats::read_snapshot(seg, kNow);
    LONGS_EQUAL(2, snap.routes.size());
    STRCMP_EQUAL("edge", snap.routes[0].service.c_str());
    STRCMP_EQUAL("any -> web", snap.routes[1].route.c_str());
    UNSIGNED_LONGS_EQUAL(0, snap.routes[0].hits);
    STRCMP_EQUAL("service edge added\nroute www: path_prefix=/v1/ -> api removed\nroute www: any -> web removed\n"
                 "service www removed\n",
                 joined(changes.lines).c_str());
}

TEST(ShmRoutes, IdenticalRoutesGetASlotEach) {
    const shm::Segment& seg = t->seg;
    const shm::SlotMap first = publish(seg, gateway({route("", "", "web"), route("", "", "web")}));
    CHECK(first.route[0][0] != first.route[0][1]);
    const shm::SlotMap second = publish(seg, gateway({route("", "", "web"), route("", "", "web")}));
    UNSIGNED_LONGS_EQUAL(first.route[0][0], second.route[0][0]);
    UNSIGNED_LONGS_EQUAL(first.route[0][1], second.route[0][1]);
}

TEST(ShmRoutes, MiddlewaresAreKeyedByName) {
    const shm::Segment& seg = t->seg;
    const shm::SlotMap first = publish(seg, gateway({route("", "", "web")},
                                                    {middleware("limit", config::MiddlewareType::RateLimit),
                                                     middleware("auth", config::MiddlewareType::BasicAuth)}));
    LONGS_EQUAL(2, first.middleware.size());
    shm::MiddlewareSlot& limit = seg.middlewares()[first.middleware[0]];
    shm::MiddlewareSlot& auth = seg.middlewares()[first.middleware[1]];
    STRCMP_EQUAL("limit", limit.name);
    STRCMP_EQUAL("rate_limit", limit.type);
    STRCMP_EQUAL("basic_auth", auth.type);
    limit.denials.store(9);
    auth.denials.store(2);

    // auth leaves and limit moves: limit keeps its counter. The segment holds
    // two middleware slots, so the newcomer waits for auth's to be freed.
    shm::CatalogChanges changes;
    const shm::SlotMap second =
        publish(seg, gateway({route("", "", "web")}, {middleware("limit", config::MiddlewareType::RateLimit)}),
                &changes);
    UNSIGNED_LONGS_EQUAL(first.middleware[0], second.middleware[0]);
    UNSIGNED_LONGS_EQUAL(9, limit.denials.load());
    LONGS_EQUAL(kRetired, auth.state);
    STRCMP_EQUAL("middleware auth removed\n", joined(changes.lines).c_str());
    try {
        shm::publish_catalog(seg, gateway({route("", "", "web")},
                                          {middleware("limit", config::MiddlewareType::RateLimit),
                                           middleware("ids", config::MiddlewareType::RequestId)}));
        FAIL("publish_catalog did not throw");
    } catch (const std::runtime_error& e) {
        STRCMP_EQUAL("no free shared-memory slot for middleware ids", e.what());
    }
    UNSIGNED_LONGS_EQUAL(0, seg.header().catalog_seq.load() & 1);
    shm::free_retired_slots(seg);
    const shm::SlotMap third = publish(seg, gateway({route("", "", "web")},
                                                    {middleware("limit", config::MiddlewareType::RateLimit),
                                                     middleware("ids", config::MiddlewareType::RequestId)}));
    UNSIGNED_LONGS_EQUAL(first.middleware[1], third.middleware[1]);
    STRCMP_EQUAL("request_id", seg.middlewares()[third.middleware[1]].type);
    UNSIGNED_LONGS_EQUAL(0, seg.middlewares()[third.middleware[1]].denials.load());
    UNSIGNED_LONGS_EQUAL(9, limit.denials.load());
}

TEST_GROUP(ShmSeqlock) {
    TempSegment* t = nullptr;
    void setup() override { t = new TempSegment(small_capacity()); }
    void teardown() override { delete t; }
};

TEST(ShmSeqlock, WriterMakesTheSequenceOddThenEvenAndNew) {
    std::atomic<uint32_t>& seq = t->seg.header().catalog_seq;
    const uint32_t before = seq.load();
    LONGS_EQUAL(0, before & 1);
    const uint32_t begun = shm::seq_write_begin(seq);
    UNSIGNED_LONGS_EQUAL(before + 1, seq.load());
    shm::seq_write_end(seq, begun);
    UNSIGNED_LONGS_EQUAL(before + 2, seq.load());
}

// A writer that died mid-update leaves the sequence odd: the reader gives up
// after its bounded retries instead of hanging, and says the copy is unsure.
TEST(ShmSeqlock, ReaderGivesUpOnAWriterThatNeverFinishes) {
    const shm::Segment& seg = t->seg;
    publish(seg, config_of({server("a", "127.0.0.1:9001")}));
    CHECK(stats::read_snapshot(seg, kNow).catalog_consistent);
    const uint32_t begun = shm::seq_write_begin(seg.header().catalog_seq);
    const stats::Snapshot stuck = stats::read_snapshot(seg, kNow);
    CHECK_FALSE(stuck.catalog_consistent);
    LONGS_EQUAL(1, stuck.servers.size());  // the last copy is still shown
    shm::seq_write_end(seg.header().catalog_seq, begun);
    CHECK(stats::read_snapshot(seg, kNow).catalog_consistent);
}

// A check text being rewritten is never shown torn: empty until stable.
TEST(ShmSeqlock, CheckTextIsShownOnlyWhenStable) {
    const shm::Segment& seg = t->seg;
    const shm::SlotMap map = publish(seg, config_of({server("a", "127.0.0.1:9001")}));
    shm::ServerSlot& s = seg.servers()[map.server[0][0]];
    uint32_t begun = shm::seq_write_begin(s.check_seq);
    shm::copy_text(s.last_check, "connection refused");
    shm::seq_write_end(s.check_seq, begun);
    STRCMP_EQUAL("connection refused", stats::read_snapshot(seg, kNow).servers.at(0).last_check.c_str());
    begun = shm::seq_write_begin(s.check_seq);
    shm::copy_text(s.last_check, "ok");
    STRCMP_EQUAL("", stats::read_snapshot(seg, kNow).servers.at(0).last_check.c_str());
    shm::seq_write_end(s.check_seq, begun);
    STRCMP_EQUAL("ok", stats::read_snapshot(seg, kNow).servers.at(0).last_check.c_str());
}

// The master renames the first and the last of 2048 servers to the same
// round tag, again and again, pausing a varying while in between. A reader
// copies the catalog from the first slot to the last (long enough for a
// rename to start in the middle): every copy it calls consistent shows both
// from one round, and it did get consistent copies of renamed servers.
TEST(ShmSeqlock, ConsistentCopiesNeverMixTwoUpdates) {
    constexpr uint32_t kServers = 2048;
    shm::Capacity cap = small_capacity();
    cap.servers = kServers;
    TempSegment big(cap);
    const shm::Segment& seg = big.seg;
    std::vector<config::Server> list;
    for (uint32_t i = 0; i < kServers; ++i)
        list.push_back(server(("s" + std::to_string(i)).c_str(), "127.0.0.1:9001"));
    const shm::SlotMap map = publish(seg, config_of(std::move(list)));
    shm::ServerSlot& first = seg.servers()[map.server[0].front()];
    shm::ServerSlot& last = seg.servers()[map.server[0].back()];

    std::atomic<bool> stop{false};
    std::thread writer([&] {
        for (unsigned round = 1; !stop.load(std::memory_order_relaxed); ++round) {
            char tag[shm::kNameMax];
            std::snprintf(tag, sizeof tag, "round-%08u", round);
            const uint32_t begun = shm::seq_write_begin(seg.header().catalog_seq);
            shm::copy_text(first.name, tag);
            shm::copy_text(last.name, tag);
            shm::seq_write_end(seg.header().catalog_seq, begun);
            std::this_thread::sleep_for(std::chrono::microseconds(round % 300));
        }
    });
    int consistent = 0, renamed = 0, mixed = 0;
    // Bounded in time: the writer thread may need a moment to be scheduled.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < deadline && renamed < 300) {
        const stats::Snapshot snap = stats::read_snapshot(seg, kNow);
        if (!snap.catalog_consistent) continue;
        ++consistent;
        const std::string& a = snap.servers.front().name;
        const std::string& z = snap.servers.back().name;
        if (a == "s0" && z == "s" + std::to_string(kServers - 1)) continue;  // before the first round
        if (a == z && a.rfind("round-", 0) == 0) ++renamed;
        else ++mixed;
    }
    stop.store(true);
    writer.join();
    LONGS_EQUAL(0, mixed);
    CHECK(renamed > 0);
}

TEST_GROUP(ShmSpinLock) {
    TempSegment* t = nullptr;
    void setup() override { t = new TempSegment(small_capacity()); }
    void teardown() override { delete t; }
};

TEST(ShmSpinLock, HolderPidIsInTheWordUntilTheGuardEnds) {
    std::atomic<uint32_t>& word = t->seg.services()[0].lock;
    {
        shm::SpinGuard guard(word, 4242);
        UNSIGNED_LONGS_EQUAL(4242, word.load());
    }
    UNSIGNED_LONGS_EQUAL(0, word.load());
}

// A worker killed inside a balancing decision leaves its pid in the lock; the
// master releases exactly that owner's lock, never a live process's.
TEST(ShmSpinLock, LockOfADeadOwnerIsReleasedByItsPidOnly) {
    std::atomic<uint32_t>& word = t->seg.services()[0].lock;
    std::fflush(nullptr);
    const pid_t child = ::fork();
    if (child == 0) {
        shm::SpinGuard guard(word, uint32_t(::getpid()));
        _exit(0);  // dies holding it: no destructor runs
    }
    CHECK(child > 0);
    int status = 0;
    LONGS_EQUAL(child, ::waitpid(child, &status, 0));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    UNSIGNED_LONGS_EQUAL(uint32_t(child), word.load());

    CHECK_FALSE(shm::release_if_owner(word, uint32_t(child) + 1));  // someone else's lock stays
    UNSIGNED_LONGS_EQUAL(uint32_t(child), word.load());
    CHECK(shm::release_if_owner(word, uint32_t(child)));
    UNSIGNED_LONGS_EQUAL(0, word.load());
    CHECK_FALSE(shm::release_if_owner(word, uint32_t(child)));  // a free word stays free

    // The lock works again: the next worker takes it at once.
    { shm::SpinGuard guard(word, 7); UNSIGNED_LONGS_EQUAL(7, word.load()); }
    UNSIGNED_LONGS_EQUAL(0, word.load());
}
