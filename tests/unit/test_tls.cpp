// test_tls.cpp: the pure parts of TLS (DESIGN.md §9): which certificate SNI
// picks (exact names before wildcards, one label per wildcard, the first
// certificate as default) and how the tls / server_tls groups load.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "tls/context.hpp"

// CppUTest last: its leak-detector macros must not see std headers.
#include <CppUTest/TestHarness.h>

using ep::tls::select_certificate;
using ep::tls::wildcard_matches;

namespace {

std::string errors_of(const std::string& text) {
    try {
        ep::config::load_string(text, "bad.conf");
    } catch (const ep::config::ConfigError& e) {
        return e.what();
    }
    return "(loaded without error)";
}

std::string service_with(const std::string& groups, const std::string& mode = "http") {
    return "services = ( { name = \"web\"; listen = \"127.0.0.1:8443\"; mode = \"" + mode + "\";\n" + groups +
           "\nservers = ( { name = \"a\"; address = \"127.0.0.1:8080\"; } ); } );\n";
}

}  // namespace

TEST_GROUP(SniSelection){};

TEST(SniSelection, WildcardCoversExactlyOneLabel) {
    CHECK(wildcard_matches("*.example.com", "a.example.com"));
    CHECK_FALSE(wildcard_matches("*.example.com", "example.com"));
    CHECK_FALSE(wildcard_matches("*.example.com", "a.b.example.com"));
    CHECK_FALSE(wildcard_matches("*.example.com", ".example.com"));
    CHECK_FALSE(wildcard_matches("*.example.com", "a.example.org"));
    CHECK(wildcard_matches("www.example.com", "www.example.com"));
    // Only a whole leftmost label may be a wildcard.
    CHECK_FALSE(wildcard_matches("w*.example.com", "www.example.com"));
}

TEST(SniSelection, ExactBeforeWildcardWhateverTheOrder) {
    const std::vector<std::vector<std::string>> names = {
        {"default.test"}, {"*.example.com"}, {"api.example.com", "api2.example.com"}};
    LONGS_EQUAL(2, select_certificate(names, "api.example.com"));
    LONGS_EQUAL(2, select_certificate(names, "api2.example.com"));
    LONGS_EQUAL(1, select_certificate(names, "www.example.com"));
    LONGS_EQUAL(0, select_certificate(names, "default.test"));
}

TEST(SniSelection, FirstCertificateIsTheDefault) {
    const std::vector<std::vector<std::string>> names = {{"a.test"}, {"*.b.test"}};
    LONGS_EQUAL(0, select_certificate(names, ""));
    LONGS_EQUAL(0, select_certificate(names, "unknown.test"));
    LONGS_EQUAL(0, select_certificate(names, "b.test"));          // the wildcard needs a label
    LONGS_EQUAL(0, select_certificate(names, "x.y.b.test"));      // and only one
    LONGS_EQUAL(1, select_certificate(names, "x.b.test"));
}

TEST(SniSelection, FirstOfEqualMatchesWins) {
    const std::vector<std::vector<std::string>> names = {{"x.test"}, {"*.w.test"}, {"*.w.test", "y.w.test"}};
    LONGS_EQUAL(1, select_certificate(names, "z.w.test"));
    LONGS_EQUAL(2, select_certificate(names, "y.w.test"));
}

TEST_GROUP(TlsConfig){};

