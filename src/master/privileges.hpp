// privileges.hpp: dropping root after binding (DESIGN.md §1, global.user and
// global.group). The master keeps CAP_NET_BIND_SERVICE only, so a reload can
// still bind a new port below 1024; workers keep no capability at all.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace ep::master {

struct Identity {
    uid_t uid = uid_t(-1);
    gid_t gid = gid_t(-1);
    std::string user;
    std::string group;
    bool drop = false;  // started as root with a user to become
};

// Resolves user/group names. Returns false with `error` when a name is unknown.
bool resolve_identity(const std::string& user, const std::string& group, Identity& out, std::string& error);

// setgroups + setgid + setuid, keeping CAP_NET_BIND_SERVICE, then verifies
// that root cannot be regained. False with `error` on any failure.
bool drop_to(const Identity& id, std::string& error);

// Clears every capability of the calling process (workers).
void drop_all_capabilities();

}  // namespace ep::master
