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

}  // namespace

SlotMap publish_catalog(const Segment& seg, const config::Config& cfg, CatalogChanges* changes) {
    auto services = seg.services();
    auto servers = seg.servers();
    Header& h = seg.header();
    std::vector<bool> service_taken(services.size()), server_taken(servers.size());
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
            svc.tls_listener = sc.tls.enabled ? 1 : 0;
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
            svc.state = uint8_t(SlotState::Live);
        }
        // Whatever was live and is not in cfg is retired.
        for (uint32_t i = 0; i < servers.size(); ++i)
            if (!server_taken[i] && live(servers[i].state)) {
                servers[i].state = uint8_t(SlotState::Retired);
                const ServiceSlot& svc = services[servers[i].service_index];
                note("server " + std::string(svc.name) + "/" + servers[i].name + " removed");
            }
        for (uint32_t i = 0; i < services.size(); ++i)
            if (!service_taken[i] && live(services[i].state)) {
                services[i].state = uint8_t(SlotState::Retired);
                note("service " + std::string(services[i].name) + " removed");
            }
    } catch (...) {
        seq_write_end(h.catalog_seq, seq);
        throw;
    }
    uint32_t nsvc = 0, nsrv = 0;
    for (uint32_t i = 0; i < services.size(); ++i)
        if (services[i].state != uint8_t(SlotState::Free)) nsvc = i + 1;
    for (uint32_t i = 0; i < servers.size(); ++i)
        if (servers[i].state != uint8_t(SlotState::Free)) nsrv = i + 1;
    h.service_count.store(nsvc);
    h.server_count.store(nsrv);
    seq_write_end(h.catalog_seq, seq);
    return map;
}

void free_retired_slots(const Segment& seg) {
    Header& h = seg.header();
    const uint32_t seq = seq_write_begin(h.catalog_seq);
    for (ServerSlot& s : seg.servers())
        if (s.state == uint8_t(SlotState::Retired)) new (&s) ServerSlot{};
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
