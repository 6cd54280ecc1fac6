// tls_handshake.cpp: see tls_handshake.hpp. Counts every outcome in the
// service's slot: handshakes (and how many resumed a session) and failures by
// reason.
#include "worker/tls_handshake.hpp"

#include "util/log.hpp"

namespace ep::worker {

namespace {

static_assert(tls::kWantRead == kRead && tls::kWantWrite == kWrite, "a stream's wants() is poller interest");

class Handshake final : public TlsHandshake, public Timer {
public:
    Handshake(Context& ctx, uint32_t service, UniqueFd client, const net::Address& peer, tls::Stream stream,
              uint64_t timeout_ms)
        : ctx_(ctx), client_(std::move(client)), peer_(peer), io_(std::move(stream)), timeout_ms_(timeout_ms) {
        this->service = service;
        accepted_ms_ = ctx.now_ms();
    }

    void start() override {
        ctx_.poller().add(client_.get(), kRead, this);
        interest_ = kRead;
        ctx_.timers().arm(*this, accepted_ms_ + timeout_ms_);
        step();
    }
    void on_io(int, uint32_t) override { step(); }
    void on_timer() override { fail(tls::Failure::Timeout); }
    void close(const char*) override { end(); }
    void housekeeping(uint64_t) override {}

private:
    shm::ServiceSlot& slot() { return ctx_.upstream(service).slot(); }

    void step() {
        if (closed) return;
        tls::Failure why = tls::Failure::Other;
        const int r = io_.handshake(why);
        if (r < 0) {
            fail(why);
            return;
        }
        if (r == 0) {
            if (io_.wants() != interest_) {
                ctx_.poller().modify(client_.get(), io_.wants());
                interest_ = io_.wants();
            }
            return;
        }
        slot().tls_handshakes.fetch_add(1, std::memory_order_relaxed);
        if (io_.resumed()) slot().tls_resumed.fetch_add(1, std::memory_order_relaxed);
        ctx_.timers().cancel(*this);
        // The socket stays in the poller: the next handler takes it over.
        ClientStart c;
        c.watched = interest_ ? interest_ : kRead;
        c.service = service;
        c.session = session;
        session = -1;  // the next handler carries on with the shared session slot
        c.client = std::move(client_);
        c.peer = peer_;
        c.io = std::move(io_);
        c.accepted_ms = accepted_ms_;
        ctx_.start_client(std::move(c));
        ctx_.finished(*this);
    }

    void fail(tls::Failure why) {
        slot().tls_failures[size_t(why)].fetch_add(1, std::memory_order_relaxed);
        LOG_DEBUG("%s: TLS handshake with %s failed: %s", ctx_.upstream(service).config().name.c_str(),
                  net::format_address(peer_).c_str(), tls::failure_name(why));
        end();
    }

    void end() {
        if (closed) return;
        ctx_.timers().cancel(*this);
        ctx_.poller().forget(client_.get());
        io_.reset();
        client_.reset();
        ctx_.finished(*this);
    }

    Context& ctx_;
    UniqueFd client_;
    net::Address peer_;
    tls::Stream io_;
    uint64_t timeout_ms_;
    uint64_t accepted_ms_ = 0;
    uint32_t interest_ = 0;
};

}  // namespace

std::unique_ptr<TlsHandshake> make_tls_handshake(Context& ctx, uint32_t service, UniqueFd client,
                                                 const net::Address& peer, tls::Stream stream, uint64_t timeout_ms) {
    return std::make_unique<Handshake>(ctx, service, std::move(client), peer, std::move(stream), timeout_ms);
}

}  // namespace ep::worker
