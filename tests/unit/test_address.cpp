// test_address.cpp: address and CIDR parsing as the config writes them,
// their stable text form (used by stats and logs), client hashing keys and
// allow/deny matching, including IPv4 clients seen on a dual-stack socket.
#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>
#include <string>

#include "net/address.hpp"

// CppUTest last: its leak-detector macros must not see std headers.
#include <CppUTest/TestHarness.h>

using ep::net::Address;
using ep::net::Cidr;

namespace {

Address parsed(const char* text, bool resolve = true) {
    Address a;
    std::string error;
    if (!ep::net::parse_address(text, a, error, resolve)) FAIL(("unexpected error: " + error).c_str());
    return a;
}

std::string error_of(const char* text, bool resolve = true) {
    Address a;
    std::string error;
    if (ep::net::parse_address(text, a, error, resolve)) return "(accepted)";
    return error;
}

std::string round_trip(const char* text) { return ep::net::format_address(parsed(text)); }

Cidr cidr(const char* text) {
    Cidr c;
    std::string error;
    if (!ep::net::parse_cidr(text, c, error)) FAIL(("unexpected error: " + error).c_str());
    return c;
}

std::string cidr_error(const char* text) {
    Cidr c;
    std::string error;
    if (ep::net::parse_cidr(text, c, error)) return "(accepted)";
    return error;
}

// Client addresses come from accept() with a port; any port will do here.
bool allows(const char* range, const char* client) { return cidr(range).contains(parsed(client)); }

}  // namespace

TEST_GROUP(Address){};

TEST(Address, IPv4) {
    const Address a = parsed("10.0.0.1:3306");
    LONGS_EQUAL(AF_INET, a.family());
    LONGS_EQUAL(3306, a.port());
    LONGS_EQUAL(sizeof(sockaddr_in), a.length);
    STRCMP_EQUAL("10.0.0.1:3306", ep::net::format_address(a).c_str());
    STRCMP_EQUAL("10.0.0.1", ep::net::format_host(a).c_str());
}

TEST(Address, IPv6InBrackets) {
    const Address a = parsed("[::1]:80");
    LONGS_EQUAL(AF_INET6, a.family());
    LONGS_EQUAL(80, a.port());
    LONGS_EQUAL(sizeof(sockaddr_in6), a.length);
    STRCMP_EQUAL("[::1]:80", ep::net::format_address(a).c_str());
    STRCMP_EQUAL("::1", ep::net::format_host(a).c_str());
    STRCMP_EQUAL("[::]:3306", round_trip("[::]:3306").c_str());
    STRCMP_EQUAL("[2001:db8::1]:443", round_trip("[2001:0db8:0:0::1]:443").c_str());
}

TEST(Address, PortLimits) {
    LONGS_EQUAL(1, parsed("127.0.0.1:1").port());
    LONGS_EQUAL(65535, parsed("127.0.0.1:65535").port());
    STRCMP_EQUAL("port 0 out of range (1-65535)", error_of("127.0.0.1:0").c_str());
    STRCMP_EQUAL("port 65536 out of range (1-65535)", error_of("127.0.0.1:65536").c_str());
    STRCMP_EQUAL("port 70000 out of range (1-65535)", error_of("[::1]:70000").c_str());
    STRCMP_EQUAL("port 99999999999 out of range (1-65535)", error_of("127.0.0.1:99999999999").c_str());
    STRCMP_EQUAL("invalid port \"http\"", error_of("127.0.0.1:http").c_str());
    STRCMP_EQUAL("invalid port \"-1\"", error_of("127.0.0.1:-1").c_str());
    STRCMP_EQUAL("invalid port \" 80\"", error_of("127.0.0.1: 80").c_str());
}

