// bench_middleware.cpp: CPU per request of the gateway's middleware chain
// (DESIGN.md §8): the three-layer chain of the performance target
// (request_id, security headers, a rate limit in the shared table), beside
// bench_http.cpp's head parse-and-write that every request costs anyway.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "http/message.hpp"
#include "http/middleware.hpp"
#include "http/rate_limit.hpp"
#include "net/address.hpp"

namespace {

using namespace ep::http;
using ep::config::Middleware;
using ep::config::MiddlewareType;

const std::string kRequest =
    "GET /v1/assets/app.js?v=3 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Accept: */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Referer: https://www.example.com/shop/cart\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=6f1c0e2b9a7d4c1f8e3a5b7c9d0e1f2a; theme=dark\r\n"
    "\r\n";

Middleware make(MiddlewareType type, const char* name) {
    Middleware m;
    m.type = type;
    m.name = name;
    return m;
}

// Runs `list` as one chain on kRequest from 127.0.0.1, the plan reused.
void run_chain(benchmark::State& state, std::vector<Middleware> list) {
    static Head head;
    HeadParser parser;
    parser.reset(HeadParser::Kind::Request, 16384);
    if (parser.parse(kRequest.data(), kRequest.size(), head) != Parse::Done) state.SkipWithError("parse");
    ep::net::Address peer;
    std::string err;
    ep::net::parse_address("127.0.0.1:40000", peer, err, false);
    auto table = RateTable::create(65536);
    ep::config::Config cfg;
    cfg.middlewares = std::move(list);
    std::vector<uint32_t> chain;
    for (uint32_t i = 0; i < cfg.middlewares.size(); ++i) chain.push_back(i);
    Middlewares mws(cfg, table.get());
    Request req;
    req.head = &head;
    req.buf = kRequest.data();
    req.host = "www.example.com";
    req.peer = &peer;
    Plan plan;
    for (auto _ : state) benchmark::DoNotOptimize(mws.on_request(chain, req, plan, 0));
}

void BM_MiddlewareChainIdHeadersLimit(benchmark::State& state) {
    Middleware headers = make(MiddlewareType::Headers, "secure");
    headers.response_set = {{"X-Frame-Options", "DENY"}, {"X-Content-Type-Options", "nosniff"}};
    headers.response_remove = {"Server"};
    Middleware limit = make(MiddlewareType::RateLimit, "limit");
    limit.average = 1000000000;  // never denies: the cost of an allowed request
    limit.burst = 1000000000;
    run_chain(state, {make(MiddlewareType::RequestId, "id"), headers, limit});
}
BENCHMARK(BM_MiddlewareChainIdHeadersLimit);

void BM_MiddlewareChainStripAllowRetry(benchmark::State& state) {
    Middleware strip = make(MiddlewareType::StripPrefix, "strip");
    strip.prefixes = {"/v2", "/v1"};
    Middleware allow = make(MiddlewareType::IpAllow, "allow");
    std::string err;
    allow.allow.resize(2);
    ep::net::parse_cidr("10.0.0.0/8", allow.allow[0], err);
    ep::net::parse_cidr("127.0.0.0/8", allow.allow[1], err);
    run_chain(state, {strip, allow, make(MiddlewareType::Retry, "retry")});
}
BENCHMARK(BM_MiddlewareChainStripAllowRetry);

}  // namespace
