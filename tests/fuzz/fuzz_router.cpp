// fuzz_router.cpp: libFuzzer target for the router (src/http/router.cpp). The
// first byte caps the output buffers of the direct normalise_host/_path calls;
// the rest is parsed as a request head and, when Done, routed over a fixed
// set of routes of every kind. Everything is compared with a plain string
// version of the research/http.md §6 rules written here; any difference traps.
// Run alone: make fuzz FUZZ_TARGETS=router (seeds: tests/fuzz/corpus/router).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

using namespace ep::http;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

bool hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char low(char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; }
bool unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

std::string ref_host(std::string_view h) {
    std::string s(h);
    const size_t close = s.find(']');
    if (!s.empty() && s[0] == '[' && close != std::string::npos) {
        s.resize(close + 1);
    } else if (s.empty() || s[0] != '[') {
        s = s.substr(0, s.find(':'));
        if (!s.empty() && s.back() == '.') s.pop_back();
    }
    for (char& c : s) c = low(c);
    return s;
}

// false: a dot segment
bool ref_path(std::string_view p, std::string& out) {
    out.clear();
    for (size_t i = 0; i < p.size(); ++i) {
        if (p[i] == '%' && i + 2 < p.size() && hex(p[i + 1]) && hex(p[i + 2])) {
            const auto v = static_cast<unsigned char>(std::stoi(std::string(p.substr(i + 1, 2)), nullptr, 16));
            if (unreserved(v)) {
                out += char(v);
                i += 2;
                continue;
            }
        }
        out += p[i];
    }
    size_t start = 0;
    for (;;) {
        const size_t slash = out.find('/', start);
        const std::string seg = out.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (seg == "." || seg == "..") return false;
        if (slash == std::string::npos) return true;
        start = slash + 1;
    }
}

size_t count(std::string_view s, char c) {
    size_t n = 0;
    for (char x : s) n += x == c;
    return n;
}

std::vector<ep::config::Route> make_routes() {
    struct Spec {
        const char *service, *host, *path, *prefix;
        std::vector<std::string> methods;
        std::vector<std::pair<std::string, std::string>> headers;
        int priority;
    };
    const std::vector<Spec> specs = {
        {"api-v1", "api.example.com", "", "/v1/", {}, {}, 0},
        {"health", "api.example.com", "/health", "", {}, {}, 0},
        {"web", "*.example.com", "", "", {}, {}, 0},
        {"static", "", "", "/static/", {"GET", "HEAD"}, {}, 0},
        {"purge", "", "", "/", {"PURGE", "DELETE"}, {}, 0},
        {"canary", "", "", "/", {}, {{"X-Env", "canary"}, {"x-b", "1"}}, 0},
        {"v6", "[::1]", "", "/%61", {}, {}, 0},
        {"encoded", "", "/a%2Fb", "", {}, {}, 0},
        {"top", "", "", "/top/", {}, {}, 5},
        {"fallback", "", "", "/", {}, {}, 0},
        {"any", "", "", "", {}, {}, -1},
    };
    std::vector<ep::config::Route> routes;
    for (const Spec& s : specs) {
        ep::config::Route r;
        r.service = s.service;
        r.host = s.host;
        r.path = s.path;
        r.path_prefix = s.prefix;
        r.methods = s.methods;
        r.headers = s.headers;
        r.priority = s.priority;
        r.has_priority = s.priority != 0;
        r.ordinal = int(routes.size());
        routes.push_back(r);
    }
    ep::config::sort_routes(routes);
    return routes;
}

bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (low(a[i]) != low(b[i])) return false;
    return true;
}

