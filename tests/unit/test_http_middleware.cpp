// test_http_middleware.cpp: the middleware chain against research/http.md §7
// and the golden cases 37-40 of §12: each type's decision on a parsed
// request, the onion order of the two sides, the stop on an answer, the
// redirect's status table and Location, basic_auth with hashes made here by
// libcrypt, and the GCRA arithmetic of the shared rate table at explicit times.
#include <crypt.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "http/message.hpp"
#include "http/middleware.hpp"
#include "http/rate_limit.hpp"
#include "net/address.hpp"

#include <CppUTest/TestHarness.h>
#include <CppUTest/TestMemoryAllocator.h>

using namespace ep::http;
using ep::config::Middleware;
using ep::config::MiddlewareType;

namespace {

ep::net::Address address(const char* text) {
    ep::net::Address a;
    std::string err;
    if (!ep::net::parse_address(text, a, err, false)) FAIL(err.c_str());
    return a;
}

ep::net::Cidr cidr(const char* text) {
    ep::net::Cidr c;
    std::string err;
    if (!ep::net::parse_cidr(text, c, err)) FAIL(err.c_str());
    return c;
}

// A parsed request and the view of it the chain gets.
struct Req {
    std::string text;
    std::unique_ptr<Head> head = std::make_unique<Head>();  // 1.6 KiB: not on the stack
    ep::net::Address peer;
    Request request;

    explicit Req(std::string t, const char* from = "127.0.0.1:40000", std::string_view host = "a")
        : text(std::move(t)), peer(address(from)) {
        HeadParser p;
        p.reset(HeadParser::Kind::Request, 16384);
        if (p.parse(text.data(), text.size(), *head) != Parse::Done) FAIL(("not a request: " + text).c_str());
        request.head = head.get();
        request.buf = text.data();
        request.host = host;
        request.peer = &peer;
    }
};

std::string get(std::string_view target, std::string_view fields = "") {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: a\r\n" + std::string(fields) + "\r\n";
}

Middleware make(MiddlewareType type, std::string name = "m") {
    Middleware m;
    m.type = type;
    m.name = std::move(name);
    return m;
}

std::string names(const std::vector<std::string_view>& v) {
    std::string s;
    for (std::string_view n : v) s.append(s.empty() ? "" : ",").append(n);
    return s;
}

// A config, its chain of every middleware in order, and one plan.
struct Chain {
    ep::config::Config cfg;
    std::vector<uint32_t> chain;
    std::unique_ptr<Middlewares> mws;
    Plan plan;

    explicit Chain(std::vector<Middleware> list, RateTable* rates = nullptr) {
        cfg.middlewares = std::move(list);
        for (uint32_t i = 0; i < cfg.middlewares.size(); ++i) chain.push_back(i);
        mws = std::make_unique<Middlewares>(cfg, rates);
    }
    bool run(const Req& r) { return mws->on_request(chain, r.request, plan, 0); }
};

}  // namespace

TEST_GROUP(MiddlewareHeaders) {};

TEST(MiddlewareHeaders, SetAddRemoveOnTheRequest) {
    Middleware m = make(MiddlewareType::Headers);
    m.request_remove = {"X-Secret"};
    m.request_set = {{"X-Env", "prod"}};
    m.request_add = {{"X-Tag", "1"}, {"X-Tag", "2"}};
    Chain c({m});
    Req r(get("/"));
    CHECK_TRUE(c.run(r));
    STRCMP_EQUAL("X-Secret,X-Env", names(c.plan.request_remove).c_str());
    STRCMP_EQUAL("X-Env: prod\r\nX-Tag: 1\r\nX-Tag: 2\r\n", c.plan.request_add.c_str());
    CHECK_FALSE(c.plan.path_set);
    LONGS_EQUAL(0, c.plan.status);
    CHECK_TRUE(c.plan.response_add.empty());
}

TEST(MiddlewareHeaders, SetAddRemoveOnTheResponse) {
    Middleware m = make(MiddlewareType::Headers);
    m.response_set = {{"X-Frame-Options", "DENY"}};
    m.response_remove = {"Server"};
    m.response_add = {{"Vary", "Origin"}};
    Chain c({m});
    Req r(get("/"));
    CHECK_TRUE(c.run(r));
    STRCMP_EQUAL("Server,X-Frame-Options", names(c.plan.response_remove).c_str());
    STRCMP_EQUAL("X-Frame-Options: DENY\r\nVary: Origin\r\n", c.plan.response_add.c_str());
    CHECK_TRUE(c.plan.request_add.empty());
}

