// session.cpp: one client connection of an http service (see session.hpp).
// One request at a time: a pipelined request waits in the input buffer until
// the response before it is complete, so answers keep their order. Every
// read and write is non-blocking; a side is read only while there is room for
// what it sends (back-pressure both ways), and what the server sends is
// written to the client at once (Server-Sent Events need no special case).
#include "http/session.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "http/message.hpp"
#include "http/middleware.hpp"
#include "http/router.hpp"
#include "http/server_pool.hpp"
#include "net/socket.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

namespace ep::http {

namespace {

using worker::BufferPool;
using worker::kError;
using worker::kRead;
using worker::kWrite;

constexpr size_t kBuf = BufferPool::kBufferSize;
constexpr uint64_t kDrainGraceMs = 1000;
constexpr uint64_t kLingerMs = 2000;

// Parsed heads are large (room for 100 fields) and needed only while a
// request is under way, so sessions borrow them: an idle keep-alive client
// holds none. So do the gateway's plans, whose strings keep their capacity
// from one borrower to the next: a request on a new connection allocates
// nothing either. A worker is one thread; the pools live as long as it does.
template <class T>
class Borrowed {
public:
    static T* take() {
        auto& f = free_list();
        if (f.empty()) return new T();
        T* t = f.back().release();
        f.pop_back();
        return t;
    }
    static void give(T*& t) {
        if (!t) return;
        free_list().emplace_back(t);
        t = nullptr;
    }

private:
    static std::vector<std::unique_ptr<T>>& free_list() {
        static std::vector<std::unique_ptr<T>> list;
        return list;
    }
};
using HeadPool = Borrowed<Head>;
using PlanPool = Borrowed<Plan>;

// Bytes waiting to be sent one way, in a pooled buffer held only while needed.
struct Out {
    char* buf = nullptr;
    uint32_t start = 0;
    uint32_t end = 0;
    bool pending() const { return start < end; }
};

// Closing: the last answer is being sent; Lingering: it is sent and our side
// shut, and what the client still sends is read and dropped until it closes
// (or kLingerMs), so that closing with unread input (a reset) cannot destroy
// the answer on its way (RFC 9112 §9.6).
enum class Phase : uint8_t { ReadHead, Connecting, Exchange, Closing, Lingering };

class HttpSession final : public Session, public worker::Timer {
public:
    HttpSession(worker::Context& ctx, uint32_t service, UniqueFd client, const net::Address& peer, tls::Stream io)
        : ctx_(ctx),
          up_(&ctx.upstream(service)),
          cfg_(up_->config()),
          router_(ctx.router(service)),
          client_(std::move(client)),
          client_io_(std::move(io)),
          peer_(peer) {
        this->service = service;
        pool_ = service;
        accepted_ms_ = ctx.now_ms();
        info_.peer = &peer_;
        info_.tls = client_io_.secure();
        for (const auto& cidr : cfg_.http.trusted_proxies)
            if (cidr.contains(peer_)) info_.trusted = true;
        in_cap_ = std::max<size_t>(kBuf, size_t(cfg_.http.max_header_size));
    }
    ~HttpSession() override {
        release_buffers();
        HeadPool::give(req_);
        HeadPool::give(resp_);
        PlanPool::give(plan_);
    }

    void start(uint32_t watched) override {
        if (watched) {  // taken over from the TLS handshake: no system call
            ctx_.poller().retarget(client_.get(), this);
            client_interest_ = watched;
            set_interest(client_.get(), client_interest_, kRead);
        } else {
            ctx_.poller().add(client_.get(), kRead, this);
            client_interest_ = kRead;
        }
        begin_read_head(cfg_.http.request_timeout_ms);
    }
    void on_io(int fd, uint32_t events) override;
    void on_timer() override;
    void close(const char* term) override { abort(term); }
    void housekeeping(uint64_t) override;
    void drain() override;

private:
    // ---- phases
    void begin_read_head(uint64_t timeout_ms);
    bool read_head();
    void begin_request();
    void connect_server();
    void on_connect_result(int err);
    void server_handshake();
    void connect_failed(int err, bool timeout);
    void begin_exchange();
    bool exchange();
    bool fill_request_body();
    bool read_response();
    bool on_response_head();
    bool relay_response_body();
    void end_request();
    void start_tunnel();
    void answer(int status, const char* term, std::string_view extra = {}, bool keep = false);
    void abort(const char* term);
    void linger();
    void finish();
    void progress();

    // ---- plumbing
    bool flush(Out& o, int fd, bool to_server);
    ssize_t recv_from(int fd, char* into, size_t n, bool& readable);
    void update_interest();
    void set_interest(int fd, uint32_t& current, uint32_t wanted);
    void release_server(bool reusable);
    void release_buffers();
    char* take_in();
    void give(Out& o);
    void ensure(Out& o);
    void compact(Out& o);
    char* room(Out& o, size_t& space);
    balance::Key balancing_key();
    std::string_view cookie(std::string_view name) const;
    bool route_request();
    void next_request();
    void log_request();
    void count_response(int status);
    void count_denial();
    void count_bytes(uint64_t to_server, uint64_t to_client);

    worker::Context& ctx_;
    worker::Upstream* up_;         // the servers of the service this request goes to
    const config::Service& cfg_;   // the service that accepted the client
    Router* router_;               // an entry point's routes, else null
    UniqueFd client_;
    tls::Stream client_io_;        // plain, or TLS terminated here
    net::Address peer_;
    ClientInfo info_;
    Phase phase_ = Phase::ReadHead;
    uint32_t client_interest_ = 0;
    uint32_t server_interest_ = 0;
    bool client_readable_ = true;   // worth a recv(): last event said so, no EAGAIN since
    bool server_readable_ = false;
    bool client_eof_ = false;
    bool draining_ = false;       // the worker stops: no request after the current one
    uint32_t kill_seq_ = 0;       // the server's kill_seq when it was picked

    // client input: request heads, and body bytes that came with them
    char* in_ = nullptr;
    std::unique_ptr<char[]> in_owned_;  // when max_header_size is over the pool's buffer size
    size_t in_cap_;
    uint32_t in_len_ = 0;
    uint32_t in_used_ = 0;  // consumed by the current request (head, body)

