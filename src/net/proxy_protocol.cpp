// proxy_protocol.cpp: PROXY protocol v1 and v2 headers (see proxy_protocol.hpp).
#include "net/proxy_protocol.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace ep::net {

namespace {

// Both addresses as IPv4 when both are IPv4 (or IPv4-mapped IPv6), as IPv6
// when both are IPv6; otherwise the header says UNKNOWN / UNSPEC.
struct Pair {
    int family = AF_UNSPEC;
    uint8_t src[16]{};
    uint8_t dst[16]{};
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
};

bool ipv4_of(const Address& a, uint8_t out[4]) {
    uint8_t key[16];
    if (a.family() == AF_INET || a.family() == AF_INET6) {
        if (client_key_bytes(a, key) == 4) {
            std::memcpy(out, key, 4);
            return true;
        }
    }
    return false;
}

Pair pair_of(const Address& client, const Address& local) {
    Pair p;
    if (ipv4_of(client, p.src) && ipv4_of(local, p.dst)) {
        p.family = AF_INET;
    } else if (client.family() == AF_INET6 && local.family() == AF_INET6) {
        std::memcpy(p.src, &reinterpret_cast<const sockaddr_in6*>(client.sa())->sin6_addr, 16);
        std::memcpy(p.dst, &reinterpret_cast<const sockaddr_in6*>(local.sa())->sin6_addr, 16);
        p.family = AF_INET6;
    } else {
        return p;
    }
    p.src_port = client.port();
    p.dst_port = local.port();
    return p;
}

}  // namespace

std::string proxy_header_v1(const Address& client, const Address& local) {
    const Pair p = pair_of(client, local);
    if (p.family == AF_UNSPEC) return "PROXY UNKNOWN\r\n";
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    inet_ntop(p.family, p.src, src, sizeof src);
    inet_ntop(p.family, p.dst, dst, sizeof dst);
    return std::string("PROXY ") + (p.family == AF_INET ? "TCP4 " : "TCP6 ") + src + " " + dst + " " +
           std::to_string(p.src_port) + " " + std::to_string(p.dst_port) + "\r\n";
}

std::string proxy_header_v2(const Address& client, const Address& local) {
    static const char kSignature[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};
    const Pair p = pair_of(client, local);
    std::string out(kSignature, sizeof kSignature);
    out.push_back(char(0x21));  // version 2, command PROXY
    const size_t addr_len = p.family == AF_INET ? 4 : p.family == AF_INET6 ? 16 : 0;
    out.push_back(char(p.family == AF_INET ? 0x11 : p.family == AF_INET6 ? 0x21 : 0x00));  // TCP over IPv4/IPv6
    const uint16_t length = uint16_t(addr_len ? addr_len * 2 + 4 : 0);
    out.push_back(char(length >> 8));
    out.push_back(char(length & 0xff));
    if (addr_len) {
        out.append(reinterpret_cast<const char*>(p.src), addr_len);
        out.append(reinterpret_cast<const char*>(p.dst), addr_len);
        for (uint16_t port : {p.src_port, p.dst_port}) {
            out.push_back(char(port >> 8));
            out.push_back(char(port & 0xff));
        }
    }
    return out;
}

}  // namespace ep::net
