// snapshot.cpp: copies the shared-memory segment into a Snapshot. The only
// reader-side code that knows the seqlock protocol of layout.hpp; everything
// that formats or decides works on the plain copy.
#include "stats/snapshot.hpp"

#include <arpa/inet.h>
#include <signal.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string_view>
#include <utility>

#include "config/config.hpp"
#include "net/address.hpp"
#include "util/clock.hpp"

namespace ep::stats {

namespace {

// A writer holds a seqlock for microseconds; 1000 tries with a yield every
// so often outlast any live writer, and a dead one (odd forever) does not
// hang the reader.
constexpr int kSeqRetries = 1000;

void backoff(int attempt) {
    if (attempt > 16) sched_yield();
}

template <size_t N>
std::string text_of(const char (&chars)[N]) {
    return std::string(chars, strnlen(chars, N));
}

uint64_t age(uint64_t now, uint64_t then) { return now > then ? now - then : 0; }

// The catalog part of the segment: written only by the master, under
// Header::catalog_seq.
struct ServiceCatalog {
    char name[shm::kNameMax];
    uint8_t state;  // shm::SlotState
    uint8_t mode;
    uint8_t balance;
};
struct ServerCatalog {
    char name[shm::kNameMax];
    char address[shm::kAddressMax];
    uint32_t service_index;
    uint32_t config_weight;
    uint32_t max_connections;
    uint8_t backup;
    uint8_t state;  // shm::SlotState
};
struct RouteCatalog {
    char text[shm::kRouteTextMax];
    char pool[shm::kNameMax];
    uint32_t service_index;
    uint32_t position;
    uint8_t state;  // shm::SlotState
};
struct MiddlewareCatalog {
    char name[shm::kNameMax];
    char type[shm::kTypeMax];
    uint8_t state;  // shm::SlotState
};
struct Catalog {
    char config_file[shm::kPathMax];
    std::vector<ServiceCatalog> services;
    std::vector<ServerCatalog> servers;
    std::vector<RouteCatalog> routes;
    std::vector<MiddlewareCatalog> middlewares;
    std::vector<CertificateStats> certificates;
};

// A fixed text field copied and NUL-terminated whatever the writer left in it.
template <size_t N>
void copy_chars(char (&dst)[N], const char (&src)[N]) {
    std::memcpy(dst, src, N);
    dst[N - 1] = '\0';
}

void copy_catalog_once(const shm::Segment& seg, Catalog& cat) {
    const shm::Header& h = seg.header();
    std::memcpy(cat.config_file, h.config_file, sizeof cat.config_file);
    cat.config_file[sizeof cat.config_file - 1] = '\0';
    auto services = seg.services();
    auto servers = seg.servers();
    const uint32_t nsvc = std::min<uint32_t>(h.service_count.load(std::memory_order_relaxed), uint32_t(services.size()));
    const uint32_t nsrv = std::min<uint32_t>(h.server_count.load(std::memory_order_relaxed), uint32_t(servers.size()));
    cat.services.resize(nsvc);
    cat.servers.resize(nsrv);
    for (uint32_t i = 0; i < nsvc; ++i) {
        std::memcpy(cat.services[i].name, services[i].name, shm::kNameMax);
        cat.services[i].name[shm::kNameMax - 1] = '\0';
        cat.services[i].state = services[i].state;
        cat.services[i].mode = services[i].mode;
        cat.services[i].balance = services[i].balance;
    }
    for (uint32_t i = 0; i < nsrv; ++i) {
        const shm::ServerSlot& s = servers[i];
        ServerCatalog& c = cat.servers[i];
        std::memcpy(c.name, s.name, shm::kNameMax);
        c.name[shm::kNameMax - 1] = '\0';
        std::memcpy(c.address, s.address, shm::kAddressMax);
        c.address[shm::kAddressMax - 1] = '\0';
        c.service_index = s.service_index;
        c.config_weight = s.config_weight;
        c.max_connections = s.max_connections;
        c.backup = s.backup;
        c.state = s.state;
    }
    auto routes = seg.routes();
    auto middlewares = seg.middlewares();
    const uint32_t nrt = std::min<uint32_t>(h.route_count.load(std::memory_order_relaxed), uint32_t(routes.size()));
    const uint32_t nmw =
        std::min<uint32_t>(h.middleware_count.load(std::memory_order_relaxed), uint32_t(middlewares.size()));
    cat.routes.resize(nrt);
    cat.middlewares.resize(nmw);
    for (uint32_t i = 0; i < nrt; ++i) {
        const shm::RouteSlot& r = routes[i];
        RouteCatalog& c = cat.routes[i];
        copy_chars(c.text, r.text);
        copy_chars(c.pool, r.pool);
        c.service_index = r.service_index;
        c.position = r.position;
        c.state = r.state;
    }
    auto certs = seg.certificates();
    const uint32_t ncert =
        std::min<uint32_t>(h.certificate_count.load(std::memory_order_relaxed), uint32_t(certs.size()));
    cat.certificates.resize(ncert);
    for (uint32_t i = 0; i < ncert; ++i) {
        const shm::CertificateSlot& c = certs[i];
        CertificateStats& out = cat.certificates[i];
        out.service.assign(c.service, strnlen(c.service, sizeof c.service));
        out.file.assign(c.file, strnlen(c.file, sizeof c.file));
        out.names.assign(c.names, strnlen(c.names, sizeof c.names));
        out.not_after_unix = c.not_after_unix;
    }
    for (uint32_t i = 0; i < nmw; ++i) {
        copy_chars(cat.middlewares[i].name, middlewares[i].name);
        copy_chars(cat.middlewares[i].type, middlewares[i].type);
        cat.middlewares[i].state = middlewares[i].state;
    }
}

// Returns false when the master kept the catalog busy through every retry; the
// last copy is still used (it is at worst a mix of old and new names).
bool read_catalog(const shm::Segment& seg, Catalog& cat) {
    const auto& seq = seg.header().catalog_seq;
    for (int attempt = 0; attempt < kSeqRetries; ++attempt) {
        const uint32_t before = seq.load(std::memory_order_acquire);
        if (before & 1) {
            backoff(attempt);
            continue;
        }
        copy_catalog_once(seg, cat);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (seq.load(std::memory_order_relaxed) == before) return true;
        backoff(attempt);
    }
    copy_catalog_once(seg, cat);
    return false;
}

void read_check(const shm::ServerSlot& slot, ServerStats& out) {
    const auto& seq = slot.check_seq;
    char text[shm::kTextMax];
    uint32_t us = 0;
    for (int attempt = 0; attempt < kSeqRetries; ++attempt) {
        const uint32_t before = seq.load(std::memory_order_acquire);
        if (before & 1) {
            backoff(attempt);
            continue;
        }
        std::memcpy(text, slot.last_check, sizeof text);
        us = slot.last_check_us;
        std::atomic_thread_fence(std::memory_order_acquire);
        if (seq.load(std::memory_order_relaxed) == before) {
            text[sizeof text - 1] = '\0';
            out.last_check = text;
            out.last_check_us = us;
            return;
        }
        backoff(attempt);
    }
    // Could not get a stable copy: show nothing rather than a torn text.
    out.last_check.clear();
    out.last_check_us = 0;
}

std::string format_client(const shm::SessionSlot& s) {
    net::Address a;
    if (s.family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&a.storage);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(s.client_port);
        std::memcpy(&sin->sin_addr, s.client_addr, 4);
        a.length = sizeof(sockaddr_in);
    } else if (s.family == AF_INET6) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(s.client_port);
        std::memcpy(&sin6->sin6_addr, s.client_addr, 16);
        a.length = sizeof(sockaddr_in6);
    } else if (s.family == AF_UNIX) {
        // Clients of a unix listener have no address of their own.
        auto* sun = reinterpret_cast<sockaddr_un*>(&a.storage);
        sun->sun_family = AF_UNIX;
        a.length = socklen_t(offsetof(sockaddr_un, sun_path));
    } else {
        return "?";
    }
    return net::format_address(a);
}

