// steering.hpp: keeps new clients off the accept queue of a worker whose
// event loop has stalled, long before the watchdog kills it. Each TCP listen
// address has one SO_REUSEPORT socket per worker set (listeners.hpp), and the
// kernel hashes each SYN to one socket of the group, stalled or not. A classic
// BPF program attached to the group (SO_ATTACH_REUSEPORT_CBPF) chooses instead,
// at random among the sets whose worker is turning; with no stalled set the
// program is detached and the kernel's own hashing is back.
#pragma once
#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ep::master {

// The program for a group whose socket i belongs to set i: a uniformly random
// index among `live` (set numbers, not empty). Pure, for the unit tests.
std::vector<sock_filter> steering_program(const std::vector<uint32_t>& live);

// Runs `program` on a packet whose random word is `random` (the only input
// the program reads), as the kernel would: the index it returns.
uint32_t run_steering_program(const std::vector<sock_filter>& program, uint32_t random);

class Steering {
public:
    // `stalled[set]`: keep new connections off that set. `groups`: one socket
    // of each TCP listen group. Re-attaches only when the stalled sets changed
    // (or after forget()); returns false with `error` when the kernel refused.
    bool apply(const std::vector<int>& groups, const std::vector<bool>& stalled, std::string& error);
    // The groups changed (a reload): the next apply() attaches again.
    void forget() { applied_.clear(); }
    // Whether a program is attached (some set is avoided).
    bool steering() const { return attached_; }

private:
    std::vector<bool> applied_;  // the `stalled` of the last successful apply()
    bool attached_ = false;
};

}  // namespace ep::master