// Each side: the last layer to touch a name wins. The request goes through
// the layers in order (the inner, route's layer is last); the response in
// reverse (the outer, entry point's layer is last).
TEST(MiddlewareHeaders, OnionOrderOfTwoLayersSettingOneName) {
    Middleware outer = make(MiddlewareType::Headers, "outer");
    outer.request_set = {{"X-Who", "outer"}};
    outer.response_set = {{"X-Who", "outer"}};
    Middleware inner = make(MiddlewareType::Headers, "inner");
    inner.request_set = {{"x-who", "inner"}};  // any case: the same field
    inner.response_set = {{"x-who", "inner"}};
    Chain c({outer, inner});
    Req r(get("/"));
    CHECK_TRUE(c.run(r));
    STRCMP_EQUAL("x-who: inner\r\n", c.plan.request_add.c_str());
    STRCMP_EQUAL("X-Who", names(c.plan.request_remove).c_str());
    STRCMP_EQUAL("X-Who: outer\r\n", c.plan.response_add.c_str());
    STRCMP_EQUAL("x-who", names(c.plan.response_remove).c_str());
}

TEST(MiddlewareHeaders, AnOuterRemoveDropsWhatAnInnerLayerAddedToTheResponse) {
    Middleware outer = make(MiddlewareType::Headers, "outer");
    outer.response_remove = {"X-Debug"};
    outer.response_add = {{"X-Served-By", "edge"}};
    Middleware inner = make(MiddlewareType::Headers, "inner");
    inner.response_add = {{"X-Debug", "1"}, {"X-Served-By", "api"}};
    Chain c({outer, inner});
    Req r(get("/"));
    CHECK_TRUE(c.run(r));
    STRCMP_EQUAL("X-Served-By: api\r\nX-Served-By: edge\r\n", c.plan.response_add.c_str());
    STRCMP_EQUAL("X-Debug", names(c.plan.response_remove).c_str());
}

TEST(MiddlewareHeaders, WithinALayerRemoveThenSetThenAdd) {
    Middleware m = make(MiddlewareType::Headers);
    m.request_remove = {"X-A"};
    m.request_set = {{"X-A", "set"}};
    m.request_add = {{"X-A", "added"}};
    Chain c({m});
    Req r(get("/"));
    CHECK_TRUE(c.run(r));
    STRCMP_EQUAL("X-A: set\r\nX-A: added\r\n", c.plan.request_add.c_str());
    STRCMP_EQUAL("X-A", names(c.plan.request_remove).c_str());
}

TEST(MiddlewareHeaders, APlanIsClearedBetweenRequests) {
    Middleware m = make(MiddlewareType::Headers);
    m.request_set = {{"X-A", "1"}};
    Chain c({m});
    Req r(get("/"));
    CHECK_TRUE(c.run(r));
    CHECK_TRUE(c.run(r));
    STRCMP_EQUAL("X-A: 1\r\n", c.plan.request_add.c_str());
    LONGS_EQUAL(1, c.plan.request_remove.size());
}

TEST_GROUP(MiddlewarePath) {};

// Golden case 37.
TEST(MiddlewarePath, StripPrefixKeepsTheRestAndSaysWhatItStripped) {
    Middleware m = make(MiddlewareType::StripPrefix);
    m.prefixes = {"/api"};
    Chain c({m});
    Req r(get("/api/users?x=1", "X-Forwarded-Prefix: /evil\r\n"));
    CHECK_TRUE(c.run(r));
    CHECK_TRUE(c.plan.path_set);
    STRCMP_EQUAL("/users", c.plan.path.c_str());  // the session keeps "?x=1"
    STRCMP_EQUAL("X-Forwarded-Prefix: /api\r\n", c.plan.request_add.c_str());
    STRCMP_EQUAL("X-Forwarded-Prefix", names(c.plan.request_remove).c_str());

    Req whole(get("/api"));
    CHECK_TRUE(c.run(whole));
    STRCMP_EQUAL("/", c.plan.path.c_str());
}

TEST(MiddlewarePath, StripPrefixIsAByteprefixAsTraefikDoes) {
    Middleware m = make(MiddlewareType::StripPrefix);
    m.prefixes = {"/api"};
    Chain c({m});
    Req r(get("/apix"));
    CHECK_TRUE(c.run(r));
    STRCMP_EQUAL("/x", c.plan.path.c_str());
}

TEST(MiddlewarePath, StripPrefixTakesTheFirstListedPrefixThatMatches) {
    Middleware m = make(MiddlewareType::StripPrefix);
    m.prefixes = {"/v2", "/v1", "/v1/api"};
    Chain c({m});
    Req r(get("/v1/api/x"));
    CHECK_TRUE(c.run(r));
    STRCMP_EQUAL("/api/x", c.plan.path.c_str());
    STRCMP_EQUAL("X-Forwarded-Prefix: /v1\r\n", c.plan.request_add.c_str());
}

TEST(MiddlewarePath, NoPrefixMatchesNothingChanges) {
    Middleware m = make(MiddlewareType::StripPrefix);
    m.prefixes = {"/api"};
    Chain c({m});
    Req r(get("/ap/x"));
    CHECK_TRUE(c.run(r));
    CHECK_FALSE(c.plan.path_set);
    CHECK_TRUE(c.plan.request_add.empty());
    CHECK_TRUE(c.plan.request_remove.empty());
}

TEST(MiddlewarePath, StripPrefixIsRawBytesNotTheNormalisedPath) {
    Middleware m = make(MiddlewareType::StripPrefix);
    m.prefixes = {"/api"};
    Chain c({m});
    Req r(get("/%61pi/x"));  // "/api/x" for matching routes, not for stripping
    CHECK_TRUE(c.run(r));
    CHECK_FALSE(c.plan.path_set);
}

