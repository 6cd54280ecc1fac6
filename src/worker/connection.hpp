// connection.hpp: one proxied client connection as the worker sees it: the
// client and server sockets, one Flow per direction, and where it is in its
// life (connecting to a server, or relaying bytes both ways).
#pragma once
#include <cstdint>

#include "net/address.hpp"
#include "util/unique_fd.hpp"
#include "worker/context.hpp"
#include "worker/poller.hpp"
#include "worker/timers.hpp"
#include "worker/upstream.hpp"

namespace ep::worker {

class Worker;

// Bytes moving one way. `buf` is taken from the pool only while bytes wait
// to be sent; `eof` means the source sent FIN, `shut` that we passed it on.
// A flow that streams (several full reads in a row) moves to a pipe pair and
// splice(), so bulk bytes never cross into user space.
struct Flow {
    char* buf = nullptr;
    uint32_t start = 0;  // first unsent byte
    uint32_t end = 0;    // one past the last received byte
    int pipe_r = -1;     // splice mode: bytes in the pipe wait to be sent
    int pipe_w = -1;
    uint32_t piped = 0;
    uint8_t full_reads = 0;  // consecutive reads that filled the buffer
    bool eof = false;
    bool shut = false;
    bool held = false;   // kernel relay: not read until its destination's queue drains
    bool spliced() const { return pipe_r >= 0; }
    bool pending() const { return start < end || piped > 0; }
    bool done() const { return eof && shut; }
};

// relay = "sockmap": one direction while the kernel relays it. The program's
// counters (kernel/relay_flow.h) and TCP's say where every byte is.
struct KernelFlow {
    uint32_t index = 0;        // in the flow table
    uint64_t base_queued = 0;  // bytes ever queued on the destination when handed over
    uint64_t written = 0;      // bytes the worker itself sent to the destination since
    uint64_t read = 0;         // passed bytes the worker read from the source since
    uint64_t counted = 0;      // redirected bytes already added to the byte counters
    bool fin = false;          // the source sent FIN (passed on once its bytes are out)
};

// Securing: connected to a server with server_tls, handshaking with it.
enum class Phase : uint8_t { Connecting, Securing, Relaying, Closed };

// The TCP relay of one client connection (also the tunnel of an upgraded
// HTTP connection).
struct Connection final : Handler, Timer {
    Worker* worker = nullptr;
    UniqueFd client;
    UniqueFd server;
    tls::Stream client_io;  // plain, or TLS terminated here (no splice then)
    tls::Stream server_io;  // plain, or server_tls
    net::Address client_addr;
    Flow up;    // client -> server
    Flow down;  // server -> client
    Phase phase = Phase::Connecting;
    int32_t server_index = -1;  // within the service; -1 before a pick
    Upstream::Tried tried;
    uint32_t kill_seq = 0;      // server's kill_seq when connected
    uint64_t accepted_ms = 0;
    uint64_t connected_ms = 0;
    uint64_t last_active_ms = 0;
    uint64_t bytes_in = 0;      // client -> server
    uint64_t bytes_out = 0;     // server -> client
    uint32_t client_interest = 0;
    uint32_t server_interest = 0;
    char term[3] = "--";        // access-log termination code
    int32_t kernel_n = -1;      // relay = "sockmap": its number among the worker's; -1: relayed by the worker
    KernelFlow kup, kdown;      // while kernel_n >= 0
    uint8_t kernel_wait_ms = 0; // back-off of the re-check while a flow is held

    void on_io(int fd, uint32_t events) override;
    void on_timer() override;  // the connect timeout; in the kernel relay, a held flow's re-check
    void close(const char* term) override;
    void housekeeping(uint64_t now_ms) override;
    tls::Stream& io_of(int fd) { return fd == client.get() ? client_io : server_io; }
    bool secure() const { return client_io.secure() || server_io.secure(); }
};

}  // namespace ep::worker
