// master.hpp: the master process (DESIGN.md §1): binds listeners, creates the
// shared memory, forks and supervises workers, and runs one poll() loop that
// acts on signal flags, health checks and control commands.
#pragma once
#include <string>

#include "config/config.hpp"

namespace ep::master {

struct Options {
    std::string config_path;
    bool foreground = false;
};

// Runs until stopped; returns the process exit code.
int run(config::Config cfg, const Options& options);

}  // namespace ep::master
