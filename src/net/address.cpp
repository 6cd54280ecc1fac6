// address.cpp: parses and formats the addresses the config writes (IPv4:port,
// [IPv6]:port, unix:/path, hostname:port) and the CIDR ranges of allow/deny.
// Everything is pure except hostname resolution, which only runs when asked.
#include "net/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstddef>
#include <cstring>

namespace ep::net {

namespace {

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool all_digits(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text)
        if (c < '0' || c > '9') return false;
    return true;
}

// Port text to number; "0" and anything past 65535 are refused because a
// listener on port 0 would bind a random port and a server on 0 is a typo.
bool parse_port(std::string_view text, uint16_t& port, std::string& error) {
    if (text.empty()) {
        error = "missing port";
        return false;
    }
    if (!all_digits(text) || text.size() > 9) {
        error = all_digits(text) ? "port " + std::string(text) + " out of range (1-65535)"
                                 : "invalid port " + quoted(text);
        return false;
    }
    const unsigned long value = std::stoul(std::string(text));
    if (value < 1 || value > 65535) {
        error = "port " + std::to_string(value) + " out of range (1-65535)";
        return false;
    }
    port = uint16_t(value);
    return true;
}

void set_ipv4(Address& out, const in_addr& ip, uint16_t port) {
    out = Address{};
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
    sin->sin_family = AF_INET;
    sin->sin_addr = ip;
    sin->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
}

void set_ipv6(Address& out, const in6_addr& ip, uint16_t port) {
    out = Address{};
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = ip;
    sin6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
}

bool parse_unix(std::string_view path, Address& out, std::string& error) {
    if (path.empty() || path.front() != '/') {
        error = "unix socket path must be absolute, as \"unix:/run/app.sock\"";
        return false;
    }
    constexpr size_t kMaxPath = sizeof(sockaddr_un{}.sun_path) - 1;  // room for the NUL
    if (path.size() > kMaxPath) {
        error = "unix socket path too long (" + std::to_string(path.size()) + " characters, at most " +
                std::to_string(kMaxPath) + ")";
        return false;
    }
    out = Address{};
    auto* sun = reinterpret_cast<sockaddr_un*>(&out.storage);
    sun->sun_family = AF_UNIX;
    std::memcpy(sun->sun_path, path.data(), path.size());
    out.length = socklen_t(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return true;
}

// getaddrinfo's first IPv4 answer, else its first IPv6 one: IPv4 first
// because most backends listen there and "localhost" must mean 127.0.0.1.
bool resolve_host(const std::string& host, uint16_t port, Address& out, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* results = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &results);
    if (rc != 0) {
        error = "cannot resolve host " + quoted(host) + ": " + ::gai_strerror(rc);
        return false;
    }
    const addrinfo* chosen = nullptr;
    for (const addrinfo* ai = results; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            chosen = ai;
            break;
        }
        if (ai->ai_family == AF_INET6 && !chosen) chosen = ai;
    }
    if (chosen && chosen->ai_family == AF_INET)
        set_ipv4(out, reinterpret_cast<const sockaddr_in*>(chosen->ai_addr)->sin_addr, port);
    else if (chosen)
        set_ipv6(out, reinterpret_cast<const sockaddr_in6*>(chosen->ai_addr)->sin6_addr, port);
    ::freeaddrinfo(results);
    if (!chosen) error = "host " + quoted(host) + " has no IPv4 or IPv6 address";
    return chosen != nullptr;
}

std::string ip_text(int family, const void* ip) {
    char buf[INET6_ADDRSTRLEN];
    return ::inet_ntop(family, ip, buf, sizeof buf) ? buf : "?";
}

const uint8_t* ipv6_bytes(const Address& a) {
    return reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr.s6_addr;
}

}  // namespace

uint16_t Address::port() const {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    return 0;
}

bool Address::operator==(const Address& o) const {
    if (family() != o.family()) return false;
    if (family() == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
        const auto* b = reinterpret_cast<const sockaddr_in*>(&o.storage);
        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    if (family() == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
        const auto* b = reinterpret_cast<const sockaddr_in6*>(&o.storage);
        return a->sin6_port == b->sin6_port && a->sin6_scope_id == b->sin6_scope_id &&
               std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
    }
    if (family() == AF_UNIX)
        return std::strcmp(reinterpret_cast<const sockaddr_un*>(&storage)->sun_path,
                           reinterpret_cast<const sockaddr_un*>(&o.storage)->sun_path) == 0;
    return length == o.length && std::memcmp(&storage, &o.storage, length) == 0;
}

bool parse_address(std::string_view text, Address& out, std::string& error, bool resolve) {
    if (text.empty()) {
        error = "empty address";
        return false;
    }
    if (text.substr(0, 5) == "unix:") return parse_unix(text.substr(5), out, error);

    std::string_view host, port_text;
    bool bracketed = false;
    if (text.front() == '[') {
        const size_t close = text.find(']');
        if (close == std::string_view::npos) {
            error = "missing \"]\" after IPv6 address in " + quoted(text);
            return false;
        }
        host = text.substr(1, close - 1);
        const std::string_view rest = text.substr(close + 1);
        if (rest.empty() || rest.front() != ':') {
            error = rest.empty() ? "missing port in " + quoted(text)
                                 : "unexpected " + quoted(rest) + " after \"]\" in " + quoted(text);
            return false;
        }
        port_text = rest.substr(1);
        bracketed = true;
    } else {
        const size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            error = "missing port in " + quoted(text) + " (expected HOST:PORT)";
            return false;
        }
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            error = "IPv6 address must be in brackets, as \"[::1]:80\" (got " + quoted(text) + ")";
            return false;
        }
    }
    uint16_t port = 0;
    if (!parse_port(port_text, port, error)) {
        if (port_text.empty()) error += " in " + quoted(text);
        return false;
    }
    if (host.empty()) {
        error = "missing host in " + quoted(text);
        return false;
    }
    const std::string host_text(host);
    in6_addr ip6{};
    in_addr ip4{};
    if (bracketed) {
        if (::inet_pton(AF_INET6, host_text.c_str(), &ip6) != 1) {
            error = "invalid IPv6 address " + quoted(host);
            return false;
        }
        set_ipv6(out, ip6, port);
        return true;
    }
    if (host == "*") {  // "*:80" as in HAProxy and nginx: every IPv4 address
        ip4.s_addr = htonl(INADDR_ANY);
        set_ipv4(out, ip4, port);
        return true;
    }
    if (::inet_pton(AF_INET, host_text.c_str(), &ip4) == 1) {
        set_ipv4(out, ip4, port);
        return true;
    }
    if (!resolve) {
        error = quoted(host) + " is not an IP address (host names are not allowed here)";
        return false;
    }
    return resolve_host(host_text, port, out, error);
}

