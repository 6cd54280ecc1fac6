// privileges.cpp: user/group switch with a single retained capability.
// capset() is called directly (linux/capability.h) to avoid a dependency.
#include "master/privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ep::master {

namespace {

bool set_capabilities(uint32_t mask, std::string& error) {
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    data[0].effective = data[0].permitted = mask;
    if (syscall(SYS_capset, &header, data) != 0) {
        error = std::string("capset: ") + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace

bool resolve_identity(const std::string& user, const std::string& group, Identity& out, std::string& error) {
    out = Identity{};
    if (geteuid() != 0 || (user.empty() && group.empty())) return true;
    if (!user.empty()) {
        const passwd* pw = getpwnam(user.c_str());
        if (!pw) {
            error = "global.user: no such user \"" + user + "\"";
            return false;
        }
        out.uid = pw->pw_uid;
        out.gid = pw->pw_gid;
        out.user = user;
    }
    if (!group.empty()) {
        const struct group* gr = getgrnam(group.c_str());
        if (!gr) {
            error = "global.group: no such group \"" + group + "\"";
            return false;
        }
        out.gid = gr->gr_gid;
        out.group = group;
    }
    out.drop = true;
    return true;
}

bool drop_to(const Identity& id, std::string& error) {
    if (!id.drop) return true;
    if (prctl(PR_SET_KEEPCAPS, 1) != 0) {
        error = std::string("prctl(PR_SET_KEEPCAPS): ") + std::strerror(errno);
        return false;
    }
    if (id.gid != gid_t(-1)) {
        if (setgroups(1, &id.gid) != 0 || setgid(id.gid) != 0) {
            error = "cannot switch to group " + std::to_string(id.gid) + ": " + std::strerror(errno);
            return false;
        }
    }
    if (id.uid != uid_t(-1) && setuid(id.uid) != 0) {
        error = "cannot switch to user " + id.user + ": " + std::strerror(errno);
        return false;
    }
    prctl(PR_SET_KEEPCAPS, 0);
    if (!set_capabilities(1u << CAP_NET_BIND_SERVICE, error)) return false;
    // Verify: the switch must not be reversible.
    if (id.uid != uid_t(-1) && id.uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
        error = "privilege drop did not hold: root could be regained";
        return false;
    }
    return true;
}

void drop_all_capabilities() {
    std::string ignored;
    if (geteuid() != 0) set_capabilities(0, ignored);
}

}  // namespace ep::master
