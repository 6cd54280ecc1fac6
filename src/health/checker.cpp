// checker.cpp: the master's active health checks (DESIGN.md §5): one small
// non-blocking state machine per checked server (connect, send, read), driven
// by the master's poll() loop, and the end of passive "down" marks.
//
// Choices worth knowing:
// - Start state: as HAProxy, the rise/fall counter starts at `rise` (UP, but
//   one failure goes DOWN); shared memory says "unchecked" until the first
//   result, which sets health to up or down at once and is logged.
// - Schedule: server i of n in a service first runs at i*interval/n after
//   start, then every interval counted from the start of its previous check,
//   so the checks of a service stay spread and do not drift.
// - Maint: no checks; an in-flight check is abandoned. Leaving maint runs a
//   check at once; the health state from before maint stands until then.
// - Reload: a server keeps the health it had (no second "first check"); a
//   service whose check was removed forgets its servers' old results.
#include "health/checker.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "health/rise_fall.hpp"
#include "net/address.hpp"
#include "net/socket.hpp"
#include "shm/catalog.hpp"
#include "tls/stream.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace ep::health {

namespace {

constexpr size_t kMaxReply = 1024;        // enough for a status line or a banner prefix
constexpr size_t kShownReplyBytes = 32;   // of a wrong reply, in the log and stats
constexpr uint64_t kPassiveScanMaxMs = 1000;
constexpr uint64_t kPassiveScanMinMs = 100;

// Securing: the TLS handshake of a server reached with server_tls.
enum class Phase { Idle, Connecting, Securing, Sending, Receiving };

// A server's checks, and the passive-failure bookkeeping of its service.
struct Target {
    std::string label;             // "web/app1" for logs
    shm::ServerSlot* slot = nullptr;
    net::Address address;
    const config::HealthCheck* check = nullptr;  // null: no active check
    const config::Passive* passive = nullptr;
    std::string request;           // bytes sent once connected (http, send-expect)
    const tls::ClientSide* tls = nullptr;  // server_tls: every check goes through a handshake
    std::string address_text;      // as written (its host name is the default SNI)
    RiseFall state{2, 3};
    bool first_result = true;
    int passed_in_row = 0;
    int failed_in_row = 0;
    bool in_maint = false;
    uint64_t next_due_ms = 0;

    // the check in flight
    Phase phase = Phase::Idle;
    UniqueFd fd;
    tls::Stream io;
    uint64_t started_us = 0;
    uint64_t deadline_ms = 0;
    size_t sent = 0;
    std::string reply;
};

std::string lower_first(const char* text) {
    std::string s = text;
    if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = char(s[0] - 'A' + 'a');
    return s;
}

// The first line of a reply, at most kShownReplyBytes, printable: what an
// operator needs to recognise a wrong server or an error banner.
std::string shown_reply(std::string_view reply) {
    const size_t eol = reply.find_first_of("\r\n");
    if (eol != std::string_view::npos && eol > 0) reply = reply.substr(0, eol);
    reply = reply.substr(0, kShownReplyBytes);
    std::string out;
    for (unsigned char c : reply) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += char(c);
        }
    }
    return out;
}

std::string http_request(const config::HealthCheck& hc, const net::Address& addr) {
    std::string host = hc.host;
    if (host.empty()) host = addr.family() == AF_UNIX ? "localhost" : net::format_address(addr);
    return "GET " + hc.path + " HTTP/1.0\r\nHost: " + host +
           "\r\nUser-Agent: easyproxy-check\r\nConnection: close\r\n\r\n";
}

std::string ms_text(uint64_t us) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f ms", double(us) / 1000.0);
    return buf;
}

// A service whose check was removed by a reload: its servers' old results
// must not keep them down (or look current in the stats).
void forget_checks(const shm::Segment& seg, const config::Service& svc) {
    auto slots = seg.servers();
    for (const config::Server& server : svc.servers) {
        const int32_t index = shm::find_server_slot(seg, svc.name, server.name);
        if (index < 0) continue;
        shm::ServerSlot& s = slots[size_t(index)];
        if (s.health.load(std::memory_order_relaxed) == uint8_t(shm::Health::Unchecked) && s.last_check[0] == '\0')
            continue;
        const uint32_t seq = shm::seq_write_begin(s.check_seq);
        s.check_health = 0;
        s.last_check_us = 0;
        s.last_check[0] = '\0';
        shm::seq_write_end(s.check_seq, seq);
        s.health.store(uint8_t(shm::Health::Unchecked), std::memory_order_relaxed);
    }
}

}  // namespace

