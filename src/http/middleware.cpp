// middleware.cpp: the middleware chain of an entry point (middleware.hpp,
// DESIGN.md §8, research/http.md §7): each type's request side, the response
// side prepared in reverse, and the answers that stop the chain.
#include "http/middleware.hpp"

#include <crypt.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "balance/hash.hpp"
#include "http/lex.hpp"
#include "http/rate_limit.hpp"
#include "util/clock.hpp"

namespace ep::http {

using config::Middleware;
using config::MiddlewareType;
using lex::ieq;

void Plan::clear() {
    path_set = false;
    path.clear();
    request_remove.clear();
    request_add.clear();
    response_remove.clear();
    response_add.clear();
    status = 0;
    answer_fields.clear();
    answered_by = -1;
    max_body_size = 0;
    attempts = 1;
    request_id.clear();
}

namespace {

// One side of a message being changed: names removed from what the peer
// sent, lines added. The last layer to touch a name wins, so a set or remove
// also drops the lines earlier layers added for that name.
struct Side {
    std::vector<std::string_view>& remove;
    std::string& add;

    void drop_added(std::string_view name) {
        size_t pos = 0;
        while (pos < add.size()) {
            const size_t end = add.find("\r\n", pos) + 2;  // every line ends in CRLF
            const size_t colon = add.find(':', pos);
            if (ieq(std::string_view(add).substr(pos, colon - pos), name)) add.erase(pos, end - pos);
            else pos = end;
        }
    }
    void remove_name(std::string_view name) {
        drop_added(name);
        for (std::string_view n : remove)
            if (ieq(n, name)) return;
        remove.push_back(name);
    }
    void set_line(std::string_view name, std::string_view line) {
        remove_name(name);
        add.append(line);
    }
    void set(std::string_view name, std::string_view value) {
        remove_name(name);
        add.append(name).append(": ").append(value).append("\r\n");
    }
};

// What a middleware needs at run time that can be made once from the config.
struct Prepared {
    uint64_t name_hash = 0;                  // rate_limit: part of every key
    uint64_t interval_us = 0;                // rate_limit: period / average
    // headers: "Name: value\r\n" for each set and add pair, in config order
    std::vector<std::string> request_set, request_add, response_set, response_add;
    std::string challenge;                   // basic_auth: the WWW-Authenticate line
    std::unordered_map<std::string_view, std::string_view> users;  // basic_auth: user -> hash
};

std::string line_of(const std::pair<std::string, std::string>& f) { return f.first + ": " + f.second + "\r\n"; }

std::vector<std::string> lines_of(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::vector<std::string> out;
    out.reserve(fields.size());
    for (const auto& f : fields) out.push_back(line_of(f));
    return out;
}

void append_uint(std::string& s, uint64_t v) {
    char buf[20];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    s.append(buf, size_t(r.ptr - buf));
}

// The port written in a Host field ("a:8080" -> "8080", "[::1]:81" -> "81"), or "".
std::string_view port_of(std::string_view host) {
    size_t from = 0;
    if (!host.empty() && host[0] == '[') {
        from = host.find(']');
        if (from == std::string_view::npos) return {};
    }
    const size_t colon = host.find(':', from);
    return colon == std::string_view::npos ? std::string_view() : host.substr(colon + 1);
}

uint64_t default_port(std::string_view scheme) {
    if (ieq(scheme, "http")) return 80;
    if (ieq(scheme, "https")) return 443;
    return 0;
}

// The port a URL reaches: the one written, else its scheme's.
uint64_t effective_port(std::string_view port, std::string_view scheme) {
    if (port.empty()) return default_port(scheme);
    uint64_t v = 0;
    const auto r = std::from_chars(port.data(), port.data() + port.size(), v);
    return r.ec == std::errc() && r.ptr == port.data() + port.size() ? v : 0;
}

// Base64 (RFC 4648 §4), padding optional. False on any other byte.
bool base64_decode(std::string_view in, char* out, size_t cap, size_t& len) {
    while (!in.empty() && in.back() == '=') in.remove_suffix(1);
    if (in.size() % 4 == 1 || in.size() / 4 * 3 + 2 > cap) return false;
    uint32_t acc = 0;
    int bits = 0;
    len = 0;
    for (unsigned char c : in) {
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+') v = 62;
        else if (c == '/') v = 63;
        else return false;
        acc = acc << 6 | uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = char(acc >> bits & 0xff);
        }
    }
    return true;
}

// Equal strings, in a time that depends on their lengths only.
bool equal_constant_time(const char* a, size_t a_len, std::string_view b) {
    if (a_len != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a_len; ++i) diff |= uint8_t(a[i]) ^ uint8_t(b[i]);
    return diff == 0;
}

// One request on its way through the chain.
struct Run {
    const Request& req;
    Plan& plan;
    std::string_view original_path;

