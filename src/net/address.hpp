// address.hpp: socket addresses as the config writes them ("10.0.0.1:3306",
// "[::1]:80", "unix:/run/x.sock", "db.local:3306") and CIDR ranges for
// allow/deny. Parsing is pure except hostname resolution (getaddrinfo).
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ep::net {

struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;

    int family() const { return storage.ss_family; }
    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
    sockaddr* sa() { return reinterpret_cast<sockaddr*>(&storage); }
    uint16_t port() const;  // host order; 0 for unix
    bool operator==(const Address& o) const;
};

// Parses one address. `resolve` allows "hostname:port" (first result of
// getaddrinfo, IPv4 preferred). Port must be 1..65535 ("0" is refused).
// On failure returns false and sets `error` (e.g. "port 70000 out of range").
bool parse_address(std::string_view text, Address& out, std::string& error, bool resolve = true);

// "10.0.0.1:3306", "[::1]:80", "unix:/path". Stable: used in stats and logs.
std::string format_address(const Address& a);
// Address without port ("10.0.0.1", "::1", "unix:/path").
std::string format_host(const Address& a);

// The bytes that identify a client for hashing: 4 (IPv4, also for
// IPv4-mapped IPv6), 16 (IPv6) or 0 (unix). Returns the count written to out.
size_t client_key_bytes(const Address& a, uint8_t out[16]);

struct Cidr {
    int family = AF_INET;  // AF_INET or AF_INET6
    uint8_t bytes[16]{};
    int prefix = 0;
    bool contains(const Address& a) const;  // IPv4-mapped IPv6 clients match IPv4 ranges
};

// "10.0.0.0/8", "::1/128", "192.168.1.7" (a host: /32 or /128).
bool parse_cidr(std::string_view text, Cidr& out, std::string& error);

}  // namespace ep::net
