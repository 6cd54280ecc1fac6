// stats_server.cpp: the stats endpoint (global.stats.listen): a small HTTP/1.1
// server run by the master's poll() loop. One request per connection, every
// socket non-blocking, every client bounded in bytes and time, so a slow or
// hostile peer costs one buffer and a few seconds, never a stalled master,
// and slow peers give up their slots to newcomers before a real request waits.
#include "master/stats_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config.h"
#include "master/dashboard_html.hpp"
#include "net/address.hpp"
#include "net/http_request.hpp"
#include "net/socket.hpp"
#include "stats/format.hpp"
#include "stats/snapshot.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace ep::master {

namespace {

// When every slot is taken, a newcomer takes the slot of the oldest client
// still sending its request head (slowloris: many connections each trickling
// half a head); a client whose request is whole is never closed for it. When
// no slot can be freed, the newcomer is told 503. (A scraper's head follows
// its connect at once, so it is read long before 63 newer clients push it
// to the front; only a connect flood, not slow clients, can close it unread.)
constexpr size_t kMaxClients = 64;
// From accept to a whole request head. A scraper or browser sends its head
// right after connecting, so this only bounds how long a trickling client
// holds its slot when nobody needs it.
constexpr uint64_t kRequestDeadlineMs = 2000;
constexpr uint64_t kWriteDeadlineMs = 10000;   // to take the whole answer
constexpr uint64_t kLingerMs = 2000;           // see Phase::Lingering
constexpr int kAcceptsPerWakeup = 64;      // a connect flood must not starve the loop
constexpr uint64_t kAcceptPauseMs = 100;   // after running out of descriptors

// ---- responses ---------------------------------------------------------------

const char* reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 414: return "URI Too Long";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
    }
    return "Error";
}

// IMF-fixdate (RFC 9110 §5.6.7), written by hand so no locale can change it.
std::string http_date() {
    static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const time_t now = ::time(nullptr);
    struct tm tm {};
    ::gmtime_r(&now, &tm);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
                  months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

// Every answer closes the connection: a dashboard asks once every few
// seconds, so keep-alive would save little and cost a slot per idle browser.
std::string response(int status, std::string_view content_type, std::string_view body, bool head_only,
                     std::string_view extra_headers = {}) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
    out += "Date: " + http_date() + "\r\n";
    out += "Server: easyproxy/" PACKAGE_VERSION "\r\n";
    out += "Content-Type: ";
    out += content_type;
    out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    out += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n";
    out += extra_headers;
    out += "\r\n";
    if (!head_only) out += body;
    return out;
}

std::string error_response(int status, bool head_only) {
    const std::string body = std::to_string(status) + " " + reason(status) + "\n";
    return response(status, "text/plain; charset=utf-8", body, head_only,
                    status == 405 ? "Allow: GET, HEAD\r\n" : "");
}

// The page may run only its own inline script and fetch only from here.
constexpr std::string_view kDashboardHeaders =
    "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
    "Referrer-Policy: no-referrer\r\n";

// ---- access ------------------------------------------------------------------

bool is_loopback(const net::Address& a) {
    if (a.family() == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(a.sa());
        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
    if (a.family() == AF_INET6) {
        const in6_addr& in6 = reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&in6)) return true;
        return IN6_IS_ADDR_V4MAPPED(&in6) && in6.s6_addr[12] == 127;
    }
    return false;
}

// ---- clients -----------------------------------------------------------------

enum class Phase {
    Reading,    // collecting the request head
    Writing,    // sending the answer
    Lingering,  // answer sent and our side shut: reading what the client still
                // sends until it closes, because closing with unread input
                // would reset the connection and could destroy the answer
};

struct Client {
    UniqueFd fd;
    std::string peer;  // "127.0.0.1:40312", for logs
    bool allowed = false;
    Phase phase = Phase::Reading;
    std::string in;
    std::string out;
    size_t sent = 0;
    uint64_t deadline_ms = 0;
};

}  // namespace