TEST(MiddlewarePath, LayersChangeThePathOneAfterTheOther) {
    Middleware strip = make(MiddlewareType::StripPrefix, "strip");
    strip.prefixes = {"/api"};
    Middleware strip2 = make(MiddlewareType::StripPrefix, "strip2");
    strip2.prefixes = {"/v1"};
    Middleware add = make(MiddlewareType::AddPrefix, "add");
    add.prefixes = {"/internal"};
    Chain c({strip, strip2, add});
    Req r(get("/api/v1/users?q=1"));
    CHECK_TRUE(c.run(r));
    STRCMP_EQUAL("/internal/users", c.plan.path.c_str());
    // a second strip_prefix replaces the first one's X-Forwarded-Prefix
    STRCMP_EQUAL("X-Forwarded-Prefix: /v1\r\n", c.plan.request_add.c_str());
}

TEST(MiddlewarePath, AddPrefixPrependsToThePathAsSent) {
    Middleware m = make(MiddlewareType::AddPrefix);
    m.prefixes = {"/pre"};
    Chain c({m});
    Req r(get("/x?q"));
    CHECK_TRUE(c.run(r));
    CHECK_TRUE(c.plan.path_set);
    STRCMP_EQUAL("/pre/x", c.plan.path.c_str());
    CHECK_TRUE(c.plan.request_add.empty());
}

TEST_GROUP(MiddlewareRedirect) {
    // The answer as "status Location".
    std::string redirect(const Middleware& m, const std::string& request, bool tls = false,
                         std::string_view host = "a") {
        Chain c({m});
        Req r(request, "127.0.0.1:40000", host);
        r.request.tls = tls;
        if (c.run(r)) {
            CHECK_EQUAL(0, c.plan.status);
            return "passed";
        }
        LONGS_EQUAL(0, c.plan.answered_by);
        return std::to_string(c.plan.status) + " " + c.plan.answer_fields;
    }
    Middleware to_https(int code) {
        Middleware m = make(MiddlewareType::Redirect);
        m.scheme = "https";
        m.code = code;
        return m;
    }
};

// Golden case 40.
TEST(MiddlewareRedirect, SchemeToHttpsPermanent) {
    STRCMP_EQUAL("301 Location: https://a/p?q\r\n", redirect(to_https(301), get("/p?q")).c_str());
    STRCMP_EQUAL("301 Location: https://a/p?q\r\n",
                 redirect(to_https(301), "HEAD /p?q HTTP/1.1\r\nHost: a\r\n\r\n").c_str());
    STRCMP_EQUAL("308 Location: https://a/p?q\r\n",
                 redirect(to_https(301), "POST /p?q HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").c_str());
}

TEST(MiddlewareRedirect, StatusTable) {
    const std::string post = "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
    const std::string put = "PUT /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
    STRCMP_EQUAL("302 Location: https://a/p\r\n", redirect(to_https(302), get("/p")).c_str());
    STRCMP_EQUAL("307 Location: https://a/p\r\n", redirect(to_https(302), post).c_str());
    STRCMP_EQUAL("307 Location: https://a/p\r\n", redirect(to_https(302), put).c_str());
    STRCMP_EQUAL("307 Location: https://a/p\r\n", redirect(to_https(307), get("/p")).c_str());
    STRCMP_EQUAL("308 Location: https://a/p\r\n", redirect(to_https(308), get("/p")).c_str());
    STRCMP_EQUAL("308 Location: https://a/p\r\n", redirect(to_https(308), post).c_str());
}

TEST(MiddlewareRedirect, PortRules) {
    const std::string on_8080 = "GET /p?q HTTP/1.1\r\nHost: a:8080\r\n\r\n";
    // the scheme changes, no port given: the request's port is dropped
    STRCMP_EQUAL("302 Location: https://a/p?q\r\n", redirect(to_https(302), on_8080).c_str());
    Middleware port = to_https(302);
    port.port = 8443;
    STRCMP_EQUAL("302 Location: https://a:8443/p?q\r\n", redirect(port, on_8080).c_str());
    port.port = 443;  // the scheme's own port is not written
    STRCMP_EQUAL("302 Location: https://a/p?q\r\n", redirect(port, on_8080).c_str());
    // the scheme unchanged: the path changes, the port is kept
    Middleware path = make(MiddlewareType::Redirect);
    path.path = "/new";
    STRCMP_EQUAL("302 Location: http://a:8080/new?q\r\n", redirect(path, on_8080).c_str());
    // another host: the request's port is not its port
    Middleware host = make(MiddlewareType::Redirect);
    host.host = "b.example";
    STRCMP_EQUAL("302 Location: http://b.example/p?q\r\n", redirect(host, on_8080).c_str());
    // the host as normalised by the router, the port as the client wrote it
    STRCMP_EQUAL("302 Location: http://a:8080/new?q\r\n",
                 redirect(path, "GET /p?q HTTP/1.1\r\nHost: A.:8080\r\n\r\n").c_str());
}