TEST(Address, MissingPartsAndMalformedText) {
    STRCMP_EQUAL("empty address", error_of("").c_str());
    STRCMP_EQUAL("missing port in \"10.0.0.1\" (expected HOST:PORT)", error_of("10.0.0.1").c_str());
    STRCMP_EQUAL("missing port in \"10.0.0.1:\"", error_of("10.0.0.1:").c_str());
    STRCMP_EQUAL("missing port in \"[::1]\"", error_of("[::1]").c_str());
    STRCMP_EQUAL("missing port in \"[::1]:\"", error_of("[::1]:").c_str());
    STRCMP_EQUAL("missing host in \":80\"", error_of(":80").c_str());
    STRCMP_EQUAL("missing \"]\" after IPv6 address in \"[::1:80\"", error_of("[::1:80").c_str());
    STRCMP_EQUAL("unexpected \"80\" after \"]\" in \"[::1]80\"", error_of("[::1]80").c_str());
    STRCMP_EQUAL("invalid IPv6 address \"10.0.0.1\"", error_of("[10.0.0.1]:80").c_str());
    STRCMP_EQUAL("IPv6 address must be in brackets, as \"[::1]:80\" (got \"::1:80\")", error_of("::1:80").c_str());
}

TEST(Address, StarMeansEveryIPv4Address) {
    STRCMP_EQUAL("0.0.0.0:80", round_trip("*:80").c_str());
}

TEST(Address, UnixSocket) {
    const Address a = parsed("unix:/run/app.sock");
    LONGS_EQUAL(AF_UNIX, a.family());
    LONGS_EQUAL(0, a.port());
    STRCMP_EQUAL("unix:/run/app.sock", ep::net::format_address(a).c_str());
    STRCMP_EQUAL("unix:/run/app.sock", ep::net::format_host(a).c_str());
    STRCMP_EQUAL("unix socket path must be absolute, as \"unix:/run/app.sock\"", error_of("unix:").c_str());
    STRCMP_EQUAL("unix socket path must be absolute, as \"unix:/run/app.sock\"", error_of("unix:app.sock").c_str());
}

TEST(Address, UnixPathLengthLimit) {
    const std::string longest = "/" + std::string(106, 'p');  // 107 characters + NUL = sun_path
    const Address a = parsed(("unix:" + longest).c_str());
    STRCMP_EQUAL(("unix:" + longest).c_str(), ep::net::format_address(a).c_str());
    STRCMP_EQUAL("unix socket path too long (108 characters, at most 107)",
                 error_of(("unix:" + longest + "x").c_str()).c_str());
}

TEST(Address, HostnameResolvesPreferringIPv4) {
    const Address a = parsed("localhost:80");
    LONGS_EQUAL(AF_INET, a.family());
    STRCMP_EQUAL("127.0.0.1:80", ep::net::format_address(a).c_str());
}

TEST(Address, HostnameRefusedWithoutResolution) {
    STRCMP_EQUAL("\"localhost\" is not an IP address (host names are not allowed here)",
                 error_of("localhost:80", false).c_str());
    STRCMP_EQUAL("10.0.0.1:80", ep::net::format_address(parsed("10.0.0.1:80", false)).c_str());
}

TEST(Address, UnresolvableHostNamesTheResolverError) {
    // The resolver's words depend on the machine (no DNS gives another code),
    // so only the part easyproxy writes is fixed.
    STRCMP_CONTAINS("cannot resolve host \"x.invalid\": ", error_of("x.invalid:80").c_str());
}

TEST(Address, Equality) {
    CHECK(parsed("10.0.0.1:80") == parsed("10.0.0.1:80"));
    CHECK(parsed("*:80") == parsed("0.0.0.0:80"));
    CHECK_FALSE(parsed("10.0.0.1:80") == parsed("10.0.0.1:81"));
    CHECK_FALSE(parsed("10.0.0.1:80") == parsed("10.0.0.2:80"));
    CHECK(parsed("[::1]:80") == parsed("[0::1]:80"));
    CHECK_FALSE(parsed("[::1]:80") == parsed("127.0.0.1:80"));
    CHECK(parsed("unix:/a.sock") == parsed("unix:/a.sock"));
    CHECK_FALSE(parsed("unix:/a.sock") == parsed("unix:/b.sock"));
}

TEST(Address, ClientKeyBytes) {
    uint8_t key[16];
    LONGS_EQUAL(4, ep::net::client_key_bytes(parsed("192.168.1.7:5000"), key));
    const uint8_t v4[] = {192, 168, 1, 7};
    MEMCMP_EQUAL(v4, key, 4);
    // An IPv4 client on a dual-stack socket hashes like the same client on IPv4.
    LONGS_EQUAL(4, ep::net::client_key_bytes(parsed("[::ffff:192.168.1.7]:5000"), key));
    MEMCMP_EQUAL(v4, key, 4);
    LONGS_EQUAL(16, ep::net::client_key_bytes(parsed("[2001:db8::7]:5000"), key));
    LONGS_EQUAL(0x20, key[0]);
    LONGS_EQUAL(7, key[15]);
    LONGS_EQUAL(0, ep::net::client_key_bytes(parsed("unix:/x.sock"), key));
}

