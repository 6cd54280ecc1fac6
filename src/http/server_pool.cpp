// server_pool.cpp: idle keep-alive connections to servers (see server_pool.hpp).
#include "http/server_pool.hpp"

#include <algorithm>

#include "net/socket.hpp"

namespace ep::http {

struct ServerPool::Idle final : worker::IoTarget, worker::Timer {
    ServerPool* pool = nullptr;
    UniqueFd fd;
    tls::Stream io;  // the connection's TLS session (server_tls), kept with it
    uint32_t service = 0;
    int32_t index = 0;
    uint32_t requests = 0;
    bool live = true;  // false once taken or dropped: a queued event is stale
    // Anything from an idle server connection (data nobody asked for, a
    // close) ends it: it could never carry a request cleanly again.
    void on_io(int, uint32_t) override {
        if (live) pool->drop(*this, false);  // the server spoke or closed first
    }
    void on_timer() override { pool->drop(*this, true); }
};

ServerPool::ServerPool(worker::Context& ctx) : ctx_(ctx) {}
ServerPool::~ServerPool() = default;

// Entries taken or dropped during the batch are kept for the next give(): no
// allocation per request.
void ServerPool::reap() {
    for (auto& d : dead_) spare_.push_back(std::move(d));
    dead_.clear();
}

ServerPool::List& ServerPool::list(uint32_t service, int32_t index) {
    if (lists_.size() <= service) lists_.resize(service + 1);
    auto& servers = lists_[service];
    if (servers.size() <= size_t(index)) servers.resize(size_t(index) + 1);
    return servers[size_t(index)];
}

UniqueFd ServerPool::take(uint32_t service, int32_t index, uint32_t& requests, tls::Stream& io) {
    List& l = list(service, index);
    if (l.empty()) return {};
    std::unique_ptr<Idle> idle = std::move(l.back());
    l.pop_back();
    --count_;
    idle->live = false;
    ctx_.timers().cancel(*idle);
    requests = idle->requests;
    UniqueFd fd = std::move(idle->fd);
    io = std::move(idle->io);
    dead_.push_back(std::move(idle));
    return fd;
}

void ServerPool::give(uint32_t service, int32_t index, UniqueFd fd, tls::Stream io, uint32_t requests,
                      uint32_t interest) {
    const config::KeepAlive& ka = ctx_.upstream(service).config().keepalive;
    if (ka.max_idle == 0 || requests >= uint32_t(ka.max_requests)) {
        ctx_.poller().forget(fd.get());
        net::close_with_reset(fd);
        return;
    }
    List& l = list(service, index);
    if (l.size() >= size_t(ka.max_idle)) drop(*l.front(), true);
    std::unique_ptr<Idle> idle;
    if (spare_.empty()) {
        idle = std::make_unique<Idle>();
    } else {
        idle = std::move(spare_.back());
        spare_.pop_back();
    }
    idle->live = true;
    idle->pool = this;
    idle->fd = std::move(fd);
    idle->io = std::move(io);
    idle->service = service;
    idle->index = index;
    idle->requests = requests;
    ctx_.poller().retarget(idle->fd.get(), idle.get());
    if (interest != worker::kRead) ctx_.poller().modify(idle->fd.get(), worker::kRead);
    ctx_.timers().arm(*idle, ctx_.now_ms() + ka.idle_timeout_ms);
    l.push_back(std::move(idle));
    ++count_;
}

void ServerPool::drop(Idle& idle, bool ours) {
    ctx_.timers().cancel(idle);
    ctx_.poller().forget(idle.fd.get());
    List& l = list(idle.service, idle.index);
    auto it = std::find_if(l.begin(), l.end(), [&](const std::unique_ptr<Idle>& p) { return p.get() == &idle; });
    if (it == l.end()) return;
    idle.live = false;
    // A connection we end between two messages carries nothing: a reset
    // leaves no TIME_WAIT socket here, so none piles up toward servers.
    idle.io.reset();
    if (ours) net::close_with_reset(idle.fd);
    else idle.fd.reset();
    dead_.push_back(std::move(*it));
    l.erase(it);  // lists are short (max_idle)
    --count_;
}

}  // namespace ep::http