TEST(MiddlewareRedirect, HttpsToHttpAndTheIpv6Port) {
    Middleware m = make(MiddlewareType::Redirect);
    m.scheme = "http";
    STRCMP_EQUAL("302 Location: http://a/p\r\n",
                 redirect(m, "GET /p HTTP/1.1\r\nHost: a:8443\r\n\r\n", true).c_str());
    Middleware path = make(MiddlewareType::Redirect);
    path.path = "/q";
    STRCMP_EQUAL("302 Location: http://[::1]:81/q\r\n",
                 redirect(path, "GET /p HTTP/1.1\r\nHost: [::1]:81\r\n\r\n", false, "[::1]").c_str());
}

TEST(MiddlewareRedirect, NoRedirectToTheSameUrl) {
    // a "to https" layer on an entry point that also takes https
    STRCMP_EQUAL("passed", redirect(to_https(301), get("/p?q"), true).c_str());
    STRCMP_EQUAL("passed", redirect(to_https(301), "GET /p HTTP/1.1\r\nHost: a:443\r\n\r\n", true).c_str());
    STRCMP_EQUAL("passed", redirect(to_https(301), "GET /p HTTP/1.1\r\nHost: a:8443\r\n\r\n", true).c_str());
    // but another port is another URL
    Middleware port = to_https(301);
    port.port = 443;
    STRCMP_EQUAL("301 Location: https://a/p\r\n",
                 redirect(port, "GET /p HTTP/1.1\r\nHost: a:8443\r\n\r\n", true).c_str());
    Middleware path = make(MiddlewareType::Redirect);
    path.path = "/p";
    STRCMP_EQUAL("passed", redirect(path, get("/p?x")).c_str());
}

TEST(MiddlewareRedirect, PathDefaultsToThePathAnEarlierLayerMade) {
    Middleware strip = make(MiddlewareType::StripPrefix, "strip");
    strip.prefixes = {"/old"};
    Middleware m = to_https(301);
    Chain c({strip, m});
    Req r(get("/old/p?q=1"));
    CHECK_FALSE(c.run(r));
    LONGS_EQUAL(1, c.plan.answered_by);
    STRCMP_EQUAL("Location: https://a/p?q=1\r\n", c.plan.answer_fields.c_str());
}

TEST_GROUP(MiddlewareAccess) {};

// Golden case 39 (second half).
TEST(MiddlewareAccess, IpAllow) {
    Middleware m = make(MiddlewareType::IpAllow);
    m.allow = {cidr("10.0.0.0/8")};
    Chain c({m});
    Req r(get("/"));
    CHECK_FALSE(c.run(r));
    LONGS_EQUAL(403, c.plan.status);
    LONGS_EQUAL(0, c.plan.answered_by);
    CHECK_TRUE(c.plan.answer_fields.empty());

    Req inside(get("/"), "10.1.2.3:5000");
    CHECK_TRUE(c.run(inside));
    LONGS_EQUAL(0, c.plan.status);
    LONGS_EQUAL(-1, c.plan.answered_by);

    Middleware v6 = make(MiddlewareType::IpAllow);
    v6.allow = {cidr("10.0.0.0/8"), cidr("2001:db8::/32")};
    Chain c6({v6});
    Req from6(get("/"), "[2001:db8::7]:5000");
    CHECK_TRUE(c6.run(from6));
    Req mapped(get("/"), "[::ffff:10.0.0.1]:5000");
    CHECK_TRUE(c6.run(mapped));
    Req other6(get("/"), "[2001:db9::7]:5000");
    CHECK_FALSE(c6.run(other6));
}

// An answer stops the chain: the layers after it do not run, the layers
// before it keep their response side (they wrap the answer), the answering
// layer has none.
TEST(MiddlewareAccess, AnAnswerStopsTheChain) {
    Middleware outer = make(MiddlewareType::Headers, "outer");
    outer.request_set = {{"X-Outer", "1"}};
    outer.response_set = {{"X-Frame-Options", "DENY"}};
    Middleware deny = make(MiddlewareType::IpAllow, "deny");
    deny.allow = {cidr("10.0.0.0/8")};
    Middleware inner = make(MiddlewareType::Headers, "inner");
    inner.request_set = {{"X-Inner", "1"}};
    inner.response_set = {{"X-Inner", "1"}};
    Middleware retry = make(MiddlewareType::Retry, "retry");
    retry.attempts = 3;
    Chain c({outer, deny, inner, retry});
    Req r(get("/"));
    CHECK_FALSE(c.run(r));
    LONGS_EQUAL(403, c.plan.status);
    LONGS_EQUAL(1, c.plan.answered_by);
    STRCMP_EQUAL("X-Outer: 1\r\n", c.plan.request_add.c_str());
    STRCMP_EQUAL("X-Frame-Options: DENY\r\n", c.plan.response_add.c_str());
    LONGS_EQUAL(1, c.plan.attempts);
}

