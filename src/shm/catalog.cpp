// catalog.cpp: name-keyed slot assignment in the shared memory (catalog.hpp).
#include "shm/catalog.hpp"

#include <cstring>
#include <new>
#include <stdexcept>

#include "util/clock.hpp"

namespace ep::shm {

namespace {

bool live(uint8_t state) { return state == uint8_t(SlotState::Live); }

template <typename Slot>
int32_t claim_free(std::span<Slot> slots, std::vector<bool>& taken) {
    for (uint32_t i = 0; i < slots.size(); ++i)
        if (!taken[i] && slots[i].state == uint8_t(SlotState::Free)) return int32_t(i);
    return -1;
}

void fill_server(ServerSlot& s, const config::Server& server, uint32_t service_slot) {
    copy_text(s.name, server.name.c_str());
    copy_text(s.address, net::format_address(server.address).c_str());
    s.service_index = service_slot;
    s.config_weight = uint32_t(server.weight);
    s.max_connections = uint32_t(server.max_connections);
    s.backup = server.backup;
}

// A live route of entry point `service_slot` with this text that this publish
// has not given to another route yet (two identical routes get two slots).
int32_t find_route(std::span<RouteSlot> routes, const std::vector<bool>& taken, uint32_t service_slot,
                   const char* text) {
    for (uint32_t i = 0; i < routes.size(); ++i)
        if (!taken[i] && live(routes[i].state) && routes[i].service_index == service_slot &&
            std::strcmp(routes[i].text, text) == 0)
            return int32_t(i);
    return -1;
}

int32_t find_middleware(std::span<MiddlewareSlot> middlewares, const std::vector<bool>& taken, const char* name) {
    for (uint32_t i = 0; i < middlewares.size(); ++i)
        if (!taken[i] && live(middlewares[i].state) && std::strcmp(middlewares[i].name, name) == 0)
            return int32_t(i);
    return -1;
}

// Index just past the last slot that is not Free: what readers scan.
template <typename Slot>
uint32_t used_count(std::span<Slot> slots) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < slots.size(); ++i)
        if (slots[i].state != uint8_t(SlotState::Free)) n = i + 1;
    return n;
}

}  // namespace

