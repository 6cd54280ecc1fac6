// proxy_protocol.hpp: the PROXY protocol header (HAProxy's
// doc/proxy-protocol.txt) that easyproxy sends to a server before the
// client's bytes when a service sets proxy_protocol = "v1" or "v2", so the
// server learns the real client address. Pure: builds bytes, no I/O.
#pragma once
#include <string>

#include "net/address.hpp"

namespace ep::net {

// "PROXY TCP4 192.168.0.1 10.0.0.1 56324 3306\r\n" (TCP6 for IPv6; an
// IPv4-mapped IPv6 client is written as TCP4; "PROXY UNKNOWN\r\n" otherwise).
std::string proxy_header_v1(const Address& client, const Address& local);

// The binary v2 header: signature, PROXY command, TCP over IPv4/IPv6 with
// both addresses and ports (or the LOCAL-like UNSPEC form for other families).
std::string proxy_header_v2(const Address& client, const Address& local);

}  // namespace ep::net
