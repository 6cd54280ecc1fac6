// loader.cpp: libconfig++ text -> config::Config, checking every rule of
// DESIGN.md §3. It never stops at the first problem: each one becomes a
// Diagnostic ("FILE:LINE: key.path: message") and all are thrown together.
#include "config/loader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <initializer_list>
#include <libconfig.h++>
#include <optional>
#include <unordered_map>
#include <utility>

#include "config/htpasswd.hpp"
#include "config/literals.hpp"
#include "util/duration.hpp"

namespace ep::config {

namespace {

using libconfig::Setting;

// poll() takes an int of milliseconds; 576h (24 days) stays below INT_MAX.
constexpr uint64_t kMaxDurationMs = 576ull * 60 * 60 * 1000;
constexpr const char* kMaxDurationText = "576h";
constexpr uint64_t kMinWatchdogMs = 2000;

template <typename E>
struct EnumName {
    const char* name;
    E value;
};

constexpr EnumName<Mode> kModes[] = {{"tcp", Mode::Tcp}, {"http", Mode::Http}};
constexpr EnumName<ProxyProtocol> kProxyProtocols[] = {
    {"off", ProxyProtocol::Off}, {"v1", ProxyProtocol::V1}, {"v2", ProxyProtocol::V2}};
constexpr EnumName<Relay> kRelays[] = {{"worker", Relay::Worker}, {"sockmap", Relay::Sockmap}};
constexpr EnumName<CheckType> kCheckTypes[] = {
    {"tcp", CheckType::Tcp}, {"http", CheckType::Http}, {"send-expect", CheckType::SendExpect}};
constexpr EnumName<LogLevel> kLogLevels[] = {{"debug", LogLevel::Debug},
                                             {"info", LogLevel::Info},
                                             {"notice", LogLevel::Notice},
                                             {"warning", LogLevel::Warning},
                                             {"error", LogLevel::Error}};
constexpr EnumName<LogTarget> kLogTargets[] = {{"stderr", LogTarget::Stderr},
                                               {"syslog", LogTarget::Syslog}};
constexpr EnumName<Poller> kPollers[] = {
    {"auto", Poller::Auto}, {"poll", Poller::Poll}, {"epoll", Poller::Epoll}};
// Algorithms written as a plain word; header:NAME and cookie:NAME are parsed apart.
constexpr EnumName<Balance> kPlainBalances[] = {
    {"roundrobin", Balance::RoundRobin}, {"random", Balance::Random},
    {"source", Balance::Source},         {"leastconn", Balance::LeastConn},
    {"p2c", Balance::P2C},               {"maglev", Balance::Maglev},
    {"uri", Balance::Uri}};
constexpr EnumName<MiddlewareType> kMiddlewareTypes[] = {
    {"headers", MiddlewareType::Headers},         {"strip_prefix", MiddlewareType::StripPrefix},
    {"add_prefix", MiddlewareType::AddPrefix},    {"redirect", MiddlewareType::Redirect},
    {"basic_auth", MiddlewareType::BasicAuth},    {"ip_allow", MiddlewareType::IpAllow},
    {"rate_limit", MiddlewareType::RateLimit},    {"request_id", MiddlewareType::RequestId},
    {"retry", MiddlewareType::Retry},             {"max_body_size", MiddlewareType::MaxBodySize}};

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

const char* type_phrase(const Setting& s) {
    switch (s.getType()) {
    case Setting::TypeInt:
    case Setting::TypeInt64: return "an integer";
    case Setting::TypeFloat: return "a float";
    case Setting::TypeString: return "a string";
    case Setting::TypeBoolean: return "a boolean";
    case Setting::TypeGroup: return "a group";
    case Setting::TypeArray: return "an array";
    case Setting::TypeList: return "a list";
    default: return "nothing";
    }
}

bool is_integer(const Setting& s) {
    return s.getType() == Setting::TypeInt || s.getType() == Setting::TypeInt64;
}

// Each integer setting's literal as written: libconfig 1.5 wraps one
// without an L suffix to 32 bits, so its own value is never trusted.
using WrittenIntegers = std::unordered_map<const Setting*, IntegerLiteral>;

bool is_list(const Setting& s) {
    return s.getType() == Setting::TypeList || s.getType() == Setting::TypeArray;
}

// Service and server names live in 64-byte shared-memory slots and appear in
// "SERVICE/SERVER" commands, hence the short, slash-free alphabet.
bool is_valid_name(std::string_view name) {
    if (name.empty() || name.size() > 63) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// RFC 9110 token: what a header or cookie name may be made of.
bool is_token(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

template <typename E, size_t N>
std::string enum_choices(const EnumName<E> (&names)[N]) {
    std::string out;
    for (size_t i = 0; i < N; ++i) out += (i ? ", " : "") + std::string(names[i].name);
    return out;
}

template <typename E, size_t N>
const char* enum_text(const EnumName<E> (&names)[N], E value) {
    for (const auto& n : names)
        if (n.value == value) return n.name;
    return "?";
}

// Collects the diagnostics of one load; `file` names text that has no file.
class Diagnostics {
public:
    Diagnostics(std::string file, std::string include_dir)
        : file_(std::move(file)), include_dir_(std::move(include_dir)) {}

    void add(const Setting& at, std::string path, std::string message) {
        list_.push_back(at_setting(at, std::move(path), std::move(message)));
    }
    // What loads but looks like a mistake: the config is used all the same.
    void warn(const Setting& at, std::string path, std::string message) {
        warnings_.push_back(at_setting(at, std::move(path), std::move(message)));
    }
    // Problems are found group by group; people read them in file order.
    std::vector<Diagnostic> sorted() && { return by_line(std::move(list_)); }
    // "FILE:LINE: warning: path: message", in file order.
    std::vector<std::string> warnings() const {
        std::vector<std::string> out;
        for (const Diagnostic& d : by_line(warnings_))
            out.push_back(d.file + ":" + std::to_string(d.line) + ": warning: " + d.path + ": " + d.message);
        return out;
    }
    bool empty() const { return list_.empty(); }
    // Where `at` was written, for a check made after loading (a file it names).
    Where where(const Setting& at, std::string path) const {
        return Where{source_file(at), static_cast<int>(at.getSourceLine()), std::move(path)};
    }

private:
    // libconfig names an @include'd file as written, relative to the include
    // directory; the main text has no name (it is read as a string).
    std::string source_file(const Setting& at) const {
        const char* source = at.getSourceFile();
        if (!source) return file_;
        return source[0] == '/' ? source : include_dir_ + source;
    }

    Diagnostic at_setting(const Setting& at, std::string path, std::string message) const {
        // The root group has no line of its own: it opens the file.
        const int line = at.isRoot() ? 1 : static_cast<int>(at.getSourceLine());
        return Diagnostic{source_file(at), line, std::move(path), std::move(message)};
    }

    static std::vector<Diagnostic> by_line(std::vector<Diagnostic> list) {
        std::stable_sort(list.begin(), list.end(),
                         [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
        return list;
    }

    std::string file_;
    std::string include_dir_;
    std::vector<Diagnostic> list_;
    std::vector<Diagnostic> warnings_;
};

// Reads one libconfig group: knows its key path ("services[0].health_check")
// and turns every wrong value into a diagnostic. Getters return true only
// when the key is present and its value valid; `out` keeps its default otherwise.
class Reader {
public:
    Reader(const Setting& group, std::string path, Diagnostics& diags, const WrittenIntegers& written)
        : group_(group), path_(std::move(path)), diags_(diags), written_(written) {}

    const std::string& path() const { return path_; }
    const Setting& setting() const { return group_; }
    int line() const { return static_cast<int>(group_.getSourceLine()); }
    std::string path_of(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
    const Setting* find(const char* key) const {
        return group_.exists(key) ? &group_[key] : nullptr;
    }

    Where where(const char* key) const {
        const Setting* s = find(key);
        return diags_.where(s ? *s : group_, s ? path_of(key) : path_);
    }

    void error_here(std::string message) { diags_.add(group_, path_, std::move(message)); }
    void error_at(const Setting& s, const std::string& path, std::string message) {
        diags_.add(s, path, std::move(message));
    }
    void error_at(const char* key, std::string message) {
        if (const Setting* s = find(key)) error_at(*s, path_of(key), std::move(message));
    }

    // A missing key is reported at the line of the group that should hold it.
    bool require(std::initializer_list<const char*> keys) {
        bool all = true;
        for (const char* key : keys) {
            if (find(key)) continue;
            error_here(std::string("missing required key ") + quoted(key));
            all = false;
        }
        return all;
    }

    void check_unknown_keys(std::initializer_list<const char*> allowed) {
        for (int i = 0; i < group_.getLength(); ++i) {
            const Setting& child = group_[i];
            const char* name = child.getName();
            if (!name) continue;
            const bool known = std::any_of(allowed.begin(), allowed.end(),
                                           [name](const char* a) { return std::strcmp(a, name) == 0; });
            if (!known) error_at(child, path_of(name), "unknown key");
        }
    }

    bool get_int(const char* key, int& out, long long lo, long long hi) {
        long long value = 0;
        if (!get_int64(key, value, lo, hi)) return false;
        out = static_cast<int>(value);
        return true;
    }

    bool get_int64(const char* key, long long& out, long long lo, long long hi) {
        const Setting* s = find(key);
        return s && int_value(*s, path_of(key), out, lo, hi);
    }

    bool get_bool(const char* key, bool& out) {
        const Setting* s = find(key);
        if (!s || !has_type(*s, path_of(key), s->getType() == Setting::TypeBoolean, "a boolean"))
            return false;
        out = static_cast<bool>(*s);
        return true;
    }

    bool get_string(const char* key, std::string& out) {
        const Setting* s = find(key);
        return s && string_value(*s, path_of(key), out);
    }

    bool get_nonempty_string(const char* key, std::string& out) {
        std::string text;
        if (!get_string(key, text)) return false;
        if (text.empty()) {
            error_at(key, "must not be empty");
            return false;
        }
        out = std::move(text);
        return true;
    }

    bool get_absolute_path(const char* key, std::string& out) {
        std::string text;
        if (!get_string(key, text)) return false;
        if (text.empty() || text.front() != '/') {
            error_at(key, "must be an absolute path (got " + quoted(text) + ")");
            return false;
        }
        out = std::move(text);
        return true;
    }

    // An integer of milliseconds or a string with a unit ("250ms", "2s").
    bool get_duration(const char* key, uint64_t& out, uint64_t min_ms) {
        const Setting* s = find(key);
        if (!s) return false;
        uint64_t ms = 0;
        std::string written;
        if (is_integer(*s)) {
            const IntegerLiteral& literal = written_.at(s);
            const long long value = literal.value;
            written = literal.text;
            if (value < 0) {
                error_at(key, "must not be negative (got " + written + ")");
                return false;
            }
            ms = uint64_t(value);
        } else if (s->getType() == Setting::TypeString) {
            written = quoted(s->c_str());
            std::string error;
            if (!parse_duration_ms(s->c_str(), ms, error)) {
                error_at(key, error);
                return false;
            }
        } else {
            has_type(*s, path_of(key), false, "a duration such as \"2s\" or an integer of milliseconds");
            return false;
        }
        if (ms < min_ms || ms > kMaxDurationMs) {
            error_at(key, (min_ms == 0 ? std::string("must be at most ")
                                       : "must be between " + format_duration_ms(min_ms) + " and ") +
                              kMaxDurationText + " (got " + written + ")");
            return false;
        }
        out = ms;
        return true;
    }

    template <typename E, size_t N>
    bool get_enum(const char* key, E& out, const EnumName<E> (&names)[N]) {
        std::string text;
        if (!get_string(key, text)) return false;
        for (const auto& n : names) {
            if (text == n.name) {
                out = n.value;
                return true;
            }
        }
        error_at(key, "must be one of " + enum_choices(names) + " (got " + quoted(text) + ")");
        return false;
    }

    // Visits the group `key`, if present; a non-group value is an error.
    template <typename Visit>
    bool with_group(const char* key, Visit&& visit) {
        const Setting* s = find(key);
        if (!s || !has_type(*s, path_of(key), s->getType() == Setting::TypeGroup, "a group { ... }"))
            return false;
        Reader child(*s, path_of(key), diags_, written_);
        visit(child);
        return true;
    }

    // Visits each `Name = "value";` of the group `key`: visit(setting, path, name, value).
    // Returns whether the group is there.
    template <typename Visit>
    bool each_string_member(const char* key, Visit&& visit) {
        return with_group(key, [&](Reader& g) {
            for (int i = 0; i < g.group_.getLength(); ++i) {
                const Setting& item = g.group_[i];
                const std::string item_path = g.path_of(item.getName());
                std::string text;
                if (g.string_value(item, item_path, text)) visit(item, item_path, std::string(item.getName()), text);
            }
        });
    }

    // Visits each group of the list `key`, which must hold at least one `noun`.
    template <typename Visit>
    void each_group(const char* key, const char* noun, Visit&& visit) {
        const Setting* list = find(key);
        if (!list) return;
        const std::string list_path = path_of(key);
        if (!has_type(*list, list_path, is_list(*list), "a list ( { ... }, ... )")) return;
        if (list->getLength() == 0) error_at(*list, list_path, std::string("must list at least one ") + noun);
        for (int i = 0; i < list->getLength(); ++i) {
            const Setting& item = (*list)[i];
            const std::string item_path = list_path + "[" + std::to_string(i) + "]";
            if (!has_type(item, item_path, item.getType() == Setting::TypeGroup, "a group { ... }"))
                continue;
            Reader child(item, item_path, diags_, written_);
            visit(child, i);
        }
    }

    // Visits each string of `key`, written as one string or a list of them:
    // visit(setting, path, text). Returns the number of items written.
    template <typename Visit>
    int each_string(const char* key, Visit&& visit) {
        const Setting* s = find(key);
        if (!s) return 0;
        const std::string key_path = path_of(key);
        if (s->getType() == Setting::TypeString) {
            visit(*s, key_path, std::string(s->c_str()));
            return 1;
        }
        if (!has_type(*s, key_path, is_list(*s), "a string or a list of strings")) return 0;
        for (int i = 0; i < s->getLength(); ++i) {
            const Setting& item = (*s)[i];
            const std::string item_path = key_path + "[" + std::to_string(i) + "]";
            std::string text;
            if (string_value(item, item_path, text)) visit(item, item_path, text);
        }
        return s->getLength();
    }

    // "hostname:port" is resolved here, at load and at each reload.
    bool get_address(const char* key, net::Address& out, std::string& text) {
        std::string written;
        if (!get_string(key, written)) return false;
        std::string error;
        if (!net::parse_address(written, out, error)) {
            error_at(key, error);
            return false;
        }
        text = std::move(written);
        return true;
    }

    void get_cidr_list(const char* key, std::vector<net::Cidr>& out) {
        each_string(key, [&](const Setting& s, const std::string& path, const std::string& text) {
            net::Cidr cidr;
            std::string error;
            if (net::parse_cidr(text, cidr, error)) out.push_back(cidr);
            else error_at(s, path, error);
        });
    }

private:
    bool has_type(const Setting& s, const std::string& path, bool ok, const char* wanted) {
        if (!ok) error_at(s, path, std::string("must be ") + wanted + " (got " + type_phrase(s) + ")");
        return ok;
    }

    bool string_value(const Setting& s, const std::string& path, std::string& out) {
        if (!has_type(s, path, s.getType() == Setting::TypeString, "a string")) return false;
        out = s.c_str();
        return true;
    }

    bool int_value(const Setting& s, const std::string& path, long long& out, long long lo, long long hi) {
        if (!has_type(s, path, is_integer(s), "an integer")) return false;
        const IntegerLiteral& literal = written_.at(&s);
        const long long value = literal.value;
        if (value < lo || value > hi) {
            const std::string got = " (got " + literal.text + ")";
            if (hi == INT_MAX && value < lo)
                error_at(s, path, "must be at least " + std::to_string(lo) + got);
            else
                error_at(s, path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + got);
            return false;
        }
        out = value;
        return true;
    }

    const Setting& group_;
    std::string path_;
    Diagnostics& diags_;
    const WrittenIntegers& written_;
};

// What the name-uniqueness and listen-uniqueness rules remember.
struct NameSeen {
    std::string name;
    int line;
};

struct ListenSeen {
    net::Address address;
    size_t service_index;
    std::string service_label;  // "service \"web\"" or "services[0]" when unnamed
    int line;
};

class Loader {
public:
    // `base_dir`: what relative paths in the file (htpasswd) are relative
    // to, with its trailing slash ("" for the working directory).
    Loader(Diagnostics& diags, const WrittenIntegers& written, std::string base_dir)
        : diags_(diags), written_(written), base_dir_(std::move(base_dir)) {}

    Config read(const Setting& root) {
        Config cfg;
        Reader top(root, "", diags_, written_);
        top.check_unknown_keys({"global", "services", "middlewares"});
        top.with_group("global", [&](Reader& r) { read_global(r, cfg.global); });
        top.each_group("middlewares", "middleware", [&](Reader& r, int) {
            Middleware m;
            read_middleware(r, m);
            cfg.middlewares.push_back(std::move(m));
        });
        if (top.require({"services"})) {
            top.each_group("services", "service", [&](Reader& r, int index) {
                Service service;
                read_service(r, size_t(index), service);
                cfg.services.push_back(std::move(service));
                service_sites_.push_back({&r.setting(), r.path()});
            });
        }
        check_stats_listen(cfg.global.stats);
        resolve(cfg);
        return cfg;
    }

    // The htpasswd files read, for Config::files.
    const std::vector<std::string>& named_files() const { return named_files_; }

private:
    void read_global(Reader& r, Global& g) {
        r.check_unknown_keys({"workers", "user", "group", "run_dir", "state_file", "max_connections",
                              "shutdown_timeout", "watchdog_timeout", "poller", "watch", "log", "stats"});
        r.get_int("workers", g.workers, 0, 64);
        r.get_nonempty_string("user", g.user);
        r.get_nonempty_string("group", g.group);
        r.get_absolute_path("run_dir", g.run_dir);
        r.get_absolute_path("state_file", g.state_file);
        r.get_int("max_connections", g.max_connections, 1, 1000000);
        r.get_duration("shutdown_timeout", g.shutdown_timeout_ms, 0);
        // An idle worker loop wakes once a second: a shorter watchdog would
        // kill healthy workers. 0 turns it off.
        if (r.get_duration("watchdog_timeout", g.watchdog_timeout_ms, 0) && g.watchdog_timeout_ms > 0 &&
            g.watchdog_timeout_ms < kMinWatchdogMs)
            r.error_at("watchdog_timeout", "must be 0 (off) or at least " + std::to_string(kMinWatchdogMs) + " ms");
        r.get_enum("poller", g.poller, kPollers);
        r.get_bool("watch", g.watch);
        r.with_group("log", [&](Reader& log) {
            log.check_unknown_keys({"level", "target", "access_log"});
            log.get_enum("level", g.log.level, kLogLevels);
            log.get_enum("target", g.log.target, kLogTargets);
            // An empty string is the explicit way to say "no access log".
            std::string access_log;
            if (log.get_string("access_log", access_log) && !access_log.empty())
                log.get_absolute_path("access_log", g.log.access_log);
        });
        r.with_group("stats", [&](Reader& stats) { read_stats(stats, g.stats); });
    }

    void read_stats(Reader& r, Stats& stats) {
        r.check_unknown_keys({"listen", "allow"});
        net::Address address;
        std::string text;
        if (r.get_address("listen", address, text)) {
            if (address.family() == AF_UNIX) {
                r.error_at("listen", "must be an IP address and port, not a unix socket");
            } else {
                stats.listen_text = text;
                stats.listen = address;
                stats_listen_setting_ = r.find("listen");
            }
        }
        r.get_cidr_list("allow", stats.allow);
    }

    // relay = "sockmap" hands established tcp connections to the kernel, which
    // cannot decrypt: no TLS on either side.
    void read_relay(Reader& r, Service& svc) {
        r.get_enum("relay", svc.relay, kRelays);
        long long after = 0;
        if (r.get_int64("sockmap_after", after, 0, 1ll << 50)) svc.sockmap_after = uint64_t(after);
        if (r.find("sockmap_after") && svc.relay != Relay::Sockmap)
            r.error_at("sockmap_after", "only with relay = \"sockmap\"");
        if (svc.relay != Relay::Sockmap) return;
        if (svc.mode != Mode::Tcp)
            r.error_at("relay", "\"sockmap\" is only for mode = \"tcp\" services (an HTTP session reads every byte)");
        else if (r.find("tls") || r.find("server_tls"))
            r.error_at("relay", "\"sockmap\" cannot relay TLS (the kernel would have to decrypt): remove tls/server_tls "
                                "or use relay = \"worker\"");
    }

    void read_service(Reader& r, size_t index, Service& svc) {
        svc.line = r.line();
        r.check_unknown_keys({"name", "listen", "mode", "balance", "connect_timeout", "idle_timeout",
                              "retries", "max_connections", "allow", "deny", "proxy_protocol", "relay", "sockmap_after",
                              "health_check", "passive", "http", "keepalive", "servers", "routes",
                              "middlewares", "sticky", "tls", "server_tls"});
        r.require({"name"});
        check_service_kind(r);
        read_name(r, "service", service_names_, svc.name);
        read_listen(r, index, svc);
        const bool mode_known = r.get_enum("mode", svc.mode, kModes) || !r.find("mode");
        read_balance(r, mode_known, svc);
        r.get_duration("connect_timeout", svc.connect_timeout_ms, 1);
        r.get_duration("idle_timeout", svc.idle_timeout_ms, 1);
        r.get_int("retries", svc.retries, 0, 10);
        r.get_int("max_connections", svc.max_connections, 0, INT_MAX);
        r.get_cidr_list("allow", svc.allow);
        r.get_cidr_list("deny", svc.deny);
        r.get_enum("proxy_protocol", svc.proxy_protocol, kProxyProtocols);
        read_relay(r, svc);
        r.with_group("health_check", [&](Reader& hc) { read_health_check(hc, svc.health_check); });
        r.with_group("passive", [&](Reader& p) {
            p.check_unknown_keys({"max_fails", "fail_timeout"});
            p.get_int("max_fails", svc.passive.max_fails, 0, 1000);
            p.get_duration("fail_timeout", svc.passive.fail_timeout_ms, 1);
        });
        for (const char* key : {"http", "keepalive", "routes", "middlewares", "sticky"})
            if (r.find(key) && svc.mode != Mode::Http)
                r.error_at(key, "only for mode = \"http\" services");
        // The entry point's middlewares are names, resolved once every one is read.
        if (r.find("middlewares") && !r.find("routes"))
            r.error_at("middlewares", "only for a service with routes (an entry point): they run before "
                                      "each route's own");
        r.with_group("sticky", [&](Reader& st) {
            st.check_unknown_keys({"cookie"});
            if (!r.find("servers")) {
                r.error_at("sticky", "only for a service with servers (it pins a client to one of them)");
                return;
            }
            std::string cookie = "EPSRV";
            if (st.get_string("cookie", cookie) && !is_token(cookie)) {
                st.error_at("cookie", "must be a cookie name (an HTTP token) (got " + quoted(cookie) + ")");
                return;
            }
            svc.sticky_cookie = cookie;
        });
        r.each_group("routes", "route", [&](Reader& rr, int index) {
            Route route;
            route.ordinal = index;
            read_route(rr, route);
            route_sites_.push_back({service_sites_.size(), svc.routes.size(), &rr.setting(), rr.path()});
            svc.routes.push_back(std::move(route));
        });
        r.with_group("http", [&](Reader& h) {
            h.check_unknown_keys({"request_timeout", "keepalive_timeout", "server_timeout", "max_header_size",
                                  "max_body_size", "trusted_proxies"});
            h.get_duration("request_timeout", svc.http.request_timeout_ms, 1);
            h.get_duration("keepalive_timeout", svc.http.keepalive_timeout_ms, 1);
            h.get_duration("server_timeout", svc.http.server_timeout_ms, 1);
            h.get_int("max_header_size", svc.http.max_header_size, 1024, 65536);
            int max_body = 0;
            if (h.get_int("max_body_size", max_body, 0, INT_MAX)) svc.http.max_body_size = uint64_t(max_body);
            h.get_cidr_list("trusted_proxies", svc.http.trusted_proxies);
        });
        r.with_group("keepalive", [&](Reader& k) {
            k.check_unknown_keys({"max_idle", "idle_timeout", "max_requests"});
            k.get_int("max_idle", svc.keepalive.max_idle, 0, 10000);
            k.get_duration("idle_timeout", svc.keepalive.idle_timeout_ms, 1);
            k.get_int("max_requests", svc.keepalive.max_requests, 1, INT_MAX);
        });
        read_tls_groups(r, svc);
        std::vector<NameSeen> server_names;
        r.each_group("servers", "server", [&](Reader& s, int) {
            Server server;
            read_server(s, server_names, server);
            svc.servers.push_back(std::move(server));
        });
    }

    // tls (listeners) and server_tls (servers), DESIGN.md §9. Files are only
    // named here; tls/context.cpp reads them (easyproxy -t and every start
    // and reload), with these places for its messages.
    void read_tls_groups(Reader& r, Service& svc) {
        r.with_group("tls", [&](Reader& t) {
            Tls& tls = svc.tls;
            tls.enabled = true;
            tls.where = r.where("tls");
            if (svc.mode == Mode::Http) tls.alpn = {"http/1.1"};
            t.check_unknown_keys({"certificates", "min_version", "ciphers", "ciphersuites", "alpn",
                                  "handshake_timeout"});
            if (t.require({"certificates"})) {
                t.each_group("certificates", "certificate", [&](Reader& c, int) {
                    c.check_unknown_keys({"cert", "key"});
                    Certificate cert;
                    if (c.require({"cert", "key"}) && c.get_absolute_path("cert", cert.cert) &&
                        c.get_absolute_path("key", cert.key)) {
                        cert.cert_where = c.where("cert");
                        cert.key_where = c.where("key");
                        // `watch` reloads when a certificate is renewed.
                        named_files_.push_back(cert.cert);
                        named_files_.push_back(cert.key);
                        tls.certificates.push_back(std::move(cert));
                    }
                });
            }
            std::string version;
            if (t.get_string("min_version", version)) {
                if (version == "1.2") tls.min_version = 0x0303;
                else if (version == "1.3") tls.min_version = 0x0304;
                else t.error_at("min_version", "must be \"1.2\" or \"1.3\" (got " + quoted(version) + ")");
            }
            t.get_string("ciphers", tls.ciphers);
            t.get_string("ciphersuites", tls.ciphersuites);
            if (t.find("alpn")) {
                tls.alpn.clear();
                t.each_string("alpn", [&](const Setting& s, const std::string& path, const std::string& proto) {
                    // HTTP/2 is not built: offering it would break every client that picks it.
                    if (proto == "h2" || proto == "h2c")
                        t.error_at(s, path, quoted(proto) + " is not supported (HTTP/2 is not built)");
                    else if (proto.empty() || proto.size() > 255)
                        t.error_at(s, path, "must be 1 to 255 bytes long");
                    else
                        tls.alpn.push_back(proto);
                });
            }
            t.get_duration("handshake_timeout", tls.handshake_timeout_ms, 1);
        });
        if (svc.tls.enabled && r.find("tls") && !r.find("listen"))
            r.error_at("tls", "only for a service that listens (a pool reaches its servers with server_tls)");
        if (r.find("server_tls") && !r.find("servers"))
            r.error_at("server_tls", "only for a service with servers (an entry point's requests reach its "
                                     "pools' servers: give server_tls to the pool)");
        r.with_group("server_tls", [&](Reader& t) {
            ServerTls& st = svc.server_tls;
            st.enabled = true;
            st.where = r.where("server_tls");
            t.check_unknown_keys({"verify", "ca_file", "sni", "cert", "key"});
            t.get_bool("verify", st.verify);
            if (t.get_absolute_path("ca_file", st.ca_file)) {
                st.ca_where = t.where("ca_file");
                named_files_.push_back(st.ca_file);
            }
            if (t.get_nonempty_string("sni", st.sni) && !is_printable_without_spaces(st.sni))
                t.error_at("sni", "must not contain spaces or control characters");
            if (t.get_absolute_path("cert", st.cert)) {
                st.cert_where = t.where("cert");
                named_files_.push_back(st.cert);
            }
            if (t.get_absolute_path("key", st.key)) {
                st.key_where = t.where("key");
                named_files_.push_back(st.key);
            }
            if (t.find("cert") && !t.find("key")) t.error_at("cert", "needs a \"key\" beside it");
            if (t.find("key") && !t.find("cert")) t.error_at("key", "needs a \"cert\" beside it");
        });
    }

    // What a service is follows from its keys (DESIGN.md §8): listen and
    // servers, a plain service; listen and routes, an entry point; servers
    // alone, a pool that routes send to.
    void check_service_kind(Reader& r) {
        const bool listen = r.find("listen"), servers = r.find("servers"), routes = r.find("routes");
        if (routes && !listen)
            r.error_at("routes", "a service with routes needs \"listen\": routes choose where the "
                                 "clients it accepts go");
        else if (!listen && !servers)
            r.error_here("needs \"listen\" and \"servers\" (a service), \"listen\" and \"routes\" (an entry "
                         "point) or \"servers\" alone (a pool that routes send to)");
        else if (listen && !servers && !routes)
            r.error_here("missing required key \"servers\" (or \"routes\")");
        if (routes && servers)
            r.error_at("servers", "a service with routes sends each request where its routes say, so its own "
                                  "servers would never be used: put them in a pool (a service with servers "
                                  "and no listen) and name it in a route");
    }

    void read_route(Reader& r, Route& route) {
        route.line = r.line();
        r.check_unknown_keys({"host", "path", "path_prefix", "methods", "headers", "priority", "service",
                              "middlewares"});
        if (r.require({"service"})) r.get_nonempty_string("service", route.service);
        std::string host;
        if (r.get_string("host", host)) {
            std::string error;
            if (normalise_route_host(host, error)) route.host = host;
            else r.error_at("host", error);
        }
        read_route_path(r, "path", route.path);
        read_route_path(r, "path_prefix", route.path_prefix);
        if (r.find("path") && r.find("path_prefix"))
            r.error_at("path_prefix", "give \"path\" (exact) or \"path_prefix\", not both");
        r.each_string("methods", [&](const Setting& s, const std::string& path, const std::string& text) {
            const bool upper = std::none_of(text.begin(), text.end(), [](char c) { return c >= 'a' && c <= 'z'; });
            if (is_token(text) && upper) route.methods.push_back(text);
            else r.error_at(s, path, "must be a method in upper case, as \"GET\" (got " + quoted(text) + ")");
        });
        r.each_string_member("headers", [&](const Setting& s, const std::string& path, const std::string& name,
                                            const std::string& value) {
            if (!is_token(name)) r.error_at(s, path, "must be a header name (an HTTP token)");
            else if (!is_header_value(value)) r.error_at(s, path, "must not contain control characters");
            else route.headers.emplace_back(name, value);
        });
        if (r.get_int("priority", route.priority, -1000000, 1000000)) route.has_priority = true;
        // The route's middlewares are names: resolve() reads them.
    }

    // Host names match case-insensitively, with the port and one trailing dot
    // of the request's Host dropped: keep them in that same form.
    static bool normalise_route_host(std::string& host, std::string& error) {
        const std::string written = host;
        std::transform(host.begin(), host.end(), host.begin(),
                       [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; });
        if (host.ends_with('.')) host.pop_back();
        std::string_view name = host;
        const bool wildcard = name.starts_with("*.");
        if (wildcard) name.remove_prefix(2);
        const bool ipv6 = !wildcard && name.starts_with('[') && name.ends_with(']') && name.size() > 2;
        if (name.find('*') != std::string_view::npos) {
            error = "a wildcard is \"*.\" before a domain, for exactly one label, as \"*.example.com\" (got " +
                    quoted(written) + ")";
            return false;
        }
        if (ipv6) {
            const std::string_view inside = name.substr(1, name.size() - 2);
            const bool ok = std::all_of(inside.begin(), inside.end(), [](char c) {
                return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
            });
            if (ok) return true;
        }
        if (!ipv6 && name.find(':') != std::string_view::npos) {
            error = "must be a host name without a port: the port of a request's Host is ignored (got " +
                    quoted(written) + ")";
            return false;
        }
        bool ok = !name.empty() && !name.starts_with('.') && name.find("..") == std::string_view::npos;
        for (char c : name)
            ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_');
        if (!ok) {
            error = "must be a host name, or \"*.\" and a domain (got " + quoted(written) + ")";
            return false;
        }
        return true;
    }

    // A path to match, compared with the request's normalised path, which
    // never holds a query or a dot segment (those requests get 400).
    static bool read_route_path(Reader& r, const char* key, std::string& out) {
        std::string path;
        if (!r.get_string(key, path)) return false;
        path = decode_unreserved(path);
        std::string error = path_error(path);
        if (!error.empty()) {
            r.error_at(key, error);
            return false;
        }
        out = std::move(path);
        return true;
    }

    // `%XX` of an unreserved character (A-Za-z0-9-._~) decoded, as the router
    // decodes request paths, so that the match order (longer prefix first)
    // and `-t` see the form that is matched.
    static std::string decode_unreserved(const std::string& path) {
        auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        };
        std::string out;
        for (size_t i = 0; i < path.size(); ++i) {
            if (path[i] == '%' && i + 2 < path.size() && hex(path[i + 1]) >= 0 && hex(path[i + 2]) >= 0) {
                const char c = char(hex(path[i + 1]) * 16 + hex(path[i + 2]));
                if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~') {
                    out += c;
                    i += 2;
                    continue;
                }
            }
            out += path[i];
        }
        return out;
    }

    // Why `path` cannot be a request path to match or to write, or "".
    static std::string path_error(const std::string& path) {
        if (path.empty() || path.front() != '/') return "must start with \"/\" (got " + quoted(path) + ")";
        if (!is_printable_without_spaces(path)) return "must not contain spaces or control characters";
        if (path.find_first_of("?#") != std::string::npos)
            return "must be a path alone, without \"?\" or \"#\" (got " + quoted(path) + ")";
        for (size_t at = 0; at != std::string::npos; at = path.find('/', at + 1)) {
            const size_t end = path.find('/', at + 1);
            const std::string_view segment = std::string_view(path).substr(at + 1, end == std::string::npos
                                                                                       ? std::string::npos
                                                                                       : end - at - 1);
            if (segment == "." || segment == "..")
                return "must not hold a \".\" or \"..\" segment (got " + quoted(path) + ")";
        }
        return "";
    }

    // Header values may hold spaces and tabs, never CR, LF or other controls.
    static bool is_header_value(std::string_view value) {
        return std::all_of(value.begin(), value.end(),
                           [](char c) { return c == '\t' || (static_cast<unsigned char>(c) >= 0x20 && c != '\x7f'); });
    }

    void read_middleware(Reader& r, Middleware& m) {
        m.line = r.line();
        r.require({"name", "type"});
        read_name(r, "middleware", middleware_names_, m.name);
        // Which keys are known depends on the type.
        if (!r.get_enum("type", m.type, kMiddlewareTypes)) return;
        switch (m.type) {
        case MiddlewareType::Headers: return read_headers_middleware(r, m);
        case MiddlewareType::StripPrefix: {
            r.check_unknown_keys({"name", "type", "prefix", "prefixes"});
            if (r.find("prefix") && r.find("prefixes")) r.error_at("prefixes", "give \"prefix\" or \"prefixes\", not both");
            else if (!r.find("prefix") && !r.find("prefixes")) r.error_here("needs \"prefix\" or \"prefixes\"");
            for (const char* key : {"prefix", "prefixes"}) {
                const int count = r.each_string(key, [&](const Setting& s, const std::string& path,
                                                         const std::string& text) {
                    std::string error = path_error(text);
                    if (error.empty()) m.prefixes.push_back(text);
                    else r.error_at(s, path, error);
                });
                if (count == 0 && r.find(key) && is_list(*r.find(key))) r.error_at(key, "must list at least one prefix");
            }
            return;
        }
        case MiddlewareType::AddPrefix: {
            r.check_unknown_keys({"name", "type", "prefix"});
            std::string prefix;
            if (r.require({"prefix"}) && r.get_string("prefix", prefix)) {
                std::string error = path_error(prefix);
                if (error.empty()) m.prefixes.push_back(prefix);
                else r.error_at("prefix", error);
            }
            return;
        }
        case MiddlewareType::Redirect: return read_redirect(r, m);
        case MiddlewareType::BasicAuth: return read_basic_auth(r, m);
        case MiddlewareType::IpAllow: {
            r.check_unknown_keys({"name", "type", "allow"});
            if (!r.require({"allow"})) return;
            r.get_cidr_list("allow", m.allow);
            const Setting* allow = r.find("allow");
            if (is_list(*allow) && allow->getLength() == 0)
                r.error_at("allow", "must list at least one address or prefix");
            return;
        }
        case MiddlewareType::RateLimit: {
            r.check_unknown_keys({"name", "type", "average", "period", "burst", "by"});
            long long value = 0;
            if (r.require({"average"}) && r.get_int64("average", value, 1, 1000000000)) m.average = uint64_t(value);
            r.get_duration("period", m.period_ms, 1);
            if (r.get_int64("burst", value, 1, 1000000000)) m.burst = uint64_t(value);
            std::string by;
            if (r.get_string("by", by) && by != "client")
                r.error_at("by", "must be \"client\" (one bucket per client address) (got " + quoted(by) + ")");
            return;
        }
        case MiddlewareType::RequestId: {
            r.check_unknown_keys({"name", "type", "header"});
            std::string header;
            if (r.get_string("header", header)) {
                if (is_token(header)) m.header = header;
                else r.error_at("header", "must be a header name (an HTTP token) (got " + quoted(header) + ")");
            }
            return;
        }
        case MiddlewareType::Retry:
            r.check_unknown_keys({"name", "type", "attempts"});
            r.get_int("attempts", m.attempts, 1, 10);
            return;
        case MiddlewareType::MaxBodySize: {
            r.check_unknown_keys({"name", "type", "limit"});
            long long limit = 0;
            if (r.require({"limit"}) && r.get_int64("limit", limit, 1, 1ll << 50)) m.max_body_size = uint64_t(limit);
            return;
        }
        }
    }

    void read_headers_middleware(Reader& r, Middleware& m) {
        r.check_unknown_keys({"name", "type", "request_set", "request_add", "request_remove", "response_set",
                              "response_add", "response_remove"});
        struct Pairs {
            const char* key;
            std::vector<std::pair<std::string, std::string>>& out;
        };
        for (const Pairs& p : {Pairs{"request_set", m.request_set}, Pairs{"request_add", m.request_add},
                               Pairs{"response_set", m.response_set}, Pairs{"response_add", m.response_add}}) {
            r.each_string_member(p.key, [&](const Setting& s, const std::string& path, const std::string& name,
                                            const std::string& value) {
                if (!is_token(name)) r.error_at(s, path, "must be a header name (an HTTP token)");
                else if (!is_header_value(value)) r.error_at(s, path, "must not contain control characters");
                else p.out.emplace_back(name, value);
            });
        }
        for (const auto& side : {std::pair{"request_remove", &m.request_remove},
                                 std::pair{"response_remove", &m.response_remove}}) {
            std::vector<std::string>* out = side.second;  // a lambda cannot capture a structured binding in clang 14
            r.each_string(side.first, [&](const Setting& s, const std::string& path, const std::string& text) {
                if (is_token(text)) out->push_back(text);
                else r.error_at(s, path, "must be a header name (an HTTP token) (got " + quoted(text) + ")");
            });
        }
        const bool any = std::any_of(std::begin(kHeaderKeys), std::end(kHeaderKeys),
                                     [&](const char* key) { return r.find(key) != nullptr; });
        if (!any)
            r.error_here("a headers middleware needs at least one of request_set, request_add, request_remove, "
                         "response_set, response_add, response_remove");
    }
    static constexpr const char* kHeaderKeys[] = {"request_set", "request_add", "request_remove",
                                                  "response_set", "response_add", "response_remove"};

    void read_redirect(Reader& r, Middleware& m) {
        r.check_unknown_keys({"name", "type", "scheme", "host", "port", "path", "code", "permanent"});
        std::string scheme;
        if (r.get_string("scheme", scheme)) {
            if (scheme == "http" || scheme == "https") m.scheme = scheme;
            else r.error_at("scheme", "must be one of http, https (got " + quoted(scheme) + ")");
        }
        std::string host;
        if (r.get_string("host", host)) {
            std::string error;
            if (host.starts_with("*")) r.error_at("host", "must be a host name (got " + quoted(host) + ")");
            else if (normalise_route_host(host, error)) m.host = host;
            else r.error_at("host", error);
        }
        r.get_int("port", m.port, 1, 65535);
        std::string path;
        if (read_route_path(r, "path", path)) m.path = path;
        if (r.get_int("code", m.code, 301, 308) && m.code != 301 && m.code != 302 && m.code != 307 && m.code != 308)
            r.error_at("code", "must be one of 301, 302, 307, 308 (got " + std::to_string(m.code) + ")");
        bool permanent = false;
        if (r.get_bool("permanent", permanent)) {
            if (r.find("code")) r.error_at("permanent", "give \"code\" or \"permanent\", not both");
            else if (permanent) m.code = 301;
        }
        if (!r.find("scheme") && !r.find("host") && !r.find("port") && !r.find("path"))
            r.error_here("a redirect needs at least one of scheme, host, port, path (else it sends a client "
                         "back to the URL it asked for)");
    }

    void read_basic_auth(Reader& r, Middleware& m) {
        r.check_unknown_keys({"name", "type", "htpasswd", "realm", "remove_header"});
        std::string realm;
        if (r.get_nonempty_string("realm", realm)) {
            // It is sent inside a quoted-string: WWW-Authenticate: Basic realm="..."
            if (realm.find_first_of("\"\\") != std::string::npos || !is_header_value(realm))
                r.error_at("realm", "must not contain quotes, backslashes or control characters");
            else m.realm = realm;
        }
        r.get_bool("remove_header", m.remove_header);
        if (!r.require({"htpasswd"}) || !r.get_nonempty_string("htpasswd", m.htpasswd)) return;
        const std::string file = m.htpasswd.front() == '/' ? m.htpasswd : base_dir_ + m.htpasswd;
        named_files_.push_back(file);
        std::string text;
        int error = 0;
        if (!read_whole_file(file, text, error)) {
            r.error_at("htpasswd", "cannot read " + file + ": " + std::strerror(error));
            return;
        }
        HtpasswdResult users = parse_htpasswd(text);
        if (!users.ok()) {
            r.error_at("htpasswd", file + ":" + std::to_string(users.error_line) + ": " + users.error);
            return;
        }
        if (users.entries.empty()) {
            r.error_at("htpasswd", file + " lists no user (every request would get 401)");
            return;
        }
        for (HtpasswdEntry& e : users.entries) m.users.emplace_back(std::move(e.user), std::move(e.hash));
    }

    // Names become indexes once every service and middleware is read: a
    // route may name a service written after it.
    void resolve(Config& cfg) {
        auto index_of = [](const auto& list, const std::string& name) {
            for (size_t i = 0; i < list.size(); ++i)
                if (list[i].name == name) return i;
            return SIZE_MAX;
        };
        auto chain_of = [&](Reader& r, std::vector<std::string>& names, std::vector<uint32_t>& chain) {
            r.each_string("middlewares", [&](const Setting& s, const std::string& path, const std::string& name) {
                names.push_back(name);
                const size_t i = index_of(cfg.middlewares, name);
                if (i == SIZE_MAX) r.error_at(s, path, "unknown middleware " + quoted(name));
                else chain.push_back(uint32_t(i));
            });
        };
        std::vector<std::vector<uint32_t>> entry_chains(cfg.services.size());
        for (size_t i = 0; i < cfg.services.size(); ++i) {
            Reader r(*service_sites_[i].group, service_sites_[i].path, diags_, written_);
            chain_of(r, cfg.services[i].middlewares, entry_chains[i]);
        }
        std::vector<bool> routed(cfg.services.size(), false);
        for (const Site& site : route_sites_) {
            Route& route = cfg.services[site.service].routes[site.route];
            Reader r(*site.group, site.path, diags_, written_);
            route.chain = entry_chains[site.service];
            chain_of(r, route.middlewares, route.chain);
            if (route.service.empty()) continue;
            const size_t target = index_of(cfg.services, route.service);
            if (target == SIZE_MAX) {
                r.error_at("service", "unknown service " + quoted(route.service));
                continue;
            }
            routed[target] = true;
            const Service& pool = cfg.services[target];
            if (pool.mode != Mode::Http)
                r.error_at("service", "service " + quoted(route.service) + " is mode = \"" + mode_name(pool.mode) +
                                          "\": a route sends HTTP requests, to mode = \"http\" services only");
            else if (pool.servers.empty())
                r.error_at("service", "service " + quoted(route.service) +
                                          " has no servers: a route sends to a pool (a service with servers)");
            else
                route.service_index = uint32_t(target);
        }
        for (size_t i = 0; i < cfg.services.size(); ++i) {
            Service& svc = cfg.services[i];
            sort_routes(svc.routes);
            if (svc.listen.empty() && !svc.servers.empty() && !routed[i] && !service_sites_[i].group->exists("listen"))
                diags_.warn(*service_sites_[i].group, service_sites_[i].path,
                            "pool " + quoted(svc.name) + " has no listen and no route names it: it serves nothing");
        }
    }

    // Reads "name", checks its alphabet and that `seen` does not hold it yet.
    bool read_name(Reader& r, const char* what, std::vector<NameSeen>& seen, std::string& out) {
        std::string name;
        if (!r.get_string("name", name)) return false;
        if (!is_valid_name(name)) {
            r.error_at("name", "must be 1 to 63 characters among A-Z a-z 0-9 _ . - (got " + quoted(name) + ")");
            return false;
        }
        const int line = static_cast<int>(r.find("name")->getSourceLine());
        for (const NameSeen& earlier : seen) {
            if (earlier.name == name) {
                r.error_at("name", std::string("duplicate ") + what + " name " + quoted(name) +
                                       " (first defined at line " + std::to_string(earlier.line) + ")");
                return false;
            }
        }
        seen.push_back({name, line});
        out = std::move(name);
        return true;
    }

    void read_listen(Reader& r, size_t index, Service& svc) {
        const std::string label = svc.name.empty() ? r.path() : "service " + quoted(svc.name);
        const int count = r.each_string("listen", [&](const Setting& s, const std::string& path,
                                                      const std::string& text) {
            net::Address address;
            std::string error;
            if (!net::parse_address(text, address, error)) {
                r.error_at(s, path, error);
                return;
            }
            const int line = static_cast<int>(s.getSourceLine());
            for (const ListenSeen& earlier : listens_) {
                if (!(earlier.address == address)) continue;
                const std::string shown = net::format_address(address);
                if (earlier.service_index == index)
                    r.error_at(s, path, "listen address " + shown + " is listed twice (also at line " +
                                            std::to_string(earlier.line) + ")");
                else
                    r.error_at(s, path, "listen address " + shown + " is already used by " +
                                            earlier.service_label + " (line " +
                                            std::to_string(earlier.line) + ")");
                return;
            }
            listens_.push_back({address, index, label, line});
            svc.listen_text.push_back(text);
            svc.listen.push_back(address);
        });
        const Setting* listen = r.find("listen");
        if (listen && count == 0 && is_list(*listen))
            r.error_at("listen", "must list at least one address");
    }

    // A plain algorithm name, or "header:NAME" / "cookie:NAME" whose NAME is
    // an HTTP token (it is matched against request headers).
    void read_balance(Reader& r, bool mode_known, Service& svc) {
        std::string text;
        if (!r.get_string("balance", text)) return;
        struct Keyed {
            std::string_view prefix;
            const char* noun;
            const char* example;
            Balance algorithm;
        };
        constexpr Keyed kKeyed[] = {{"header:", "header", "header:X-User", Balance::Header},
                                    {"cookie:", "cookie", "cookie:session", Balance::Cookie}};
        std::optional<Balance> algorithm;
        std::string key;
        for (const auto& n : kPlainBalances)
            if (text == n.name) algorithm = n.value;
        for (const Keyed& k : kKeyed) {
            if (!std::string_view(text).starts_with(k.prefix)) continue;
            key = text.substr(k.prefix.size());
            if (!is_token(key)) {
                r.error_at("balance", std::string("needs a ") + k.noun + " name after " + quoted(k.prefix) +
                                          ", as " + quoted(k.example) + " (got " + quoted(text) + ")");
                return;
            }
            algorithm = k.algorithm;
        }
        if (!algorithm) {
            r.error_at("balance", "must be one of roundrobin, random, source, leastconn, p2c, maglev, "
                                  "uri, header:NAME, cookie:NAME (got " + quoted(text) + ")");
            return;
        }
        const bool http_only =
            *algorithm == Balance::Uri || *algorithm == Balance::Header || *algorithm == Balance::Cookie;
        if (http_only && mode_known && svc.mode != Mode::Http) {
            r.error_at("balance", "balance " + quoted(text) + " is only valid when mode = \"http\"");
            return;
        }
        svc.balance = *algorithm;
        svc.balance_key = key;
    }

    void read_health_check(Reader& r, HealthCheck& hc) {
        // A health_check group without a type is the plain connect check.
        hc.type = CheckType::Tcp;
        r.check_unknown_keys({"type", "interval", "timeout", "rise", "fall", "path", "expect_status", "host",
                              "send", "expect"});
        const bool type_known = r.get_enum("type", hc.type, kCheckTypes) || !r.find("type");
        const bool interval_ok = r.get_duration("interval", hc.interval_ms, 1) || !r.find("interval");
        const bool timeout_written = r.find("timeout") != nullptr;
        const bool timeout_ok = r.get_duration("timeout", hc.timeout_ms, 1) || !timeout_written;
        // A check must end before the next one starts, else checks of one
        // server pile up. A short interval alone shortens the default timeout.
        if (!timeout_written && hc.timeout_ms > hc.interval_ms) hc.timeout_ms = hc.interval_ms;
        if (interval_ok && timeout_ok && hc.timeout_ms > hc.interval_ms)
            r.error_at("timeout", "timeout must not be longer than interval (timeout " +
                                      format_duration_ms(hc.timeout_ms) + ", interval " +
                                      format_duration_ms(hc.interval_ms) + ")");
        r.get_int("rise", hc.rise, 1, 100);
        r.get_int("fall", hc.fall, 1, 100);
        if (!type_known) return;

        struct TypedKey {
            const char* key;
            CheckType type;
        };
        constexpr TypedKey kTypedKeys[] = {{"path", CheckType::Http},
                                           {"expect_status", CheckType::Http},
                                           {"host", CheckType::Http},
                                           {"send", CheckType::SendExpect},
                                           {"expect", CheckType::SendExpect}};
        for (const TypedKey& k : kTypedKeys) {
            if (r.find(k.key) && k.type != hc.type)
                r.error_at(k.key, quoted(k.key) + " is only valid when type = " +
                                      quoted(enum_text(kCheckTypes, k.type)));
        }
        if (hc.type == CheckType::Http) {
            std::string path;
            if (r.get_string("path", path)) {
                if (path.empty() || path.front() != '/')
                    r.error_at("path", "must start with \"/\" (got " + quoted(path) + ")");
                else if (!is_printable_without_spaces(path))
                    r.error_at("path", "must not contain spaces or control characters");
                else
                    hc.path = path;
            }
            r.get_int("expect_status", hc.expect_status, 100, 599);
            std::string host;
            if (r.get_nonempty_string("host", host)) {
                if (!is_printable_without_spaces(host))
                    r.error_at("host", "must not contain spaces or control characters");
                else
                    hc.host = host;
            }
        } else if (hc.type == CheckType::SendExpect) {
            r.get_string("send", hc.send);
            if (r.require({"expect"})) r.get_nonempty_string("expect", hc.expect);
        }
    }

    // Path and Host go verbatim into a request line and a header.
    static bool is_printable_without_spaces(std::string_view text) {
        return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c != '\x7f'; });
    }

    void read_server(Reader& r, std::vector<NameSeen>& names, Server& server) {
        server.line = r.line();
        r.check_unknown_keys({"name", "address", "weight", "backup", "max_connections"});
        r.require({"name", "address"});
        read_name(r, "server", names, server.name);
        r.get_address("address", server.address, server.address_text);
        r.get_int("weight", server.weight, 0, 256);
        r.get_bool("backup", server.backup);
        r.get_int("max_connections", server.max_connections, 0, INT_MAX);
    }

    // The stats endpoint binds in the same master as the services' listeners.
    void check_stats_listen(const Stats& stats) {
        if (!stats_listen_setting_) return;
        for (const ListenSeen& l : listens_) {
            if (!(l.address == stats.listen)) continue;
            diags_.add(*stats_listen_setting_, "global.stats.listen",
                       "address " + net::format_address(stats.listen) + " is already used by " +
                           l.service_label + " (line " + std::to_string(l.line) + ")");
            return;
        }
    }

    // Where a service or route group was written: its names are resolved,
    // and their errors reported, after the whole file is read.
    struct Site {
        size_t service = 0;  // routes: the entry point's index in Config::services
        size_t route = 0;    // routes: the index in its routes (before sorting)
        const Setting* group = nullptr;
        std::string path;
        Site(size_t s, size_t r, const Setting* g, std::string p) : service(s), route(r), group(g), path(std::move(p)) {}
        Site(const Setting* g, std::string p) : group(g), path(std::move(p)) {}
    };

    Diagnostics& diags_;
    const WrittenIntegers& written_;
    std::string base_dir_;
    std::vector<Site> service_sites_;  // one per Config::services entry
    std::vector<Site> route_sites_;
    std::vector<NameSeen> middleware_names_;
    std::vector<std::string> named_files_;
    std::vector<NameSeen> service_names_;
    std::vector<ListenSeen> listens_;
    const Setting* stats_listen_setting_ = nullptr;
};

std::string join(const std::vector<Diagnostic>& diags) {
    std::string out;
    for (const Diagnostic& d : diags) out += (out.empty() ? "" : "\n") + d.str();
    return out;
}

// The integer settings under `group`, in file order (libconfig appends
// settings as it parses them).
void integer_settings(const Setting& group, std::vector<const Setting*>& out) {
    for (int i = 0; i < group.getLength(); ++i) {
        const Setting& s = group[i];
        if (is_integer(s)) out.push_back(&s);
        else if (s.isAggregate()) integer_settings(s, out);
    }
}

Config load(const std::string& text, const std::string& name, const std::string& include_dir, bool from_file) {
    Literals literals = scan_literals(text, name, include_dir);
    // Refused before libconfig sees them: it would exit or hang on these.
    if (!literals.errors.empty()) throw ConfigError(std::move(literals.errors));
    libconfig::Config parsed;
    if (!include_dir.empty()) parsed.setIncludeDir(include_dir.c_str());
    try {
        parsed.readString(text);
    } catch (const libconfig::ParseException& e) {
        // getFile() is NULL for the top-level text; set for an @include'd file.
        const char* source = e.getFile();
        const std::string file = !source ? name : source[0] == '/' ? source : include_dir + source;
        throw ConfigError({Diagnostic{file, e.getLine(), "", e.getError()}});
    }
    // Both readings meet every integer in the same order. Should they ever
    // disagree (in count, or on a value that fits in 32 bits, which
    // libconfig reads right), no value is trusted.
    std::vector<const Setting*> settings;
    integer_settings(parsed.getRoot(), settings);
    auto disagree = [&](const std::string& what) {
        return ConfigError({Diagnostic{name, 1, "", "internal error: the integers of the text and of libconfig "
                                                    "differ (" + what + ")"}});
    };
    if (settings.size() != literals.integers.size())
        throw disagree(std::to_string(literals.integers.size()) + " literals, " + std::to_string(settings.size()) +
                       " settings");
    WrittenIntegers written;
    for (size_t i = 0; i < settings.size(); ++i) {
        const Setting& s = *settings[i];
        const IntegerLiteral& literal = literals.integers[i];
        const long long read = s.getType() == Setting::TypeInt ? static_cast<int>(s) : static_cast<long long>(s);
        if (literal.value >= INT_MIN && literal.value <= INT_MAX && literal.value != read)
            throw disagree(literal.text + " read as " + std::to_string(read) + " at line " +
                           std::to_string(s.getSourceLine()));
        written.emplace(&s, literal);
    }
    Diagnostics diags(name, include_dir);
    Loader loader(diags, written, include_dir);
    Config cfg = loader.read(parsed.getRoot());
    if (!diags.empty()) throw ConfigError(std::move(diags).sorted());
    cfg.file = name;
    cfg.warnings = diags.warnings();
    if (from_file) cfg.files.push_back(name);
    for (const std::vector<std::string>* list : {&std::as_const(literals.includes), &loader.named_files()})
        for (const std::string& f : *list)
            if (std::find(cfg.files.begin(), cfg.files.end(), f) == cfg.files.end()) cfg.files.push_back(f);
    return cfg;
}

}  // namespace

std::string Diagnostic::str() const {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
    if (!path.empty()) out += path + ": ";
    return out + message;
}

ConfigError::ConfigError(std::vector<Diagnostic> diags)
    : std::runtime_error(join(diags)), diags_(std::move(diags)) {}

Config load_file(const std::string& path) {
    std::string text;
    int error = 0;
    if (!read_whole_file(path, text, error))
        throw ConfigError({Diagnostic{path, 0, "", std::string("cannot read file: ") + std::strerror(error)}});
    // @include paths are relative to the directory of the main file, as in
    // nginx. (libconfig 1.5 then also prefixes absolute @include paths.)
    const size_t slash = path.rfind('/');
    return load(text, path, slash == std::string::npos ? "" : path.substr(0, slash + 1), true);
}

Config load_string(const std::string& text, const std::string& name) { return load(text, name, "", false); }

const char* balance_name(Balance b) {
    switch (b) {
    case Balance::Header: return "header";
    case Balance::Cookie: return "cookie";
    default: return enum_text(kPlainBalances, b);
    }
}

const char* mode_name(Mode m) { return enum_text(kModes, m); }

const char* check_type_name(CheckType t) {
    return t == CheckType::None ? "none" : enum_text(kCheckTypes, t);
}

const char* middleware_type_name(MiddlewareType t) {
    switch (t) {
    case MiddlewareType::Headers: return "headers";
    case MiddlewareType::StripPrefix: return "strip_prefix";
    case MiddlewareType::AddPrefix: return "add_prefix";
    case MiddlewareType::Redirect: return "redirect";
    case MiddlewareType::BasicAuth: return "basic_auth";
    case MiddlewareType::IpAllow: return "ip_allow";
    case MiddlewareType::RateLimit: return "rate_limit";
    case MiddlewareType::RequestId: return "request_id";
    case MiddlewareType::Retry: return "retry";
    case MiddlewareType::MaxBodySize: return "max_body_size";
    }
    return "?";
}

}  // namespace ep::config