TEST_GROUP(Cidr){};

TEST(Cidr, IPv4Ranges) {
    CHECK(allows("10.0.0.0/8", "10.200.3.4:1"));
    CHECK_FALSE(allows("10.0.0.0/8", "11.0.0.1:1"));
    CHECK(allows("192.168.1.0/25", "192.168.1.127:1"));
    CHECK_FALSE(allows("192.168.1.0/25", "192.168.1.128:1"));
    CHECK(allows("0.0.0.0/0", "203.0.113.9:1"));
    CHECK_FALSE(allows("0.0.0.0/0", "[2001:db8::1]:1"));
}

TEST(Cidr, HostWithoutPrefixIsSlash32) {
    const Cidr c = cidr("192.168.1.7");
    LONGS_EQUAL(32, c.prefix);
    CHECK(allows("192.168.1.7", "192.168.1.7:1"));
    CHECK_FALSE(allows("192.168.1.7", "192.168.1.8:1"));
    CHECK(allows("192.168.1.7/32", "192.168.1.7:1"));
    LONGS_EQUAL(128, cidr("::1").prefix);
}

TEST(Cidr, IPv6Ranges) {
    CHECK(allows("2001:db8::/32", "[2001:db8:1::5]:1"));
    CHECK_FALSE(allows("2001:db8::/32", "[2001:db9::5]:1"));
    CHECK(allows("::1/128", "[::1]:1"));
    CHECK(allows("::/0", "[2001:db9::5]:1"));
    CHECK_FALSE(allows("::/0", "10.0.0.1:1"));
}

TEST(Cidr, IPv4MappedClientsMatchIPv4Ranges) {
    CHECK(allows("10.0.0.0/8", "[::ffff:10.1.2.3]:1"));
    CHECK_FALSE(allows("10.0.0.0/8", "[::ffff:11.1.2.3]:1"));
    // A range written in the mapped form means the same IPv4 clients.
    const Cidr mapped = cidr("::ffff:10.0.0.0/104");
    LONGS_EQUAL(AF_INET, mapped.family);
    LONGS_EQUAL(8, mapped.prefix);
    CHECK(allows("::ffff:10.0.0.0/104", "10.9.9.9:1"));
    CHECK(allows("::ffff:10.0.0.0/104", "[::ffff:10.9.9.9]:1"));
}

TEST(Cidr, HostBitsAreCleared) {
    const Cidr c = cidr("10.1.2.3/8");
    const uint8_t expected[] = {10, 0, 0, 0};
    MEMCMP_EQUAL(expected, c.bytes, 4);
    CHECK(allows("10.1.2.3/8", "10.200.0.1:1"));
}

TEST(Cidr, Errors) {
    STRCMP_EQUAL("prefix length 33 out of range for IPv4 (0-32)", cidr_error("10.0.0.0/33").c_str());
    STRCMP_EQUAL("prefix length 129 out of range for IPv6 (0-128)", cidr_error("::/129").c_str());
    STRCMP_EQUAL("invalid prefix length \"\" in CIDR \"10.0.0.0/\"", cidr_error("10.0.0.0/").c_str());
    STRCMP_EQUAL("invalid prefix length \"-1\" in CIDR \"10.0.0.0/-1\"", cidr_error("10.0.0.0/-1").c_str());
    STRCMP_EQUAL("invalid prefix length \"8x\" in CIDR \"10.0.0.0/8x\"", cidr_error("10.0.0.0/8x").c_str());
    STRCMP_EQUAL("invalid address \"10.0.0\" in CIDR \"10.0.0/8\" (expected a range such as \"10.0.0.0/8\" or \"fd00::/8\")",
                 cidr_error("10.0.0/8").c_str());
    STRCMP_EQUAL("invalid address \"\" in CIDR \"\" (expected a range such as \"10.0.0.0/8\" or \"fd00::/8\")",
                 cidr_error("").c_str());
}
