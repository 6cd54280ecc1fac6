// summary.cpp: the few lines that tell an operator what a loaded config will
// do (printed at startup, by `easyproxy -t` and by `make run`): where it
// listens, how it balances and checks, which servers it sends to, and each
// entry point's routes in the order they are tried.
#include "config/summary.hpp"

#include "util/duration.hpp"

namespace ep::config {

namespace {

std::string balance_text(const Service& svc) {
    std::string text = balance_name(svc.balance);
    if (!svc.balance_key.empty()) text += ":" + svc.balance_key;
    return text;
}

std::string check_text(const HealthCheck& hc) {
    if (hc.type == CheckType::None) return "no health check";
    std::string text = std::string(check_type_name(hc.type)) + " check every " +
                       format_duration_ms(hc.interval_ms);
    if (hc.type == CheckType::Http)
        text += " (GET " + hc.path + ", expect " + std::to_string(hc.expect_status) + ")";
    return text;
}

std::string join_listen(const Service& svc) {
    std::string text;
    for (const net::Address& a : svc.listen) text += (text.empty() ? "" : ", ") + net::format_address(a);
    return text;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
    std::string text;
    for (const std::string& item : items) text += (text.empty() ? "" : separator) + item;
    return text;
}

std::string pairs_text(const char* label, const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::vector<std::string> items;
    for (const auto& [name, value] : pairs) items.push_back(name + "=\"" + value + "\"");
    return items.empty() ? "" : std::string(" ") + label + " " + join(items, ",");
}

std::string names_text(const char* label, const std::vector<std::string>& names) {
    return names.empty() ? "" : std::string(" ") + label + " " + join(names, ",");
}

// What a middleware does, in the words of its keys.
std::string middleware_text(const Middleware& m) {
    std::string text = middleware_type_name(m.type);
    switch (m.type) {
    case MiddlewareType::Headers:
        return text + pairs_text("request_set", m.request_set) + pairs_text("request_add", m.request_add) +
               names_text("request_remove", m.request_remove) + pairs_text("response_set", m.response_set) +
               pairs_text("response_add", m.response_add) + names_text("response_remove", m.response_remove);
    case MiddlewareType::StripPrefix:
    case MiddlewareType::AddPrefix: return text + " " + join(m.prefixes, " ");
    case MiddlewareType::Redirect:
        text += " " + std::to_string(m.code);
        if (!m.scheme.empty()) text += " scheme=" + m.scheme;
        if (!m.host.empty()) text += " host=" + m.host;
        if (m.port) text += " port=" + std::to_string(m.port);
        if (!m.path.empty()) text += " path=" + m.path;
        return text;
    case MiddlewareType::BasicAuth:
        return text + " realm=\"" + m.realm + "\", " + std::to_string(m.users.size()) +
               (m.users.size() == 1 ? " user" : " users") + " from " + m.htpasswd +
               (m.remove_header ? ", Authorization removed" : "");
    case MiddlewareType::IpAllow:
        return text + " " + std::to_string(m.allow.size()) + (m.allow.size() == 1 ? " range" : " ranges");
    case MiddlewareType::RateLimit:
        return text + " " + std::to_string(m.average) + " per " + format_duration_ms(m.period_ms) + ", burst " +
               std::to_string(m.burst) + ", per client";
    case MiddlewareType::RequestId: return text + " " + m.header;
    case MiddlewareType::Retry: return text + " " + std::to_string(m.attempts) + " attempts";
    case MiddlewareType::MaxBodySize: return text + " " + std::to_string(m.max_body_size) + " bytes";
    }
    return text;
}

// config::route_text, then the middlewares the route runs (the entry
// point's, then its own).
std::string route_line(const Config& cfg, const Route& r) {
    std::vector<std::string> chain;
    for (uint32_t m : r.chain) chain.push_back(cfg.middlewares[m].name);
    return route_text(r) + (chain.empty() ? "" : " [" + join(chain, ", ") + "]");
}

}  // namespace

std::string route_table(const Config& cfg) {
    std::string out;
    for (const Service& svc : cfg.services) {
        if (!svc.is_entry_point()) continue;
        out += "entry point " + svc.name + ": " + join_listen(svc) + ", " + std::to_string(svc.routes.size()) +
               (svc.routes.size() == 1 ? " route" : " routes") + " in match order\n";
        for (size_t i = 0; i < svc.routes.size(); ++i) {
            const Route& r = svc.routes[i];
            out += "  route " + std::to_string(i + 1) + " (line " + std::to_string(r.line) + "): " +
                   route_line(cfg, r) + "\n";
        }
    }
    for (const Middleware& m : cfg.middlewares)
        out += "middleware " + m.name + " (line " + std::to_string(m.line) + "): " + middleware_text(m) + "\n";
    return out;
}

std::string summary(const Config& cfg) {
    const Global& g = cfg.global;
    std::string out = "config " + cfg.file + ": " +
                      (g.workers == 0 ? std::string("one worker per CPU")
                                      : std::to_string(g.workers) + (g.workers == 1 ? " worker" : " workers")) +
                      ", run_dir " + g.run_dir + "\n";
    if (!g.stats.listen_text.empty()) out += "stats: http://" + net::format_address(g.stats.listen) + "/\n";
    for (const Service& svc : cfg.services) {
        // An entry point's lines are the route table's, below.
        if (svc.is_entry_point()) continue;
        out += (svc.is_pool() ? "pool " + svc.name + ": " : "service " + svc.name + ": " + join_listen(svc) + " ") +
               mode_name(svc.mode) + " " + balance_text(svc) + ", " + check_text(svc.health_check) + ", " +
               std::to_string(svc.servers.size()) + (svc.servers.size() == 1 ? " server" : " servers") +
               (svc.sticky_cookie.empty() ? "" : ", sticky cookie " + svc.sticky_cookie) + "\n";
        for (const Server& s : svc.servers) {
            out += "  server " + s.name + " " + net::format_address(s.address) + " weight " +
                   std::to_string(s.weight);
            if (s.backup) out += " backup";
            // A hostname was resolved at load: show what it became.
            if (s.address_text != net::format_address(s.address)) out += " (" + s.address_text + ")";
            out += "\n";
        }
    }
    return out + route_table(cfg);
}

}  // namespace ep::config