    std::string_view current_path() const { return plan.path_set ? std::string_view(plan.path) : original_path; }

    // Always false: what a layer returns when it answered.
    bool answer(uint32_t index, int status) {
        plan.status = status;
        plan.answered_by = int32_t(index);
        return false;
    }
};

constexpr size_t kAuthCacheMax = 1024;  // entries; cleared when full
constexpr size_t kMaxCredentials = 1024;  // decoded "user:password" bytes

}  // namespace

struct Middlewares::State {
    const config::Config& cfg;
    RateTable* rates;
    std::vector<Prepared> prepared;  // parallel to cfg.middlewares

    // basic_auth: crypt_r's work area (32 KiB: made once), and the
    // "user:password" pairs already verified, keyed by the middleware index
    // (4 bytes) and the exact bytes, so a changed password is checked again.
    std::unique_ptr<crypt_data> crypt;
    std::unordered_set<std::string> verified;
    std::string key;                 // the lookup key, reused
    uint64_t password_checks = 0;

    // request_id: splitmix64 over a counter seeded from getrandom() on first
    // use (in the worker, after fork, so workers never share a sequence)
    uint64_t id_counter = 0;
    bool id_seeded = false;

    State(const config::Config& c, RateTable* r) : cfg(c), rates(r) {}

    void make_request_id(std::string& out);
    bool redirect(uint32_t index, const Middleware& m, Run& run);
    bool basic_auth(uint32_t index, const Middleware& m, const Prepared& p, Run& run);
    bool check_password(uint32_t index, std::string_view hash, std::string_view credentials,
                        std::string_view password);
};

