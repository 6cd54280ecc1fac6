// steering.cpp: the SO_REUSEPORT steering program (see steering.hpp).
#include "master/steering.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace ep::master {

std::vector<sock_filter> steering_program(const std::vector<uint32_t>& live) {
    const uint32_t n = uint32_t(live.size());
    std::vector<sock_filter> p;
    p.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, uint32_t(SKF_AD_OFF + SKF_AD_RANDOM)));
    p.push_back(BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n));
    for (uint32_t i = 0; i + 1 < n; ++i) {
        p.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, i, 0, 1));  // equal: the next instruction
        p.push_back(BPF_STMT(BPF_RET | BPF_K, live[i]));
    }
    p.push_back(BPF_STMT(BPF_RET | BPF_K, live[n - 1]));
    return p;
}

uint32_t run_steering_program(const std::vector<sock_filter>& program, uint32_t random) {
    uint32_t a = 0;
    for (size_t pc = 0; pc < program.size(); ++pc) {
        const sock_filter& f = program[pc];
        switch (f.code) {
            case BPF_LD | BPF_W | BPF_ABS: a = random; break;
            case BPF_ALU | BPF_MOD | BPF_K: a %= f.k; break;
            case BPF_JMP | BPF_JEQ | BPF_K: pc += a == f.k ? f.jt : f.jf; break;
            case BPF_RET | BPF_K: return f.k;
            default: return UINT32_MAX;
        }
    }
    return UINT32_MAX;
}

bool Steering::apply(const std::vector<int>& groups, const std::vector<bool>& stalled, std::string& error) {
    if (stalled == applied_) return true;
    std::vector<uint32_t> live;
    for (uint32_t set = 0; set < stalled.size(); ++set)
        if (!stalled[set]) live.push_back(set);
    // Nothing to avoid, or nowhere else to go: the kernel's hashing.
    const bool detach = live.empty() || live.size() == stalled.size();
    std::vector<sock_filter> program;
    sock_fprog fprog{};
    if (!detach) {
        program = steering_program(live);
        fprog.len = static_cast<unsigned short>(program.size());
        fprog.filter = program.data();
    }
    const int unused = 0;  // the detach takes no value, but every socket option needs an int's length
    for (int fd : groups) {
        const int rc = detach ? ::setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &unused, sizeof unused)
                              : ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof fprog);
        if (rc != 0 && !(detach && errno == ENOENT)) {
            error = std::string(detach ? "SO_DETACH_REUSEPORT_BPF: " : "SO_ATTACH_REUSEPORT_CBPF: ") +
                    std::strerror(errno);
            applied_.clear();  // try again at the next tick
            return false;
        }
    }
    applied_ = stalled;
    attached_ = !detach;
    return true;
}

}  // namespace ep::master
