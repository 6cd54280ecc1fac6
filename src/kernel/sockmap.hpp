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

// Flows per page of the flow table.
static_assert(sizeof(ep_flow) == 64);
inline constexpr uint32_t kFlowsPerPage = 4096 / sizeof(ep_flow);

// Bytes ever put in a TCP socket's send queue: TCP_INFO's bytes_acked plus
// SIOCOUTQ (its SYN counts one on the side that connected). kNoCount when
// the socket cannot say.
inline constexpr uint64_t kNoCount = ~uint64_t(0);
uint64_t queued_bytes(int fd);
// Bytes received on `fd` and not read yet (SIOCINQ). A socket enters the
// SOCKMAP only with none once the worker has read from it: the kernel hands
// the program whole segments, even one the worker read part of, whose start
// would then be sent twice.
bool has_unread(int fd);
// The peer sent FIN (or RST): the socket left ESTABLISHED.
bool peer_closed(int fd);

enum class Attach {
    Done,
    Refused,  // nothing changed: the worker relays the pair itself
    Broken,   // one socket is in the map and the other is not: close the pair
};

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
    // A worker maps the flows of its own slot (in the master the program's
    // map holds them all, unmapped); false when mmap() fails.
    bool map_slot(uint32_t slot);
    ep_flow& flow(uint32_t index) { return flows_[index - first_flow_]; }

    // Hands the pair to the kernel: the program redirects what arrives on
    // either socket (what was queued already too) while at most `window`
    // redirected bytes of a direction wait for the destination's send
    // buffer, and passes the rest to the worker. A direction the worker
    // holds (hold_up/hold_down: it has bytes of its own to send first) is
    // passed until the worker says it has caught up (ep_flow::consumed).
    // errno says why when it is not Done.
    Attach attach(int client, int server, uint32_t up, uint32_t down, uint32_t window, bool hold_up,
                  bool hold_down);
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
    uint32_t first_flow_ = 0;  // the first of those mapped at flows_
};

}  // namespace ep::kernel
