// fuzz_proxy_protocol.cpp: libFuzzer target for the PROXY protocol headers.
// easyproxy only builds them (it has no PROXY parser), so this target checks
// the round trip: addresses made from the input (raw IPv4/IPv6 bytes and
// ports, or address text through parse_address) go into v1 and v2 headers,
// and a decoder written here from the specification (HAProxy's
// doc/proxy-protocol.txt) must read the same addresses and ports back.
// Address text must also survive format_address -> parse_address.
#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "net/address.hpp"
#include "net/proxy_protocol.hpp"

namespace {

using ep::net::Address;

void check(bool ok) {
    if (!ok) std::abort();
}

// The address bytes a header carries for the pair: 4 each when both are
// IPv4 (or IPv4-mapped IPv6), else 16 each when both are IPv6, else none.
size_t pair_bytes(const Address& client, const Address& local, uint8_t src[16], uint8_t dst[16]) {
    auto ip = [](const Address& a) { return a.family() == AF_INET || a.family() == AF_INET6; };
    if (!ip(client) || !ip(local)) return 0;
    if (ep::net::client_key_bytes(client, src) == 4 && ep::net::client_key_bytes(local, dst) == 4) return 4;
    if (client.family() != AF_INET6 || local.family() != AF_INET6) return 0;
    std::memcpy(src, &reinterpret_cast<const sockaddr_in6*>(client.sa())->sin6_addr, 16);
    std::memcpy(dst, &reinterpret_cast<const sockaddr_in6*>(local.sa())->sin6_addr, 16);
    return 16;
}

Address make(const uint8_t* p, size_t n, size_t& used) {
    Address a;
    used = 0;
    if (n < 1) return a;
    const uint8_t kind = p[0] % 4;
    if (kind == 0 && n >= 7) {  // IPv4
        auto* sin = reinterpret_cast<sockaddr_in*>(&a.storage);
        sin->sin_family = AF_INET;
        std::memcpy(&sin->sin_addr, p + 1, 4);
        std::memcpy(&sin->sin_port, p + 5, 2);
        a.length = sizeof *sin;
        used = 7;
    } else if ((kind == 1 || kind == 2) && n >= 19) {  // IPv6, or IPv4-mapped IPv6
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
        sin6->sin6_family = AF_INET6;
        std::memcpy(&sin6->sin6_addr, p + 1, 16);
        if (kind == 2) std::memcpy(&sin6->sin6_addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
        std::memcpy(&sin6->sin6_port, p + 17, 2);
        a.length = sizeof *sin6;
        used = 19;
    } else {  // unix
        a.storage.ss_family = AF_UNIX;
        used = 1;
    }
    return a;
}

void check_v1(const std::string& h, const Address& client, const Address& local) {
    check(h.size() <= 107 && h.ends_with("\r\n") && h.starts_with("PROXY "));
    uint8_t src[16], dst[16];
    const size_t n = pair_bytes(client, local, src, dst);
    if (n == 0) {
        check(h == "PROXY UNKNOWN\r\n");
        return;
    }
    char proto[8], src_text[64], dst_text[64];
    unsigned src_port = 0, dst_port = 0;
    check(std::sscanf(h.c_str(), "PROXY %7s %63s %63s %u %u\r\n", proto, src_text, dst_text, &src_port,
                      &dst_port) == 5);
    const int family = n == 4 ? AF_INET : AF_INET6;
    check(std::string(proto) == (n == 4 ? "TCP4" : "TCP6"));
    uint8_t back[16];
    check(inet_pton(family, src_text, back) == 1 && std::memcmp(back, src, n) == 0);
    check(inet_pton(family, dst_text, back) == 1 && std::memcmp(back, dst, n) == 0);
    check(src_port == client.port() && dst_port == local.port());
}

void check_v2(const std::string& h, const Address& client, const Address& local) {
    static const char kSignature[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};
    check(h.size() >= 16 && std::memcmp(h.data(), kSignature, 12) == 0 && uint8_t(h[12]) == 0x21);
    const auto* b = reinterpret_cast<const uint8_t*>(h.data());
    const size_t length = size_t(b[14]) << 8 | b[15];
    check(h.size() == 16 + length);
    uint8_t src[16], dst[16];
    const size_t n = pair_bytes(client, local, src, dst);
    if (n == 0) {
        check(b[13] == 0x00 && length == 0);
        return;
    }
    check(b[13] == (n == 4 ? 0x11 : 0x21) && length == 2 * n + 4);
    check(std::memcmp(b + 16, src, n) == 0 && std::memcmp(b + 16 + n, dst, n) == 0);
    const uint8_t* ports = b + 16 + 2 * n;
    check((ports[0] << 8 | ports[1]) == client.port() && (ports[2] << 8 | ports[3]) == local.port());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    size_t used_client = 0, used_local = 0;
    const Address client = make(data, size, used_client);
    const Address local = make(data + used_client, size - used_client, used_local);
    check_v1(ep::net::proxy_header_v1(client, local), client, local);
    check_v2(ep::net::proxy_header_v2(client, local), client, local);

    // The rest is address text, as a config writes it (no name lookups).
    const std::string_view text(reinterpret_cast<const char*>(data + used_client + used_local),
                                size - used_client - used_local);
    Address parsed;
    std::string error;
    if (ep::net::parse_address(text, parsed, error, false)) {
        const std::string formatted = ep::net::format_address(parsed);
        Address again;
        check(ep::net::parse_address(formatted, again, error, false) && again == parsed);
        check(ep::net::format_address(again) == formatted);
    } else {
        check(!error.empty());
    }
    return 0;
}
