// catalog.hpp: which shared-memory slots hold which services and servers.
// Slots are keyed by name (layout.hpp, SlotState): publishing a config reuses
// the slot of every SERVICE/SERVER, route (entry point and route_text) and
// middleware that already exists, claims free slots for new ones and retires
// the rest, all under the catalog seqlock.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "shm/segment.hpp"

namespace ep::shm {

struct SlotMap {
    std::vector<uint32_t> service;               // config service index -> ServiceSlot index
    std::vector<std::vector<uint32_t>> server;   // [service][server] -> ServerSlot index
    std::vector<std::vector<uint32_t>> route;    // [service][route, match order] -> RouteSlot index
    std::vector<uint32_t> middleware;            // config middleware index -> MiddlewareSlot index
};

// What changed between the previous catalog and `cfg`, in words for people
// ("server web/app4 added", "server web/app1 changed: weight 1 -> 5").
struct CatalogChanges {
    std::vector<std::string> lines;
};

// Assigns slots for `cfg` and writes its catalog. Throws std::runtime_error
// when the segment has no free slot left for a new service, server, route or
// middleware.
SlotMap publish_catalog(const Segment& seg, const config::Config& cfg, CatalogChanges* changes = nullptr);

// Once no worker of an older generation runs: Retired slots become Free.
void free_retired_slots(const Segment& seg);

// Slot index of a live service / server, or -1.
int32_t find_service_slot(const Segment& seg, std::string_view service);
int32_t find_server_slot(const Segment& seg, std::string_view service, std::string_view server);

}  // namespace ep::shm
