// test_tls.cpp: the pure parts of TLS (DESIGN.md §9): which certificate SNI
// picks (exact names before wildcards, one label per wildcard, the first
// certificate as default) and how the tls / server_tls groups load.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config/loader.hpp"
#include "tls/context.hpp"
#include "tls/tickets.hpp"

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

// ---- session tickets: the shared keys and their rotation --------------------
//
// A server and a client in memory (a BIO pair), TLS 1.2 so the ticket comes
// within the handshake: a session resumes with the current key, still with
// the previous one after a rotation (and gets a new ticket), and no longer
// after a second rotation.

namespace {

struct Tls12Pair {
    SSL_CTX* server = nullptr;
    SSL_CTX* client = nullptr;
    Tls12Pair() {
        std::string error;
        CHECK_TRUE(ep::tls::init_ticket_keys(error));
        EVP_PKEY* key = EVP_EC_gen("P-256");
        X509* cert = X509_new();
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), 0);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_set_pubkey(cert, key);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("t.test"), -1, -1, 0);
        X509_set_issuer_name(cert, X509_get_subject_name(cert));
        X509_sign(cert, key, EVP_sha256());
        server = SSL_CTX_new(TLS_server_method());
        SSL_CTX_use_certificate(server, cert);
        SSL_CTX_use_PrivateKey(server, key);
        SSL_CTX_set_session_cache_mode(server, SSL_SESS_CACHE_OFF);
        ep::tls::use_shared_ticket_keys(server);
        client = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_max_proto_version(client, TLS1_2_VERSION);
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    ~Tls12Pair() {
        SSL_CTX_free(server);
        SSL_CTX_free(client);
    }
    // One connection; returns whether it resumed `session` (may be null) and
    // hands back the client's session afterwards.
    bool connect(SSL_SESSION*& session) {
        SSL* s = SSL_new(server);
        SSL* c = SSL_new(client);
        BIO *sb = nullptr, *cb = nullptr;
        BIO_new_bio_pair(&sb, 0, &cb, 0);
        SSL_set_bio(s, sb, sb);
        SSL_set_bio(c, cb, cb);
        SSL_set_accept_state(s);
        SSL_set_connect_state(c);
        if (session) SSL_set_session(c, session);
        bool s_done = false, c_done = false;
        for (int i = 0; i < 20 && !(s_done && c_done); ++i) {
            if (!c_done) c_done = SSL_do_handshake(c) == 1;
            if (!s_done) s_done = SSL_do_handshake(s) == 1;
        }
        CHECK_TRUE(s_done && c_done);
        const bool reused = SSL_session_reused(s) == 1;
        if (session) SSL_SESSION_free(session);
        session = SSL_get1_session(c);
        // Freed without a shutdown, OpenSSL marks the session not resumable.
        SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_set_shutdown(s, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(s);
        SSL_free(c);
        return reused;
    }
};

}  // namespace

TEST_GROUP(TicketKeys){};

TEST(TicketKeys, PreviousKeyStillResumesAfterOneRotationNotTwo) {
    Tls12Pair pair;
    SSL_SESSION* first = nullptr;
    CHECK_FALSE(pair.connect(first));  // full handshake, ticket with key A
    SSL_SESSION* again = SSL_SESSION_dup(first);
    CHECK_TRUE(pair.connect(again));   // resumed with A
    ep::tls::rotate_ticket_keys(1);    // B current, A previous
    SSL_SESSION* renewed = SSL_SESSION_dup(first);
    CHECK_TRUE(pair.connect(renewed)); // A still opens it; the ticket is renewed with B
    ep::tls::rotate_ticket_keys(2);    // C current, B previous: A is gone
    SSL_SESSION* old = SSL_SESSION_dup(first);
    CHECK_FALSE(pair.connect(old));    // a ticket under A: full handshake
    CHECK_TRUE(pair.connect(renewed)); // the one renewed under B still resumes
    for (SSL_SESSION* s : {first, again, renewed, old}) SSL_SESSION_free(s);
}
