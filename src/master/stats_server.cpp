// stats_server.cpp: placeholder until the stats endpoint lands.
#include "master/stats_server.hpp"

namespace ep::master {
struct StatsServer::Impl {};
StatsServer::StatsServer(const config::Config&, const shm::Segment&) : impl_(std::make_unique<Impl>()) {}
StatsServer::~StatsServer() = default;
void StatsServer::append_pollfds(std::vector<pollfd>&, uint64_t) {}
void StatsServer::process(std::span<const pollfd>, uint64_t) {}
uint64_t StatsServer::next_wakeup_ms() const { return UINT64_MAX; }
void StatsServer::set_config(const config::Config&) {}
}  // namespace ep::master
