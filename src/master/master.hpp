// master.hpp: the master process (DESIGN.md §1): binds listeners, creates the
// shared memory, forks and supervises workers, and runs one poll() loop that
// acts on signal flags, health checks and control commands.
#pragma once
#include <memory>
#include <string>

#include "config/config.hpp"
#include "tls/context.hpp"

namespace ep::master {

struct Options {
    std::string config_path;
    bool foreground = false;
    std::shared_ptr<const tls::Contexts> tls;  // loaded with the config (keys before the privilege drop)
};

// Runs until stopped; returns the process exit code.
int run(config::Config cfg, const Options& options);

}  // namespace ep::master