struct HealthChecker::Impl {
    std::vector<config::Service> services;  // own copy: the master may replace its config
    std::vector<Target> targets;
    std::vector<size_t> polled;             // targets whose fds append_pollfds() handed out, in order
    uint64_t passive_scan_ms = 0;           // 0: no service relies on fail_timeout alone
    uint64_t next_passive_scan = 0;

    Impl(const config::Config& cfg, const shm::Segment& seg, const tls::Contexts* tls);

    void start(Target& t, uint64_t now_ms);
    void on_ready(Target& t, short revents, uint64_t now_ms);
    void after_connect(Target& t, uint64_t now_ms);
    void handshake(Target& t, uint64_t now_ms);
    void try_send(Target& t, uint64_t now_ms);
    void try_receive(Target& t, uint64_t now_ms);
    // Returns true when the reply so far decides the check (result set).
    bool judge_reply(Target& t, bool eof, uint64_t now_ms);
    void finish(Target& t, bool ok, const std::string& text, uint64_t now_ms);
    void follow_admin(Target& t, uint64_t now_ms);
    void passive_scan(uint64_t now_ms);
};

HealthChecker::Impl::Impl(const config::Config& cfg, const shm::Segment& seg, const tls::Contexts* tls)
    : services(cfg.services) {
    const uint64_t now = monotonic_ms();
    auto srv_slots = seg.servers();
    size_t count = 0;
    for (const auto& s : services) count += s.servers.size();
    targets.reserve(count);  // Target holds pointers into `services`, never into itself
    for (size_t si = 0; si < services.size(); ++si) {
        const config::Service& svc = services[si];
        const bool active = svc.health_check.type != config::CheckType::None;
        const bool passive = svc.passive.max_fails > 0;
        if (!active) forget_checks(seg, svc);
        if (!active && !passive) continue;
        if (!active) {
            const uint64_t period =
                std::clamp(svc.passive.fail_timeout_ms / 4, kPassiveScanMinMs, kPassiveScanMaxMs);
            passive_scan_ms = passive_scan_ms ? std::min(passive_scan_ms, period) : period;
        }
        const size_t n = svc.servers.size();
        for (size_t j = 0; j < n; ++j) {
            const int32_t index = shm::find_server_slot(seg, svc.name, svc.servers[j].name);
            if (index < 0) continue;  // not published: nothing to report to
            Target t;
            t.label = svc.name + "/" + svc.servers[j].name;
            t.slot = &srv_slots[size_t(index)];
            t.address = svc.servers[j].address;
            t.address_text = svc.servers[j].address_text;
            t.tls = tls ? tls->client_side(uint32_t(si)) : nullptr;
            t.passive = &svc.passive;
            if (active) {
                const config::HealthCheck& hc = svc.health_check;
                t.check = &hc;
                t.state = RiseFall(hc.rise, hc.fall, true);
                if (hc.type == config::CheckType::Http) t.request = http_request(hc, t.address);
                else if (hc.type == config::CheckType::SendExpect) t.request = hc.send;
                t.next_due_ms = now + hc.interval_ms * j / n;
                // After a reload the server keeps the health it had (the
                // catalog resets it when the address changed): no flap, no
                // second "first check".
                const uint8_t health = t.slot->health.load(std::memory_order_relaxed);
                if (health != uint8_t(shm::Health::Unchecked)) {
                    t.state.force(health == uint8_t(shm::Health::Up));
                    t.first_result = false;
                }
            }
            targets.push_back(std::move(t));
        }
    }
    next_passive_scan = now;
}

