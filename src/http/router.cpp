// router.cpp: the route a request takes (DESIGN.md §8, research/http.md §6).
// Each route is compiled once, when the router is built, into the form the
// match compares directly, so a match neither allocates nor lower-cases.
#include "http/router.hpp"

#include <cstring>
#include <string>

#include "http/lex.hpp"

namespace ep::http {

using lex::is;
using lex::kHex;
using lex::lower;

namespace {

int hex_value(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    return lower(c) - 'a' + 10;
}

bool unreserved(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

enum class PathResult : uint8_t { Ok, DotSegment, TooLong };

// The decoding of normalise_path. A whole path with a dot segment is refused,
// but a route's `path_prefix` may end inside a segment ("/." is the prefix of
// "/.well-known/"), so the caller decides what a dot segment means.
PathResult decode_path(std::string_view in, char* out, size_t cap, size_t& len) {
    size_t o = 0;
    size_t segment = 0;  // where the current segment starts in `out`
    bool dot = false;
    // '/' in the output is always a '/' as sent: %2F is never decoded, so
    // the segments are the ones the server will see.
    auto end_segment = [&] {
        const size_t n = o - segment;
        if ((n == 1 && out[segment] == '.') || (n == 2 && out[segment] == '.' && out[segment + 1] == '.'))
            dot = true;
    };
    for (size_t i = 0; i < in.size();) {
        const bool escape =
            in[i] == '%' && i + 2 < in.size() && is(uint8_t(in[i + 1]), kHex) && is(uint8_t(in[i + 2]), kHex);
        const uint8_t v = escape ? uint8_t(hex_value(uint8_t(in[i + 1])) * 16 + hex_value(uint8_t(in[i + 2]))) : 0;
        if (escape && !unreserved(v)) {
            // kept exactly as sent, hex digits in their case
            if (cap - o < 3) return PathResult::TooLong;
            memcpy(out + o, in.data() + i, 3);
            o += 3;
            i += 3;
            continue;
        }
        const char c = escape ? char(v) : in[i];  // never a decoded '/': not unreserved
        i += escape ? 3 : 1;
        if (o == cap) return PathResult::TooLong;
        if (c == '/') {
            end_segment();
            segment = o + 1;
        }
        out[o++] = c;
    }
    end_segment();
    len = o;
    return dot ? PathResult::DotSegment : PathResult::Ok;
}

// One label before `suffix` (".example.com"): "a.example.com" matches,
// "a.b.example.com" and ".example.com" do not.
bool wildcard_match(std::string_view host, std::string_view suffix) {
    if (host.size() <= suffix.size() || !host.ends_with(suffix)) return false;
    return host.substr(0, host.size() - suffix.size()).find('.') == std::string_view::npos;
}

}  // namespace

bool normalise_host(std::string_view host, char* out, size_t cap, size_t& len) {
    std::string_view name = host;
    if (!name.empty() && name[0] == '[') {
        // IPv6 literal: its colons are not a port
        const size_t close = name.find(']');
        if (close != std::string_view::npos) name = name.substr(0, close + 1);
    } else {
        const size_t colon = name.find(':');
        if (colon != std::string_view::npos) name = name.substr(0, colon);
        if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    }
    if (name.size() > cap) return false;
    for (size_t i = 0; i < name.size(); ++i) out[i] = char(lower(uint8_t(name[i])));
    len = name.size();
    return true;
}

bool normalise_path(std::string_view path, char* out, size_t cap, size_t& len) {
    return decode_path(path, out, cap, len) == PathResult::Ok;
}

struct Router::Compiled {
    enum class Host : uint8_t { None, Exact, Wildcard };
    Host host_kind = Host::None;
    std::string host;    // Exact: the name; Wildcard: the suffix with its dot (".example.com")
    std::string path;    // exact path, normalised; "" none
    std::string prefix;  // path prefix, normalised; "" none
    bool any_method = true;
    uint32_t methods = 0;                 // bit per http::Method (not Other)
    std::vector<std::string> other_methods;  // tokens that are Method::Other, compared exactly
    std::vector<std::pair<std::string, std::string>> headers;  // lower-case name, exact value
};

namespace {

std::string normalised_config_path(const std::string& p) {
    std::string out(p.size(), '\0');
    size_t len = 0;
    // A dot segment in a route's path can never match a request (those are
    // refused first); decoding it anyway keeps the rule one piece of code.
    decode_path(p, out.data(), out.size(), len);
    out.resize(len);
    return out;
}

}  // namespace

Router::Router(const std::vector<config::Route>& routes) {
    compiled_.reserve(routes.size());
    for (const config::Route& r : routes) {
        Compiled c;
        if (!r.host.empty()) {
            std::string h(r.host.size(), '\0');
            size_t n = 0;
            normalise_host(r.host, h.data(), h.size(), n);
            h.resize(n);
            if (h.starts_with("*.")) {
                c.host_kind = Compiled::Host::Wildcard;
                c.host = h.substr(1);
            } else {
                c.host_kind = Compiled::Host::Exact;
                c.host = h;
            }
        }
        c.path = normalised_config_path(r.path);
        c.prefix = normalised_config_path(r.path_prefix);
        c.any_method = r.methods.empty();
        for (const std::string& m : r.methods) {
            const Method id = method_of(m);
            if (id == Method::Other) c.other_methods.push_back(m);
            else c.methods |= 1u << unsigned(id);
        }
        for (const auto& [name, value] : r.headers) {
            std::string n = name;
            for (char& ch : n) ch = char(lower(uint8_t(ch)));
            c.headers.emplace_back(std::move(n), value);
        }
        compiled_.push_back(std::move(c));
    }
}

Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

std::string_view Router::host() const { return {host_, host_len_}; }
std::string_view Router::path() const { return {path_, path_len_}; }

int Router::match(const Head& req, const char* buf) {
    // RFC 9112 §3.2.2: the absolute-form authority wins over Host (the parser
    // has already refused the two when they differ).
    std::string_view raw_host;
    if (!req.authority.empty()) raw_host = req.authority.in(buf);
    else if (req.host >= 0) raw_host = req.field_value(size_t(req.host), buf);
    host_len_ = 0;
    // longer than a DNS name: no host condition can hold
    const bool host_ok = normalise_host(raw_host, host_, sizeof host_, host_len_);
    if (!host_ok) host_len_ = 0;

    // The path before '?'; absolute-form with no path is "/" (the rewrite
    // sends "/"); "*" and CONNECT have none, so no path condition holds.
    std::string_view raw_path = req.path.in(buf);
    if (raw_path.empty() && !req.authority.empty() && req.method != Method::Connect) raw_path = "/";
    path_len_ = 0;
    switch (decode_path(raw_path, path_, sizeof path_, path_len_)) {
    case PathResult::Ok:
        break;
    case PathResult::DotSegment:
        return kBadPath;
    case PathResult::TooLong:
        // cannot happen: the parser keeps a target within kMaxTarget
        path_len_ = 0;
        return kNoRoute;
    }
    const std::string_view host(host_, host_len_);
    const std::string_view path(path_, path_len_);
    const uint32_t method_bit = req.method == Method::Other ? 0 : 1u << unsigned(req.method);
    const std::string_view method_text = req.method_text.in(buf);

    for (size_t i = 0; i < compiled_.size(); ++i) {
        const Compiled& c = compiled_[i];
        switch (c.host_kind) {
        case Compiled::Host::None:
            break;
        case Compiled::Host::Exact:
            if (!host_ok || host != c.host) continue;
            break;
        case Compiled::Host::Wildcard:
            if (!host_ok || !wildcard_match(host, c.host)) continue;
            break;
        }
        if (!c.path.empty() && path != c.path) continue;
        if (!c.prefix.empty() && !path.starts_with(c.prefix)) continue;
        if (!c.any_method && !(c.methods & method_bit)) {
            bool found = false;
            if (req.method == Method::Other)
                for (const std::string& m : c.other_methods)
                    if (method_text == m) found = true;
            if (!found) continue;
        }
        // A header condition holds when any line of that name has exactly
        // the value (a repeated field is several lines, each its own value;
        // values are not split at commas).
        bool headers_ok = true;
        for (const auto& [name, value] : c.headers) {
            bool found = false;
            for (size_t f = 0; f < req.field_count && !found; ++f)
                found = req.field_value(f, buf) == value && lex::ieq(req.field_name(f, buf), name);
            if (!found) {
                headers_ok = false;
                break;
            }
        }
        if (!headers_ok) continue;
        return int(i);
    }
    return kNoRoute;
}

}  // namespace ep::http
