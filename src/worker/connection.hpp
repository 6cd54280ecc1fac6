// connection.hpp: one proxied client connection as the worker sees it: the
// client and server sockets, one Flow per direction, and where it is in its
// life (connecting to a server, or relaying bytes both ways).
#pragma once
#include <cstdint>

#include "net/address.hpp"
#include "util/unique_fd.hpp"
#include "worker/poller.hpp"

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
    bool spliced() const { return pipe_r >= 0; }
    bool pending() const { return start < end || piped > 0; }
    bool done() const { return eof && shut; }
};

enum class Phase : uint8_t { Connecting, Relaying, Closed };

struct Connection final : IoTarget {
    static constexpr int kMaxTries = 11;  // first attempt + retries (<= 10)

    Worker* worker = nullptr;
    UniqueFd client;
    UniqueFd server;
    net::Address client_addr;
    Flow up;    // client -> server
    Flow down;  // server -> client
    Phase phase = Phase::Connecting;
    uint32_t service = 0;
    int32_t server_index = -1;  // within the service; -1 before a pick
    uint32_t tried[kMaxTries];
    int tries = 0;
    uint32_t kill_seq = 0;      // server's kill_seq when connected
    int32_t session = -1;       // session slot in shared memory
    int32_t connecting_pos = -1;  // position in the worker's connecting list
    uint32_t pos = 0;             // position in the worker's connection list
    uint64_t accepted_ms = 0;
    uint64_t connected_ms = 0;
    uint64_t deadline_ms = 0;   // connect deadline while connecting
    uint64_t last_active_ms = 0;
    uint64_t bytes_in = 0;      // client -> server
    uint64_t bytes_out = 0;     // server -> client
    uint32_t client_interest = 0;
    uint32_t server_interest = 0;
    char term[3] = "--";        // access-log termination code

    void on_io(int fd, uint32_t events) override;
};

}  // namespace ep::worker