TEST(MiddlewareAccess, RetryTakesTheMostAttemptsAndMaxBodySizeTheSmallestLimit) {
    Middleware r1 = make(MiddlewareType::Retry, "r1");
    r1.attempts = 3;
    Middleware r2 = make(MiddlewareType::Retry, "r2");
    r2.attempts = 2;
    Middleware b1 = make(MiddlewareType::MaxBodySize, "b1");
    b1.max_body_size = 1000;
    Middleware b2 = make(MiddlewareType::MaxBodySize, "b2");
    b2.max_body_size = 10;
    Middleware b3 = make(MiddlewareType::MaxBodySize, "b3");
    b3.max_body_size = 100;
    Chain c({r1, r2, b1, b2, b3});
    Req chunked("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK_TRUE(c.run(chunked));  // the session counts a chunked body
    LONGS_EQUAL(3, c.plan.attempts);
    LONGS_EQUAL(10, c.plan.max_body_size);

    Req at_limit("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n");
    CHECK_TRUE(c.run(at_limit));
    Req over("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n");
    CHECK_FALSE(c.run(over));
    LONGS_EQUAL(413, c.plan.status);
    LONGS_EQUAL(3, c.plan.answered_by);
}

TEST_GROUP(MiddlewareRequestId) {
    static bool lower_hex(const std::string& s) {
        if (s.size() != 32) return false;
        for (char ch : s)
            if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
        return true;
    }
};

TEST(MiddlewareRequestId, MadeWhenAbsentSetOnTheRequestAndEchoed) {
    Chain c({make(MiddlewareType::RequestId)});
    Req r(get("/"));
    CHECK_TRUE(c.run(r));
    CHECK_TRUE(lower_hex(c.plan.request_id));
    const std::string line = "X-Request-ID: " + c.plan.request_id + "\r\n";
    STRCMP_EQUAL(line.c_str(), c.plan.request_add.c_str());
    STRCMP_EQUAL("X-Request-ID", names(c.plan.request_remove).c_str());
    STRCMP_EQUAL(line.c_str(), c.plan.response_add.c_str());
    STRCMP_EQUAL("X-Request-ID", names(c.plan.response_remove).c_str());

    const std::string first = c.plan.request_id;
    CHECK_TRUE(c.run(r));
    CHECK_TRUE(lower_hex(c.plan.request_id));
    CHECK_TRUE(first != c.plan.request_id);
}

TEST(MiddlewareRequestId, KeptFromATrustedPeerOnly) {
    Middleware m = make(MiddlewareType::RequestId);
    m.header = "X-Trace";
    Chain c({m});
    Req r(get("/", "x-trace: abc-123\r\n"));
    r.request.trusted = true;
    CHECK_TRUE(c.run(r));
    STRCMP_EQUAL("abc-123", c.plan.request_id.c_str());
    STRCMP_EQUAL("X-Trace: abc-123\r\n", c.plan.response_add.c_str());

    r.request.trusted = false;
    CHECK_TRUE(c.run(r));
    CHECK_TRUE(lower_hex(c.plan.request_id));
    STRCMP_EQUAL(("X-Trace: " + c.plan.request_id + "\r\n").c_str(), c.plan.request_add.c_str());
    STRCMP_EQUAL("X-Trace", names(c.plan.request_remove).c_str());
}

TEST(MiddlewareRequestId, TwoChainsMakeDifferentIds) {
    Chain a({make(MiddlewareType::RequestId)});
    Chain b({make(MiddlewareType::RequestId)});
    Req r(get("/"));
    CHECK_TRUE(a.run(r));
    CHECK_TRUE(b.run(r));
    CHECK_TRUE(a.plan.request_id != b.plan.request_id);  // seeded from getrandom each
}

TEST_GROUP(MiddlewareBasicAuth) {
    // An htpasswd line's hash, made now by libcrypt.
    static std::string hash(const char* prefix, unsigned long count, const char* password) {
        char salt[CRYPT_GENSALT_OUTPUT_SIZE];
        if (crypt_gensalt_rn(prefix, count, nullptr, 0, salt, sizeof salt) == nullptr) FAIL("crypt_gensalt_rn");
        crypt_data data{};
        const char* h = crypt_r(password, salt, &data);
        if (h == nullptr || h[0] == '*') FAIL("crypt_r");
        return h;
    }
    static std::string basic(const std::string& credentials) {
        static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string out;
        size_t i = 0;
        for (; i + 2 < credentials.size(); i += 3) {
            const uint32_t v = uint8_t(credentials[i]) << 16 | uint8_t(credentials[i + 1]) << 8 | uint8_t(credentials[i + 2]);
            out += k[v >> 18];
            out += k[v >> 12 & 63];
            out += k[v >> 6 & 63];
            out += k[v & 63];
        }
        if (credentials.size() - i == 1) {
            const uint32_t v = uint8_t(credentials[i]) << 16;
            out += k[v >> 18];
            out += k[v >> 12 & 63];
            out += "==";
        } else if (credentials.size() - i == 2) {
            const uint32_t v = uint8_t(credentials[i]) << 16 | uint8_t(credentials[i + 1]) << 8;
            out += k[v >> 18];
            out += k[v >> 12 & 63];
            out += k[v >> 6 & 63];
            out += '=';
        }
        return "Authorization: Basic " + out + "\r\n";
    }
    Middleware auth() {
        Middleware m = make(MiddlewareType::BasicAuth, "admin");
        m.users = {{"alice", hash("$6$", 1000, "wonderland")}, {"bob", hash("$2b$", 4, "builder")}};
        return m;
    }
    // status, or "passed"
    std::string check(Chain& c, const std::string& fields) {
        Req r(get("/admin", fields));
        if (c.run(r)) return "passed";
        return std::to_string(c.plan.status) + " " + c.plan.answer_fields;
    }
};

// Golden case 39 (first half), with sha-crypt and bcrypt hashes.
TEST(MiddlewareBasicAuth, RightWrongAndNone) {
    Chain c({auth()});
    const char* challenge = "401 WWW-Authenticate: Basic realm=\"easyproxy\"\r\n";
    STRCMP_EQUAL("passed", check(c, basic("alice:wonderland")).c_str());
    STRCMP_EQUAL("passed", check(c, basic("bob:builder")).c_str());
    STRCMP_EQUAL(challenge, check(c, basic("alice:builder")).c_str());
    STRCMP_EQUAL(challenge, check(c, basic("bob:wonderland")).c_str());
    STRCMP_EQUAL(challenge, check(c, basic("carol:wonderland")).c_str());
    STRCMP_EQUAL(challenge, check(c, "").c_str());
    LONGS_EQUAL(0, c.plan.answered_by);
    CHECK_TRUE(c.plan.request_remove.empty());  // Authorization is forwarded unless asked
}

TEST(MiddlewareBasicAuth, MalformedCredentials) {
    Chain c({auth()});
    const char* challenge = "401 WWW-Authenticate: Basic realm=\"easyproxy\"\r\n";
    STRCMP_EQUAL(challenge, check(c, "Authorization: Bearer YWxpY2U6d29uZGVybGFuZA==\r\n").c_str());
    STRCMP_EQUAL(challenge, check(c, "Authorization: Basic\r\n").c_str());
    STRCMP_EQUAL(challenge, check(c, "Authorization: Basic YWxpY2U6d29uZGVy!GFuZA==\r\n").c_str());
    STRCMP_EQUAL(challenge, check(c, basic("alicewonderland")).c_str());  // no colon
    STRCMP_EQUAL(challenge, check(c, basic(std::string("alice:wonderland\0x", 18))).c_str());
    STRCMP_EQUAL(challenge, check(c, "Authorization: Basic " + std::string(2000, 'A') + "\r\n").c_str());
    // the scheme's case does not matter, nor padding (RFC 7617, RFC 4648 §3.2)
    STRCMP_EQUAL("passed", check(c, "Authorization: basic YWxpY2U6d29uZGVybGFuZA\r\n").c_str());
}

TEST(MiddlewareBasicAuth, RealmAndRemoveHeader) {
    Middleware m = auth();
    m.realm = "the \"admin\" area";
    m.remove_header = true;
    Chain c({m});
    STRCMP_EQUAL("401 WWW-Authenticate: Basic realm=\"the \\\"admin\\\" area\"\r\n", check(c, "").c_str());
    STRCMP_EQUAL("passed", check(c, basic("alice:wonderland")).c_str());
    STRCMP_EQUAL("Authorization", names(c.plan.request_remove).c_str());
}

TEST(MiddlewareBasicAuth, SuccessesAreCachedFailuresAreNot) {
    Chain c({auth()});
    STRCMP_EQUAL("passed", check(c, basic("bob:builder")).c_str());
    LONGS_EQUAL(1, c.mws->password_checks());
    STRCMP_EQUAL("passed", check(c, basic("bob:builder")).c_str());
    STRCMP_EQUAL("passed", check(c, basic("bob:builder")).c_str());
    LONGS_EQUAL(1, c.mws->password_checks());
    // another password of the same user is checked, and refused
    CHECK_TRUE(check(c, basic("bob:builder2")).rfind("401", 0) == 0);
    LONGS_EQUAL(2, c.mws->password_checks());
    CHECK_TRUE(check(c, basic("bob:builder2")).rfind("401", 0) == 0);
    LONGS_EQUAL(3, c.mws->password_checks());
    // an unknown user costs no check
    CHECK_TRUE(check(c, basic("carol:x")).rfind("401", 0) == 0);
    LONGS_EQUAL(3, c.mws->password_checks());
}

TEST(MiddlewareBasicAuth, TheCacheIsPerMiddleware) {
    Middleware other = auth();
    other.name = "other";
    other.users = {{"bob", hash("$2b$", 4, "other")}};
    Chain c({auth(), other});
    Req r(get("/", basic("bob:builder")));
    CHECK_FALSE(c.run(r));  // right for the first, wrong for the second
    LONGS_EQUAL(1, c.plan.answered_by);
    LONGS_EQUAL(2, c.mws->password_checks());
    CHECK_FALSE(c.run(r));  // the first's success says nothing of the second
    LONGS_EQUAL(3, c.mws->password_checks());
}

// Counts what operator new is asked for while installed, and hands it to
// the allocator it replaced (so memory it gave may be freed after it is gone).
class CountingAllocator : public TestMemoryAllocator {
public:
    explicit CountingAllocator(TestMemoryAllocator* real) : real_(real) {}
    size_t count = 0;
    char* alloc_memory(size_t size, const char* file, size_t line) override {
        ++count;
        return real_->alloc_memory(size, file, line);
    }
    void free_memory(char* memory, size_t size, const char* file, size_t line) override {
        real_->free_memory(memory, size, file, line);
    }
    const char* name() const override { return real_->name(); }
    const char* alloc_name() const override { return real_->alloc_name(); }
    const char* free_name() const override { return real_->free_name(); }
    TestMemoryAllocator* actualAllocator() override { return real_->actualAllocator(); }

private:
    TestMemoryAllocator* real_;
};

// A chain of every type that lets the request through allocates nothing
// once its plan and caches are warm.
TEST(MiddlewareBasicAuth, NoAllocationOnceWarm) {
    auto table = RateTable::create(1024);
    Middleware headers = make(MiddlewareType::Headers, "headers");
    headers.request_set = {{"X-A", "1"}};
    headers.request_add = {{"X-B", "2"}};
    headers.request_remove = {"X-C"};
    headers.response_set = {{"X-Frame-Options", "DENY"}};
    headers.response_add = {{"Vary", "Origin"}};
    headers.response_remove = {"Server"};
    Middleware strip = make(MiddlewareType::StripPrefix, "strip");
    strip.prefixes = {"/api"};
    Middleware add = make(MiddlewareType::AddPrefix, "add");
    add.prefixes = {"/internal"};
    Middleware allow = make(MiddlewareType::IpAllow, "allow");
    allow.allow = {cidr("127.0.0.0/8")};
    Middleware limit = make(MiddlewareType::RateLimit, "limit");
    limit.average = 1000000;
    limit.burst = 1000000;
    Middleware to_https = make(MiddlewareType::Redirect, "to-https");
    to_https.scheme = "https";  // the request is https already: passes
    Middleware retry = make(MiddlewareType::Retry, "retry");
    Middleware body = make(MiddlewareType::MaxBodySize, "body");
    body.max_body_size = 100;
    Chain c({headers, to_https, make(MiddlewareType::RequestId, "id"), strip, add, allow, limit, auth(), retry, body},
            table.get());
    Req a(get("/api/users?x=1", basic("alice:wonderland")));
    Req b(get("/api/orders/1234567890/items?y=2", basic("alice:wonderland")));
    a.request.tls = b.request.tls = true;
    CHECK_TRUE(c.run(b));
    CHECK_TRUE(c.run(a));

    TestMemoryAllocator* before = getCurrentNewAllocator();
    static CountingAllocator counting(before);  // outlives what it counted
    counting.count = 0;
    setCurrentNewAllocator(&counting);
    bool all = true;
    for (int i = 0; i < 100; ++i) all = c.run(i % 2 ? a : b) && all;
    setCurrentNewAllocator(before);
    CHECK_TRUE(all);
    LONGS_EQUAL(0, counting.count);
    STRCMP_EQUAL("/internal/users", c.plan.path.c_str());
    LONGS_EQUAL(1, c.mws->password_checks());
}

TEST_GROUP(RateTable) {
    std::unique_ptr<RateTable> table;
    void setup() override { table = RateTable::create(1024); }
    static constexpr uint64_t kT0 = 1000000;
    static constexpr uint64_t kInterval = 100000;  // 10 per second
};

// Golden case 38's arithmetic: burst 5, then one per interval.
TEST(RateTable, BurstThenOnePerInterval) {
    CHECK_TRUE(table != nullptr);
    for (int i = 0; i < 5; ++i) LONGS_EQUAL(0, table->take(42, kInterval, 5, kT0));
    LONGS_EQUAL(kInterval, table->take(42, kInterval, 5, kT0));
    LONGS_EQUAL(kInterval - 30000, table->take(42, kInterval, 5, kT0 + 30000));
    // one interval later: one request, no more
    LONGS_EQUAL(0, table->take(42, kInterval, 5, kT0 + kInterval));
    LONGS_EQUAL(kInterval, table->take(42, kInterval, 5, kT0 + kInterval));
    // denials cost nothing: after five intervals the bucket is full again
    for (int i = 0; i < 5; ++i) LONGS_EQUAL(0, table->take(42, kInterval, 5, kT0 + 6 * kInterval));
    CHECK_TRUE(table->take(42, kInterval, 5, kT0 + 6 * kInterval) > 0);
    LONGS_EQUAL(0, table->fail_open_count());
}

TEST(RateTable, TwoKeysAreIndependent) {
    LONGS_EQUAL(0, table->take(1, kInterval, 1, kT0));
    CHECK_TRUE(table->take(1, kInterval, 1, kT0) > 0);
    LONGS_EQUAL(0, table->take(2, kInterval, 1, kT0));
    CHECK_TRUE(table->take(2, kInterval, 1, kT0) > 0);
}

TEST(RateTable, AnExpiredSlotIsTakenOver) {
    auto small = RateTable::create(1);  // one probe's worth of slots: every key sees all
    LONGS_EQUAL(RateTable::kProbe, small->entries());
    const uint64_t long_interval = 10 * kInterval;
    for (uint64_t k = 1; k <= RateTable::kProbe; ++k) LONGS_EQUAL(0, small->take(k << 48 | k, long_interval, 1, kT0));
    // full of live buckets: a new key is let through, and counted
    const uint64_t late = uint64_t(99) << 48 | 3;
    LONGS_EQUAL(0, small->take(late, kInterval, 1, kT0));
    LONGS_EQUAL(0, small->take(late, kInterval, 1, kT0));
    LONGS_EQUAL(2, small->fail_open_count());
    // once a bucket is full again its slot is anyone's
    LONGS_EQUAL(0, small->take(late, kInterval, 1, kT0 + long_interval));
    LONGS_EQUAL(kInterval, small->take(late, kInterval, 1, kT0 + long_interval));
    LONGS_EQUAL(2, small->fail_open_count());
}

// Made before fork(), the table is one for parent and child (the master's
// workers of every generation).
TEST(RateTable, SharedWithAForkedChild) {
    const pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 3; ++i) table->take(7, kInterval, 3, kT0);
        _exit(0);
    }
    int status = 0;
    LONGS_EQUAL(pid, waitpid(pid, &status, 0));
    CHECK_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    LONGS_EQUAL(kInterval, table->take(7, kInterval, 3, kT0));
}