void HealthChecker::Impl::start(Target& t, uint64_t now_ms) {
    t.started_us = monotonic_us();
    // Rounded up: a check reported as "timeout after N ms" really had N ms.
    t.deadline_ms = (t.started_us + t.check->timeout_ms * 1000 + 999) / 1000;
    // Spread is kept by counting from the start; timeout <= interval (the
    // loader enforces it), so checks of one server never overlap.
    t.next_due_ms += t.check->interval_ms;
    if (t.next_due_ms <= now_ms) t.next_due_ms = now_ms + t.check->interval_ms;  // the loop fell behind
    t.sent = 0;
    t.reply.clear();
    bool in_progress = false;
    int err = 0;
    t.fd = net::connect_nonblocking(t.address, in_progress, err);
    if (!t.fd) {
        finish(t, false, lower_first(std::strerror(err)), now_ms);
        return;
    }
    if (in_progress) {
        t.phase = Phase::Connecting;
        return;
    }
    after_connect(t, now_ms);
}

void HealthChecker::Impl::after_connect(Target& t, uint64_t now_ms) {
    if (t.tls && !t.io.secure()) {
        SSL* ssl = t.tls->new_session(t.fd.get(), t.address_text);
        if (!ssl) {
            finish(t, false, "cannot start TLS: out of memory", now_ms);
            return;
        }
        t.io = tls::Stream(ssl);
        t.phase = Phase::Securing;
        handshake(t, now_ms);
        return;
    }
    if (t.check->type == config::CheckType::Tcp) {
        finish(t, true, "ok", now_ms);
        return;
    }
    if (!t.request.empty()) {
        t.phase = Phase::Sending;
        try_send(t, now_ms);
    } else {
        t.phase = Phase::Receiving;  // send-expect with nothing to send: the server speaks first
    }
}

void HealthChecker::Impl::handshake(Target& t, uint64_t now_ms) {
    tls::Failure why = tls::Failure::Other;
    const int r = t.io.handshake(why);
    if (r == 0) return;  // polled for t.io.wants()
    if (r < 0) {
        finish(t, false, std::string("TLS handshake failed: ") + tls::failure_name(why), now_ms);
        return;
    }
    after_connect(t, now_ms);
}

void HealthChecker::Impl::try_send(Target& t, uint64_t now_ms) {
    while (t.sent < t.request.size()) {
        const ssize_t n = t.io.send(t.fd.get(), t.request.data() + t.sent, t.request.size() - t.sent);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            finish(t, false, "send: " + lower_first(std::strerror(errno)), now_ms);
            return;
        }
        t.sent += size_t(n);
    }
    t.phase = Phase::Receiving;
}

void HealthChecker::Impl::try_receive(Target& t, uint64_t now_ms) {
    for (;;) {
        char buf[512];
        const size_t room = std::min(sizeof buf, kMaxReply - std::min(kMaxReply, t.reply.size()));
        if (room == 0) {
            judge_reply(t, true, now_ms);  // enough bytes to decide
            return;
        }
        const ssize_t n = t.io.recv(t.fd.get(), buf, room);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (!judge_reply(t, true, now_ms)) finish(t, false, lower_first(std::strerror(errno)), now_ms);
            return;
        }
        if (n == 0) {
            judge_reply(t, true, now_ms);
            return;
        }
        t.reply.append(buf, size_t(n));
        if (judge_reply(t, false, now_ms)) return;
    }
}