std::string format_host(const Address& a) {
    switch (a.family()) {
    case AF_INET:
        return ip_text(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr);
    case AF_INET6:
        return ip_text(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr);
    case AF_UNIX:
        return std::string("unix:") + reinterpret_cast<const sockaddr_un*>(&a.storage)->sun_path;
    default:
        return "-";
    }
}

std::string format_address(const Address& a) {
    switch (a.family()) {
    case AF_INET:
        return format_host(a) + ":" + std::to_string(a.port());
    case AF_INET6:
        return "[" + format_host(a) + "]:" + std::to_string(a.port());
    default:
        return format_host(a);
    }
}

size_t client_key_bytes(const Address& a, uint8_t out[16]) {
    if (a.family() == AF_INET) {
        std::memcpy(out, &reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr, 4);
        return 4;
    }
    if (a.family() == AF_INET6) {
        const uint8_t* ip = ipv6_bytes(a);
        // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; hashing
        // them as IPv4 keeps a client on the same server whichever socket it used.
        if (IN6_IS_ADDR_V4MAPPED(reinterpret_cast<const in6_addr*>(ip))) {
            std::memcpy(out, ip + 12, 4);
            return 4;
        }
        std::memcpy(out, ip, 16);
        return 16;
    }
    return 0;
}

bool Cidr::contains(const Address& a) const {
    uint8_t key[16];
    const size_t n = client_key_bytes(a, key);
    if (n != (family == AF_INET ? 4u : 16u)) return false;
    const int whole = prefix / 8, rest = prefix % 8;
    if (std::memcmp(key, bytes, size_t(whole)) != 0) return false;
    if (rest == 0) return true;
    const uint8_t mask = uint8_t(0xff << (8 - rest));
    return (key[whole] & mask) == (bytes[whole] & mask);
}

bool parse_cidr(std::string_view text, Cidr& out, std::string& error) {
    const size_t slash = text.find('/');
    const std::string ip_part(text.substr(0, slash));
    Cidr cidr;
    int max_prefix = 32;
    if (::inet_pton(AF_INET, ip_part.c_str(), cidr.bytes) == 1) {
        cidr.family = AF_INET;
    } else if (::inet_pton(AF_INET6, ip_part.c_str(), cidr.bytes) == 1) {
        cidr.family = AF_INET6;
        max_prefix = 128;
    } else {
        error = "invalid address " + quoted(ip_part) + " in CIDR " + quoted(text) +
                " (expected a range such as \"10.0.0.0/8\" or \"fd00::/8\")";
        return false;
    }
    cidr.prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const std::string_view prefix_text = text.substr(slash + 1);
        if (!all_digits(prefix_text) || prefix_text.size() > 3) {
            error = "invalid prefix length " + quoted(prefix_text) + " in CIDR " + quoted(text);
            return false;
        }
        cidr.prefix = std::stoi(std::string(prefix_text));
        if (cidr.prefix > max_prefix) {
            error = "prefix length " + std::to_string(cidr.prefix) + " out of range for " +
                    (cidr.family == AF_INET ? "IPv4 (0-32)" : "IPv6 (0-128)");
            return false;
        }
    }
    // "::ffff:10.0.0.0/104" names IPv4 clients; store it as 10.0.0.0/8 so it
    // matches them the same way client_key_bytes presents them.
    if (cidr.family == AF_INET6 && cidr.prefix >= 96 &&
        IN6_IS_ADDR_V4MAPPED(reinterpret_cast<const in6_addr*>(cidr.bytes))) {
        std::memmove(cidr.bytes, cidr.bytes + 12, 4);
        std::memset(cidr.bytes + 4, 0, 12);
        cidr.family = AF_INET;
        cidr.prefix -= 96;
    }
    // Host bits are cleared ("10.1.2.3/8" is 10.0.0.0/8), as ip(8) does.
    for (int bit = cidr.prefix; bit < 128; ++bit) cidr.bytes[bit / 8] &= uint8_t(~(0x80 >> (bit % 8)));
    out = cidr;
    return true;
}

}  // namespace ep::net
