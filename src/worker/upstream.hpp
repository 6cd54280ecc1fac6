// upstream.hpp: one service's servers as a worker sees them (nginx's peer
// get/free): pick a usable server, then report how the attempt went
// (connected, failed, a local shortage) and release it when its connection is
// gone. Balancing state, active counts and passive health live in shared
// memory, so every worker decides as one process would. Used by the TCP relay,
// the HTTP session and the HTTP server-connection pool alike.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "balance/balancer.hpp"
#include "config/config.hpp"
#include "shm/layout.hpp"

namespace ep::worker {

class Upstream {
public:
    static constexpr int kMaxTries = 11;  // first attempt + retries (<= 10)

    // Servers already tried by one client connection, so a retry goes elsewhere.
    struct Tried {
        uint32_t index[kMaxTries];
        int count = 0;
        bool contains(uint32_t i) const;
        bool full() const { return count >= kMaxTries; }
    };

    Upstream(const config::Service& config, shm::ServiceSlot& slot, uint32_t slot_index,
             std::vector<shm::ServerSlot*> servers, std::vector<uint32_t> server_slots);

    // A usable server (up, ready, under its limits, not in `tried`), chosen by
    // the service's algorithm over `key` (a hashing key; empty: round robin
    // for the http keys). Takes one unit of its active count and adds it to
    // `tried`. -1 when there is none.
    int32_t pick(Tried& tried, const balance::Key& key, balance::Rng& rng, uint32_t lock_owner);
    // Sticky sessions (research/http.md §8): the server a pool's cookie names
    // keeps its clients while it is ready or draining (not down, not in
    // maint), under its limit and not already tried; then it is taken like
    // pick() takes one. -1 otherwise: the caller picks as usual.
    int32_t pick_pinned(int32_t index, Tried& tried);
    // The cookie value naming server `index`: stable across workers, reloads
    // and instances (a hash of the service's and the server's names).
    std::string_view sticky_id(int32_t index) const { return sticky_ids_[size_t(index)]; }
    // The server a cookie value names, or -1.
    int32_t find_sticky(std::string_view id) const;
    // The connect to `index` succeeded: counts it, ends a passive probation.
    void connected(int32_t index);
    // The connect failed or timed out: counted against the server (passive
    // health, which may mark it down). Releases the active unit. Returns
    // whether a retry is allowed (`attempts` made so far vs `retries`), and
    // then counts the retry on this server.
    bool failed(int32_t index, int err, bool timeout, uint64_t now_ms, int attempts);
    // The proxy itself ran short: nothing is counted against the server.
    void local_failure(int32_t index);
    // The connection holding `index` is gone.
    void release(int32_t index);

    const config::Service& config() const { return *config_; }
    shm::ServiceSlot& slot() { return *slot_; }
    uint32_t slot_index() const { return slot_index_; }
    shm::ServerSlot& server(int32_t index) { return *servers_[size_t(index)]; }
    uint32_t server_slot(int32_t index) const { return server_slots_[size_t(index)]; }
    const config::Server& server_config(int32_t index) const { return config_->servers[size_t(index)]; }
    size_t size() const { return servers_.size(); }

private:
    void build_candidates(bool backups, const Tried& tried);

    const config::Service* config_;
    shm::ServiceSlot* slot_;
    uint32_t slot_index_;
    std::vector<shm::ServerSlot*> servers_;    // in config order
    std::vector<uint32_t> server_slots_;       // their slot indexes (for sessions)
    std::unique_ptr<balance::Balancer> balancer_;
    std::unique_ptr<balance::Balancer> keyless_;  // http keys when the request has none: round robin
    std::vector<balance::ServerInfo> infos_;   // refreshed on each pick (weights change at run time)
    std::vector<balance::Candidate> candidates_;
    std::vector<std::string> sticky_ids_;      // by server, when the service has a sticky cookie
};

}  // namespace ep::worker
