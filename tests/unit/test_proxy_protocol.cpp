// test_proxy_protocol.cpp: PROXY protocol v1/v2 headers, byte for byte
// (examples from HAProxy's doc/proxy-protocol.txt layout).
#include <string>

#include "net/proxy_protocol.hpp"

#include <CppUTest/TestHarness.h>

using ep::net::Address;

namespace {
Address addr(const char* text) {
    Address a;
    std::string error;
    CHECK_TRUE_TEXT(ep::net::parse_address(text, a, error, false), error.c_str());
    return a;
}
std::string hex(const std::string& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}
}  // namespace

TEST_GROUP(ProxyProtocol){};

TEST(ProxyProtocol, V1Ipv4) {
    STRCMP_EQUAL("PROXY TCP4 192.168.0.1 10.0.0.1 56324 3306\r\n",
                 ep::net::proxy_header_v1(addr("192.168.0.1:56324"), addr("10.0.0.1:3306")).c_str());
}

TEST(ProxyProtocol, V1Ipv6) {
    STRCMP_EQUAL("PROXY TCP6 2001:db8::1 ::1 40000 443\r\n",
                 ep::net::proxy_header_v1(addr("[2001:db8::1]:40000"), addr("[::1]:443")).c_str());
}

TEST(ProxyProtocol, V1MappedIpv4ClientIsTcp4) {
    STRCMP_EQUAL("PROXY TCP4 10.1.2.3 10.0.0.1 5000 80\r\n",
                 ep::net::proxy_header_v1(addr("[::ffff:10.1.2.3]:5000"), addr("[::ffff:10.0.0.1]:80")).c_str());
}

TEST(ProxyProtocol, V1UnixIsUnknown) {
    STRCMP_EQUAL("PROXY UNKNOWN\r\n", ep::net::proxy_header_v1(addr("unix:/tmp/c.sock"), addr("unix:/tmp/l.sock")).c_str());
}

TEST(ProxyProtocol, V2Ipv4) {
    // signature, 0x21 (v2 PROXY), 0x11 (TCP4), length 12, src, dst, ports
    STRCMP_EQUAL("0d0a0d0a000d0a515549540a" "21" "11" "000c" "c0a80001" "0a000001" "dc04" "0cea",
                 hex(ep::net::proxy_header_v2(addr("192.168.0.1:56324"), addr("10.0.0.1:3306"))).c_str());
}

TEST(ProxyProtocol, V2Ipv6) {
    STRCMP_EQUAL("0d0a0d0a000d0a515549540a" "21" "21" "0024"
                 "20010db8000000000000000000000001" "00000000000000000000000000000001" "9c40" "01bb",
                 hex(ep::net::proxy_header_v2(addr("[2001:db8::1]:40000"), addr("[::1]:443"))).c_str());
}

TEST(ProxyProtocol, V2UnixIsUnspecWithNoAddresses) {
    STRCMP_EQUAL("0d0a0d0a000d0a515549540a" "21" "00" "0000",
                 hex(ep::net::proxy_header_v2(addr("unix:/tmp/c.sock"), addr("unix:/tmp/l.sock"))).c_str());
}
