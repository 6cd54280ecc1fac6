// sockmap.hpp: the in-kernel relay (relay = "sockmap"): the master loads the
// BPF program and its maps before dropping privileges; workers inherit them
// and hand established socket pairs to the kernel, one flow per direction.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernel/relay_flow.h"

struct bpf_object;

namespace ep::kernel {

// Counters of one socket as TCP_INFO and SIOCOUTQ give them.
struct SocketBytes {
    uint64_t received = 0;   // tcpi_bytes_received (a received FIN counts one)
    uint64_t queued = 0;     // bytes ever put in its send queue: acked + SIOCOUTQ
    uint64_t idle_ms = 0;    // since the last data received or sent
    bool ok = false;
};
SocketBytes socket_bytes(int fd);

class Sockmap {
public:
    // Loads the program and creates maps for `slots` workers of
    // `per_slot` connections each (needs CAP_BPF and CAP_NET_ADMIN, or
    // root). Null and `why` when the kernel or the privileges refuse.
    static std::unique_ptr<Sockmap> load(uint32_t slots, uint32_t per_slot, std::string& why);
    ~Sockmap();
    Sockmap(const Sockmap&) = delete;
    Sockmap& operator=(const Sockmap&) = delete;

    std::vector<int> fds() const;          // what a worker keeps open
    uint32_t per_slot() const { return per_slot_; }
    // The two flows (up, down) of connection `n` of worker slot `slot`.
    uint32_t flow_index(uint32_t slot, uint32_t n, bool down) const {
        return (slot * per_slot_ + n) * 2 + (down ? 1 : 0);
    }
    ep_flow& flow(uint32_t index) { return flows_[index]; }

    // Hands the pair to the kernel with no credit yet: bytes arriving from
    // here on are passed (left on their socket) until grant(). Whatever was
    // queued on either socket before is passed too. False and errno when a
    // map refuses (the caller keeps relaying itself).
    bool attach(int client, int server, uint32_t up, uint32_t down);
    // Takes the pair out (their cookies); the sockets leave the SOCKMAP when
    // they close. Safe after a failed attach.
    void detach(int client, int server);
    // A new worker in `slot` forgets what a killed one left there.
    void forget_slot(uint32_t slot);

private:
    Sockmap() = default;
    ::bpf_object* obj_ = nullptr;
    int socks_ = -1;     // SOCKMAP: flow -> the socket it sends to
    int flow_of_ = -1;   // HASH: socket cookie -> flow
    int flows_fd_ = -1;  // ARRAY (mmap()ed): flow state
    ep_flow* flows_ = nullptr;
    size_t flows_bytes_ = 0;
    uint32_t per_slot_ = 0;
    uint32_t count_ = 0;  // flows
};

}  // namespace ep::kernel