bool HealthChecker::Impl::judge_reply(Target& t, bool eof, uint64_t now_ms) {
    const std::string& r = t.reply;
    if (t.check->type == config::CheckType::SendExpect) {
        const std::string& want = t.check->expect;
        const size_t n = std::min(r.size(), want.size());
        if (r.compare(0, n, want, 0, n) != 0) {
            finish(t, false, "unexpected reply \"" + shown_reply(r) + "\"", now_ms);
            return true;
        }
        if (r.size() >= want.size()) {
            finish(t, true, "ok", now_ms);
            return true;
        }
        if (!eof) return false;
        finish(t, false, r.empty() ? std::string("connection closed without a reply")
                                   : "unexpected reply \"" + shown_reply(r) + "\"", now_ms);
        return true;
    }
    // http: only the status line matters ("HTTP/1.1 200 OK").
    size_t eol = r.find('\n');
    if (eol == std::string::npos) {
        if (!eof) return false;
        if (r.empty()) {
            finish(t, false, "connection closed without a reply", now_ms);
            return true;
        }
        eol = r.size();
    }
    std::string_view line(r.data(), eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool shaped = line.size() >= 12 && line.substr(0, 5) == "HTTP/" && line.find(' ') != std::string_view::npos;
    int status = -1;
    if (shaped) {
        const std::string_view code = line.substr(line.find(' ') + 1, 3);
        if (code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
            status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    }
    if (status < 0) finish(t, false, "bad status line \"" + shown_reply(line) + "\"", now_ms);
    else if (status != t.check->expect_status) finish(t, false, "status " + std::to_string(status), now_ms);
    else finish(t, true, "ok", now_ms);
    return true;
}

void HealthChecker::Impl::on_ready(Target& t, short revents, uint64_t now_ms) {
    if (t.phase == Phase::Connecting) {
        if (!(revents & (POLLOUT | POLLERR | POLLHUP))) return;
        const int err = net::socket_error(t.fd.get());
        if (err != 0) {
            finish(t, false, lower_first(std::strerror(err)), now_ms);
            return;
        }
        after_connect(t, now_ms);
        return;
    }
    if (t.phase == Phase::Securing) {
        handshake(t, now_ms);
        return;
    }
    if (t.phase == Phase::Sending) {
        if (revents & (POLLOUT | POLLERR | POLLHUP)) try_send(t, now_ms);
        return;
    }
    if (t.phase == Phase::Receiving && (revents & (POLLIN | POLLERR | POLLHUP))) try_receive(t, now_ms);
}

void HealthChecker::Impl::finish(Target& t, bool ok, const std::string& text, uint64_t now_ms) {
    (void)now_ms;
    const uint64_t took_us = monotonic_us() - t.started_us;
    // A reset, not a FIN: a check every few seconds per server would
    // otherwise leave its TIME_WAIT sockets beside the traffic's.
    t.io.reset();
    net::close_with_reset(t.fd);
    t.phase = Phase::Idle;
    shm::ServerSlot& s = *t.slot;

    const bool first = t.first_result;
    t.first_result = false;
    const RiseFall::Change change = t.state.on_result(ok);
    if (ok) {
        t.passed_in_row++;
        t.failed_in_row = 0;
    } else {
        t.failed_in_row++;
        t.passed_in_row = 0;
    }

    const uint32_t seq = shm::seq_write_begin(s.check_seq);
    s.check_health = t.state.counter();
    s.last_check_us = uint32_t(std::min<uint64_t>(took_us, UINT32_MAX));
    shm::copy_text(s.last_check, text.c_str());
    shm::seq_write_end(s.check_seq, seq);

    const bool up = t.state.up();
    const auto want = uint8_t(up ? shm::Health::Up : shm::Health::Down);
    if (s.health.load(std::memory_order_relaxed) != want) {
        s.health.store(want, std::memory_order_relaxed);
        s.last_change_unix_ms.store(wall_ms(), std::memory_order_relaxed);
    }
    const int rise = t.state.rise(), fall = t.state.fall();
    if (first) {
        // Info, not notice: a start with many servers would flood the log.
        if (up) LOG_INFO("%s is UP (first check passed, %s)", t.label.c_str(), ms_text(took_us).c_str());
        else LOG_WARN("%s is DOWN (%s, first check failed)", t.label.c_str(), text.c_str());
    } else if (change == RiseFall::Change::WentUp) {
        LOG_NOTICE("%s is UP (%d/%d checks passed, %s)", t.label.c_str(), std::min(t.passed_in_row, rise), rise,
                   ms_text(took_us).c_str());
    } else if (change == RiseFall::Change::WentDown) {
        LOG_WARN("%s is DOWN (%s, %d/%d checks failed)", t.label.c_str(), text.c_str(),
                 std::min(t.failed_in_row, fall), fall);
    }

    // A passing check is the proof of life that ends a passive "down" mark.
    if (ok && s.passive_down.load(std::memory_order_relaxed)) {
        s.recent_fails.store(0, std::memory_order_relaxed);
        s.passive_down.store(0, std::memory_order_relaxed);
        s.last_change_unix_ms.store(wall_ms(), std::memory_order_relaxed);
        if (up && change != RiseFall::Change::WentUp && !first)
            LOG_NOTICE("%s is UP (check passed after passive failures)", t.label.c_str());
    }
}

// Maint stops the checks; leaving it resumes them at once.
void HealthChecker::Impl::follow_admin(Target& t, uint64_t now_ms) {
    const bool maint = t.slot->admin.load(std::memory_order_relaxed) == uint8_t(shm::AdminState::Maint);
    if (maint == t.in_maint) return;
    t.in_maint = maint;
    if (maint) {
        t.io.reset();
        t.fd.reset();  // abandon the check in flight, no result
        t.phase = Phase::Idle;
        LOG_INFO("%s: checks stopped (maintenance)", t.label.c_str());
    } else {
        t.next_due_ms = now_ms;
        LOG_INFO("%s: checks resumed", t.label.c_str());
    }
}

// Services without an active check: a passive "down" mark ends when
// fail_timeout has passed since the failures began; the next connection
// then probes the server (as nginx does). Until a connect succeeds the server
// is on probation: its fail count stays at max_fails, so one more failure
// within fail_timeout marks it down again at once, not max_fails of them.
void HealthChecker::Impl::passive_scan(uint64_t now_ms) {
    for (Target& t : targets) {
        if (t.check) continue;
        shm::ServerSlot& s = *t.slot;
        if (!s.passive_down.load(std::memory_order_relaxed)) continue;
        const uint64_t start = s.fail_window_start_ms.load(std::memory_order_relaxed);
        if (now_ms < start + t.passive->fail_timeout_ms) continue;
        s.fail_window_start_ms.store(now_ms, std::memory_order_relaxed);
        s.recent_fails.store(uint32_t(t.passive->max_fails), std::memory_order_relaxed);
        s.passive_down.store(0, std::memory_order_relaxed);
        s.last_change_unix_ms.store(wall_ms(), std::memory_order_relaxed);
        LOG_NOTICE("%s is UP (probing: fail_timeout %llu ms passed since its failures)", t.label.c_str(),
                   (unsigned long long)t.passive->fail_timeout_ms);
    }
}

HealthChecker::HealthChecker(const config::Config& cfg, const shm::Segment& seg, const tls::Contexts* tls)
    : impl_(std::make_unique<Impl>(cfg, seg, tls)) {}

HealthChecker::~HealthChecker() = default;

void HealthChecker::append_pollfds(std::vector<pollfd>& fds, uint64_t now_ms) {
    Impl& m = *impl_;
    m.polled.clear();
    if (m.passive_scan_ms && now_ms >= m.next_passive_scan) {
        m.passive_scan(now_ms);
        m.next_passive_scan = now_ms + m.passive_scan_ms;
    }
    for (size_t i = 0; i < m.targets.size(); ++i) {
        Target& t = m.targets[i];
        if (!t.check) continue;
        m.follow_admin(t, now_ms);
        if (t.in_maint) continue;
        if (t.phase == Phase::Idle && now_ms >= t.next_due_ms) m.start(t, now_ms);
        if (t.phase == Phase::Idle) continue;
        short events = t.phase == Phase::Receiving ? POLLIN : POLLOUT;
        if (t.phase == Phase::Securing) events = t.io.wants() == tls::kWantRead ? POLLIN : POLLOUT;
        fds.push_back(pollfd{t.fd.get(), events, 0});
        m.polled.push_back(i);
    }
}

void HealthChecker::process(std::span<const pollfd> fds, uint64_t now_ms) {
    Impl& m = *impl_;
    for (size_t k = 0; k < fds.size() && k < m.polled.size(); ++k) {
        Target& t = m.targets[m.polled[k]];
        if (fds[k].revents && t.phase != Phase::Idle && fds[k].fd == t.fd.get()) m.on_ready(t, fds[k].revents, now_ms);
    }
    m.polled.clear();
    for (Target& t : m.targets) {
        if (t.phase == Phase::Idle || now_ms < t.deadline_ms) continue;
        m.finish(t, false, "timeout after " + std::to_string(t.check->timeout_ms) + " ms", now_ms);
    }
    if (m.passive_scan_ms && now_ms >= m.next_passive_scan) {
        m.passive_scan(now_ms);
        m.next_passive_scan = now_ms + m.passive_scan_ms;
    }
}

uint64_t HealthChecker::next_wakeup_ms() const {
    const Impl& m = *impl_;
    uint64_t wake = m.passive_scan_ms ? m.next_passive_scan : UINT64_MAX;
    for (const Target& t : m.targets) {
        if (!t.check) continue;
        if (t.phase != Phase::Idle) wake = std::min(wake, t.deadline_ms);
        else if (!t.in_maint) wake = std::min(wake, t.next_due_ms);
    }
    return wake;
}

}  // namespace ep::health
