// test_http_router.cpp: the router against research/http.md §6: the golden
// table row by row (routes built as the loader would, put in match order by
// config::sort_routes, requests parsed by the real HeadParser), then host and
// path normalisation, the one-label wildcard, methods, headers and priority.
#include <string>
#include <vector>

#include "config/config.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

#include <CppUTest/TestHarness.h>

using namespace ep::http;
using ep::config::Route;

namespace {

// A route as written in the file: R("svc").host("a").prefix("/p/").
struct R {
    Route r;
    explicit R(std::string service) { r.service = std::move(service); }
    R& host(std::string v) { r.host = std::move(v); return *this; }
    R& path(std::string v) { r.path = std::move(v); return *this; }
    R& prefix(std::string v) { r.path_prefix = std::move(v); return *this; }
    R& methods(std::vector<std::string> v) { r.methods = std::move(v); return *this; }
    R& header(std::string name, std::string value) {
        r.headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    R& priority(int p) {
        r.priority = p;
        r.has_priority = true;
        return *this;
    }
};

// In match order, as the loader leaves them; ordinal is the file position.
std::vector<Route> routes_of(const std::vector<R>& in) {
    std::vector<Route> out;
    for (const R& r : in) {
        out.push_back(r.r);
        out.back().ordinal = int(out.size() - 1);
    }
    ep::config::sort_routes(out);
    return out;
}

std::string order_of(const std::vector<Route>& routes) {
    std::string s;
    for (const Route& r : routes) s += (s.empty() ? "" : " ") + r.service;
    return s;
}

// The service the request goes to, "404" or "400"; "parse error N" when the
// head itself is refused.
std::string route(const std::vector<Route>& routes, const std::string& head, Router* keep = nullptr) {
    static Head h;  // 1.6 KiB of fields: not on every test's stack
    HeadParser p;
    p.reset(HeadParser::Kind::Request, 16384);
    const Parse r = p.parse(head.data(), head.size(), h);
    if (r != Parse::Done) return "parse error " + std::to_string(p.error_status());
    Router local(routes);
    Router& router = keep ? *keep : local;
    const int i = router.match(h, head.data());
    if (i == Router::kNoRoute) return "404";
    if (i == Router::kBadPath) return "400";
    return routes.at(size_t(i)).service;
}

std::string get(const std::string& host, const std::string& target, const std::string& method = "GET",
                const std::string& extra = "") {
    return method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra + "\r\n";
}

// research/http.md §6, in file order.
std::vector<Route> golden_routes() {
    return routes_of({
        R("api-v1").host("api.example.com").prefix("/v1/"),
        R("health").host("api.example.com").path("/health"),
        R("web").host("*.example.com"),
        R("static").prefix("/static/").methods({"GET", "HEAD"}),
        R("fallback").prefix("/"),
    });
}

std::string host_of(std::string_view in, size_t cap = 256) {
    char out[256];
    size_t len = 99;
    if (!normalise_host(in, out, cap, len)) return "false";
    return std::string(out, len);
}

std::string path_of(std::string_view in, size_t cap = 1024) {
    char out[1024];
    size_t len = 99;
    if (!normalise_path(in, out, cap, len)) return "false";
    return std::string(out, len);
}

}  // namespace

TEST_GROUP(HttpRouterGolden){};

TEST(HttpRouterGolden, SortRoutesGivesTheTableOrder) {
    // exact host with `path` before exact host with a prefix, then the
    // wildcard, then no host: the longer prefix first
    STRCMP_EQUAL("health api-v1 web static fallback", order_of(golden_routes()).c_str());
}

TEST(HttpRouterGolden, FileOrderDoesNotChangeTheMatchOrder) {
    const std::vector<Route> reversed = routes_of({
        R("fallback").prefix("/"),
        R("static").prefix("/static/").methods({"GET", "HEAD"}),
        R("web").host("*.example.com"),
        R("health").host("api.example.com").path("/health"),
        R("api-v1").host("api.example.com").prefix("/v1/"),
    });
    STRCMP_EQUAL("health api-v1 web static fallback", order_of(reversed).c_str());
}

TEST(HttpRouterGolden, UpperCaseHostWithPortTakesTheApiPrefix) {
    STRCMP_EQUAL("api-v1", route(golden_routes(), get("API.Example.COM:8080", "/v1/users")).c_str());
}

TEST(HttpRouterGolden, TrailingDotHostTakesTheExactPath) {
    STRCMP_EQUAL("health", route(golden_routes(), get("api.example.com.", "/health")).c_str());
}

TEST(HttpRouterGolden, PrefixNeedsItsSlash) {
    STRCMP_EQUAL("web", route(golden_routes(), get("api.example.com", "/v1")).c_str());
}

TEST(HttpRouterGolden, HostClassBeforePath) {
    STRCMP_EQUAL("web", route(golden_routes(), get("shop.example.com", "/static/a.css")).c_str());
}

TEST(HttpRouterGolden, TwoLabelsMissTheWildcardThenMethodDecides) {
    STRCMP_EQUAL("static", route(golden_routes(), get("a.b.example.com", "/static/a.css")).c_str());
    STRCMP_EQUAL("fallback", route(golden_routes(), get("a.b.example.com", "/static/a.css", "POST")).c_str());
}

TEST(HttpRouterGolden, BareDomainFallsBack) {
    STRCMP_EQUAL("fallback", route(golden_routes(), get("example.com", "/")).c_str());
}

TEST(HttpRouterGolden, EncodedSlashIsNotASlash) {
    STRCMP_EQUAL("web", route(golden_routes(), get("api.example.com", "/v1%2Fusers")).c_str());
}

TEST(HttpRouterGolden, DotSegmentIs400) {
    STRCMP_EQUAL("400", route(golden_routes(), get("api.example.com", "/a/../v1/")).c_str());
}

TEST_GROUP(HttpRouterHost){};

TEST(HttpRouterHost, Normalise) {
    STRCMP_EQUAL("api.example.com", host_of("API.Example.COM").c_str());
    STRCMP_EQUAL("api.example.com", host_of("api.example.com:8080").c_str());
    STRCMP_EQUAL("api.example.com", host_of("api.example.com.").c_str());
    STRCMP_EQUAL("api.example.com", host_of("Api.Example.Com.:443").c_str());
    STRCMP_EQUAL("a.", host_of("a..").c_str());  // one trailing dot only
    STRCMP_EQUAL("127.0.0.1", host_of("127.0.0.1:80").c_str());
    STRCMP_EQUAL("[::1]", host_of("[::1]:8080").c_str());
    STRCMP_EQUAL("[::1]", host_of("[::1]").c_str());
    STRCMP_EQUAL("[fe80::a]", host_of("[FE80::A]:1").c_str());
    STRCMP_EQUAL("", host_of("").c_str());
    STRCMP_EQUAL("", host_of(":80").c_str());
    STRCMP_EQUAL("false", host_of("abcd", 3).c_str());
    STRCMP_EQUAL("abc", host_of("abc:1234567", 3).c_str());  // the port does not count
}

TEST(HttpRouterHost, IPv6LiteralMatchesWithItsPort) {
    const auto routes = routes_of({R("v6").host("[::1]"), R("other")});
    STRCMP_EQUAL("v6", route(routes, get("[::1]:8080", "/")).c_str());
    STRCMP_EQUAL("other", route(routes, get("[::2]:8080", "/")).c_str());
}

TEST(HttpRouterHost, EmptyHostMatchesOnlyRoutesWithoutHost) {
    const auto routes = routes_of({R("named").host("a.example.com"),
                                   R("wild").host("*.example.com")});
    STRCMP_EQUAL("404", route(routes, "GET / HTTP/1.1\r\nHost:\r\n\r\n").c_str());
    const auto with_catch_all = routes_of({R("named").host("a.example.com"), R("any")});
    STRCMP_EQUAL("any", route(with_catch_all, "GET / HTTP/1.1\r\nHost:\r\n\r\n").c_str());
}

TEST(HttpRouterHost, AbsoluteFormAuthorityIsTheHost) {
    // HTTP/1.0 with no Host field: the target's authority decides
    STRCMP_EQUAL("api-v1", route(golden_routes(), "GET http://API.example.com:80/v1/x HTTP/1.0\r\n\r\n").c_str());
    // with no path, the path is "/" (what the server is sent)
    STRCMP_EQUAL("fallback", route(golden_routes(), "GET http://example.com HTTP/1.0\r\n\r\n").c_str());
    STRCMP_EQUAL("fallback", route(golden_routes(), "GET http://example.com?q=1 HTTP/1.0\r\n\r\n").c_str());
}

TEST(HttpRouterHost, RouteHostIsNormalisedToo) {
    const auto routes = routes_of({R("a").host("API.Example.com."), R("b").host("*.Example.COM")});
    STRCMP_EQUAL("a", route(routes, get("api.example.com", "/")).c_str());
    STRCMP_EQUAL("b", route(routes, get("www.example.com", "/")).c_str());
}

TEST(HttpRouterHost, RouterKeepsTheNormalisedHostAndPath) {
    const auto routes = golden_routes();
    Router router(routes);
    STRCMP_EQUAL("api-v1", route(routes, get("API.Example.COM.:8080", "/v1/%7Eme?x=%41", "GET"), &router).c_str());
    STRCMP_EQUAL("api.example.com", std::string(router.host()).c_str());
    STRCMP_EQUAL("/v1/~me", std::string(router.path()).c_str());
}

TEST_GROUP(HttpRouterWildcard){};

TEST(HttpRouterWildcard, ExactlyOneLabel) {
    const auto routes = routes_of({R("wild").host("*.example.com")});
    STRCMP_EQUAL("wild", route(routes, get("a.example.com", "/")).c_str());
    STRCMP_EQUAL("wild", route(routes, get("A-1.EXAMPLE.com:81", "/")).c_str());
    STRCMP_EQUAL("404", route(routes, get("a.b.example.com", "/")).c_str());
    STRCMP_EQUAL("404", route(routes, get("example.com", "/")).c_str());
    STRCMP_EQUAL("404", route(routes, get(".example.com", "/")).c_str());
    STRCMP_EQUAL("404", route(routes, get("aexample.com", "/")).c_str());
    STRCMP_EQUAL("404", route(routes, get("a.example.com.evil", "/")).c_str());
}

TEST_GROUP(HttpRouterPath){};

TEST(HttpRouterPath, Normalise) {
    STRCMP_EQUAL("/Abc", path_of("/%41%62c").c_str());
    STRCMP_EQUAL("/~~-._z9", path_of("/%7e%7E%2d%2E%5f%7a%39").c_str());
    STRCMP_EQUAL("/a%2Fb", path_of("/a%2Fb").c_str());   // never decoded
    STRCMP_EQUAL("/a%2fb", path_of("/a%2fb").c_str());   // kept as sent
    STRCMP_EQUAL("/%20%25%3F", path_of("/%20%25%3F").c_str());
    STRCMP_EQUAL("/%zz%4", path_of("/%zz%4").c_str());   // not an escape: as sent
    STRCMP_EQUAL("/%", path_of("/%").c_str());
    STRCMP_EQUAL("//a//b/", path_of("//a//b/").c_str());  // `//` literal
    STRCMP_EQUAL("/a/.../.b/b./..c", path_of("/a/.../.b/b./..c").c_str());
    STRCMP_EQUAL("", path_of("").c_str());
    STRCMP_EQUAL("false", path_of("/abcd", 4).c_str());
    STRCMP_EQUAL("/ab", path_of("/%61b", 3).c_str());  // the decoded length counts
}

TEST(HttpRouterPath, DotSegmentsAreRefused) {
    STRCMP_EQUAL("false", path_of("/.").c_str());
    STRCMP_EQUAL("false", path_of("/..").c_str());
    STRCMP_EQUAL("false", path_of("/a/./b").c_str());
    STRCMP_EQUAL("false", path_of("/a/../b").c_str());
    STRCMP_EQUAL("false", path_of("/a/..").c_str());
    STRCMP_EQUAL("false", path_of("/a/%2e").c_str());
    STRCMP_EQUAL("false", path_of("/a/%2e%2E/b").c_str());
    STRCMP_EQUAL("false", path_of("/%2E./b").c_str());
    STRCMP_EQUAL("false", path_of("//./").c_str());
    // "%2e%2F" is ".%2F": one segment, not a dot segment
    STRCMP_EQUAL("/.%2F", path_of("/%2e%2F").c_str());
}

TEST(HttpRouterPath, DotSegmentIs400EvenWithNoPathCondition) {
    const auto routes = routes_of({R("any")});
    STRCMP_EQUAL("400", route(routes, get("a", "/x/%2e%2E/y")).c_str());
    STRCMP_EQUAL("400", route(routes, get("a", "/x/.")).c_str());
    STRCMP_EQUAL("any", route(routes, get("a", "/x/.y")).c_str());
    const std::vector<Route> none;
    STRCMP_EQUAL("400", route(none, get("a", "/..")).c_str());
    STRCMP_EQUAL("404", route(none, get("a", "/")).c_str());
}

TEST(HttpRouterPath, DecodedUnreservedMatches) {
    const auto routes = routes_of({R("api").path("/api"), R("other")});
    STRCMP_EQUAL("api", route(routes, get("a", "/%61%70i")).c_str());
    STRCMP_EQUAL("other", route(routes, get("a", "/%61%50i")).c_str());  // %50 is 'P'
    // a route's path is decoded the same way
    const auto encoded = routes_of({R("api").path("/%61pi"), R("other")});
    STRCMP_EQUAL("api", route(encoded, get("a", "/api")).c_str());
}

TEST(HttpRouterPath, QueryIsIgnored) {
    const auto routes = routes_of({R("health").path("/health"), R("other")});
    STRCMP_EQUAL("health", route(routes, get("a", "/health?full=1")).c_str());
    STRCMP_EQUAL("health", route(routes, get("a", "/health?")).c_str());
    STRCMP_EQUAL("other", route(routes, get("a", "/health%3Ffull=1")).c_str());
    STRCMP_EQUAL("other", route(routes, get("a", "/health/")).c_str());
}

TEST(HttpRouterPath, PrefixIsABytePrefix) {
    const auto routes = routes_of({R("products").prefix("/products"), R("other")});
    STRCMP_EQUAL("products", route(routes, get("a", "/products-for-sale")).c_str());
    STRCMP_EQUAL("products", route(routes, get("a", "/%70roducts/1")).c_str());
    STRCMP_EQUAL("other", route(routes, get("a", "/Products")).c_str());
}

TEST(HttpRouterPath, DoubleSlashIsLiteral) {
    const auto routes = routes_of({R("a").prefix("/a/"), R("other")});
    STRCMP_EQUAL("other", route(routes, get("x", "//a/")).c_str());
    STRCMP_EQUAL("a", route(routes, get("x", "/a//b")).c_str());
}

TEST(HttpRouterPath, OptionsStarHasNoPath) {
    const auto routes = routes_of({R("root").prefix("/"), R("any")});
    STRCMP_EQUAL("any", route(routes, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").c_str());
    STRCMP_EQUAL("root", route(routes, "OPTIONS / HTTP/1.1\r\nHost: a\r\n\r\n").c_str());
}

TEST_GROUP(HttpRouterConditions){};

TEST(HttpRouterConditions, Methods) {
    const auto routes = routes_of({R("read").methods({"GET", "HEAD"}),
                                   R("purge").methods({"PURGE", "DELETE"}),
                                   R("other")});
    STRCMP_EQUAL("read", route(routes, get("a", "/")).c_str());
    STRCMP_EQUAL("read", route(routes, get("a", "/", "HEAD")).c_str());
    STRCMP_EQUAL("other", route(routes, get("a", "/", "POST")).c_str());
    STRCMP_EQUAL("purge", route(routes, get("a", "/", "PURGE")).c_str());
    STRCMP_EQUAL("purge", route(routes, get("a", "/", "DELETE")).c_str());
    STRCMP_EQUAL("other", route(routes, get("a", "/", "PURGEX")).c_str());
    STRCMP_EQUAL("other", route(routes, get("a", "/", "purge")).c_str());  // methods are case-sensitive
    STRCMP_EQUAL("other", route(routes, get("a", "/", "get")).c_str());
}

TEST(HttpRouterConditions, HeadersAnyLineExactValue) {
    const auto routes = routes_of({R("canary").header("X-Env", "canary"), R("other")});
    STRCMP_EQUAL("canary", route(routes, get("a", "/", "GET", "x-env: canary\r\n")).c_str());
    STRCMP_EQUAL("canary", route(routes, get("a", "/", "GET", "X-ENV:   canary  \r\n")).c_str());
    STRCMP_EQUAL("other", route(routes, get("a", "/", "GET", "X-Env: Canary\r\n")).c_str());
    STRCMP_EQUAL("other", route(routes, get("a", "/", "GET", "X-Env: canary, beta\r\n")).c_str());
    STRCMP_EQUAL("other", route(routes, get("a", "/", "GET", "X-Envy: canary\r\n")).c_str());
    STRCMP_EQUAL("other", route(routes, get("a", "/")).c_str());
    // a repeated field: any of its lines may hold the value
    STRCMP_EQUAL("canary", route(routes, get("a", "/", "GET", "X-Env: beta\r\nX-Env: canary\r\n")).c_str());
}

TEST(HttpRouterConditions, AllHeadersMustHold) {
    const auto routes = routes_of(
        {R("both").header("x-a", "1").header("X-B", "2"), R("other")});
    STRCMP_EQUAL("both", route(routes, get("a", "/", "GET", "X-B: 2\r\nX-A: 1\r\n")).c_str());
    STRCMP_EQUAL("other", route(routes, get("a", "/", "GET", "X-A: 1\r\n")).c_str());
}

TEST(HttpRouterConditions, NoMatchIs404) {
    const auto routes = routes_of({R("a").host("a.example.com"), R("p").prefix("/p/")});
    STRCMP_EQUAL("404", route(routes, get("b.example.com", "/q")).c_str());
}

TEST_GROUP(HttpRouterOrder){};

TEST(HttpRouterOrder, PriorityBeatsEverything) {
    const auto routes = routes_of({R("exact").host("a.example.com").path("/x"),
                                   R("top").priority(10),
                                   R("low").host("a.example.com").priority(-1)});
    STRCMP_EQUAL("top exact low", order_of(routes).c_str());
    STRCMP_EQUAL("top", route(routes, get("a.example.com", "/x")).c_str());
}

TEST(HttpRouterOrder, MoreConditionsThenFileOrder) {
    const auto routes = routes_of({R("first").host("a.example.com"),
                                   R("second").host("a.example.com"),
                                   R("posts").host("a.example.com").methods({"POST"})});
    STRCMP_EQUAL("posts first second", order_of(routes).c_str());
    STRCMP_EQUAL("posts", route(routes, get("a.example.com", "/", "POST")).c_str());
    STRCMP_EQUAL("first", route(routes, get("a.example.com", "/")).c_str());
}

TEST(HttpRouterOrder, LongerPrefixFirst) {
    const auto routes = routes_of({R("short").prefix("/a/"), R("long").prefix("/a/b/")});
    STRCMP_EQUAL("long short", order_of(routes).c_str());
    STRCMP_EQUAL("long", route(routes, get("x", "/a/b/c")).c_str());
    STRCMP_EQUAL("short", route(routes, get("x", "/a/c")).c_str());
}