// One session slot under its own seqlock; false when free or never stable.
bool read_session(const shm::SessionSlot& slot, shm::SessionSlot& copy) {
    const auto& seq = slot.seq;
    for (int attempt = 0; attempt < 64; ++attempt) {
        const uint32_t before = seq.load(std::memory_order_acquire);
        if (before == 0) return false;
        if (before & 1) {
            backoff(attempt);
            continue;
        }
        copy.service = slot.service;
        copy.server = slot.server;
        copy.family = slot.family;
        copy.client_port = slot.client_port;
        std::memcpy(copy.client_addr, slot.client_addr, sizeof copy.client_addr);
        copy.start_unix_ms = slot.start_unix_ms;
        copy.bytes_in.store(slot.bytes_in.load(std::memory_order_relaxed), std::memory_order_relaxed);
        copy.bytes_out.store(slot.bytes_out.load(std::memory_order_relaxed), std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (seq.load(std::memory_order_relaxed) == before) return true;
    }
    return false;
}

const char* mode_text(uint8_t m) {
    return m <= uint8_t(config::Mode::Http) ? config::mode_name(config::Mode(m)) : "?";
}
const char* balance_text(uint8_t b) {
    return b <= uint8_t(config::Balance::Cookie) ? config::balance_name(config::Balance(b)) : "?";
}

}  // namespace