struct StatsServer::Impl {
    const shm::Segment& seg;
    net::Address listen;
    std::string listen_text;
    std::vector<net::Cidr> allow;
    UniqueFd listener;
    uint64_t accept_paused_until_ms = 0;  // after EMFILE/ENFILE
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<Client*> polled;  // the clients append_pollfds() handed out, in order

    explicit Impl(const shm::Segment& s) : seg(s) {}

    // Access rule: with stats.allow, exactly those ranges. Without it, the
    // endpoint is open to whoever can reach it only when it listens on a
    // loopback address; on any other address (0.0.0.0, a LAN address) only
    // loopback clients get in, so turning it on never publishes the service
    // layout to a network by accident.
    bool allowed(const net::Address& peer) const {
        if (!allow.empty()) {
            for (const net::Cidr& c : allow)
                if (c.contains(peer)) return true;
            return false;
        }
        return is_loopback(listen) || is_loopback(peer);
    }

    void describe_access() const {
        if (!allow.empty())
            LOG_INFO("stats endpoint http://%s/: %zu allowed address range%s", listen_text.c_str(), allow.size(),
                     allow.size() == 1 ? "" : "s");
        else if (!is_loopback(listen))
            LOG_NOTICE("stats endpoint http://%s/ answers loopback clients only; global.stats.allow opens it to others",
                       listen_text.c_str());
        else
            LOG_INFO("stats endpoint http://%s/", listen_text.c_str());
    }

    void expire(uint64_t now_ms);
    void accept_clients(uint64_t now_ms);
    bool make_room(uint64_t now_ms);
    void read_from(Client& c, uint64_t now_ms);
    void answer(Client& c, uint64_t now_ms);
    void flush(Client& c, uint64_t now_ms);
    void drain_input(Client& c);
    std::string route(const net::HttpRequest& req, int& status) const;
};

// Closes the clients past their deadline and forgets the closed ones.
void StatsServer::Impl::expire(uint64_t now_ms) {
    for (auto& c : clients)
        if (c->fd && now_ms >= c->deadline_ms) {
            if (c->phase != Phase::Lingering)
                LOG_DEBUG("stats endpoint: %s too slow %s, closed", c->peer.c_str(),
                          c->phase == Phase::Reading ? "sending its request" : "reading the answer");
            c->fd.reset();
        }
    std::erase_if(clients, [](const std::unique_ptr<Client>& c) { return !c->fd; });
}

void StatsServer::Impl::accept_clients(uint64_t now_ms) {
    for (int i = 0; i < kAcceptsPerWakeup; ++i) {
        net::Address peer;
        peer.length = sizeof peer.storage;
        UniqueFd fd(::accept4(listener.get(), peer.sa(), &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                LOG_WARN("stats endpoint %s: accept: %s", listen_text.c_str(), std::strerror(errno));
                // EMFILE and friends: the connection stays queued and the
                // listener readable; stop watching it a moment, not spin.
                accept_paused_until_ms = monotonic_ms() + kAcceptPauseMs;
            }
            return;
        }
        const std::string peer_text = net::format_address(peer);
        if (clients.size() >= kMaxClients && !make_room(now_ms)) {
            // Best effort: the answer fits any socket buffer; whoever is
            // turned away retries, as Retry-After says.
            LOG_DEBUG("stats endpoint: %s turned away, %zu clients already connected", peer_text.c_str(),
                      kMaxClients);
            const std::string busy = response(503, "text/plain; charset=utf-8", "503 Service Unavailable\n", false,
                                              "Retry-After: 1\r\n");
            const ssize_t n = ::send(fd.get(), busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)n;
            continue;
        }
        auto c = std::make_unique<Client>();
        c->fd = std::move(fd);
        c->peer = peer_text;
        c->allowed = allowed(peer);
        c->deadline_ms = now_ms + kRequestDeadlineMs;
        clients.push_back(std::move(c));
    }
}

