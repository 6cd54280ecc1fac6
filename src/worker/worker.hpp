// worker.hpp: entry point of a worker process. A worker accepts on its own
// SO_REUSEPORT sockets, picks a server through the service's balancer (state
// shared with the other workers in shared memory), connects and relays.
#pragma once
#include <cstdint>
#include <vector>

#include "config/config.hpp"
#include "shm/catalog.hpp"
#include "shm/segment.hpp"
#include "tls/context.hpp"

namespace ep::kernel {
class Sockmap;
}
namespace ep::http {
class RateTable;
}

namespace ep::worker {

struct ListenerRef {
    int fd;
    uint32_t service;  // index in config.services
};

struct Setup {
    const config::Config* config;
    const tls::Contexts* tls;  // the config's SSL_CTXs (null: none)
    const shm::Segment* segment;
    const shm::SlotMap* slots; // where each service and server of `config` lives
    uint32_t slot;             // this worker's WorkerSlot (and session range)
    uint64_t generation;
    std::vector<ListenerRef> listeners;
    http::RateTable* rates = nullptr;  // rate_limit buckets shared by all workers (made by the master)
    kernel::Sockmap* sockmap = nullptr;  // relay = "sockmap" (loaded by the master); null: not available
};

// Runs the worker loop until told to stop; returns the process exit code.
int run(const Setup& setup);

}  // namespace ep::worker