// The route the rules of §6 give, by plain string work.
int ref_match(const std::vector<ep::config::Route>& routes, const Head& h, const char* buf) {
    std::string_view raw_host;
    if (!h.authority.empty()) raw_host = h.authority.in(buf);
    else if (h.host >= 0) raw_host = h.field_value(size_t(h.host), buf);
    const std::string host = ref_host(raw_host);
    const bool host_fits = host.size() <= 256;  // the router's buffer: longer matches no host
    std::string_view raw_path = h.path.in(buf);
    if (raw_path.empty() && !h.authority.empty() && h.method != Method::Connect) raw_path = "/";
    std::string path;
    if (!ref_path(raw_path, path)) return Router::kBadPath;
    const std::string method(h.method_text.in(buf));
    for (size_t i = 0; i < routes.size(); ++i) {
        const ep::config::Route& r = routes[i];
        if (!r.host.empty()) {
            if (!host_fits) continue;
            const std::string want = ref_host(r.host);
            if (want.starts_with("*.")) {
                const std::string suffix = want.substr(1);
                if (host.size() <= suffix.size() || !host.ends_with(suffix) ||
                    host.substr(0, host.size() - suffix.size()).find('.') != std::string::npos)
                    continue;
            } else if (host != want) {
                continue;
            }
        }
        std::string want_path, want_prefix;
        ref_path(r.path, want_path);
        ref_path(r.path_prefix, want_prefix);
        if (!want_path.empty() && path != want_path) continue;
        if (!want_prefix.empty() && !path.starts_with(want_prefix)) continue;
        bool method_ok = r.methods.empty();
        for (const std::string& m : r.methods) method_ok = method_ok || m == method;
        if (!method_ok) continue;
        bool headers_ok = true;
        for (const auto& [name, value] : r.headers) {
            bool found = false;
            for (size_t f = 0; f < h.field_count; ++f)
                found = found || (ieq(h.field_name(f, buf), name) && h.field_value(f, buf) == value);
            headers_ok = headers_ok && found;
        }
        if (!headers_ok) continue;
        return int(i);
    }
    return Router::kNoRoute;
}

// normalise_* against the plain versions, with a full and a short buffer.
void normalise(std::string_view in, size_t cap) {
    static char out[kMaxTarget + 64];
    size_t len = 0;
    const std::string want_host = ref_host(in);
    check(normalise_host(in, out, sizeof out, len));
    check(std::string_view(out, len) == want_host && len <= in.size());
    for (size_t i = 0; i < len; ++i) check(!(out[i] >= 'A' && out[i] <= 'Z'));
    size_t short_len = 0;
    const bool fits = normalise_host(in, out, cap, short_len);
    check(fits == (want_host.size() <= cap));
    if (fits) check(std::string_view(out, short_len) == want_host);

    std::string want_path;
    const bool clean = ref_path(in, want_path);
    check(normalise_path(in, out, sizeof out, len) == clean);
    if (clean) {
        check(std::string_view(out, len) == want_path && len <= in.size());
        // a '/' is never decoded: the segments are the ones sent
        check(count(want_path, '/') == count(in, '/'));
    }
    if (normalise_path(in, out, cap, short_len)) check(clean && std::string_view(out, short_len) == want_path);
    else check(!clean || want_path.size() > cap);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1 || size > kMaxTarget) return 0;
    static const std::vector<ep::config::Route> routes = make_routes();
    static Router router(routes);
    static Head head;
    const size_t cap = data[0];
    // an exact-size copy: ASan sees any read past the input
    std::vector<char> in(data + 1, data + size);
    normalise(std::string_view(in.data(), in.size()), cap);

    HeadParser p;
    p.reset(HeadParser::Kind::Request, 16384);
    if (p.parse(in.data(), in.size(), head) != Parse::Done) return 0;
    const int got = router.match(head, in.data());
    check(got >= Router::kBadPath && got < int(routes.size()));
    check(got == ref_match(routes, head, in.data()));
    for (char c : router.host()) check(!(c >= 'A' && c <= 'Z'));
    if (got != Router::kBadPath) check(router.path().size() <= std::max<size_t>(head.path.len, 1));
    return 0;
}