TEST(TlsConfig, LoadsBothGroups) {
    const auto cfg = ep::config::load_string(
        service_with("tls = { certificates = ( { cert = \"/c/a.pem\"; key = \"/c/a.key\"; },\n"
                     "  { cert = \"/c/b.pem\"; key = \"/c/b.key\"; } ); min_version = \"1.3\";\n"
                     "  handshake_timeout = \"2s\"; };\n"
                     "server_tls = { verify = false; sni = \"backend.test\"; };"),
        "good.conf");
    const ep::config::Service& s = cfg.services[0];
    CHECK(s.tls.enabled);
    LONGS_EQUAL(2, s.tls.certificates.size());
    STRCMP_EQUAL("/c/b.key", s.tls.certificates[1].key.c_str());
    LONGS_EQUAL(3, s.tls.certificates[1].key_where.line);
    STRCMP_EQUAL("services[0].tls.certificates[1].key", s.tls.certificates[1].key_where.path.c_str());
    LONGS_EQUAL(0x0304, s.tls.min_version);
    LONGS_EQUAL(2000, s.tls.handshake_timeout_ms);
    LONGS_EQUAL(1, s.tls.alpn.size());  // http mode offers http/1.1 by default
    STRCMP_EQUAL("http/1.1", s.tls.alpn[0].c_str());
    CHECK(s.server_tls.enabled);
    CHECK_FALSE(s.server_tls.verify);
    STRCMP_EQUAL("backend.test", s.server_tls.sni.c_str());
}

TEST(TlsConfig, CertificatesAreFilesWatchWatches) {
    const auto cfg = ep::config::load_string(
        service_with("tls = { certificates = ( { cert = \"/c/a.pem\"; key = \"/c/a.key\"; } ); };\n"
                     "server_tls = { ca_file = \"/c/ca.pem\"; cert = \"/c/cl.pem\"; key = \"/c/cl.key\"; };"),
        "good.conf");
    for (const char* f : {"/c/a.pem", "/c/a.key", "/c/ca.pem", "/c/cl.pem", "/c/cl.key"})
        CHECK_TRUE(std::find(cfg.files.begin(), cfg.files.end(), f) != cfg.files.end());
}

TEST(TlsConfig, ShippedHttpsExampleLoads) {
    const char* top = std::getenv("top_srcdir");
    const auto cfg = ep::config::load_file(std::string(top ? top : ".") + "/conf/examples/https.conf");
    LONGS_EQUAL(2, cfg.services[0].tls.certificates.size());
    CHECK(cfg.services[2].server_tls.enabled && cfg.services[2].server_tls.verify);
    STRCMP_EQUAL("/etc/easyproxy/tls/proxy-client.key", cfg.services[3].server_tls.key.c_str());
}

TEST(TlsConfig, TcpModeOffersNoAlpnByDefault) {
    const auto cfg = ep::config::load_string(
        service_with("tls = { certificates = ( { cert = \"/c/a.pem\"; key = \"/c/a.key\"; } ); };", "tcp"),
        "good.conf");
    LONGS_EQUAL(0, cfg.services[0].tls.alpn.size());
}

TEST(TlsConfig, ErrorsNameFileLineAndKey) {
    STRCMP_EQUAL("bad.conf:2: services[0].tls.min_version: must be \"1.2\" or \"1.3\" (got \"1.1\")",
                 errors_of(service_with("tls = { certificates = ( { cert = \"/a\"; key = \"/b\"; } ); min_version "
                                        "= \"1.1\"; };"))
                     .c_str());
    STRCMP_EQUAL("bad.conf:2: services[0].tls.alpn[1]: \"h2\" is not supported (HTTP/2 is not built)",
                 errors_of(service_with("tls = { certificates = ( { cert = \"/a\"; key = \"/b\"; } ); alpn = "
                                        "[ \"http/1.1\", \"h2\" ]; };"))
                     .c_str());
    STRCMP_EQUAL("bad.conf:2: services[0].tls.certificates[0]: missing required key \"key\"",
                 errors_of(service_with("tls = { certificates = ( { cert = \"/a\"; } ); };")).c_str());
    STRCMP_EQUAL("bad.conf:2: services[0].tls.certificates[0].cert: must be an absolute path (got \"a.pem\")",
                 errors_of(service_with("tls = { certificates = ( { cert = \"a.pem\"; key = \"/b\"; } ); };"))
                     .c_str());
    STRCMP_EQUAL("bad.conf:2: services[0].server_tls.cert: needs a \"key\" beside it",
                 errors_of(service_with("server_tls = { cert = \"/c.pem\"; };")).c_str());
}