SlotMap publish_catalog(const Segment& seg, const config::Config& cfg, CatalogChanges* changes) {
    auto services = seg.services();
    auto servers = seg.servers();
    Header& h = seg.header();
    auto routes = seg.routes();
    auto middlewares = seg.middlewares();
    std::vector<bool> service_taken(services.size()), server_taken(servers.size());
    std::vector<bool> route_taken(routes.size()), middleware_taken(middlewares.size());
    SlotMap map;
    const uint64_t now = wall_ms();
    auto note = [&](std::string line) {
        if (changes) changes->lines.push_back(std::move(line));
    };

    const uint32_t seq = seq_write_begin(h.catalog_seq);
    try {
        for (const config::Service& sc : cfg.services) {
            int32_t si = find_service_slot(seg, sc.name);
            if (si < 0) {
                si = claim_free(services, service_taken);
                if (si < 0) throw std::runtime_error("no free shared-memory slot for service " + sc.name);
                new (&services[size_t(si)]) ServiceSlot{};
                copy_text(services[size_t(si)].name, sc.name.c_str());
                note("service " + sc.name + " added");
            }
            service_taken[size_t(si)] = true;
            ServiceSlot& svc = services[size_t(si)];
            if (live(svc.state) && (svc.mode != uint8_t(sc.mode) || svc.balance != uint8_t(sc.balance)))
                note("service " + sc.name + " changed: balance " + config::balance_name(config::Balance(svc.balance)) +
                     " -> " + config::balance_name(sc.balance));
            svc.mode = uint8_t(sc.mode);
            svc.balance = uint8_t(sc.balance);
            map.service.push_back(uint32_t(si));

            std::vector<uint32_t>& slots = map.server.emplace_back();
            for (const config::Server& server : sc.servers) {
                const std::string full = sc.name + "/" + server.name;
                int32_t xi = live(svc.state) ? find_server_slot(seg, sc.name, server.name) : -1;
                if (xi < 0) {
                    xi = claim_free(servers, server_taken);
                    if (xi < 0) throw std::runtime_error("no free shared-memory slot for server " + full);
                    ServerSlot& s = *new (&servers[size_t(xi)]) ServerSlot{};
                    fill_server(s, server, uint32_t(si));
                    s.admin.store(uint8_t(AdminState::Ready));
                    s.health.store(uint8_t(Health::Unchecked));
                    s.weight.store(uint32_t(server.weight));
                    s.last_change_unix_ms.store(now);
                    if (live(svc.state)) note("server " + full + " added");
                } else {
                    ServerSlot& s = servers[size_t(xi)];
                    const std::string old_address = s.address;
                    const uint32_t old_weight = s.config_weight;
                    // A run-time weight override survives; otherwise the new config weight applies.
                    if (s.weight.load() == old_weight) s.weight.store(uint32_t(server.weight));
                    fill_server(s, server, uint32_t(si));
                    if (old_address != s.address) {
                        s.health.store(uint8_t(Health::Unchecked));
                        s.passive_down.store(0);
                        note("server " + full + " changed: address " + old_address + " -> " + s.address);
                    }
                    if (old_weight != s.config_weight)
                        note("server " + full + " changed: weight " + std::to_string(old_weight) + " -> " +
                             std::to_string(s.config_weight));
                }
                server_taken[size_t(xi)] = true;
                servers[size_t(xi)].state = uint8_t(SlotState::Live);
                slots.push_back(uint32_t(xi));
            }

            std::vector<uint32_t>& route_slots = map.route.emplace_back();
            for (uint32_t pos = 0; pos < sc.routes.size(); ++pos) {
                char text[kRouteTextMax];
                copy_text(text, config::route_text(sc.routes[pos]).c_str());
                int32_t ri = live(svc.state) ? find_route(routes, route_taken, uint32_t(si), text) : -1;
                if (ri < 0) {
                    ri = claim_free(routes, route_taken);
                    if (ri < 0)
                        throw std::runtime_error("no free shared-memory slot for route " + sc.name + ": " + text);
                    RouteSlot& r = *new (&routes[size_t(ri)]) RouteSlot{};
                    copy_text(r.text, text);
                    r.service_index = uint32_t(si);
                    if (live(svc.state)) note("route " + sc.name + ": " + text + " added");
                }
                RouteSlot& r = routes[size_t(ri)];
                copy_text(r.pool, sc.routes[pos].service.c_str());
                r.position = pos;
                r.state = uint8_t(SlotState::Live);
                route_taken[size_t(ri)] = true;
                route_slots.push_back(uint32_t(ri));
            }
            svc.state = uint8_t(SlotState::Live);
        }
        for (const config::Middleware& mc : cfg.middlewares) {
            char name[kNameMax];
            copy_text(name, mc.name.c_str());
            int32_t mi = find_middleware(middlewares, middleware_taken, name);
            if (mi < 0) {
                mi = claim_free(middlewares, middleware_taken);
                if (mi < 0) throw std::runtime_error("no free shared-memory slot for middleware " + mc.name);
                MiddlewareSlot& m = *new (&middlewares[size_t(mi)]) MiddlewareSlot{};
                copy_text(m.name, name);
                note("middleware " + mc.name + " added");
            }
            MiddlewareSlot& m = middlewares[size_t(mi)];
            const char* type = config::middleware_type_name(mc.type);
            if (live(m.state) && std::strcmp(m.type, type) != 0)
                note("middleware " + mc.name + " changed: type " + m.type + " -> " + type);
            copy_text(m.type, type);
            m.state = uint8_t(SlotState::Live);
            middleware_taken[size_t(mi)] = true;
            map.middleware.push_back(uint32_t(mi));
        }
        // Whatever was live and is not in cfg is retired.
        for (uint32_t i = 0; i < servers.size(); ++i)
            if (!server_taken[i] && live(servers[i].state)) {
                servers[i].state = uint8_t(SlotState::Retired);
                const ServiceSlot& svc = services[servers[i].service_index];
                note("server " + std::string(svc.name) + "/" + servers[i].name + " removed");
            }
        for (uint32_t i = 0; i < routes.size(); ++i)
            if (!route_taken[i] && live(routes[i].state)) {
                routes[i].state = uint8_t(SlotState::Retired);
                const ServiceSlot& svc = services[routes[i].service_index];
                note("route " + std::string(svc.name) + ": " + routes[i].text + " removed");
            }
        for (uint32_t i = 0; i < services.size(); ++i)
            if (!service_taken[i] && live(services[i].state)) {
                services[i].state = uint8_t(SlotState::Retired);
                note("service " + std::string(services[i].name) + " removed");
            }
        for (uint32_t i = 0; i < middlewares.size(); ++i)
            if (!middleware_taken[i] && live(middlewares[i].state)) {
                middlewares[i].state = uint8_t(SlotState::Retired);
                note("middleware " + std::string(middlewares[i].name) + " removed");
            }
    } catch (...) {
        seq_write_end(h.catalog_seq, seq);
        throw;
    }
    h.service_count.store(used_count(services));
    h.server_count.store(used_count(servers));
    h.route_count.store(used_count(routes));
    h.middleware_count.store(used_count(middlewares));
    seq_write_end(h.catalog_seq, seq);
    return map;
}

void free_retired_slots(const Segment& seg) {
    Header& h = seg.header();
    const uint32_t seq = seq_write_begin(h.catalog_seq);
    for (ServerSlot& s : seg.servers())
        if (s.state == uint8_t(SlotState::Retired)) new (&s) ServerSlot{};
    for (RouteSlot& r : seg.routes())
        if (r.state == uint8_t(SlotState::Retired)) new (&r) RouteSlot{};
    for (MiddlewareSlot& m : seg.middlewares())
        if (m.state == uint8_t(SlotState::Retired)) new (&m) MiddlewareSlot{};
    for (ServiceSlot& s : seg.services())
        if (s.state == uint8_t(SlotState::Retired)) new (&s) ServiceSlot{};
    seq_write_end(h.catalog_seq, seq);
}

int32_t find_service_slot(const Segment& seg, std::string_view service) {
    auto services = seg.services();
    for (uint32_t i = 0; i < services.size(); ++i)
        if (live(services[i].state) && service == services[i].name) return int32_t(i);
    return -1;
}

int32_t find_server_slot(const Segment& seg, std::string_view service, std::string_view server) {
    const int32_t si = find_service_slot(seg, service);
    if (si < 0) return -1;
    auto servers = seg.servers();
    for (uint32_t i = 0; i < servers.size(); ++i)
        if (live(servers[i].state) && servers[i].service_index == uint32_t(si) && server == servers[i].name)
            return int32_t(i);
    return -1;
}

}  // namespace ep::shm
