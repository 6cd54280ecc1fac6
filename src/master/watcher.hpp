// watcher.hpp: `global.watch` (DESIGN.md §8): the master watches the config
// file and every file it names with inotify, and asks for a reload once the
// changes have settled. One inotify descriptor, polled by the master loop.
#pragma once
#include <poll.h>

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "util/unique_fd.hpp"

namespace ep::master {

// When a burst of changes has settled: quiet for kQuietMs after the last
// change, or kMaxDelayMs after the first, so a file rewritten without pause
// still gets reloaded. Pure timing, no I/O.
class Settle {
public:
    static constexpr uint64_t kQuietMs = 300;
    static constexpr uint64_t kMaxDelayMs = 2000;

    void changed(uint64_t now_ms);
    bool pending() const { return pending_; }
    // When due() turns true; UINT64_MAX with nothing pending.
    uint64_t due_at() const;
    // True once, when the burst has settled; the next change starts a new one.
    bool due(uint64_t now_ms);

private:
    bool pending_ = false;
    uint64_t first_ms_ = 0;
    uint64_t last_ms_ = 0;
};

class Watcher {
public:
    // Watches `files` from now on (none: the inotify descriptor is closed).
    // Each file's directory is watched, not the file: editors, `mv` and
    // `ln -sf` replace a file by a rename, and the file may be missing for a
    // moment. A directory kept from the previous set keeps its watch, so no
    // change made during a reload is lost. Problems are logged, not fatal.
    void watch(const std::vector<std::string>& files);
    bool active() const { return bool(fd_); }

    void append_pollfds(std::vector<pollfd>& out) const;
    void process(std::span<const pollfd> ready, uint64_t now_ms);
    uint64_t next_wakeup_ms() const { return settle_.due_at(); }
    // The first file changed in a burst that has settled, once; empty otherwise.
    std::string changed(uint64_t now_ms);

private:
    void read_events(uint64_t now_ms);

    UniqueFd fd_;
    std::map<int, std::string> dirs_;                  // watch descriptor -> directory
    std::map<std::string, std::set<std::string>> names_;  // directory -> names watched in it
    std::set<std::string> unwatchable_;                // directories already reported
    Settle settle_;
    std::string first_changed_;
};

}  // namespace ep::master