    // the current request
    HeadParser parser_;
    Head* req_ = nullptr;          // from the worker's pool while a request is under way
    bool req_started_ = false;     // a byte of it arrived (the request timer runs)
    bool req_body_done_ = false;
    uint64_t req_remaining_ = 0;   // Body::Length bytes still to forward
    ChunkedTranscoder req_chunks_;
    bool keep_client_ = true;
    uint64_t accepted_ms_ = 0;
    uint64_t request_start_ms_ = 0;
    uint64_t bytes_to_server_ = 0;
    uint64_t bytes_to_client_ = 0;
    int status_ = 0;               // what the client got
    char request_line_[320];       // "METHOD TARGET" for the log: the head's bytes may be reused
    uint16_t request_line_len_ = 0;
    const char* term_ = "--";
    uint32_t pool_ = 0;            // the service whose servers take the request (a route's pool, or our own)
    int route_ = -1;               // the matched route (entry points), in match order
    Plan* plan_ = nullptr;         // what the route's middlewares decided (borrowed while a request is under way)
    shm::RouteSlot* route_slot_ = nullptr;  // the matched route's counters
    uint64_t body_limit_ = 0;      // max_body_size of the request (0: none)
    int attempts_ = 0;             // servers that failed the request before any response byte (retry)
    bool answer_keeps_ = false;    // the proxy's own answer leaves the client connection open
    int32_t sticky_server_ = -1;   // the server the request's sticky cookie names, if any