TEST_GROUP(MiddlewareRateLimit) {
    std::unique_ptr<RateTable> table;
    void setup() override { table = RateTable::create(1024); }
    Middleware limit(uint64_t average, uint64_t period_ms, uint64_t burst, std::string name = "limit") {
        Middleware m = make(MiddlewareType::RateLimit, std::move(name));
        m.average = average;
        m.period_ms = period_ms;
        m.burst = burst;
        return m;
    }
    std::string from(Chain& c, const char* peer) {
        Req r(get("/"), peer);
        if (c.run(r)) return "passed";
        return std::to_string(c.plan.status) + " " + c.plan.answer_fields;
    }
};

// Golden case 38.
TEST(MiddlewareRateLimit, TenPerSecondBurstFive) {
    Chain c({limit(10, 1000, 5)}, table.get());
    for (int i = 0; i < 5; ++i) STRCMP_EQUAL("passed", from(c, "127.0.0.1:1000").c_str());
    STRCMP_EQUAL("429 Retry-After: 1\r\n", from(c, "127.0.0.1:1001").c_str());  // the port is no part of the key
    LONGS_EQUAL(0, c.plan.answered_by);
    STRCMP_EQUAL("passed", from(c, "127.0.0.2:1000").c_str());
}

TEST(MiddlewareRateLimit, RetryAfterIsRoundedUp) {
    Chain c({limit(2, 5000, 1)}, table.get());  // one per 2.5 s
    STRCMP_EQUAL("passed", from(c, "127.0.0.1:1000").c_str());
    STRCMP_EQUAL("429 Retry-After: 3\r\n", from(c, "127.0.0.1:1000").c_str());
}

