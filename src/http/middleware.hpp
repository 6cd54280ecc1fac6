// middleware.hpp: the middlewares of an entry point's routes (DESIGN.md §8,
// research/http.md §7), run as an onion: the chain's request side in order,
// its response side in reverse; any layer may answer itself and stop the
// chain. Pure apart from the shared rate-limit table and the worker's cache of
// checked passwords: the session applies what the chain decided.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "http/message.hpp"
#include "net/address.hpp"

namespace ep::http {

class RateTable;

// A request as the chain sees it.
struct Request {
    const Head* head = nullptr;
    const char* buf = nullptr;          // the head's bytes
    std::string_view host;              // normalised (router), for redirects
    const net::Address* peer = nullptr; // the TCP peer (ip_allow, rate_limit)
    bool trusted = false;               // peer in http.trusted_proxies (request_id kept)
    bool tls = false;                   // arrived over TLS (redirect's default scheme)
};

// What the chain decided for one request. Owned by the session and reused
// from request to request (its strings keep their capacity), so a chain
// allocates nothing once warm.
struct Plan {
    // To the server: a new path (query kept) when path_set, field names
    // removed (all lines, case-insensitive; the proxy's own forwarding fields
    // too), lines added ("Name: value\r\n" each). Names point into the config.
    bool path_set = false;
    std::string path;
    std::vector<std::string_view> request_remove;
    std::string request_add;
    // To the client, in the response's head: the same, already in the
    // response side's (reverse) order. When a middleware answers, these hold
    // the response side of the layers before it (the session may add
    // response_add to its answer, as the layers wrap it).
    std::vector<std::string_view> response_remove;
    std::string response_add;
    // A middleware answered: the status (3xx, 401, 403, 413, 429), extra head
    // lines of the answer (Location, WWW-Authenticate, Retry-After), and which
    // middleware (index into Config::middlewares) for its denial counter.
    int status = 0;
    std::string answer_fields;
    int32_t answered_by = -1;
    // Limits the session enforces: request body bytes (0: none), attempts for
    // an idempotent request that got no response byte (1: no retry).
    uint64_t max_body_size = 0;
    int attempts = 1;
    std::string request_id;             // set by request_id, for the access log
    void clear();
};

class Middlewares {
public:
    // `rates` is the table shared by all workers (may be null when no
    // rate_limit middleware exists). The config outlives this.
    Middlewares(const config::Config& cfg, RateTable* rates);
    ~Middlewares();

    // Runs the request side of `chain` (indexes into Config::middlewares)
    // and prepares its response side. Returns false when a middleware
    // answered (plan.status set); the rest of the chain does not run.
    // Clears `plan` first. On each side the last layer to touch a name wins:
    // on the request the innermost (nearest the server), on the response the
    // outermost (the entry point's first). Construct in the worker: the
    // request_id generator and the password cache are the worker's own.
    bool on_request(const std::vector<uint32_t>& chain, const Request& req, Plan& plan, uint64_t now_ms);

    // crypt_r calls made so far (cache misses of basic_auth), for tests.
    uint64_t password_checks() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace ep::http