// Frees a slot by closing the oldest client still in its request head.
// Whatever it has sent by now is read first: a client whose head is whole by
// then is answered, not closed. False when every client is past its head.
bool StatsServer::Impl::make_room(uint64_t now_ms) {
    for (;;) {
        // Clients are kept in accept order: the first one reading is the oldest.
        const auto oldest = std::find_if(clients.begin(), clients.end(), [](const std::unique_ptr<Client>& c) {
            return c->fd && c->phase == Phase::Reading;
        });
        if (oldest == clients.end()) return false;
        Client& c = **oldest;
        read_from(c, now_ms);
        if (c.fd && c.phase == Phase::Reading) {
            LOG_DEBUG("stats endpoint: %s closed with its request unfinished, to make room for a new client",
                      c.peer.c_str());
            c.fd.reset();
        }
        if (!c.fd) {
            clients.erase(oldest);
            return true;
        }
    }
}

void StatsServer::Impl::read_from(Client& c, uint64_t now_ms) {
    char buf[4096];
    for (;;) {
        // One byte past the limit is enough to know the head is too large.
        const size_t room = net::kMaxRequestHead + 1 - c.in.size();
        const ssize_t n = ::recv(c.fd.get(), buf, std::min(room, sizeof buf), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                LOG_DEBUG("stats endpoint: %s: recv: %s", c.peer.c_str(), std::strerror(errno));
                c.fd.reset();
            }
            return;
        }
        if (n == 0) {
            if (!c.in.empty()) LOG_DEBUG("stats endpoint: %s closed in the middle of a request", c.peer.c_str());
            c.fd.reset();
            return;
        }
        c.in.append(buf, size_t(n));
        net::HttpRequest req;
        const net::HeadResult head = net::parse_request_head(c.in, req);
        if (head.status != net::HeadStatus::NeedMore || c.in.size() > net::kMaxRequestHead) {
            answer(c, now_ms);
            return;
        }
    }
}

// Builds the answer to the head in c.in (or to its error) and starts sending.
void StatsServer::Impl::answer(Client& c, uint64_t now_ms) {
    net::HttpRequest req;
    const net::HeadResult head = net::parse_request_head(c.in, req);
    int status = head.http_status();
    const char* why = head.reason;
    if (head.status == net::HeadStatus::NeedMore) {  // only reached with a full buffer
        status = 431;
        why = "no whole head in a full buffer";
    } else if (status == 200 && req.method != "GET" && !req.is_head()) {
        status = 405;
        why = "method not served";
    } else if (status == 200 && req.path.empty()) {
        status = 400;
        why = "request target is not a path";
    }
    if (!c.allowed) {
        LOG_DEBUG("stats endpoint: %s refused by the access rule (403)", c.peer.c_str());
        c.out = error_response(403, req.is_head());
    } else if (status != 200) {
        LOG_DEBUG("stats endpoint: %s: %d %s: %s", c.peer.c_str(), status, reason(status), why);
        c.out = error_response(status, req.is_head());
    } else {
        c.out = route(req, status);
        LOG_DEBUG("stats endpoint: %s %.*s %.*s %d", c.peer.c_str(), int(req.method.size()), req.method.data(),
                  int(req.path.size()), req.path.data(), status);
    }
    c.in.clear();
    c.in.shrink_to_fit();
    c.phase = Phase::Writing;
    c.deadline_ms = now_ms + kWriteDeadlineMs;
    flush(c, now_ms);
}

std::string StatsServer::Impl::route(const net::HttpRequest& req, int& status) const {
    status = 200;
    try {
        if (req.path == "/")
            return response(200, "text/html; charset=utf-8", kDashboardHtml, req.is_head(), kDashboardHeaders);
        if (req.path == "/metrics") {
            const stats::Snapshot snap = stats::read_snapshot(seg);
            return response(200, "text/plain; version=0.0.4; charset=utf-8",
                            stats::format(snap, stats::View::Servers, stats::Format::Prometheus, false), req.is_head());
        }
        if (req.path == "/stats.json") {
            const stats::Snapshot snap = stats::read_snapshot(seg);
            return response(200, "application/json", stats::format_json_all(snap), req.is_head());
        }
        status = 404;
    } catch (const std::exception& e) {  // out of memory: answer, never take the master down
        LOG_WARN("stats endpoint: %.*s: %s", int(req.path.size()), req.path.data(), e.what());
        status = 500;
    }
    return error_response(status, req.is_head());
}

