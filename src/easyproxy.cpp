// easyproxy.cpp: the daemon's command line (DESIGN.md §2): load and check the
// config, then either report (-t) or hand over to the master process.
#include "config.h"

#include <CLI/CLI.hpp>

#include <ctime>
#include <iostream>
#include <string>

#include "config/loader.hpp"
#include "config/summary.hpp"
#include "kernel/sockmap.hpp"
#include "master/master.hpp"
#include "tls/context.hpp"

namespace {

// -t loads the program the way the master would, and says whether the
// services that ask for the kernel relay will have it.
void report_sockmap(const ep::config::Config& cfg) {
    std::string names;
    for (const auto& svc : cfg.services)
        if (svc.relay == ep::config::Relay::Sockmap) names += (names.empty() ? "" : ", ") + svc.name;
    if (names.empty()) return;
    std::string why;
    if (ep::kernel::Sockmap::load(1, 1, why))
        std::cout << "relay = \"sockmap\": available (" << names << ")\n";
    else
        std::cerr << "warning: relay = \"sockmap\" is not available here: " << why << "; " << names
                  << " will relay in the worker\n";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"easyproxy - TCP load balancer (master + preforked poll() workers)", "easyproxy"};
    std::string config_path = SYSCONFDIR "/easyproxy/easyproxy.conf";
    bool test_only = false;
    bool foreground = false;
    app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
    std::string positional_config;  // `easyproxy -t FILE` reads as naturally as `-t -c FILE`
    app.add_option("config", positional_config, "configuration file (same as -c)");
    app.add_flag("-t,--test", test_only, "check the configuration and exit (nothing is bound or started)");
    app.add_flag("-f,--foreground", foreground, "stay in the foreground and log to stderr");
    app.set_version_flag("-V,--version", "easyproxy (" PACKAGE_NAME ") " PACKAGE_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : 1;
    }

    if (!positional_config.empty()) config_path = positional_config;
    ep::config::Config cfg;
    std::shared_ptr<const ep::tls::Contexts> tls;
    std::vector<std::string> warnings;
    try {
        cfg = ep::config::load_file(config_path);
        // Certificates and keys are read now, before any privilege is dropped.
        tls = ep::tls::load(cfg, warnings, int64_t(time(nullptr)));
        for (const auto& w : warnings) std::cerr << w << "\n";
    } catch (const ep::config::ConfigError& e) {
        for (const auto& w : warnings) std::cerr << w << "\n";
        for (const auto& d : e.diagnostics()) std::cerr << d.str() << "\n";
        return 1;
    }
    // Before the master may detach from the terminal: what loads but looks
    // like a mistake is said where the operator is looking.
    for (const std::string& w : cfg.warnings) std::cerr << w << "\n";
    if (test_only) {
        report_sockmap(cfg);
        std::cout << config_path << ": configuration is valid\n" << ep::config::route_table(cfg);
        return 0;
    }
    ep::master::Options options;
    options.config_path = config_path;
    options.foreground = foreground;
    options.tls = std::move(tls);
    return ep::master::run(std::move(cfg), options);
}
