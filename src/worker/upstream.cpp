// upstream.cpp: picking a server and accounting for how its connects went
// (see upstream.hpp).
#include "worker/upstream.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "balance/hash.hpp"
#include "shm/segment.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

namespace ep::worker {

bool Upstream::Tried::contains(uint32_t i) const { return std::find(index, index + count, i) != index + count; }

Upstream::Upstream(const config::Service& config, shm::ServiceSlot& slot, uint32_t slot_index,
                   std::vector<shm::ServerSlot*> servers, std::vector<uint32_t> server_slots)
    : config_(&config),
      slot_(&slot),
      slot_index_(slot_index),
      servers_(std::move(servers)),
      server_slots_(std::move(server_slots)),
      balancer_(balance::make_balancer(config.balance)),
      keyless_(balance::make_roundrobin()) {
    for (const auto& s : config.servers) infos_.push_back(balance::ServerInfo{s.name, uint32_t(s.weight), s.backup});
    if (!config.sticky_cookie.empty()) {
        for (const auto& s : config.servers) {
            const uint64_t h = balance::hash_string(config.name + "/" + s.name);
            char hex[17];
            snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
            sticky_ids_.emplace_back(hex, 16);
        }
    }
}

int32_t Upstream::pick_pinned(int32_t index, Tried& tried) {
    if (index < 0 || size_t(index) >= servers_.size() || tried.full() || tried.contains(uint32_t(index))) return -1;
    shm::ServerSlot& s = *servers_[size_t(index)];
    if (s.admin.load(std::memory_order_relaxed) == uint8_t(shm::AdminState::Maint)) return -1;
    if (s.health.load(std::memory_order_relaxed) == uint8_t(shm::Health::Down)) return -1;
    if (s.passive_down.load(std::memory_order_relaxed)) return -1;
    if (s.max_connections && s.active.load(std::memory_order_relaxed) >= s.max_connections) return -1;
    s.active.fetch_add(1, std::memory_order_relaxed);
    tried.index[tried.count++] = uint32_t(index);
    return index;
}

int32_t Upstream::find_sticky(std::string_view id) const {
    for (size_t i = 0; i < sticky_ids_.size(); ++i)
        if (sticky_ids_[i] == id) return int32_t(i);
    return -1;
}

// Usable servers of one tier, in config order (the hashing algorithms rely on
// it); servers already tried are left out. Every pass visits every server, so
// it also refreshes the current weights the hashing algorithms read.
void Upstream::build_candidates(bool backups, const Tried& tried) {
    candidates_.clear();
    for (uint32_t i = 0; i < servers_.size(); ++i) {
        shm::ServerSlot& s = *servers_[i];
        const uint32_t w = s.weight.load(std::memory_order_relaxed);
        infos_[i].weight = w;
        if (bool(s.backup) != backups) continue;
        if (s.admin.load(std::memory_order_relaxed) != uint8_t(shm::AdminState::Ready)) continue;
        if (s.health.load(std::memory_order_relaxed) == uint8_t(shm::Health::Down)) continue;
        if (s.passive_down.load(std::memory_order_relaxed)) continue;
        if (w == 0) continue;
        const uint64_t active = s.active.load(std::memory_order_relaxed);
        if (s.max_connections && active >= s.max_connections) continue;
        if (tried.contains(i)) continue;
        candidates_.push_back(balance::Candidate{i, w, active, &s.rr_current});
    }
}

int32_t Upstream::pick(Tried& tried, const balance::Key& key, balance::Rng& rng, uint32_t lock_owner) {
    if (tried.full()) return -1;
    const bool http_key = config_->balance == config::Balance::Uri || config_->balance == config::Balance::Header ||
                          config_->balance == config::Balance::Cookie;
    balance::Balancer& algorithm = http_key && key.size == 0 ? *keyless_ : *balancer_;
    auto choose = [&]() -> int32_t {
        build_candidates(false, tried);
        if (candidates_.empty()) build_candidates(true, tried);
        if (candidates_.empty()) return -1;
        const size_t pos = algorithm.pick(candidates_, infos_, key, rng);
        const uint32_t index = candidates_[pos].index;
        servers_[index]->active.fetch_add(1, std::memory_order_relaxed);
        tried.index[tried.count++] = index;
        return int32_t(index);
    };
    if (algorithm.needs_lock()) {
        shm::SpinGuard guard(slot_->lock, lock_owner);
        return choose();
    }
    return choose();
}

void Upstream::connected(int32_t index) {
    shm::ServerSlot& s = server(index);
    s.total.fetch_add(1, std::memory_order_relaxed);
    // A connect that succeeds ends a probation (checker.cpp, passive_scan):
    // the server proved it is back.
    if (config_->passive.max_fails > 0 &&
        s.recent_fails.load(std::memory_order_relaxed) >= uint32_t(config_->passive.max_fails))
        s.recent_fails.store(0, std::memory_order_relaxed);
}

bool Upstream::failed(int32_t index, int err, bool timeout, uint64_t now_ms, int attempts) {
    const config::Service& sc = *config_;
    shm::ServerSlot& s = server(index);
    s.active.fetch_sub(1, std::memory_order_relaxed);
    s.failures.fetch_add(1, std::memory_order_relaxed);
    LOG_DEBUG("%s/%s: connect failed: %s", sc.name.c_str(), s.name, timeout ? "timeout" : std::strerror(err));

    if (sc.passive.max_fails > 0) {
        const uint64_t start = s.fail_window_start_ms.load(std::memory_order_relaxed);
        if (now_ms - start > sc.passive.fail_timeout_ms) {
            s.fail_window_start_ms.store(now_ms, std::memory_order_relaxed);
            s.recent_fails.store(1, std::memory_order_relaxed);
        } else {
            s.recent_fails.fetch_add(1, std::memory_order_relaxed);
        }
        if (s.recent_fails.load(std::memory_order_relaxed) >= uint32_t(sc.passive.max_fails)) {
            uint8_t expected = 0;
            if (s.passive_down.compare_exchange_strong(expected, 1)) {
                s.last_change_unix_ms.store(wall_ms(), std::memory_order_relaxed);
                LOG_WARN("%s/%s is DOWN (%d failed connects within %llu ms, last: %s)", sc.name.c_str(), s.name,
                         sc.passive.max_fails, (unsigned long long)sc.passive.fail_timeout_ms,
                         timeout ? "timeout" : std::strerror(err));
            }
        }
    }
    const bool retry = attempts <= sc.retries;
    if (retry) s.retries.fetch_add(1, std::memory_order_relaxed);
    return retry;
}

void Upstream::local_failure(int32_t index) {
    server(index).active.fetch_sub(1, std::memory_order_relaxed);
    slot_->local_errors.fetch_add(1, std::memory_order_relaxed);
}

void Upstream::release(int32_t index) { server(index).active.fetch_sub(1, std::memory_order_relaxed); }

}  // namespace ep::worker