void StatsServer::Impl::flush(Client& c, uint64_t now_ms) {
    while (c.sent < c.out.size()) {
        const ssize_t n = ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                LOG_DEBUG("stats endpoint: %s: send: %s", c.peer.c_str(), std::strerror(errno));
                c.fd.reset();
            }
            return;
        }
        c.sent += size_t(n);
    }
    c.out.clear();
    c.out.shrink_to_fit();
    ::shutdown(c.fd.get(), SHUT_WR);
    c.phase = Phase::Lingering;
    c.deadline_ms = now_ms + kLingerMs;
    drain_input(c);
}

// Reads and drops what the client still sends. A bounded amount per call: a
// client streaming a huge body must not hold the master loop, only its slot
// until the linger deadline.
void StatsServer::Impl::drain_input(Client& c) {
    char buf[4096];
    for (int i = 0; i < 16; ++i) {
        const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        c.fd.reset();  // the client closed (or failed): done
        return;
    }
}

StatsServer::StatsServer(const config::Config& cfg, const shm::Segment& seg) : impl_(std::make_unique<Impl>(seg)) {
    Impl& m = *impl_;
    m.listen = cfg.global.stats.listen;
    m.listen_text = cfg.global.stats.listen_text;
    m.allow = cfg.global.stats.allow;
    std::string error;
    m.listener = net::listen_on(m.listen, false, 64, error);
    if (!m.listener) throw std::runtime_error("stats endpoint: " + error);
    m.describe_access();
}

StatsServer::~StatsServer() = default;

void StatsServer::append_pollfds(std::vector<pollfd>& fds, uint64_t now_ms) {
    Impl& m = *impl_;
    m.expire(now_ms);

    m.polled.clear();
    fds.push_back(pollfd{m.listener.get(), short(now_ms < m.accept_paused_until_ms ? 0 : POLLIN), 0});
    for (auto& c : m.clients) {
        fds.push_back(pollfd{c->fd.get(), short(c->phase == Phase::Writing ? POLLOUT : POLLIN), 0});
        m.polled.push_back(c.get());
    }
}

void StatsServer::process(std::span<const pollfd> fds, uint64_t now_ms) {
    Impl& m = *impl_;
    for (size_t k = 1; k < fds.size() && k - 1 < m.polled.size(); ++k) {
        Client& c = *m.polled[k - 1];
        const short rev = fds[k].revents;
        if (!rev || !c.fd || fds[k].fd != c.fd.get()) continue;
        switch (c.phase) {
            case Phase::Reading: m.read_from(c, now_ms); break;
            case Phase::Writing:
                if (rev & (POLLERR | POLLNVAL)) c.fd.reset();
                else m.flush(c, now_ms);
                break;
            case Phase::Lingering: m.drain_input(c); break;
        }
    }
    m.polled.clear();
    // Deadlines are enforced here too: the master calls process() after every
    // poll(), including the one that woke up for next_wakeup_ms().
    m.expire(now_ms);
    if (!fds.empty() && (fds[0].revents & POLLIN)) m.accept_clients(now_ms);
}

uint64_t StatsServer::next_wakeup_ms() const {
    uint64_t wake = UINT64_MAX;
    for (const auto& c : impl_->clients) wake = std::min(wake, c->deadline_ms);
    return wake;
}

void StatsServer::set_config(const config::Config& cfg) {
    Impl& m = *impl_;
    const config::Stats& s = cfg.global.stats;
    if (s.listen_text.empty() || !(s.listen == m.listen))
        LOG_WARN("stats endpoint: a new global.stats.listen takes effect at restart; still serving http://%s/",
                 m.listen_text.c_str());
    auto same = [](const net::Cidr& a, const net::Cidr& b) {
        return a.family == b.family && a.prefix == b.prefix && std::memcmp(a.bytes, b.bytes, sizeof a.bytes) == 0;
    };
    const bool changed = !std::equal(m.allow.begin(), m.allow.end(), s.allow.begin(), s.allow.end(), same);
    m.allow = s.allow;
    if (changed) m.describe_access();
}

}  // namespace ep::master