void Middlewares::State::make_request_id(std::string& out) {
    if (!id_seeded) {
        if (getrandom(&id_counter, sizeof id_counter, 0) != ssize_t(sizeof id_counter))
            id_counter = monotonic_us() ^ (uint64_t(getpid()) << 32);
        id_seeded = true;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    char buf[32];
    for (int half = 0; half < 2; ++half) {
        uint64_t v = balance::mix64(++id_counter);
        for (int i = 0; i < 16; ++i, v >>= 4) buf[half * 16 + i] = kHex[v & 15];
    }
    out.assign(buf, sizeof buf);
}

bool Middlewares::State::check_password(uint32_t index, std::string_view hash, std::string_view credentials,
                                        std::string_view password) {
    key.assign(reinterpret_cast<const char*>(&index), sizeof index);
    key.append(credentials);
    if (verified.count(key) != 0) return true;

    if (!crypt) crypt = std::make_unique<crypt_data>();  // zeroed: "initialized = 0"
    // crypt_r wants NUL-terminated strings: the password ends the decoded
    // credentials, which the caller NUL-terminated. Failures are not
    // cached: a rate_limit in front of basic_auth bounds what guessing costs.
    ++password_checks;
    // the hash views a whole std::string of the config: NUL-terminated
    const char* result = crypt_r(password.data(), hash.data(), crypt.get());
    // a failed or refused hash ("*0", "*1") never equals a stored one, but
    // say so rather than rely on it
    if (result == nullptr || result[0] == '*') return false;
    if (!equal_constant_time(result, std::strlen(result), hash)) return false;
    if (verified.size() >= kAuthCacheMax) verified.clear();
    verified.insert(key);
    return true;
}

// Answers with a Location made of what the middleware gives and the rest of
// the request's URL; the query is always kept. A Location that is the
// request's own URL is not answered (the request goes on): a "to https"
// layer on an entry point that also takes https would loop otherwise
// (Traefik does the same).
bool Middlewares::State::redirect(uint32_t index, const Middleware& m, Run& run) {
    const Request& req = run.req;
    const Head& head = *req.head;
    const std::string_view from_scheme = req.tls ? "https" : "http";
    const std::string_view scheme = m.scheme.empty() ? from_scheme : std::string_view(m.scheme);
    const std::string_view host = m.host.empty() ? req.host : std::string_view(m.host);
    const std::string_view host_field =
        head.host >= 0 ? head.field_value(size_t(head.host), req.buf) : head.authority.in(req.buf);
    const std::string_view from_port = port_of(host_field);
    char port_buf[8];
    std::string_view port;
    if (m.port != 0) {
        if (uint64_t(m.port) != default_port(scheme)) {
            const auto r = std::to_chars(port_buf, port_buf + sizeof port_buf, m.port);
            port = std::string_view(port_buf, size_t(r.ptr - port_buf));
        }
    } else if (m.host.empty() && ieq(scheme, from_scheme)) {
        port = from_port;  // same scheme, same host: the same port
    }
    std::string_view path = m.path.empty() ? run.current_path() : std::string_view(m.path);
    if (path.empty()) path = "/";  // "OPTIONS *"

    if (ieq(scheme, from_scheme) && ieq(host, req.host) &&
        effective_port(port, scheme) == effective_port(from_port, from_scheme) && path == run.original_path)
        return true;

    std::string& f = run.plan.answer_fields;
    f.append("Location: ").append(scheme).append("://").append(host);
    if (!port.empty()) f.append(":").append(port);
    f.append(path);
    if (!head.query.empty()) f.append("?").append(head.query.in(req.buf));
    f.append("\r\n");
    // 301 and 302 let clients turn a POST into a GET; 308 and 307 keep the
    // method, so a method other than GET and HEAD gets those
    int status = m.code;
    if (head.method != Method::Get && head.method != Method::Head) {
        if (status == 301) status = 308;
        else if (status == 302) status = 307;
    }
    return run.answer(index, status);
}

// "Authorization: Basic base64(user:password)" checked against the users of
// the htpasswd file; any fault is the same 401, which asks for credentials.
bool Middlewares::State::basic_auth(uint32_t index, const Middleware& m, const Prepared& p, Run& run) {
    const Head& head = *run.req.head;
    const int i = head.find("Authorization", run.req.buf);
    bool ok = false;
    if (i >= 0) {
        std::string_view v = head.field_value(size_t(i), run.req.buf);
        if (v.size() > 6 && ieq(v.substr(0, 6), "Basic ")) {
            v.remove_prefix(6);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            char decoded[kMaxCredentials + 1];
            size_t n = 0;
            if (base64_decode(v, decoded, kMaxCredentials, n) && std::memchr(decoded, 0, n) == nullptr) {
                decoded[n] = 0;  // crypt_r reads the password up to here
                const std::string_view credentials(decoded, n);
                const size_t colon = credentials.find(':');
                if (colon != std::string_view::npos) {
                    const auto user = p.users.find(credentials.substr(0, colon));
                    if (user != p.users.end())
                        ok = check_password(index, user->second, credentials, credentials.substr(colon + 1));
                }
            }
        }
    }
    if (!ok) {
        run.plan.answer_fields.append(p.challenge);
        return run.answer(index, 401);
    }
    if (m.remove_header) Side{run.plan.request_remove, run.plan.request_add}.remove_name("Authorization");
    return true;
}

Middlewares::Middlewares(const config::Config& cfg, RateTable* rates)
    : state_(std::make_unique<State>(cfg, rates)) {
    state_->prepared.resize(cfg.middlewares.size());
    for (size_t i = 0; i < cfg.middlewares.size(); ++i) {
        const Middleware& m = cfg.middlewares[i];
        Prepared& p = state_->prepared[i];
        switch (m.type) {
        case MiddlewareType::Headers:
            p.request_set = lines_of(m.request_set);
            p.request_add = lines_of(m.request_add);
            p.response_set = lines_of(m.response_set);
            p.response_add = lines_of(m.response_add);
            break;
        case MiddlewareType::BasicAuth: {
            p.challenge = "WWW-Authenticate: Basic realm=\"";
            for (char c : m.realm) {
                if (c == '"' || c == '\\') p.challenge += '\\';  // quoted-string (RFC 9110 §5.6.4)
                p.challenge += c;
            }
            p.challenge += "\"\r\n";
            for (const auto& [user, hash] : m.users) p.users.emplace(user, hash);  // first line of a user wins
            break;
        }
        case MiddlewareType::RateLimit:
            p.name_hash = balance::hash_string(m.name);
            p.interval_us = m.average == 0 ? 0 : std::max<uint64_t>(1, m.period_ms * 1000 / m.average);
            break;
        default:
            break;
        }
    }
}

Middlewares::~Middlewares() = default;

uint64_t Middlewares::password_checks() const { return state_->password_checks; }

bool Middlewares::on_request(const std::vector<uint32_t>& chain, const Request& req, Plan& plan, uint64_t now_ms) {
    (void)now_ms;  // rate_limit reads the shared table's µs clock
    plan.clear();
    State& st = *state_;
    const config::Config& cfg = st.cfg;
    const Head& head = *req.head;
    const char* buf = req.buf;
    Run run{req, plan, head.path.in(buf)};
    Side request{plan.request_remove, plan.request_add};

    size_t ran = 0;  // layers whose request side passed: they have a response side
    bool passed = true;
    for (; ran < chain.size() && passed; ++ran) {
        const uint32_t index = chain[ran];
        if (index >= cfg.middlewares.size()) continue;
        const Middleware& m = cfg.middlewares[index];
        const Prepared& p = st.prepared[index];
        switch (m.type) {
        case MiddlewareType::Headers:
            for (const std::string& name : m.request_remove) request.remove_name(name);
            for (size_t i = 0; i < p.request_set.size(); ++i) request.set_line(m.request_set[i].first, p.request_set[i]);
            for (const std::string& line : p.request_add) plan.request_add.append(line);
            break;

        case MiddlewareType::StripPrefix: {
            const std::string_view path = run.current_path();
            for (const std::string& prefix : m.prefixes) {
                if (prefix.empty() || path.substr(0, prefix.size()) != prefix) continue;
                // the rest keeps its bytes: "/api" strips "/apix" to "x",
                // written "/x" (what Traefik does)
                if (plan.path_set) plan.path.erase(0, prefix.size());
                else plan.path.assign(path.substr(prefix.size()));
                if (plan.path.empty() || plan.path[0] != '/') plan.path.insert(0, 1, '/');
                plan.path_set = true;
                request.set("X-Forwarded-Prefix", prefix);
                break;
            }
            break;
        }

        case MiddlewareType::AddPrefix:
            if (m.prefixes.empty() || run.current_path().empty()) break;  // "*" has no path to prefix
            if (plan.path_set) {
                plan.path.insert(0, m.prefixes[0]);
            } else {
                plan.path.assign(m.prefixes[0]);
                plan.path.append(run.original_path);
            }
            plan.path_set = true;
            break;

        case MiddlewareType::Redirect:
            passed = st.redirect(index, m, run);
            break;

        case MiddlewareType::BasicAuth:
            passed = st.basic_auth(index, m, p, run);
            break;

        case MiddlewareType::IpAllow: {
            bool in = false;
            for (const net::Cidr& c : m.allow)
                if (req.peer != nullptr && c.contains(*req.peer)) {
                    in = true;
                    break;
                }
            if (!in) passed = run.answer(index, 403);
            break;
        }

        case MiddlewareType::RateLimit: {
            if (st.rates == nullptr || p.interval_us == 0) break;
            uint8_t bytes[16];
            size_t n = req.peer ? net::client_key_bytes(*req.peer, bytes) : 0;
            if (n == 16) n = 8;  // IPv6: one bucket per /64, what one subscriber gets
            // (a unix-socket client has no address: all of them share one bucket)
            const uint64_t key = balance::hash_bytes(bytes, n, p.name_hash);
            const uint64_t wait_us = st.rates->take(key, p.interval_us, m.burst, st.rates->now_us());
            if (wait_us == 0) break;
            plan.answer_fields.append("Retry-After: ");
            append_uint(plan.answer_fields, std::max<uint64_t>(1, (wait_us + 999999) / 1000000));
            plan.answer_fields.append("\r\n");
            passed = run.answer(index, 429);
            break;
        }

        case MiddlewareType::RequestId: {
            if (plan.request_id.empty()) {
                const int i = head.find(m.header, buf);
                if (i >= 0 && req.trusted && !head.fields[size_t(i)].value.empty())
                    plan.request_id.assign(head.field_value(size_t(i), buf));
                else st.make_request_id(plan.request_id);
            }
            request.set(m.header, plan.request_id);
            break;
        }

        case MiddlewareType::Retry:
            plan.attempts = std::max(plan.attempts, m.attempts);
            break;

        case MiddlewareType::MaxBodySize:
            if (m.max_body_size == 0) break;
            if (plan.max_body_size == 0 || m.max_body_size < plan.max_body_size) plan.max_body_size = m.max_body_size;
            if (head.body == Body::Length && head.content_length > m.max_body_size) passed = run.answer(index, 413);
            break;
        }
    }
    if (!passed) --ran;  // the layer that answered has no response side

    // The response passes the layers in reverse: the outermost is applied
    // last, so its set or remove wins.
    Side response{plan.response_remove, plan.response_add};
    for (size_t k = ran; k-- > 0;) {
        const uint32_t index = chain[k];
        if (index >= cfg.middlewares.size()) continue;
        const Middleware& m = cfg.middlewares[index];
        const Prepared& p = st.prepared[index];
        if (m.type == MiddlewareType::Headers) {
            for (const std::string& name : m.response_remove) response.remove_name(name);
            for (size_t i = 0; i < p.response_set.size(); ++i)
                response.set_line(m.response_set[i].first, p.response_set[i]);
            for (const std::string& line : p.response_add) plan.response_add.append(line);
        } else if (m.type == MiddlewareType::RequestId) {
            response.set(m.header, plan.request_id);
        }
    }
    return passed;
}

}  // namespace ep::http
