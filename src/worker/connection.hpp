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
struct Flow {
    char* buf = nullptr;
    uint32_t start = 0;  // first unsent byte
    uint32_t end = 0;    // one past the last received byte
    bool eof = false;
    bool shut = false;
    bool pending() const { return start < end; }
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
