// state_file.hpp: the server-state file (global.state_file, by default
// /var/lib/easyproxy/server-state) that keeps admin states and weight overrides
// across restarts and reloads (DESIGN.md §1, §2).
//
// Format, one server per line, '#' comments and blank lines ignored:
//     SERVICE/SERVER ADMIN WEIGHT
//     web/app1 drain 5
//     web/app2 maint -
// ADMIN is ready, drain or maint; WEIGHT is the run-time override 0..256, or
// "-" when the config weight applies. Lines that do not parse are skipped with
// a warning, so a damaged file never stops the daemon.
#pragma once
#include <string>
#include <vector>

#include "shm/layout.hpp"

namespace ep::control {

struct StateEntry {
    std::string service;
    std::string server;
    shm::AdminState admin = shm::AdminState::Ready;
    int weight = -1;  // -1: no override

    bool operator==(const StateEntry&) const = default;
};

// Writes every entry to a temporary file in the same directory, fsyncs it and
// renames it over `path` (then fsyncs the directory): readers and a crash see
// the old file or the new one, never a mix. False with `error` on failure.
bool save_state(const std::string& path, const std::vector<StateEntry>& entries, std::string& error);

// Reads `path` into `entries` (replacing its content). A missing file is not
// an error (first start): true with no entries. Lines that do not parse go to
// `warnings` as "PATH:LINE: reason, line skipped". False with `error` when the
// file exists but cannot be read.
bool load_state(const std::string& path, std::vector<StateEntry>& entries, std::vector<std::string>& warnings,
                std::string& error);

// One line of the file, and its parser (exposed for tests and the master's log).
std::string state_line(const StateEntry& e);
bool parse_state_line(const std::string& line, StateEntry& out, std::string& reason);

}  // namespace ep::control
