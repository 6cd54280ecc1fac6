// summary.cpp: the few lines that tell an operator what a loaded config will
// do (printed at startup, by `easyproxy -t` and by `make run`): where it
// listens, how it balances and checks, and which servers it sends to.
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

}  // namespace

std::string summary(const Config& cfg) {
    const Global& g = cfg.global;
    std::string out = "config " + cfg.file + ": " +
                      (g.workers == 0 ? std::string("one worker per CPU")
                                      : std::to_string(g.workers) + (g.workers == 1 ? " worker" : " workers")) +
                      ", run_dir " + g.run_dir + "\n";
    if (!g.stats.listen_text.empty()) out += "stats: http://" + net::format_address(g.stats.listen) + "/\n";
    for (const Service& svc : cfg.services) {
        out += "service " + svc.name + ": " + join_listen(svc) + " " + mode_name(svc.mode) + " " +
               balance_text(svc) + ", " + check_text(svc.health_check) + ", " +
               std::to_string(svc.servers.size()) + (svc.servers.size() == 1 ? " server" : " servers") + "\n";
        for (const Server& s : svc.servers) {
            out += "  server " + s.name + " " + net::format_address(s.address) + " weight " +
                   std::to_string(s.weight);
            if (s.backup) out += " backup";
            // A hostname was resolved at load: show what it became.
            if (s.address_text != net::format_address(s.address)) out += " (" + s.address_text + ")";
            out += "\n";
        }
    }
    return out;
}

}  // namespace ep::config