TEST(MiddlewareRateLimit, Ipv6ClientsArePer64) {
    Chain c({limit(1, 60000, 1)}, table.get());
    STRCMP_EQUAL("passed", from(c, "[2001:db8:0:1::1]:1000").c_str());
    STRCMP_EQUAL("429 Retry-After: 60\r\n", from(c, "[2001:db8:0:1:ffff::2]:1000").c_str());
    STRCMP_EQUAL("passed", from(c, "[2001:db8:0:2::1]:1000").c_str());
    // an IPv4-mapped client is its IPv4 address
    STRCMP_EQUAL("passed", from(c, "10.0.0.1:1000").c_str());
    STRCMP_EQUAL("429 Retry-After: 60\r\n", from(c, "[::ffff:10.0.0.1]:1000").c_str());
}

TEST(MiddlewareRateLimit, EachMiddlewareHasItsOwnBuckets) {
    Chain c({limit(1, 60000, 1), limit(1, 60000, 2, "other")}, table.get());
    STRCMP_EQUAL("passed", from(c, "127.0.0.1:1000").c_str());
    STRCMP_EQUAL("429 Retry-After: 60\r\n", from(c, "127.0.0.1:1000").c_str());
    LONGS_EQUAL(0, c.plan.answered_by);  // the first denied: the second's bucket untouched
    Chain other({limit(1, 60000, 2, "other")}, table.get());
    STRCMP_EQUAL("passed", from(other, "127.0.0.1:1000").c_str());
    STRCMP_EQUAL("429 Retry-After: 60\r\n", from(other, "127.0.0.1:1000").c_str());
}

TEST(MiddlewareRateLimit, NoTableNoLimit) {
    Chain c({limit(1, 60000, 1)});
    STRCMP_EQUAL("passed", from(c, "127.0.0.1:1000").c_str());
    STRCMP_EQUAL("passed", from(c, "127.0.0.1:1000").c_str());
}
