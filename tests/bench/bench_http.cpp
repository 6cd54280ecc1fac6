// bench_http.cpp: user CPU of the HTTP message layer per request: a typical
// ~400-byte browser request head parsed and written out for the server, a
// response head the same way, chunked bodies re-framed, and routing.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "net/address.hpp"

namespace {

using namespace ep::http;

const std::string kRequest =
    "GET /assets/app.js?v=3 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Accept: */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Referer: https://www.example.com/shop/cart\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=6f1c0e2b9a7d4c1f8e3a5b7c9d0e1f2a; theme=dark\r\n"
    "Sec-Fetch-Dest: script\r\n"
    "Sec-Fetch-Mode: no-cors\r\n"
    "\r\n";

const std::string kResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx\r\n"
    "Date: Wed, 02 Dec 2026 15:00:00 GMT\r\n"
    "Content-Type: application/javascript\r\n"
    "Content-Length: 1024\r\n"
    "Last-Modified: Tue, 01 Dec 2026 10:00:00 GMT\r\n"
    "Connection: keep-alive\r\n"
    "ETag: \"6570a1b2-400\"\r\n"
    "Cache-Control: max-age=3600\r\n"
    "Accept-Ranges: bytes\r\n"
    "\r\n";

void BM_HttpRequestHeadParseAndWrite(benchmark::State& state) {
    static Head head;
    ep::net::Address peer;
    std::string err;
    ep::net::parse_address("127.0.0.1:40000", peer, err, false);
    ClientInfo client;
    client.peer = &peer;
    char out[2048];
    HeadParser parser;
    for (auto _ : state) {
        parser.reset(HeadParser::Kind::Request, 16384);
        if (parser.parse(kRequest.data(), kRequest.size(), head) != Parse::Done) state.SkipWithError("parse");
        benchmark::DoNotOptimize(write_request_head(kRequest.data(), head, client, out, sizeof out));
    }
    state.SetBytesProcessed(int64_t(state.iterations() * kRequest.size()));
    state.counters["head_bytes"] = double(kRequest.size());
}
BENCHMARK(BM_HttpRequestHeadParseAndWrite);

void BM_HttpRequestHeadParse(benchmark::State& state) {
    static Head head;
    HeadParser parser;
    for (auto _ : state) {
        parser.reset(HeadParser::Kind::Request, 16384);
        benchmark::DoNotOptimize(parser.parse(kRequest.data(), kRequest.size(), head));
    }
    state.SetBytesProcessed(int64_t(state.iterations() * kRequest.size()));
}
BENCHMARK(BM_HttpRequestHeadParse);

void BM_HttpResponseHeadParseAndWrite(benchmark::State& state) {
    static Head head;
    char out[2048];
    HeadParser parser;
    for (auto _ : state) {
        parser.reset(HeadParser::Kind::Response, 16384);
        if (parser.parse(kResponse.data(), kResponse.size(), head) != Parse::Done) state.SkipWithError("parse");
        benchmark::DoNotOptimize(write_response_head(kResponse.data(), head, ResponseInfo{}, out, sizeof out));
    }
    state.SetBytesProcessed(int64_t(state.iterations() * kResponse.size()));
}
BENCHMARK(BM_HttpResponseHeadParseAndWrite);

// A 64 KiB body in 4 KiB chunks, re-framed into 16 KiB output buffers.
void BM_HttpChunkedReframe(benchmark::State& state) {
    std::string body;
    for (int i = 0; i < 16; ++i) body += "1000\r\n" + std::string(4096, 'x') + "\r\n";
    body += "0\r\n\r\n";
    std::vector<char> out(16384);
    ChunkedTranscoder t;
    for (auto _ : state) {
        t.reset(ChunkedTranscoder::Output::Chunked);
        size_t pos = 0;
        while (!t.done()) {
            const auto r = t.feed(body.data() + pos, body.size() - pos, out.data(), out.size());
            pos += r.consumed;
            benchmark::DoNotOptimize(out.data());
            if (r.error) state.SkipWithError("chunked");
        }
    }
    state.SetBytesProcessed(int64_t(state.iterations() * body.size()));
}
BENCHMARK(BM_HttpChunkedReframe);

// Routing one request over 20 routes (10 exact hosts with a prefix, 5
// wildcard hosts, 5 prefixes) that takes the 15th: normalising its host and
// path, then 14 routes refused first.
void BM_HttpRouterMatch(benchmark::State& state) {
    std::vector<ep::config::Route> routes;
    auto add = [&](std::string host, std::string prefix) {
        ep::config::Route r;
        r.host = std::move(host);
        r.path_prefix = std::move(prefix);
        r.service = "s" + std::to_string(routes.size());
        r.ordinal = int(routes.size());
        routes.push_back(std::move(r));
    };
    for (int i = 0; i < 10; ++i) add("app" + std::to_string(i) + ".example.com", "/api/v" + std::to_string(i) + "/");
    for (int i = 0; i < 5; ++i) add("*.tenant" + std::to_string(i) + ".example.net", "");
    for (int i = 0; i < 5; ++i) add("", "/static/" + std::to_string(i) + "/");
    ep::config::sort_routes(routes);
    if (routes[14].host != "*.tenant4.example.net") state.SkipWithError("route order");

    std::string request = kRequest;
    request.replace(request.find("www.example.com"), 15, "Shop.Tenant4.example.net");
    static Head head;
    HeadParser parser;
    parser.reset(HeadParser::Kind::Request, 16384);
    if (parser.parse(request.data(), request.size(), head) != Parse::Done) state.SkipWithError("parse");
    Router router(routes);
    for (auto _ : state) {
        const int i = router.match(head, request.data());
        benchmark::DoNotOptimize(i);
        if (i != 14) state.SkipWithError("not the 15th route");
    }
}
BENCHMARK(BM_HttpRouterMatch);

}  // namespace