bool process_alive(int32_t pid) {
    if (pid <= 0) return false;
    return ::kill(pid_t(pid), 0) == 0 || errno != ESRCH;
}

const char* admin_name(shm::AdminState s) {
    switch (s) {
        case shm::AdminState::Ready: return "ready";
        case shm::AdminState::Drain: return "drain";
        case shm::AdminState::Maint: return "maint";
    }
    return "?";
}

const char* health_name(shm::Health h) {
    switch (h) {
        case shm::Health::Unchecked: return "unchecked";
        case shm::Health::Up: return "up";
        case shm::Health::Down: return "down";
    }
    return "?";
}

const char* worker_state_name(shm::WorkerState s) {
    switch (s) {
        case shm::WorkerState::Free: return "free";
        case shm::WorkerState::Running: return "running";
        case shm::WorkerState::Draining: return "draining";
    }
    return "?";
}

const char* server_state_name(const ServerStats& s) {
    if (s.admin == shm::AdminState::Maint) return "maint";
    if (s.admin == shm::AdminState::Drain) return "drain";
    if (s.health == shm::Health::Down || s.passive_down) return "down";
    return "up";
}

Snapshot read_snapshot(const shm::Segment& seg) { return read_snapshot(seg, wall_ms()); }

Snapshot read_snapshot(const shm::Segment& seg, uint64_t now) {
    Snapshot snap;
    const shm::Header& h = seg.header();
    snap.taken_unix_ms = now;
    snap.master_pid = h.master_pid.load(std::memory_order_relaxed);
    snap.master_alive = process_alive(snap.master_pid);
    snap.heartbeat_age_ms = age(now, h.heartbeat_ms.load(std::memory_order_relaxed));
    snap.watchdog_kills = h.watchdog_kills.load(std::memory_order_relaxed);
    snap.generation = h.generation.load(std::memory_order_relaxed);
    snap.start_unix_ms = h.start_unix_ms;
    snap.uptime_ms = age(now, h.start_unix_ms);

    Catalog cat;
    snap.catalog_consistent = read_catalog(seg, cat);
    snap.config_file = cat.config_file;

    // Slots are keyed by name and reused across reloads (layout.hpp): show the
    // Live ones, in slot order, servers grouped under their service.
    auto live = [](uint8_t state) { return state == uint8_t(shm::SlotState::Live); };
    std::vector<int32_t> service_pos(cat.services.size(), -1);  // slot -> index in snap.services
    auto service_slots = seg.services();
    for (size_t i = 0; i < cat.services.size(); ++i) {
        if (!live(cat.services[i].state)) continue;
        const shm::ServiceSlot& slot = service_slots[i];
        ServiceStats s;
        s.name = text_of(cat.services[i].name);
        s.mode = mode_text(cat.services[i].mode);
        s.balance = balance_text(cat.services[i].balance);
        s.accepted = slot.accepted.load(std::memory_order_relaxed);
        s.active = slot.active.load(std::memory_order_relaxed);
        s.denied = slot.denied.load(std::memory_order_relaxed);
        s.no_server = slot.no_server.load(std::memory_order_relaxed);
        s.local_errors = slot.local_errors.load(std::memory_order_relaxed);
        s.requests = slot.http_requests.load(std::memory_order_relaxed);
        for (int c = 0; c < 5; ++c) s.responses[c] = slot.http_responses[c].load(std::memory_order_relaxed);
        s.errors_502 = slot.http_502.load(std::memory_order_relaxed);
        s.errors_503 = slot.http_503.load(std::memory_order_relaxed);
        s.errors_504 = slot.http_504.load(std::memory_order_relaxed);
        s.server_conns_opened = slot.server_conns_opened.load(std::memory_order_relaxed);
        s.server_conns_reused = slot.server_conns_reused.load(std::memory_order_relaxed);
        s.tls_handshakes = slot.tls_handshakes.load(std::memory_order_relaxed);
        s.tls_resumed = slot.tls_resumed.load(std::memory_order_relaxed);
        for (int r = 0; r < 5; ++r) s.tls_failures[r] = slot.tls_failures[r].load(std::memory_order_relaxed);
        s.tls_server_failures = slot.tls_server_failures.load(std::memory_order_relaxed);
        s.tls = s.tls_handshakes || slot.tls_listener;
        s.errors_404 = slot.http_404_no_route.load(std::memory_order_relaxed);
        service_pos[i] = int32_t(snap.services.size());
        snap.services.push_back(std::move(s));
    }

    auto server_slots = seg.servers();
    for (size_t i = 0; i < cat.servers.size(); ++i) {
        const ServerCatalog& c = cat.servers[i];
        if (!live(c.state) || c.service_index >= service_pos.size() || service_pos[c.service_index] < 0) continue;
        const shm::ServerSlot& slot = server_slots[i];
        ServerStats s;
        s.index = uint32_t(i);
        ServiceStats& svc = snap.services[size_t(service_pos[c.service_index])];
        s.service = svc.name;
        s.name = text_of(c.name);
        s.address = text_of(c.address);
        s.backup = c.backup != 0;
        s.config_weight = c.config_weight;
        s.max_connections = c.max_connections;
        const uint8_t admin = slot.admin.load(std::memory_order_relaxed);
        s.admin = admin <= uint8_t(shm::AdminState::Maint) ? shm::AdminState(admin) : shm::AdminState::Ready;
        const uint8_t health = slot.health.load(std::memory_order_relaxed);
        s.health = health <= uint8_t(shm::Health::Down) ? shm::Health(health) : shm::Health::Unchecked;
        s.passive_down = slot.passive_down.load(std::memory_order_relaxed) != 0;
        s.weight = slot.weight.load(std::memory_order_relaxed);
        s.active = slot.active.load(std::memory_order_relaxed);
        s.total = slot.total.load(std::memory_order_relaxed);
        s.failures = slot.failures.load(std::memory_order_relaxed);
        s.retries = slot.retries.load(std::memory_order_relaxed);
        s.bytes_in = slot.bytes_in.load(std::memory_order_relaxed);
        s.bytes_out = slot.bytes_out.load(std::memory_order_relaxed);
        read_check(slot, s);
        const uint64_t changed = slot.last_change_unix_ms.load(std::memory_order_relaxed);
        s.changed = changed != 0;
        s.since_change_ms = s.changed ? age(now, changed) : 0;

        ++svc.servers;
        if (std::string_view(server_state_name(s)) == "up") ++svc.servers_usable;
        svc.server_active += s.active;
        svc.total += s.total;
        svc.failures += s.failures;
        svc.retries += s.retries;
        svc.bytes_in += s.bytes_in;
        svc.bytes_out += s.bytes_out;
        snap.servers.push_back(std::move(s));
    }
    // A server added by a reload may sit in a slot after other services'
    // servers; group by service (in service order), then slot order.
    std::stable_sort(snap.servers.begin(), snap.servers.end(), [&](const ServerStats& a, const ServerStats& b) {
        return service_pos[cat.servers[a.index].service_index] < service_pos[cat.servers[b.index].service_index];
    });

    // Routes under their entry point (service order), in its match order.
    std::vector<uint32_t> route_order;
    for (uint32_t i = 0; i < cat.routes.size(); ++i) {
        const RouteCatalog& c = cat.routes[i];
        if (live(c.state) && c.service_index < service_pos.size() && service_pos[c.service_index] >= 0)
            route_order.push_back(i);
    }
    std::stable_sort(route_order.begin(), route_order.end(), [&](uint32_t a, uint32_t b) {
        const RouteCatalog& ra = cat.routes[a];
        const RouteCatalog& rb = cat.routes[b];
        return std::make_pair(service_pos[ra.service_index], ra.position) <
               std::make_pair(service_pos[rb.service_index], rb.position);
    });
    auto route_slots = seg.routes();
    for (uint32_t i : route_order) {
        const RouteCatalog& c = cat.routes[i];
        const shm::RouteSlot& slot = route_slots[i];
        RouteStats r;
        r.service = snap.services[size_t(service_pos[c.service_index])].name;
        r.position = c.position;
        r.route = text_of(c.text);
        r.pool = text_of(c.pool);
        r.hits = slot.hits.load(std::memory_order_relaxed);
        for (int k = 0; k < 5; ++k) r.responses[k] = slot.http_responses[k].load(std::memory_order_relaxed);
        r.denied_401 = slot.http_401.load(std::memory_order_relaxed);
        r.denied_403 = slot.http_403.load(std::memory_order_relaxed);
        r.denied_429 = slot.http_429.load(std::memory_order_relaxed);
        snap.routes.push_back(std::move(r));
    }
    auto middleware_slots = seg.middlewares();
    for (uint32_t i = 0; i < cat.middlewares.size(); ++i) {
        const MiddlewareCatalog& c = cat.middlewares[i];
        if (!live(c.state)) continue;
        snap.middlewares.push_back(
            {text_of(c.name), text_of(c.type), middleware_slots[i].denials.load(std::memory_order_relaxed)});
    }
    snap.certificates = std::move(cat.certificates);

    // Sessions name slots directly; a Retired slot still has its name (old
    // workers finish their connections to removed servers).
    auto service_name = [&](uint32_t slot) -> std::string {
        if (slot >= cat.services.size() || cat.services[slot].state == uint8_t(shm::SlotState::Free)) return {};
        return text_of(cat.services[slot].name);
    };
    auto server_name = [&](uint32_t slot) -> std::string {
        if (slot >= cat.servers.size() || cat.servers[slot].state == uint8_t(shm::SlotState::Free)) return {};
        return text_of(cat.servers[slot].name);
    };

    auto worker_slots = seg.workers();
    for (uint32_t w = 0; w < worker_slots.size(); ++w) {
        const shm::WorkerSlot& slot = worker_slots[w];
        const uint32_t state = slot.state.load(std::memory_order_relaxed);
        const int32_t pid = slot.pid.load(std::memory_order_relaxed);
        if (state == uint32_t(shm::WorkerState::Free) || pid <= 0) continue;
        WorkerStats ws;
        ws.slot = w;
        ws.pid = pid;
        ws.state = state <= uint32_t(shm::WorkerState::Draining) ? shm::WorkerState(state) : shm::WorkerState::Running;
        ws.generation = slot.generation.load(std::memory_order_relaxed);
        ws.active = slot.active.load(std::memory_order_relaxed);
        ws.accepted = slot.accepted.load(std::memory_order_relaxed);
        ws.started_unix_ms = slot.started_unix_ms.load(std::memory_order_relaxed);
        ws.uptime_ms = age(now, ws.started_unix_ms);
        // Monotonic, like the stamp: the same clock in every process here.
        const uint64_t beat = slot.heartbeat_ms.load(std::memory_order_relaxed);
        ws.loop_age_ms = beat ? age(monotonic_ms(), beat) : 0;
        ws.bytes_spliced = slot.bytes_spliced.load(std::memory_order_relaxed);
        ws.cold_fds = slot.cold_fds.load(std::memory_order_relaxed);
        ws.local_errors = slot.local_errors.load(std::memory_order_relaxed);
        ws.kernel_relays = slot.kernel_relays.load(std::memory_order_relaxed);
        ws.bytes_kernel = slot.bytes_kernel.load(std::memory_order_relaxed);
        snap.workers.push_back(ws);

        // Sessions of live workers only: a dead worker's slots may hold
        // leftovers until its successor reuses them.
        for (const shm::SessionSlot& slot_s : seg.sessions(w)) {
            shm::SessionSlot copy{};
            if (!read_session(slot_s, copy)) continue;
            SessionStats ss;
            ss.worker_pid = pid;
            ss.client = format_client(copy);
            ss.service = service_name(copy.service);
            if (copy.server != shm::kNoServer) ss.server = server_name(copy.server);
            ss.age_ms = age(now, copy.start_unix_ms);
            ss.bytes_in = copy.bytes_in.load(std::memory_order_relaxed);
            ss.bytes_out = copy.bytes_out.load(std::memory_order_relaxed);
            snap.sessions.push_back(std::move(ss));
        }
    }
    return snap;
}

}  // namespace ep::stats