    // the server side
    UniqueFd server_;
    tls::Stream server_io_;        // plain, or server_tls
    int32_t server_index_ = -1;    // holds one unit of its active count while set
    worker::Upstream::Tried tried_;
    bool reused_ = false;          // the connection came from the pool
    uint32_t server_requests_ = 0; // requests the connection carried before this one
    bool retried_reuse_ = false;   // the one retry after a pooled connection failed
    uint64_t connect_ms_ = 0;
    Out to_server_;
    Out to_client_;
    char* sbuf_ = nullptr;         // response heads, and body bytes read with them
    uint32_t slen_ = 0;
    uint32_t sused_ = 0;
    HeadParser resp_parser_;
    Head* resp_ = nullptr;
    bool resp_head_done_ = false;
    bool resp_started_ = false;    // a byte of a final response went to the client
    bool resp_done_ = false;
    bool server_reusable_ = true;
    uint64_t resp_remaining_ = 0;
    ChunkedTranscoder resp_chunks_;
};

// ---- buffers ----------------------------------------------------------------

char* HttpSession::take_in() {
    if (in_) return in_;
    if (in_cap_ > kBuf) {
        if (!in_owned_) in_owned_ = std::make_unique<char[]>(in_cap_);
        in_ = in_owned_.get();
    } else {
        in_ = ctx_.buffers().take();
    }
    return in_;
}

void HttpSession::give(Out& o) {
    if (o.buf) ctx_.buffers().give(o.buf);
    o = Out{};
}

void HttpSession::ensure(Out& o) {
    if (!o.buf) o.buf = ctx_.buffers().take();
}

// Moves unsent bytes to the front so the buffer can take more.
void HttpSession::compact(Out& o) {
    if (o.start == 0) return;
    std::memmove(o.buf, o.buf + o.start, o.end - o.start);
    o.end -= o.start;
    o.start = 0;
}

void HttpSession::release_buffers() {
    if (in_ && !in_owned_) ctx_.buffers().give(in_);
    in_ = nullptr;
    give(to_server_);
    give(to_client_);
    if (sbuf_) ctx_.buffers().give(sbuf_);
    sbuf_ = nullptr;
}

// ---- events -----------------------------------------------------------------

void HttpSession::on_io(int fd, uint32_t events) {
    if (closed) return;
    if (server_ && fd == server_.get()) {
        if (phase_ == Phase::Connecting) {
            if (server_io_.secure()) server_handshake();
            else on_connect_result((events & kError) ? net::socket_error(fd) : 0);
            return;
        }
        if ((events & (kRead | kError)) || server_io_.secure()) server_readable_ = true;
    } else if (fd == client_.get()) {
        // A TLS read may have waited for writability: any event retries it.
        if ((events & (kRead | kError)) || client_io_.secure()) client_readable_ = true;
    }
    progress();
}

void HttpSession::progress() {
    for (int turns = 0; turns < 64 && !closed; ++turns) {
        bool moved = false;
        switch (phase_) {
            case Phase::ReadHead: moved = read_head(); break;
            case Phase::Connecting: return;  // interest set by connect_server
            case Phase::Exchange: moved = exchange(); break;
            case Phase::Closing:
                if (to_client_.pending() && !flush(to_client_, client_.get(), false)) return;
                if (!to_client_.pending()) {
                    if (!answer_keeps_ || client_eof_) {
                        linger();
                        return;
                    }
                    ctx_.timers().cancel(*this);
                    next_request();
                    moved = true;
                }
                break;
            case Phase::Lingering: {
                char sink[4096];
                for (int i = 0; i < 16; ++i) {
                    const ssize_t n = client_io_.recv(client_.get(), sink, sizeof sink);
                    if (n > 0) continue;
                    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
                    finish();  // the client closed too (or failed): done
                    return;
                }
                client_readable_ = false;
                break;
            }
        }
        if (!moved) break;
    }
    if (!closed) update_interest();
}

void HttpSession::on_timer() {
    if (closed) return;
    switch (phase_) {
        case Phase::ReadHead:
            if (!req_started_) {  // idle between requests, or a client that never spoke
                abort("--");
                return;
            }
            answer(408, "cR");
            return;
        case Phase::Connecting:  // the TCP connect, or the TLS handshake after it
            ctx_.poller().forget(server_.get());
            server_interest_ = 0;
            server_io_.reset();
            server_.reset();
            connect_failed(ETIMEDOUT, true);
            return;
        case Phase::Exchange:
            if (!resp_head_done_) answer(504, "sH");
            else abort("sD");
            return;
        case Phase::Closing: abort("cD"); return;
        case Phase::Lingering: finish(); return;
    }
}

// The answer is out: shut our side and wait briefly for the client's close.
void HttpSession::linger() {
    client_io_.shutdown_write(client_.get());
    phase_ = Phase::Lingering;
    release_buffers();
    ctx_.timers().arm(*this, ctx_.now_ms() + kLingerMs);
    set_interest(client_.get(), client_interest_, kRead);
}

// `maint --kill` closes connections to the server, as in tcp mode.
void HttpSession::housekeeping(uint64_t) {
    if (server_index_ >= 0 && up_->server(server_index_).kill_seq.load(std::memory_order_relaxed) != kill_seq_)
        abort("KD");
}

// A busy client gets "Connection: close" on the response under way and is
// closed after it. An idle one gets a second's grace: a client in the middle
// of a series of requests sends its next one within it and gets it answered
// (with "Connection: close", so it moves to the new workers) instead of
// finding its connection closed under it; a quiet one is closed then.
void HttpSession::drain() {
    draining_ = true;
    keep_client_ = false;
    if (phase_ == Phase::ReadHead && !req_started_)
        ctx_.timers().arm(*this, armed() ? std::min(deadline(), ctx_.now_ms() + kDrainGraceMs)
                                         : ctx_.now_ms() + kDrainGraceMs);
}

// ---- reading a request head ----------------------------------------------------

void HttpSession::begin_read_head(uint64_t timeout_ms) {
    phase_ = Phase::ReadHead;
    parser_.reset(HeadParser::Kind::Request, size_t(cfg_.http.max_header_size));
    req_started_ = in_len_ > 0;
    ctx_.timers().arm(*this, ctx_.now_ms() + (req_started_ ? cfg_.http.request_timeout_ms : timeout_ms));
}

bool HttpSession::read_head() {
    if (in_len_ > 0) {
        if (!req_) req_ = HeadPool::take();
        const Parse p = parser_.parse(in_, in_len_, *req_);
        if (p == Parse::Done) {
            begin_request();
            return true;
        }
        if (p == Parse::Error) {
            LOG_DEBUG("%s: bad request from %s: %s", cfg_.name.c_str(), net::format_address(peer_).c_str(),
                      parser_.error_reason());
            request_line_[0] = '-';  // nothing trustworthy to log from a refused head
            request_line_len_ = 1;
            request_start_ms_ = ctx_.now_ms();
            answer(parser_.error_status(), "PR");
            return true;
        }
    }
    if (!client_readable_ || in_len_ >= in_cap_) return false;
    take_in();
    const ssize_t n = recv_from(client_.get(), in_ + in_len_, in_cap_ - in_len_, client_readable_);
    if (n > 0) {
        if (!req_started_) {  // the head must now be complete within request_timeout
            req_started_ = true;
            ctx_.timers().arm(*this, ctx_.now_ms() + cfg_.http.request_timeout_ms);
        }
        in_len_ += uint32_t(n);
        return true;
    }
    if (n == 0) {
        abort(req_started_ ? "CR" : "--");
        return true;
    }
    if (n < 0 && client_readable_) {  // an error, not EAGAIN
        abort("CR");
        return true;
    }
    if (in_len_ == 0 && in_ && !in_owned_) {  // idle keep-alive client: hold no buffer
        ctx_.buffers().give(in_);
        in_ = nullptr;
    }
    return false;
}

// ---- choosing and reaching a server ------------------------------------------

// The value of cookie `name` in the request's Cookie fields, or empty.
std::string_view HttpSession::cookie(std::string_view name) const {
    for (size_t i = 0; i < req_->field_count; ++i) {
        const std::string_view field = req_->field_name(i, in_);
        if (field.size() != 6 || strncasecmp(field.data(), "Cookie", 6) != 0) continue;
        std::string_view cookies = req_->field_value(i, in_);
        while (!cookies.empty()) {
            const size_t semi = cookies.find(';');
            std::string_view pair = cookies.substr(0, semi);
            cookies = semi == std::string_view::npos ? std::string_view{} : cookies.substr(semi + 1);
            while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
            const size_t eq = pair.find('=');
            if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
        }
    }
    return {};
}

balance::Key HttpSession::balancing_key() {
    const config::Service& pool = up_->config();
    balance::Key key;
    std::string_view v;
    switch (pool.balance) {
        case config::Balance::Uri: {
            // the path as routes match it (research/http.md §8), so that
            // "/a%2Db" and "/a-b" land on the same server
            static thread_local char path[kMaxTarget];
            size_t len = 0;
            v = req_->path.in(in_);
            if (normalise_path(v, path, sizeof path, len)) v = std::string_view(path, len);
            break;
        }
        case config::Balance::Header: {
            const int i = req_->find(pool.balance_key, in_);
            if (i >= 0) v = req_->field_value(size_t(i), in_);
            break;
        }
        case config::Balance::Cookie: v = cookie(pool.balance_key); break;
        default: {  // the tcp algorithms hash the client address
            static thread_local uint8_t buf[16];
            key.size = net::client_key_bytes(peer_, buf);
            key.data = buf;
            return key;
        }
    }
    key.data = reinterpret_cast<const uint8_t*>(v.data());
    key.size = v.size();
    return key;
}

void HttpSession::begin_request() {
    ctx_.timers().cancel(*this);
    request_start_ms_ = ctx_.now_ms();
    up_ = &ctx_.upstream(service);
    pool_ = service;
    up_->slot().http_requests.fetch_add(1, std::memory_order_relaxed);
    {
        const std::string_view method = req_->method_text.in(in_), target = req_->target.in(in_);
        const int n = snprintf(request_line_, sizeof request_line_, "%.*s %.*s", int(std::min<size_t>(method.size(), 32)),
                               method.data(), int(std::min<size_t>(target.size(), 256)), target.data());
        request_line_len_ = uint16_t(std::min<int>(std::max(n, 0), int(sizeof request_line_) - 1));
    }
    keep_client_ = req_->keep_alive() && !draining_;
    req_body_done_ = false;
    resp_head_done_ = resp_started_ = resp_done_ = false;
    server_reusable_ = true;
    status_ = 0;
    term_ = "--";
    bytes_to_server_ = bytes_to_client_ = 0;
    tried_ = worker::Upstream::Tried{};
    retried_reuse_ = false;
    attempts_ = 0;
    answer_keeps_ = false;
    sticky_server_ = -1;
    connect_ms_ = 0;
    route_ = -1;
    route_slot_ = nullptr;
    if (!plan_) plan_ = PlanPool::take();
    plan_->clear();
    if (req_->method == Method::Connect) {
        answer(405, "PR");
        return;
    }
    if (router_ && !route_request()) return;
    uint64_t max_body = cfg_.http.max_body_size;
    if (plan_->max_body_size > 0 && (max_body == 0 || plan_->max_body_size < max_body)) max_body = plan_->max_body_size;
    if (max_body > 0 && req_->body == Body::Length && req_->content_length > max_body) {
        answer(413, "PR");
        return;
    }
    body_limit_ = max_body;  // a chunked body is refused at the first chunk size going over it
    const std::string& sticky = up_->config().sticky_cookie;
    if (!sticky.empty()) sticky_server_ = up_->find_sticky(cookie(sticky));
    connect_server();
}

// An entry point's request: its route, then the route's middlewares (the
// entry point's first). False when the proxy answered itself.
bool HttpSession::route_request() {
    route_ = router_->match(*req_, in_);
    if (route_ == Router::kBadPath) {
        route_ = -1;
        answer(400, "PR");
        return false;
    }
    if (route_ == Router::kNoRoute) {
        route_ = -1;
        up_->slot().http_404_no_route.fetch_add(1, std::memory_order_relaxed);
        answer(404, "LR", {}, true);
        return false;
    }
    const config::Route& route = cfg_.routes[size_t(route_)];
    route_slot_ = ctx_.route_slot(service, uint32_t(route_));
    if (route_slot_) route_slot_->hits.fetch_add(1, std::memory_order_relaxed);
    if (!route.chain.empty()) {
        Request r;
        r.head = req_;
        r.buf = in_;
        r.host = router_->host();
        r.peer = &peer_;
        r.trusted = info_.trusted;
        r.tls = info_.tls;
        if (!ctx_.middlewares().on_request(route.chain, r, *plan_, ctx_.now_ms())) {
            count_denial();
            // the layers outside the one that answered still wrap it (their
            // response fields: security headers, the request id)
            plan_->answer_fields.append(plan_->response_add);
            answer(plan_->status, plan_->status >= 300 && plan_->status < 400 ? "LR" : "PR", plan_->answer_fields, true);
            return false;
        }
    }
    pool_ = route.service_index;
    up_ = &ctx_.upstream(pool_);
    up_->slot().http_requests.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void HttpSession::connect_server() {
    for (;;) {
        int32_t index = sticky_server_ >= 0 ? up_->pick_pinned(sticky_server_, tried_) : -1;
        if (index < 0) index = up_->pick(tried_, balancing_key(), ctx_.rng(), ctx_.lock_owner());
        if (index < 0) {
            if (tried_.count == 0) {
                up_->slot().no_server.fetch_add(1, std::memory_order_relaxed);
                answer(503, "SC");
            } else {
                answer(term_[0] == 's' ? 504 : 502, term_);
            }
            return;
        }
        server_index_ = index;
        kill_seq_ = up_->server(index).kill_seq.load(std::memory_order_relaxed);
        ctx_.session_server(session, int32_t(up_->server_slot(index)));
        // A pooled connection first; a request that fails on it before any
        // response byte gets one try on a fresh connection (end_request's
        // read_response handles that).
        if (!retried_reuse_) {
            uint32_t requests = 0;
            UniqueFd pooled = ctx_.server_pool().take(pool_, index, requests, server_io_);
            if (pooled) {
                server_ = std::move(pooled);
                reused_ = true;
                server_requests_ = requests;
                up_->slot().server_conns_reused.fetch_add(1, std::memory_order_relaxed);
                ctx_.poller().retarget(server_.get(), this);
                server_interest_ = kRead;  // as the pool watched it
                begin_exchange();
                return;
            }
        }
        reused_ = false;
        server_requests_ = 0;
        bool in_progress = false;
        int err = 0;
        server_ = net::connect_nonblocking(up_->server_config(index).address, in_progress, err);
        if (!server_ && net::is_local_error(err)) {
            ctx_.session_server(session, -1);
            server_index_ = -1;
            ctx_.local_shortage(pool_, index, err);
            answer(503, "RC");
            return;
        }
        if (!server_) {
            connect_failed(err, false);
            return;
        }
        up_->slot().server_conns_opened.fetch_add(1, std::memory_order_relaxed);
        // Over TLS, even a connect done at once goes on to a handshake.
        if (in_progress || ctx_.server_tls(pool_)) {
            phase_ = Phase::Connecting;
            ctx_.poller().add(server_.get(), kWrite, this);
            server_interest_ = kWrite;
            ctx_.timers().arm(*this, ctx_.now_ms() + up_->config().connect_timeout_ms);
            // The client is not read while connecting.
            set_interest(client_.get(), client_interest_, 0);
            return;
        }
        up_->connected(index);
        ctx_.poller().add(server_.get(), 0, this);
        server_interest_ = 0;
        begin_exchange();
        return;
    }
}

void HttpSession::on_connect_result(int err) {
    if (err == 0 && !server_io_.secure()) {
        if (const tls::ClientSide* side = ctx_.server_tls(pool_)) {
            // Connected: the TLS handshake follows, under the same connect_timeout.
            SSL* ssl = side->new_session(server_.get(), up_->server_config(server_index_).address_text);
            if (ssl) {
                server_io_ = tls::Stream(ssl);
                server_handshake();
                return;
            }
            err = ENOMEM;
        }
    }
    ctx_.timers().cancel(*this);
    if (err != 0) {
        ctx_.poller().forget(server_.get());
        server_interest_ = 0;
        server_io_.reset();
        server_.reset();
        connect_failed(err, false);
        return;
    }
    up_->connected(server_index_);
    begin_exchange();
    progress();
}

// One step of the TLS handshake with a server; a failure is a connect
// failure (counted on the server, retried elsewhere under `retries`).
void HttpSession::server_handshake() {
    tls::Failure why = tls::Failure::Other;
    const int r = server_io_.handshake(why);
    if (r == 0) {
        set_interest(server_.get(), server_interest_, server_io_.wants());
        return;
    }
    if (r < 0) {
        up_->slot().tls_server_failures.fetch_add(1, std::memory_order_relaxed);
        LOG_WARN("%s/%s: TLS handshake failed: %s", up_->config().name.c_str(), up_->server(server_index_).name,
                 tls::failure_name(why));
        on_connect_result(EPROTO);
        return;
    }
    on_connect_result(0);
}

void HttpSession::connect_failed(int err, bool timeout) {
    ctx_.session_server(session, -1);
    const int32_t index = server_index_;
    server_index_ = -1;
    term_ = timeout ? "sC" : "SC";
    if (!up_->failed(index, err, timeout, ctx_.now_ms(), tried_.count)) {
        answer(timeout ? 504 : 502, term_);
        return;
    }
    connect_server();
    if (!closed) progress();
}

// ---- one exchange: request out, response back ------------------------------------

void HttpSession::begin_exchange() {
    phase_ = Phase::Exchange;
    if (!resp_) resp_ = HeadPool::take();
    if (!connect_ms_) connect_ms_ = ctx_.now_ms();
    ensure(to_server_);
    to_server_.start = to_server_.end = 0;
    HeadEdits edits;
    if (plan_->path_set) edits.path = plan_->path;
    edits.remove = plan_->request_remove;
    edits.add = plan_->request_add;
    const size_t n = write_request_head(in_, *req_, info_, to_server_.buf, kBuf, edits);
    if (n == 0) {
        answer(431, "PR");
        return;
    }
    to_server_.end = uint32_t(n);
    in_used_ = req_->length;
    switch (req_->body) {
        case Body::Length:
            req_remaining_ = req_->content_length;
            req_body_done_ = req_remaining_ == 0;
            break;
        case Body::Chunked: req_chunks_.reset(ChunkedTranscoder::Output::Chunked); break;
        default: req_body_done_ = true; break;
    }
    resp_parser_.reset(HeadParser::Kind::Response, kBuf, req_->method);
    slen_ = sused_ = 0;
    server_readable_ = false;
    ctx_.timers().arm(*this, ctx_.now_ms() + up_->config().http.server_timeout_ms);
}

bool HttpSession::exchange() {
    bool moved = false;
    if (to_server_.pending()) {
        const uint32_t before = to_server_.start;
        if (!flush(to_server_, server_.get(), true)) return false;
        moved |= to_server_.start != before || !to_server_.pending();
    }
    if (!req_body_done_) moved |= fill_request_body();
    else if (client_readable_ && !client_eof_ && in_len_ < in_cap_) {
        // The client stays watched while its answer is under way, so the
        // interest need not change per request: what it sends now is its
        // next (pipelined) request, kept for later, or its close.
        const ssize_t n = recv_from(client_.get(), in_ + in_len_, in_cap_ - in_len_, client_readable_);
        if (n > 0) {
            in_len_ += uint32_t(n);
            moved = true;
        } else if (n == 0) {
            client_eof_ = true;  // it still gets its answer, then the connection closes
            keep_client_ = false;
        } else if (client_readable_) {
            abort("CD");
            return false;
        }
    }
    if (closed) return false;
    if (!resp_done_) moved |= read_response();
    if (closed || phase_ != Phase::Exchange) return !closed;
    if (to_client_.pending()) {
        const uint32_t before = to_client_.start;
        if (!flush(to_client_, client_.get(), false)) return false;
        moved |= to_client_.start != before;
    }
    if (resp_done_ && !to_client_.pending() && (req_body_done_ || !keep_client_) && !to_server_.pending()) {
        end_request();
        return true;
    }
    return moved;
}

// Where more bytes for `o` can go, and how many; nullptr when it is too full
// to be worth a read.
char* HttpSession::room(Out& o, size_t& space) {
    ensure(o);
    if (o.start == o.end) o.start = o.end = 0;
    else compact(o);
    space = kBuf - o.end;
    return space < 64 ? nullptr : o.buf + o.end;
}

bool HttpSession::fill_request_body() {
    size_t space = 0;
    char* out = room(to_server_, space);
    if (!out) return false;
    if (req_->body == Body::Length) {
        const size_t avail = in_len_ - in_used_;
        if (avail > 0) {
            const size_t take = size_t(std::min<uint64_t>({avail, req_remaining_, space}));
            std::memcpy(out, in_ + in_used_, take);
            in_used_ += uint32_t(take);
            to_server_.end += uint32_t(take);
            req_remaining_ -= take;
        } else if (client_readable_) {
            const ssize_t n = recv_from(client_.get(), out, size_t(std::min<uint64_t>(space, req_remaining_)),
                                        client_readable_);
            if (n == 0 || (n < 0 && client_readable_)) {
                abort("CD");  // the client left in the middle of its body
                return false;
            }
            if (n < 0) return false;
            to_server_.end += uint32_t(n);
            req_remaining_ -= uint64_t(n);
        } else {
            return false;
        }
        if (req_remaining_ == 0) req_body_done_ = true;
        return true;
    }
    // chunked: decode what the client sent, re-frame it canonically
    if (in_used_ == in_len_) {
        if (!client_readable_) return false;
        in_used_ = in_len_ = req_->length = 0;  // the head was sent: its bytes are free
        const ssize_t n = recv_from(client_.get(), in_, in_cap_, client_readable_);
        if (n == 0 || (n < 0 && client_readable_)) {
            abort("CD");
            return false;
        }
        if (n < 0) return false;
        in_len_ = uint32_t(n);
    }
    const ChunkedTranscoder::Result r = req_chunks_.feed(in_ + in_used_, in_len_ - in_used_, out, space);
    in_used_ += uint32_t(r.consumed);
    to_server_.end += uint32_t(r.produced);
    const bool too_large = body_limit_ > 0 && req_chunks_.announced() > body_limit_;
    if (r.error || too_large) {
        // the server has part of the body: its connection is reset by the answer
        if (!resp_started_) answer(too_large ? 413 : 400, "PR");
        else abort("CD");
        return false;
    }
    if (r.done) req_body_done_ = true;
    return r.consumed > 0 || r.produced > 0;
}

bool HttpSession::read_response() {
    if (!resp_head_done_) {
        if (!sbuf_) sbuf_ = ctx_.buffers().take();
        // A head may already be waiting after a 1xx.
        if (slen_ > sused_) {
            const Parse p = resp_parser_.parse(sbuf_ + sused_, slen_ - sused_, *resp_);
            if (p == Parse::Done) return on_response_head();
            if (p == Parse::Error) {
                LOG_INFO("%s/%s: invalid response: %s", cfg_.name.c_str(), up_->server(server_index_).name,
                         resp_parser_.error_reason());
                server_reusable_ = false;
                answer(502, "PH");
                return false;
            }
        }
        if (!server_readable_) return false;
        if (sused_ > 0) {  // keep the head being read at the front
            std::memmove(sbuf_, sbuf_ + sused_, slen_ - sused_);
            slen_ -= sused_;
            sused_ = 0;
        }
        if (slen_ >= kBuf) {
            server_reusable_ = false;
            answer(502, "PH");
            return false;
        }
        const ssize_t n = recv_from(server_.get(), sbuf_ + slen_, kBuf - slen_, server_readable_);
        if (n > 0) {
            slen_ += uint32_t(n);
            return true;
        }
        if (n < 0 && !server_readable_) return false;  // EAGAIN
        // Closed (or reset) before a whole response head.
        server_reusable_ = false;
        const bool nothing_yet = slen_ == 0 && !resp_started_;
        // Only a body still whole in the input buffer can be sent again.
        const bool replayable = req_->body == Body::None ||
                                (req_->body == Body::Length && req_->length + req_->content_length <= in_len_);
        if (reused_ && nothing_yet && !retried_reuse_ && replayable &&
            (idempotent(req_->method) || req_->body == Body::None)) {
            // The server closed a pooled connection just as we used it: one
            // more try on a fresh connection (not counted as a retry).
            retried_reuse_ = true;
            ctx_.poller().forget(server_.get());
            server_interest_ = 0;
            server_io_.reset();
            server_.reset();
            const int32_t index = server_index_;
            tried_.count = 0;
            up_->release(index);
            ctx_.session_server(session, -1);
            server_index_ = -1;
            connect_server();
            return !closed;
        }
        if (nothing_yet && replayable && idempotent(req_->method) && ++attempts_ < plan_->attempts) {
            // The retry middleware: an idempotent request the server dropped
            // without a byte of answer goes to another server.
            LOG_DEBUG("%s/%s: closed before answering; retrying elsewhere", up_->config().name.c_str(),
                      up_->server(server_index_).name);
            up_->server(server_index_).retries.fetch_add(1, std::memory_order_relaxed);
            release_server(false);
            term_ = "SH";
            connect_server();
            return !closed;
        }
        answer(502, "SH");
        return false;
    }
    return relay_response_body();
}

bool HttpSession::on_response_head() {
    const uint32_t head_len = resp_->length;
    const int status = resp_->status;
    if (status >= 100 && status < 200 && status != 101) {
        // Interim: to a 1.1 client only; then read on to the final response.
        if (req_->version_minor >= 1) {
            ensure(to_client_);
            compact(to_client_);
            ResponseInfo ri;
            ri.client_minor = req_->version_minor;
            const size_t n = write_response_head(sbuf_ + sused_, *resp_, ri, to_client_.buf + to_client_.end,
                                                 kBuf - to_client_.end);
            to_client_.end += uint32_t(n);
        }
        sused_ += head_len;
        resp_parser_.reset(HeadParser::Kind::Response, kBuf, req_->method);
        return true;
    }
    if (status == 101) {
        if (req_->upgrade_websocket && resp_->upgrade_websocket) {
            start_tunnel();
            return false;
        }
        server_reusable_ = false;
        answer(502, "PH");
        return false;
    }
    resp_head_done_ = true;
    ctx_.timers().arm(*this, ctx_.now_ms() + up_->config().http.server_timeout_ms);
    // The client keeps its connection only when it asked to, the response
    // ends by its framing, and the request body is all read.
    ResponseInfo ri;
    ri.client_minor = req_->version_minor;
    ri.dechunk = resp_->body == Body::Chunked && req_->version_minor == 0;
    if (resp_->body == Body::UntilClose || ri.dechunk || !req_body_done_) keep_client_ = false;
    ri.keep_alive = keep_client_;
    if (!resp_->keep_alive() || resp_->version_minor == 0 || resp_->no_reuse) server_reusable_ = false;
    // A sticky pool pins the client to this server, unless its cookie
    // already does (research/http.md §8: a cookie naming a server that is
    // down gets replaced).
    const std::string& sticky = up_->config().sticky_cookie;
    if (!sticky.empty() && sticky_server_ != server_index_) {
        plan_->response_add.append("Set-Cookie: ").append(sticky).append("=");
        plan_->response_add.append(up_->sticky_id(server_index_)).append("; Path=/; HttpOnly\r\n");
    }
    HeadEdits edits;
    edits.remove = plan_->response_remove;
    edits.add = plan_->response_add;
    ensure(to_client_);
    compact(to_client_);
    const size_t n = write_response_head(sbuf_ + sused_, *resp_, ri, to_client_.buf + to_client_.end,
                                         kBuf - to_client_.end, edits);
    if (n == 0) {
        server_reusable_ = false;
        answer(502, "PH");
        return false;
    }
    to_client_.end += uint32_t(n);
    resp_started_ = true;
    status_ = status;
    count_response(status);
    sused_ += head_len;
    switch (resp_->body) {
        case Body::None:
            resp_done_ = true;
            if (slen_ > sused_) server_reusable_ = false;  // bytes nobody asked for
            break;
        case Body::Length:
            resp_remaining_ = resp_->content_length;
            resp_done_ = resp_remaining_ == 0;
            if (resp_done_ && slen_ > sused_) server_reusable_ = false;
            break;
        case Body::Chunked:
            resp_chunks_.reset(ri.dechunk ? ChunkedTranscoder::Output::Plain : ChunkedTranscoder::Output::Chunked);
            break;
        case Body::UntilClose: server_reusable_ = false; break;
    }
    // Body bytes that came with the head join it, so head and body leave in
    // one send.
    if (!resp_done_ && slen_ > sused_) relay_response_body();
    return true;
}

bool HttpSession::relay_response_body() {
    size_t space = 0;
    char* out = room(to_client_, space);
    if (!out) return false;
    const size_t avail = slen_ - sused_;
    if (resp_->body == Body::Chunked) {
        if (avail == 0) {
            if (!server_readable_) return false;
            slen_ = sused_ = 0;
            const ssize_t n = recv_from(server_.get(), sbuf_, kBuf, server_readable_);
            if (n == 0 || (n < 0 && server_readable_)) {
                server_reusable_ = false;
                abort("SD");
                return false;
            }
            if (n < 0) return false;
            slen_ = uint32_t(n);
            ctx_.timers().arm(*this, ctx_.now_ms() + up_->config().http.server_timeout_ms);
        }
        const ChunkedTranscoder::Result r = resp_chunks_.feed(sbuf_ + sused_, slen_ - sused_, out, space);
        sused_ += uint32_t(r.consumed);
        to_client_.end += uint32_t(r.produced);
        if (r.error) {
            server_reusable_ = false;
            abort("SD");
            return false;
        }
        if (r.done) {
            resp_done_ = true;
            if (slen_ > sused_) server_reusable_ = false;
        }
        return r.consumed > 0 || r.produced > 0;
    }
    // Length or UntilClose: bytes as they are.
    const bool until_close = resp_->body == Body::UntilClose;
    const uint64_t want = until_close ? space : std::min<uint64_t>(space, resp_remaining_);
    if (avail > 0) {
        const size_t take = size_t(std::min<uint64_t>(avail, want));
        std::memcpy(out, sbuf_ + sused_, take);
        sused_ += uint32_t(take);
        to_client_.end += uint32_t(take);
        if (!until_close) resp_remaining_ -= take;
    } else {
        if (!server_readable_) return false;
        const ssize_t n = recv_from(server_.get(), out, size_t(want), server_readable_);
        if (n < 0 && !server_readable_) return false;
        if (n <= 0) {
            server_reusable_ = false;
            if (until_close && n == 0) {  // the end of this response
                resp_done_ = true;
                return true;
            }
            abort("SD");
            return false;
        }
        to_client_.end += uint32_t(n);
        if (!until_close) resp_remaining_ -= uint64_t(n);
        ctx_.timers().arm(*this, ctx_.now_ms() + up_->config().http.server_timeout_ms);
    }
    if (!until_close && resp_remaining_ == 0) {
        resp_done_ = true;
        if (slen_ > sused_) server_reusable_ = false;  // more than the response said
    }
    return true;
}

void HttpSession::end_request() {
    ctx_.timers().cancel(*this);
    release_server(server_reusable_ && req_body_done_ && resp_done_);
    log_request();
    if (!keep_client_ || client_eof_) {
        if (client_eof_) finish();
        else linger();
        return;
    }
    next_request();
}

// The connection stays for the client's next request.
void HttpSession::next_request() {
    // Pipelined bytes already here move to the front.
    if (in_used_ < in_len_) std::memmove(in_, in_ + in_used_, in_len_ - in_used_);
    in_len_ -= in_used_;
    in_used_ = 0;
    give(to_server_);
    give(to_client_);
    if (sbuf_) ctx_.buffers().give(sbuf_);
    sbuf_ = nullptr;
    slen_ = sused_ = 0;
    HeadPool::give(req_);
    HeadPool::give(resp_);
    PlanPool::give(plan_);
    begin_read_head(cfg_.http.keepalive_timeout_ms);
}

// The server connection goes back to the pool when it finished both messages
// cleanly; otherwise it is closed. Either way the server is released.
void HttpSession::release_server(bool reusable) {
    if (server_index_ < 0) return;
    if (server_) {
        if (reusable) {
            ctx_.server_pool().give(pool_, server_index_, std::move(server_), std::move(server_io_),
                                    server_requests_ + 1, server_interest_);
        } else {
            // Done with (or giving up on) this connection: what is still in
            // flight does not matter, and a reset leaves no TIME_WAIT here.
            ctx_.poller().forget(server_.get());
            net::close_with_reset(server_);
        }
        server_io_.reset();
        server_.reset();
    }
    server_interest_ = 0;
    up_->release(server_index_);
    ctx_.session_server(session, -1);
    server_index_ = -1;
}

// A 101 to a WebSocket request: the head goes to the client, and both
// sockets become a plain relay with what each side already sent.
void HttpSession::start_tunnel() {
    ensure(to_client_);
    compact(to_client_);
    ResponseInfo ri;
    ri.client_minor = req_->version_minor;
    ri.upgrade = true;
    const size_t n = write_response_head(sbuf_ + sused_, *resp_, ri, to_client_.buf + to_client_.end,
                                         kBuf - to_client_.end);
    to_client_.end += uint32_t(n);
    sused_ += resp_->length;
    const size_t extra = std::min<size_t>(slen_ - sused_, kBuf - to_client_.end);
    std::memcpy(to_client_.buf + to_client_.end, sbuf_ + sused_, extra);
    to_client_.end += uint32_t(extra);
    status_ = 101;
    count_response(101);
    log_request();
    // What the client sent after its request head, and what is left of the
    // request head itself, go first.
    std::string to_server_bytes(to_server_.buf ? to_server_.buf + to_server_.start : "",
                                to_server_.buf ? to_server_.end - to_server_.start : 0);
    to_server_bytes.append(in_ + in_used_, in_len_ - in_used_);
    if (to_server_bytes.size() > kBuf) {  // more early frames than a relay buffer holds
        LOG_INFO("%s: %zu bytes sent before the upgrade completed; closing", cfg_.name.c_str(), to_server_bytes.size());
        abort("PR");
        return;
    }
    ctx_.timers().cancel(*this);
    ctx_.poller().remove(client_.get());
    ctx_.poller().remove(server_.get());
    worker::TunnelStart t;
    t.service = pool_;  // the tunnel holds a server of the pool (the entry point has none)
    t.session = session;
    session = -1;  // the tunnel carries on with the shared session slot
    t.client = std::move(client_);
    t.client_io = std::move(client_io_);
    t.client_addr = peer_;
    t.server = std::move(server_);
    t.server_io = std::move(server_io_);
    t.server_index = server_index_;
    server_index_ = -1;  // and with the server's active unit
    t.to_server = to_server_bytes;
    t.to_client = std::string_view(to_client_.buf + to_client_.start, to_client_.end - to_client_.start);
    t.accepted_ms = accepted_ms_;
    ctx_.start_tunnel(std::move(t));
    finish();
}

// ---- answers made by the proxy, and ends ---------------------------------------

// `keep`: the answer does not end the connection when nothing of the request
// is left unread (no body) and the client keeps it (the gateway's 404, 3xx,
// 401, 403, 429); any other answer closes it.
void HttpSession::answer(int status, const char* term, std::string_view extra, bool keep) {
    term_ = term;
    if (resp_started_) {  // the client already has part of another answer
        abort(term);
        return;
    }
    release_server(false);
    if (status == 502) up_->slot().http_502.fetch_add(1, std::memory_order_relaxed);
    else if (status == 503) up_->slot().http_503.fetch_add(1, std::memory_order_relaxed);
    else if (status == 504) up_->slot().http_504.fetch_add(1, std::memory_order_relaxed);
    status_ = status;
    count_response(status);
    give(to_server_);
    ensure(to_client_);
    to_client_.start = to_client_.end = 0;
    // Otherwise the connection cannot go on: what the client sends next (a
    // body, the rest of a bad head) would be read as a request.
    answer_keeps_ = keep && keep_client_ && req_ && req_->body == Body::None;
    keep_client_ = answer_keeps_;
    if (answer_keeps_) in_used_ = req_->length;
    const bool head = req_ && req_->method == Method::Head && parser_.error_status() == 0;
    to_client_.end = uint32_t(write_error(status, !answer_keeps_, head, extra, to_client_.buf, kBuf));
    if (request_start_ms_ == 0) request_start_ms_ = ctx_.now_ms();
    log_request();
    ctx_.timers().arm(*this, ctx_.now_ms() + up_->config().http.server_timeout_ms);
    phase_ = Phase::Closing;
    set_interest(client_.get(), client_interest_, kWrite);
}

void HttpSession::abort(const char* term) {
    if (closed) return;
    if (term_[0] == '-' || term[0] != '-') term_ = term;
    if (phase_ == Phase::Connecting || phase_ == Phase::Exchange) log_request();  // a request broken off
    release_server(false);
    finish();
}

void HttpSession::finish() {
    if (closed) return;
    ctx_.timers().cancel(*this);
    release_server(false);
    if (server_) {
        ctx_.poller().forget(server_.get());
        server_io_.reset();
        net::close_with_reset(server_);
    }
    if (client_) {
        ctx_.poller().forget(client_.get());
        client_io_.reset();
        client_.reset();
    }
    release_buffers();
    HeadPool::give(req_);
    HeadPool::give(resp_);
    PlanPool::give(plan_);
    ctx_.finished(*this);
}

// ---- plumbing -----------------------------------------------------------------

ssize_t HttpSession::recv_from(int fd, char* into, size_t n, bool& readable) {
    tls::Stream& io = fd == client_.get() ? client_io_ : server_io_;
    const ssize_t got = io.recv(fd, into, n);
    if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) readable = false;
        return -1;
    }
    // A short read has most likely emptied the socket: wait for the poller
    // instead of paying an EAGAIN. Decrypted bytes still inside a TLS
    // session raise no event: those are read now.
    if (size_t(got) < n && !io.pending()) readable = false;
    if (got > 0) {
        ctx_.session_bytes(session, fd == client_.get() ? uint64_t(got) : 0, fd == client_.get() ? 0 : uint64_t(got));
    }
    return got;
}

bool HttpSession::flush(Out& o, int fd, bool to_server) {
    while (o.pending()) {
        const ssize_t n = (to_server ? server_io_ : client_io_).send(fd, o.buf + o.start, o.end - o.start);
        if (n > 0) {
            o.start += uint32_t(n);
            if (to_server) {
                bytes_to_server_ += uint64_t(n);
                count_bytes(uint64_t(n), 0);
            } else {
                bytes_to_client_ += uint64_t(n);
                count_bytes(0, uint64_t(n));
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        if (n < 0 && errno == EINTR) continue;
        if (to_server) {
            // A pooled connection the server had closed: answered by the
            // read side (one retry on a fresh connection, or 502).
            server_reusable_ = false;
            o.start = o.end;
            server_readable_ = true;
            return true;
        }
        abort("CD");
        return false;
    }
    o.start = o.end = 0;
    return true;
}

void HttpSession::count_bytes(uint64_t to_server, uint64_t to_client) {
    if (server_index_ < 0) return;
    shm::ServerSlot& s = up_->server(server_index_);
    if (to_server) s.bytes_in.fetch_add(to_server, std::memory_order_relaxed);
    if (to_client) s.bytes_out.fetch_add(to_client, std::memory_order_relaxed);
}

// Into the service that accepted the client, the route's pool and the route.
void HttpSession::count_response(int status) {
    const int cls = status / 100;
    if (cls < 1 || cls > 5) return;
    ctx_.upstream(service).slot().http_responses[cls - 1].fetch_add(1, std::memory_order_relaxed);
    if (pool_ != service) up_->slot().http_responses[cls - 1].fetch_add(1, std::memory_order_relaxed);
    if (route_slot_) route_slot_->http_responses[cls - 1].fetch_add(1, std::memory_order_relaxed);
}

// A middleware answered instead of the server: a denial, unless it redirected.
void HttpSession::count_denial() {
    if (plan_->status >= 300 && plan_->status < 400) return;
    if (plan_->answered_by >= 0)
        if (shm::MiddlewareSlot* m = ctx_.middleware_slot(uint32_t(plan_->answered_by)))
            m->denials.fetch_add(1, std::memory_order_relaxed);
    if (!route_slot_) return;
    if (plan_->status == 401) route_slot_->http_401.fetch_add(1, std::memory_order_relaxed);
    else if (plan_->status == 403) route_slot_->http_403.fetch_add(1, std::memory_order_relaxed);
    else if (plan_->status == 429) route_slot_->http_429.fetch_add(1, std::memory_order_relaxed);
}

void HttpSession::set_interest(int fd, uint32_t& current, uint32_t wanted) {
    if (wanted == current) return;
    ctx_.poller().modify(fd, wanted);
    current = wanted;
}

// The client is read while a head is awaited or its body is forwarded (and
// there is room for it); the server while its response is awaited (room
// again). Each is written while bytes wait for it.
void HttpSession::update_interest() {
    uint32_t ci = to_client_.pending() ? kWrite : 0;
    uint32_t si = to_server_.pending() ? kWrite : 0;
    // Level-triggered: asking for a side we still think readable (a turn
    // limit ended the batch) only brings the next event sooner.
    if (phase_ == Phase::ReadHead && in_len_ < in_cap_) ci |= kRead;
    if (phase_ == Phase::Lingering) ci |= kRead;
    if (phase_ == Phase::Exchange) {
        if (req_body_done_ ? !client_eof_ && in_len_ < in_cap_ : !to_server_.pending()) ci |= kRead;
        if (!resp_done_ && !to_client_.pending()) si |= kRead;
    }
    // A blocked TLS call adds the direction it waits for.
    set_interest(client_.get(), client_interest_, ci | client_io_.wants());
    if (server_) set_interest(server_.get(), server_interest_, si | server_io_.wants());
}

// One line per request: time, client, service/server, request line, status,
// bytes each way, connect and total time, termination code.
void HttpSession::log_request() {
    if (!ctx_.access_log_enabled()) return;
    const log::Stamp stamp = log::utc_stamp(wall_ms());
    const char* server = tried_.count > 0 ? up_->server_config(int32_t(tried_.index[tried_.count - 1])).name.c_str()
                                          : "<NOSRV>";
    const uint64_t now = ctx_.now_ms();
    // An entry point's request names its pool and route too, and the
    // request_id middleware's id: "www/api/s1 ... route=2 request_id=..."
    char routed[160] = "";
    if (router_) {
        if (pool_ != service)
            snprintf(routed, sizeof routed, "/%s", up_->config().name.c_str());
    }
    char extra[96] = "";
    int extra_len = 0;
    if (route_ >= 0) extra_len = snprintf(extra, sizeof extra, "route=%d ", route_ + 1);
    if (plan_ && !plan_->request_id.empty() && extra_len >= 0 && size_t(extra_len) < sizeof extra)
        snprintf(extra + extra_len, sizeof extra - size_t(extra_len), "request_id=%.40s ", plan_->request_id.c_str());
    char line[1024];
    const int n = snprintf(line, sizeof line,
                           "%s %s %s%s/%s \"%.*s HTTP/1.%d\" %d request_bytes=%llu response_bytes=%llu "
                           "connect_ms=%lld duration_ms=%llu %s%s\n",
                           stamp.text, net::format_address(peer_).c_str(), cfg_.name.c_str(), routed, server,
                           int(request_line_len_), request_line_, req_ ? int(req_->version_minor) : 1, status_,
                           (unsigned long long)bytes_to_server_, (unsigned long long)bytes_to_client_,
                           connect_ms_ ? (long long)(connect_ms_ - request_start_ms_) : -1LL,
                           (unsigned long long)(now - request_start_ms_), extra, term_);
    if (n > 0) ctx_.access_log(std::string_view(line, size_t(std::min<int>(n, int(sizeof line) - 1))));
}

}  // namespace

std::unique_ptr<Session> make_session(worker::Context& ctx, uint32_t service, UniqueFd client,
                                      const net::Address& peer, tls::Stream io) {
    return std::make_unique<HttpSession>(ctx, service, std::move(client), peer, std::move(io));
}

}  // namespace ep::http
