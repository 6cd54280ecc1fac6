// test_http_message.cpp: the HTTP message layer against research/http.md: the
// §1 framing table and the §12 golden cases that concern one message (exact
// status of each refusal, exact bytes sent on), each fed whole, cut at every
// point and byte by byte; the chunked transcoder under every cut of input and
// small output buffers.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "http/message.hpp"
#include "net/address.hpp"

#include <CppUTest/TestHarness.h>

using namespace ep::http;

namespace {

constexpr size_t kHead = 16384;

std::string esc(std::string_view s) {
    std::string o;
    for (unsigned char c : s) {
        if (c == '\r') o += "\\r";
        else if (c == '\n') o += "\\n\n";  // a line per line: readable diffs
        else if (c < 0x20 || c >= 0x7f) {
            char b[8];
            snprintf(b, sizeof b, "\\x%02x", c);
            o += b;
        } else o += char(c);
    }
    return o;
}

const char* body_name(Body b) {
    switch (b) {
    case Body::None: return "none";
    case Body::Length: return "length";
    case Body::Chunked: return "chunked";
    case Body::UntilClose: return "close";
    }
    return "?";
}

ep::net::Address loopback() {
    ep::net::Address a;
    std::string err;
    ep::net::parse_address("127.0.0.1:40000", a, err, false);
    return a;
}

enum class Cut { Whole, At, Bytewise };

// Feeds `in` as one, two (cut at `at`) or in.size() growing views of the buffer.
Parse feed(HeadParser& p, const std::string& in, Cut cut, size_t at, Head& h) {
    switch (cut) {
    case Cut::Whole:
        return p.parse(in.data(), in.size(), h);
    case Cut::At: {
        const Parse r = p.parse(in.data(), at, h);
        return r == Parse::NeedMore ? p.parse(in.data(), in.size(), h) : r;
    }
    case Cut::Bytewise:
        break;
    }
    Parse r = Parse::NeedMore;
    for (size_t n = 1; n <= in.size() && r == Parse::NeedMore; ++n) r = p.parse(in.data(), n, h);
    return r;
}

struct RequestRun {
    ClientInfo client;
    size_t max_head = kHead;
    HeadEdits edits;
};

// What the rest of the proxy sees: the error status, or the framing, the
// flags and the exact head sent to the server.
std::string request_outcome(const std::string& in, Cut cut, size_t at, const RequestRun& run = {}) {
    static Head h;  // 1.6 KiB of fields: not on every test's stack
    HeadParser p;
    p.reset(HeadParser::Kind::Request, run.max_head);
    const Parse r = feed(p, in, cut, at, h);
    if (r == Parse::Error) return "error " + std::to_string(p.error_status());
    if (r == Parse::NeedMore) return "needmore";
    std::string s = "done len=" + std::to_string(h.length) + " body=" + body_name(h.body) +
                    " cl=" + std::to_string(h.content_length);
    if (h.connection_close) s += " close";
    if (h.connection_keep_alive) s += " keep-alive";
    if (h.upgrade_websocket) s += " websocket";
    if (h.expect_continue) s += " expect";
    if (h.te_trailers) s += " te-trailers";
    s += "\n";
    char out[kHead + 1024];
    const size_t n = write_request_head(in.data(), h, run.client, out, sizeof out, run.edits);
    return s + std::string(out, n);
}

// The same outcome whole, at every cut and byte by byte (research §9 test 2).
std::string request(const std::string& in, const RequestRun& run = {}) {
    const std::string whole = request_outcome(in, Cut::Whole, 0, run);
    const size_t step = in.size() > 4096 ? 97 : 1;  // long heads: every 97th cut
    for (size_t at = 1; at < in.size(); at += step) {
        const std::string cut = request_outcome(in, Cut::At, at, run);
        if (cut != whole) FAIL(("cut at " + std::to_string(at) + " of " + esc(in) + ": " + esc(cut)).c_str());
    }
    const std::string bytewise = request_outcome(in, Cut::Bytewise, 0, run);
    if (bytewise != whole) FAIL(("byte by byte: " + esc(bytewise)).c_str());
    return whole;
}

RequestRun from_loopback() {
    static const ep::net::Address peer = loopback();
    RequestRun run;
    run.client.peer = &peer;
    return run;
}

std::string response_outcome(const std::string& in, Cut cut, size_t at, Method method, const ResponseInfo& info) {
    static Head h;
    HeadParser p;
    p.reset(HeadParser::Kind::Response, kHead, method);
    const Parse r = feed(p, in, cut, at, h);
    if (r == Parse::Error) return "error " + std::to_string(p.error_status());
    if (r == Parse::NeedMore) return "needmore";
    std::string s = "done len=" + std::to_string(h.length) + " status=" + std::to_string(h.status) +
                    " body=" + body_name(h.body) + " cl=" + std::to_string(h.content_length);
    if (!h.keep_alive()) s += " close";
    if (h.no_reuse) s += " no-reuse";
    if (h.upgrade_websocket) s += " websocket";
    if (h.event_stream) s += " event-stream";
    s += "\n";
    char out[kHead + 1024];
    const size_t n = write_response_head(in.data(), h, info, out, sizeof out);
    return s + std::string(out, n);
}

std::string response(const std::string& in, Method method = Method::Get, const ResponseInfo& info = {}) {
    const std::string whole = response_outcome(in, Cut::Whole, 0, method, info);
    for (size_t at = 1; at < in.size(); ++at) {
        const std::string cut = response_outcome(in, Cut::At, at, method, info);
        if (cut != whole) FAIL(("cut at " + std::to_string(at) + " of " + esc(in) + ": " + esc(cut)).c_str());
    }
    const std::string bytewise = response_outcome(in, Cut::Bytewise, 0, method, info);
    if (bytewise != whole) FAIL(("byte by byte: " + esc(bytewise)).c_str());
    return whole;
}

// Runs a chunked body through the transcoder in pieces of `piece` bytes (0:
// whole) with `out_cap` bytes of output per call; returns the output, then
// "|done rest=N" (input left after the body), "|error" or "|incomplete".
std::string transcode(const std::string& in, ChunkedTranscoder::Output mode, size_t piece, size_t out_cap) {
    ChunkedTranscoder t;
    t.reset(mode);
    std::string out;
    std::vector<char> buf(out_cap);
    size_t pos = 0;
    size_t avail = 0;
    while (true) {
        avail = piece == 0 ? in.size() : std::min(in.size(), avail + piece);
        for (;;) {
            const auto r = t.feed(in.data() + pos, avail - pos, buf.data(), out_cap);
            if (r.produced > out_cap || r.consumed > avail - pos) return "overrun";
            out.append(buf.data(), r.produced);
            pos += r.consumed;
            if (r.error) return out + "|error";
            if (r.done) return out + "|done rest=" + std::to_string(in.size() - pos);
            if (r.consumed == 0 && r.produced == 0) break;
        }
        if (avail == in.size()) return out + "|incomplete";
    }
}

// Every cut of input (1 byte, 2, 3, 7, whole) with output caps 32, 33, 64 and
// plenty gives the same answer.
std::string chunked(const std::string& in, ChunkedTranscoder::Output mode = ChunkedTranscoder::Output::Chunked) {
    const std::string whole = transcode(in, mode, 0, 1 << 16);
    for (size_t piece : {size_t(1), size_t(2), size_t(3), size_t(7), size_t(0)})
        for (size_t cap : {size_t(32), size_t(33), size_t(64), size_t(1) << 16}) {
            const std::string got = transcode(in, mode, piece, cap);
            if (got != whole)
                FAIL(("piece " + std::to_string(piece) + " cap " + std::to_string(cap) + ": " + esc(got)).c_str());
        }
    // and every single cut point with the smallest allowed output
    for (size_t at = 1; at < in.size(); ++at) {
        ChunkedTranscoder t;
        t.reset(mode);
        std::string out;
        char buf[32];
        size_t pos = 0;
        bool ended = false;
        for (size_t avail : {at, in.size()}) {
            for (;;) {
                const auto r = t.feed(in.data() + pos, avail - pos, buf, sizeof buf);
                out.append(buf, r.produced);
                pos += r.consumed;
                if (r.error) {
                    out += "|error";
                    ended = true;
                } else if (r.done) {
                    out += "|done rest=" + std::to_string(in.size() - pos);
                    ended = true;
                }
                if (ended || (r.consumed == 0 && r.produced == 0)) break;
            }
            if (ended) break;
        }
        if (!ended) out += "|incomplete";
        if (out != whole) FAIL(("cut at " + std::to_string(at) + ": " + esc(out)).c_str());
    }
    return whole;
}

const std::string R = "POST / HTTP/1.1\r\nHost: a\r\n";
const std::string kFwd = "X-Forwarded-For: 127.0.0.1\r\nX-Real-IP: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n"
                         "X-Forwarded-Host: a\r\n";

#define EXPECT_STATUS(status, in) STRCMP_EQUAL("error " #status, request(in).c_str())
#define EXPECT_OUTCOME(expected, actual) STRCMP_EQUAL(esc(expected).c_str(), esc(actual).c_str())

}  // namespace

TEST_GROUP(HttpMessageRequest){};

// §12 case 1
TEST(HttpMessageRequest, PlainGetGainsForwardingFields) {
    EXPECT_OUTCOME("done len=27 body=none cl=0\nGET / HTTP/1.1\r\nHost: a\r\n" + kFwd + "\r\n",
                   request("GET / HTTP/1.1\r\nHost: a\r\n\r\n", from_loopback()));
}

// §12 case 2, both orders; the smuggled request after it is never parsed
TEST(HttpMessageRequest, ContentLengthWithTransferEncodingIs400) {
    EXPECT_STATUS(400, R + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /s HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(400, R + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\nGET /s HTTP/1.1\r\nHost: a\r\n\r\n");
}

// §12 case 3, §1 rows "2 CL lines differing / equal / 5, 5"
TEST(HttpMessageRequest, DuplicateContentLengthIs400EvenWhenEqual) {
    EXPECT_STATUS(400, R + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab");
    EXPECT_STATUS(400, R + "Content-Length: 2\r\nContent-Length: 2\r\n\r\nab");
    EXPECT_STATUS(400, R + "Content-Length: 2, 2\r\n\r\nab");
}

// §12 case 4
TEST(HttpMessageRequest, InvalidContentLengthIs400) {
    for (const char* v : {"+2", "-1", "0x2", "", "1 2", "99999999999999999999", "2;x", "\xef\xbc\x92"})
        EXPECT_STATUS(400, R + "Content-Length: " + v + "\r\n\r\nab");
}

TEST(HttpMessageRequest, LeadingZerosInContentLengthAreNormalised) {
    EXPECT_OUTCOME("done len=49 body=length cl=2\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n" + kFwd + "\r\n",
                   request(R + "Content-Length: 002\r\n\r\nab", from_loopback()));
    // a 0 length is a length, not an absent body
    STRCMP_CONTAINS("body=length cl=0", request(R + "Content-Length: 0\r\n\r\n").c_str());
}

// §12 case 5, §1 rows on Transfer-Encoding lists
TEST(HttpMessageRequest, TransferEncodingOtherThanChunkedIs400) {
    for (const char* v : {"chunked, chunked", "chunked, gzip", "gzip", ",chunked", "xchunked", "", "chunked;q=1",
                          "chunked,", "gzip,, chunked", "gzip chunked"})
        EXPECT_STATUS(400, R + "Transfer-Encoding: " + v + "\r\n\r\n0\r\n\r\n");
}

TEST(HttpMessageRequest, CodingsBeforeChunkedAre501) {
    EXPECT_STATUS(501, R + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
    EXPECT_STATUS(501, R + "Transfer-Encoding: deflate,gzip ,chunked\r\n\r\n0\r\n\r\n");
}

TEST(HttpMessageRequest, TwoTransferEncodingLinesAre400) {
    EXPECT_STATUS(400, R + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
}

// §12 case 6
TEST(HttpMessageRequest, TransferEncodingOnHttp10Is400) {
    EXPECT_STATUS(400, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
}

// §12 case 7
TEST(HttpMessageRequest, WhitespaceAndControlsAroundTransferEncodingAre400) {
    for (const char* line : {"Transfer-Encoding : chunked", "Transfer-Encoding\t: chunked",
                             "Transfer-Encoding:\x0b" "chunked", "Transfer-Encoding: chunked\x0b",
                             "\x0bTransfer-Encoding: chunked"})
        EXPECT_STATUS(400, R + line + "\r\n\r\n0\r\n\r\n");
}

// §12 case 8 (the body part is in HttpChunked)
TEST(HttpMessageRequest, TabBeforeChunkedIsCanonicalised) {
    EXPECT_OUTCOME("done len=56 body=chunked cl=0\nPOST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n" +
                       kFwd + "\r\n",
                   request(R + "Transfer-Encoding:\tchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", from_loopback()));
    STRCMP_CONTAINS("body=chunked", request(R + "Transfer-Encoding: ChUnKeD  \r\n\r\n").c_str());
}

// §12 case 9, §1 rows obs-fold and bare CR
TEST(HttpMessageRequest, ObsFoldAndBareCrAre400) {
    EXPECT_STATUS(400, R + "X: a\r\n b\r\n\r\n");
    EXPECT_STATUS(400, R + "X: a\r\n\tb\r\n\r\n");
    EXPECT_STATUS(400, R + "X-Abc: \rxTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    EXPECT_STATUS(400, "GET / HTTP/1.1\rHost: a\r\n\r\n");
    EXPECT_STATUS(400, R + "\r\rX");  // head ending "\r\n\rX"
}

// §12 case 10
TEST(HttpMessageRequest, ControlBytesInValuesAre400AndHighBytesPass) {
    EXPECT_STATUS(400, R + std::string("X: a\0b\r\n\r\n", 10));
    EXPECT_STATUS(400, R + "X: a\x7f" "b\r\n\r\n");
    EXPECT_STATUS(400, R + "X: a\x01" "b\r\n\r\n");
    const std::string out = request("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n");
    STRCMP_CONTAINS("\r\nX: caf\xc3\xa9\r\n", out.c_str());
}

// §12 case 11, §1 rows on names
TEST(HttpMessageRequest, BadFieldNamesAre400) {
    EXPECT_STATUS(400, R + ": x\r\n\r\n");
    EXPECT_STATUS(400, R + "Foo\r\n\r\n");
    EXPECT_STATUS(400, R + "X\xa0: y\r\n\r\n");
    EXPECT_STATUS(400, R + "X!@: y\r\n\r\n");
    EXPECT_STATUS(400, "GET / HTTP/1.1\r\n Host: a\r\n\r\n");
    // '_' is a tchar
    STRCMP_CONTAINS("\r\nX_Y: 1\r\n", request(R + "X_Y: 1\r\n\r\n").c_str());
}

// §12 case 12, §1 rows on the request line
TEST(HttpMessageRequest, RequestLineIsStrict) {
    EXPECT_STATUS(400, "GET / HTTP/1.1\nHost: a\n\n");
    EXPECT_STATUS(400, "GET / HTTP/1.1\r\nHost: a\n\r\n");
    EXPECT_STATUS(400, "GET  / HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(400, "GET /  HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(400, "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(400, "GET / HTTP/1.10\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(400, "GET / http/1.1\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(400, "GET / HTTP/1.1 \r\nHost: a\r\n\r\n");
    EXPECT_STATUS(400, "GET /#frag HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(505, "GET / HTTP/2.0\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(505, "GET / HTTP/0.9\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(505, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
}

TEST(HttpMessageRequest, EmptyLinesBeforeTheRequestLineAreSkipped) {
    STRCMP_CONTAINS("done len=31", request("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").c_str());
    EXPECT_STATUS(400, "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(HttpMessageRequest, AsteriskOnlyForOptions) {
    STRCMP_CONTAINS("OPTIONS * HTTP/1.1\r\n", request("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").c_str());
    EXPECT_STATUS(400, "GET * HTTP/1.1\r\nHost: a\r\n\r\n");
}

// §12 case 13
TEST(HttpMessageRequest, HostRules) {
    EXPECT_STATUS(400, "GET / HTTP/1.1\r\n\r\n");
    EXPECT_STATUS(400, "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(400, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n");
    EXPECT_STATUS(400, "GET / HTTP/1.1\r\nHost: a@b\r\n\r\n");
    EXPECT_STATUS(400, "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n");
    STRCMP_CONTAINS("Host: [::1]:8080\r\n", request("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").c_str());
    STRCMP_CONTAINS("Host: Example.COM:80\r\n", request("GET / HTTP/1.1\r\nHost: Example.COM:80\r\n\r\n").c_str());
}

// §12 case 14
TEST(HttpMessageRequest, AbsoluteFormBecomesOriginForm) {
    EXPECT_OUTCOME("done len=38 body=none cl=0\nGET /x?q HTTP/1.1\r\nHost: a\r\n" + kFwd + "\r\n",
                   request("GET http://a/x?q HTTP/1.1\r\nHost: a\r\n\r\n", from_loopback()));
    STRCMP_CONTAINS("\nGET /?q HTTP/1.1\r\n", request("GET HTTP://A?q HTTP/1.1\r\nHost: a\r\n\r\n").c_str());
    STRCMP_CONTAINS("\nGET / HTTP/1.1\r\n", request("GET https://a:8443 HTTP/1.1\r\nHost: a:8443\r\n\r\n").c_str());
    EXPECT_STATUS(400, "GET http://a/x?q HTTP/1.1\r\nHost: b\r\n\r\n");
    EXPECT_STATUS(400, "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(400, "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(400, "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_STATUS(400, "GET x HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(HttpMessageRequest, PathAndQuerySpans) {
    HeadParser p;
    static Head h;
    const std::string in = "GET http://a/p/q?x=1&y HTTP/1.1\r\nHost: a\r\n\r\n";
    p.reset(HeadParser::Kind::Request, kHead);
    CHECK(p.parse(in.data(), in.size(), h) == Parse::Done);
    STRCMP_EQUAL("/p/q", std::string(h.path.in(in.data())).c_str());
    STRCMP_EQUAL("x=1&y", std::string(h.query.in(in.data())).c_str());
    STRCMP_EQUAL("a", std::string(h.authority.in(in.data())).c_str());
    CHECK(h.method == Method::Get);
    LONGS_EQUAL(0, h.host);
    LONGS_EQUAL(0, h.find("HOST", in.data()));
    LONGS_EQUAL(-1, h.find("Hos", in.data()));

    const std::string in2 = "PATCH /only HTTP/1.1\r\nHost: a\r\n\r\n";
    p.reset(HeadParser::Kind::Request, kHead);
    CHECK(p.parse(in2.data(), in2.size(), h) == Parse::Done);
    STRCMP_EQUAL("/only", std::string(h.path.in(in2.data())).c_str());
    CHECK(h.query.empty());
    CHECK(h.authority.empty());
    CHECK(h.method == Method::Patch);
    CHECK(!idempotent(h.method));
    CHECK(idempotent(Method::Put));
}

// §12 case 15, and the method limit
TEST(HttpMessageRequest, Limits) {
    EXPECT_STATUS(414, "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n");
    STRCMP_CONTAINS("done", request("GET /" + std::string(8191, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n").c_str());
    EXPECT_STATUS(431, "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(17 * 1024, 'v') + "\r\n\r\n");
    std::string fields;
    for (int i = 0; i < 100; ++i) fields += "X" + std::to_string(i) + ": v\r\n";
    STRCMP_CONTAINS("done", request("GET / HTTP/1.1\r\n" + fields.substr(fields.find("\r\n") + 2) + "Host: a\r\n\r\n").c_str());
    EXPECT_STATUS(431, "GET / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n");
    EXPECT_STATUS(501, std::string(33, 'M') + " / HTTP/1.1\r\nHost: a\r\n\r\n");
    STRCMP_CONTAINS("done", request(std::string(32, 'M') + " / HTTP/1.1\r\nHost: a\r\n\r\n").c_str());
}

TEST(HttpMessageRequest, HeadExactlyAtTheLimitIsAccepted) {
    RequestRun run;
    const std::string in = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    run.max_head = in.size();
    STRCMP_CONTAINS("done", request(in, run).c_str());
    run.max_head = in.size() - 1;
    STRCMP_EQUAL("error 431", request(in, run).c_str());
}

// §12 case 18
TEST(HttpMessageRequest, Expectations) {
    const std::string in = R + "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    const std::string out = request(in);
    STRCMP_CONTAINS(" expect\n", out.c_str());
    STRCMP_CONTAINS("\r\nExpect: 100-continue\r\n", out.c_str());
    const std::string out10 = request("POST / HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    CHECK(out10.find("expect") == std::string::npos);
    CHECK(out10.find("Expect") == std::string::npos);
    EXPECT_STATUS(417, R + "Expect: 100-continue, foo\r\n\r\n");
    EXPECT_STATUS(417, R + "Expect: foo\r\n\r\n");
}

// §12 case 19
TEST(HttpMessageRequest, HopByHopFieldsAreRemoved) {
    EXPECT_OUTCOME("done len=191 body=none cl=0 close te-trailers\nGET / HTTP/1.1\r\nHost: a\r\n" + kFwd +
                       "TE: trailers\r\n\r\n",
                   request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Foo\r\nX-Foo: 1\r\n"
                           "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: foo\r\n"
                           "Proxy-Authorization: Basic eA==\r\nTrailer: X-T\r\n\r\n",
                           from_loopback()));
}

// §12 case 20: Connection cannot remove what the proxy answers for
TEST(HttpMessageRequest, ConnectionCannotNameProtectedFields) {
    EXPECT_OUTCOME("done len=124 body=length cl=2\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n"
                   "X-Forwarded-For: 9.9.9.9, 127.0.0.1\r\nX-Real-IP: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n"
                   "X-Forwarded-Host: a\r\n\r\n",
                   request(R + "Connection: X-Forwarded-For, Host, Content-Length\r\nX-Forwarded-For: 9.9.9.9\r\n"
                               "Content-Length: 2\r\n\r\nab",
                           from_loopback()));
}

// §12 case 21, and the trusted peer of §2
TEST(HttpMessageRequest, ForwardingFieldsFromUntrustedAndTrustedPeers) {
    const std::string in = "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: a\r\nX-Real-IP: 1.1.1.1\r\n"
                           "X-Forwarded-For: b\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: h\r\n\r\n";
    EXPECT_OUTCOME("done len=134 body=none cl=0\nGET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: a, b, 127.0.0.1\r\n"
                   "X-Real-IP: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n\r\n",
                   request(in, from_loopback()));
    RequestRun trusted = from_loopback();
    trusted.client.trusted = true;
    EXPECT_OUTCOME("done len=134 body=none cl=0\nGET / HTTP/1.1\r\nHost: a\r\nX-Real-IP: 1.1.1.1\r\n"
                   "X-Forwarded-Proto: https\r\nX-Forwarded-Host: h\r\nX-Forwarded-For: a, b, 127.0.0.1\r\n\r\n",
                   request(in, trusted));
    RequestRun tls = from_loopback();
    tls.client.tls = true;
    STRCMP_CONTAINS("X-Forwarded-Proto: https\r\n", request("GET / HTTP/1.1\r\nHost: a\r\n\r\n", tls).c_str());
}

TEST(HttpMessageRequest, Ipv6AndMappedPeers) {
    ep::net::Address v6, mapped;
    std::string err;
    ep::net::parse_address("[2001:db8::1]:5", v6, err, false);
    ep::net::parse_address("[::ffff:10.1.2.3]:5", mapped, err, false);
    RequestRun run;
    run.client.peer = &v6;
    STRCMP_CONTAINS("X-Forwarded-For: 2001:db8::1\r\nX-Real-IP: 2001:db8::1\r\n",
                    request("GET / HTTP/1.1\r\nHost: a\r\n\r\n", run).c_str());
    run.client.peer = &mapped;
    STRCMP_CONTAINS("X-Forwarded-For: 10.1.2.3\r\n", request("GET / HTTP/1.1\r\nHost: a\r\n\r\n", run).c_str());
}

// §12 case 28 (request side): a 1.0 request without Host goes on as 1.1
TEST(HttpMessageRequest, Http10WithoutHost) {
    EXPECT_OUTCOME("done len=18 body=none cl=0 close\nGET / HTTP/1.1\r\nHost: \r\nX-Forwarded-For: 127.0.0.1\r\n"
                   "X-Real-IP: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n",
                   request("GET / HTTP/1.0\r\n\r\n", from_loopback()));
    STRCMP_CONTAINS("done len=42 body=none cl=0 keep-alive\n",
                    request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").c_str());
}

// §12 case 31: the frame after the head is not part of it
TEST(HttpMessageRequest, WebSocketUpgradeIsRegenerated) {
    const std::string in = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    EXPECT_OUTCOME("done len=142 body=none cl=0 websocket\nGET /ws HTTP/1.1\r\nHost: a\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
                       kFwd + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                   request(in, from_loopback()));
    // Upgrade without the connection option is not an upgrade
    CHECK(request("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n").find("websocket") == std::string::npos);
}

// §12 case 32 (request side): h2c never reaches the server
TEST(HttpMessageRequest, H2cUpgradeIsStripped) {
    EXPECT_OUTCOME("done len=120 body=none cl=0\nGET / HTTP/1.1\r\nHost: a\r\n" + kFwd + "\r\n",
                   request("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                           "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
                           from_loopback()));
}

TEST(HttpMessageRequest, TrailerAnnouncementStaysWithAChunkedBody) {
    STRCMP_CONTAINS("\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n",
                    request(R + "Transfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n").c_str());
    CHECK(request(R + "Content-Length: 0\r\nTrailer: X-T\r\n\r\n").find("Trailer") == std::string::npos);
}

TEST(HttpMessageRequest, WriterReportsNoRoom) {
    static Head h;
    HeadParser p;
    const std::string in = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    p.reset(HeadParser::Kind::Request, kHead);
    CHECK(p.parse(in.data(), in.size(), h) == Parse::Done);
    char out[128];
    ClientInfo client;
    const size_t n = write_request_head(in.data(), h, client, out, sizeof out);
    CHECK(n > 0);
    LONGS_EQUAL(0, write_request_head(in.data(), h, client, out, n - 1));
    // the parser answers the same after Done, and never reads on
    CHECK(p.parse(in.data(), in.size(), h) == Parse::Done);
}

// The gateway's middlewares: a new path keeps the query, removals reach the
// proxy's own forwarding fields too but never the framing, added lines come last.
TEST(HttpMessageRequest, EditsReplacePathRemoveAndAddFields) {
    RequestRun run = from_loopback();
    const std::string_view remove[] = {"x-drop", "X-Real-IP", "content-length"};
    run.edits.path = "/users";
    run.edits.remove = remove;
    run.edits.add = "X-Forwarded-Prefix: /api\r\n";
    EXPECT_OUTCOME("done len=82 body=length cl=2\nPOST /users?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n"
                   "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n"
                   "X-Forwarded-Prefix: /api\r\n\r\n",
                   request("POST /api/users?x=1 HTTP/1.1\r\nHost: a\r\nX-Drop: 1\r\nContent-Length: 2\r\n"
                           "X-DROP: 2\r\n\r\n",
                           run));
}

TEST(HttpMessageRequest, ErrorReasonsNameTheFault) {
    HeadParser p;
    static Head h;
    const std::string in = R + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
    p.reset(HeadParser::Kind::Request, kHead);
    CHECK(p.parse(in.data(), in.size(), h) == Parse::Error);
    STRCMP_EQUAL("Content-Length and Transfer-Encoding", p.error_reason());
}

TEST_GROUP(HttpMessageResponse){};

TEST(HttpMessageResponse, LengthDelimitedResponseToAKeptClient) {
    EXPECT_OUTCOME("done len=39 status=200 body=length cl=2\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
                   response("HTTP/1.1 200 OK\r\nContent-Length: 02\r\n\r\nab"));
}

// §12 case 26: extra bytes after the body are not part of the head or body
TEST(HttpMessageResponse, ExtraBytesAndHeadResponses) {
    STRCMP_CONTAINS("done len=38 status=200 body=length cl=2\n",
                    response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabEXTRA").c_str());
    EXPECT_OUTCOME("done len=39 status=200 body=none cl=26\nHTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\n",
                   response("HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz", Method::Head));
}

TEST(HttpMessageResponse, BodilessStatuses) {
    STRCMP_CONTAINS("status=204 body=none", response("HTTP/1.1 204 No Content\r\n\r\n").c_str());
    STRCMP_CONTAINS("status=304 body=none cl=100",
                    response("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n").c_str());
    EXPECT_OUTCOME("done len=25 status=100 body=none cl=0\nHTTP/1.1 100 Continue\r\n\r\n",
                   response("HTTP/1.1 100 Continue\r\n\r\n", Method::Post, ResponseInfo{1, false, false, false}));
}

TEST(HttpMessageResponse, NoFramingMeansUntilClose) {
    EXPECT_OUTCOME("done len=19 status=200 body=close cl=0\nHTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
                   response("HTTP/1.1 200 OK\r\n\r\n", Method::Get, ResponseInfo{1, false, false, false}));
}

// §1: "CL+TE in a response => chunked, drop CL, never pool"
TEST(HttpMessageResponse, ContentLengthBesideChunkedIsDroppedAndNotPooled) {
    EXPECT_OUTCOME("done len=66 status=200 body=chunked cl=9 no-reuse\nHTTP/1.1 200 OK\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n",
                   response("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n"));
}

// §1: every response violation is 502
TEST(HttpMessageResponse, InvalidResponsesAre502) {
    for (const char* in :
         {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
          "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
          "HTTP/1.1 200 OK\r\nX : a\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
          "HTTP/1.1 099 OK\r\n\r\n", "HTTP/2.0 200 OK\r\n\r\n", "HELLO\r\n\r\n", "HTTP/1.1 200 OK\rX\r\n\r\n",
          "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n"})
        STRCMP_EQUAL("error 502", response(in).c_str());
    std::string many = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 101; ++i) many += "X: v\r\n";
    STRCMP_EQUAL("error 502", response(many + "\r\n").c_str());
}

// §1: responses may end lines with LF alone; we send CRLF
TEST(HttpMessageResponse, BareLfLinesAreAcceptedAndReEmittedAsCrlf) {
    EXPECT_OUTCOME("done len=40 status=200 body=length cl=2\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: y\r\n\r\n",
                   response("HTTP/1.1 200 OK\nContent-Length: 2\nX: y\n\nab"));
    STRCMP_CONTAINS("HTTP/1.1 204 No Content\r\n", response("HTTP/1.1 204\r\n\r\n").c_str());
    STRCMP_CONTAINS("HTTP/1.1 299 \r\n", response("HTTP/1.1 299\r\n\r\n").c_str());
}

// §12 case 28: a chunked response to an HTTP/1.0 client is de-chunked and closed
TEST(HttpMessageResponse, ChunkedToHttp10Client) {
    EXPECT_OUTCOME("done len=47 status=200 body=chunked cl=0\nHTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
                   response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nSEE-THIS\r\n0\r\n\r\n",
                            Method::Get, ResponseInfo{0, false, true, false}));
    EXPECT_OUTCOME("done len=38 status=200 body=length cl=2\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                   "Connection: keep-alive\r\n\r\n",
                   response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab", Method::Get,
                            ResponseInfo{0, true, false, false}));
}

TEST(HttpMessageResponse, HopByHopFieldsAreRemoved) {
    EXPECT_OUTCOME("done len=167 status=200 body=length cl=0 close\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                   "X-Keep: 1\r\n\r\n",
                   response("HTTP/1.1 200 OK\r\nConnection: close, X-Drop, Content-Length\r\nX-Drop: 1\r\n"
                            "Keep-Alive: timeout=5\r\nUpgrade: h2c\r\nContent-Length: 0\r\nX-Keep: 1\r\n"
                            "Proxy-Authenticate: Basic\r\n\r\n"));
}

TEST(HttpMessageResponse, EditsRemoveAndAddFields) {
    static Head h;
    const std::string in = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 0\r\nserver: y\r\nX-Keep: 1\r\n\r\n";
    HeadParser p;
    p.reset(HeadParser::Kind::Response, kHead, Method::Get);
    LONGS_EQUAL(int(Parse::Done), int(p.parse(in.data(), in.size(), h)));
    const std::string_view remove[] = {"SERVER", "Content-Length"};
    HeadEdits edits;
    edits.remove = remove;
    edits.add = "X-Frame-Options: DENY\r\n";
    char out[512];
    const size_t n = write_response_head(in.data(), h, ResponseInfo{}, out, sizeof out, edits);
    STRCMP_EQUAL("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Keep: 1\r\nX-Frame-Options: DENY\r\n\r\n",
                 std::string(out, n).c_str());
}

// §12 cases 31, 32: the 101 answering a WebSocket request, and one answering nothing
TEST(HttpMessageResponse, SwitchingProtocols) {
    const std::string in = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05hello";
    EXPECT_OUTCOME("done len=129 status=101 body=none cl=0 websocket\nHTTP/1.1 101 Switching Protocols\r\n"
                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                   response(in, Method::Get, ResponseInfo{1, true, false, true}));
    // A 101 without "Upgrade: websocket" is not one the session can accept (502 there).
    STRCMP_CONTAINS("status=101 body=none cl=0\n", response("HTTP/1.1 101 Switching Protocols\r\n\r\n").c_str());
}

TEST(HttpMessageResponse, EventStream) {
    STRCMP_CONTAINS("body=close cl=0 event-stream",
                    response("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\r\n").c_str());
    CHECK(response("HTTP/1.1 200 OK\r\nContent-Type: text/event-streamx\r\n\r\n").find(" event-stream\n") ==
          std::string::npos);
}

TEST(HttpMessageResponse, Http10ServerClosesUnlessKeepAlive) {
    STRCMP_CONTAINS("body=length cl=0 close\n", response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").c_str());
    STRCMP_CONTAINS("body=length cl=0\n",
                    response("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").c_str());
}

TEST_GROUP(HttpMessageChunked){};

using Output = ChunkedTranscoder::Output;

// §12 case 8
TEST(HttpMessageChunked, CanonicalChunksPassUnchanged) {
    EXPECT_OUTCOME("3\r\nabc\r\n0\r\n\r\n|done rest=0", chunked("3\r\nabc\r\n0\r\n\r\n"));
    EXPECT_OUTCOME("abc|done rest=0", chunked("3\r\nabc\r\n0\r\n\r\n", Output::Plain));
}

// §12 case 17: extensions dropped, trailers kept (dropped when de-chunking)
TEST(HttpMessageChunked, ExtensionsDroppedTrailersKept) {
    EXPECT_OUTCOME("5\r\nhello\r\n0\r\nX-T: y\r\n\r\n|done rest=0",
                   chunked("5;e=1\r\nhello\r\n0\r\nX-T: y\r\n\r\n"));
    EXPECT_OUTCOME("hello|done rest=0", chunked("5;e=1\r\nhello\r\n0\r\nX-T: y\r\n\r\n", Output::Plain));
}

// What a body limit reads: the sizes announced so far, counted as each size
// line is read (before its data), and reset with the transcoder.
TEST(HttpMessageChunked, AnnouncedCountsChunkSizesAsTheyAreRead) {
    ChunkedTranscoder t;
    t.reset(Output::Chunked);
    char out[64];
    const std::string in = "a\r\n0123456789\r\n10\r\n01";
    t.feed(in.data(), 4, out, sizeof out);
    LONGS_EQUAL(10, t.announced());
    t.feed(in.data() + 4, in.size() - 4, out, sizeof out);
    LONGS_EQUAL(26, t.announced());
    t.reset(Output::Chunked);
    LONGS_EQUAL(0, t.announced());
}

TEST(HttpMessageChunked, SizesAreRewrittenCanonically) {
    EXPECT_OUTCOME("a\r\n0123456789\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n|done rest=4",
                   chunked("00A \t;x=\"y\" ;z\r\n0123456789\r\n10\r\n0123456789abcdef\r\n000\r\n\r\nNEXT"));
    EXPECT_OUTCOME("5\r\nhello\r\n0\r\n\r\n|done rest=0", chunked("5 \r\nhello\r\n0\r\n\r\n"));
}

// §12 case 16, §1 chunk rows
TEST(HttpMessageChunked, BadFramingIsAnError) {
    for (const char* in : {"0x5\r\nhello\r\n0\r\n\r\n", "-5\r\nhello\r\n0\r\n\r\n", " 5\r\nhello\r\n0\r\n\r\n",
                           "\r\nhello\r\n0\r\n\r\n", "10000000000000005\r\nhello\r\n0\r\n\r\n",
                           "00000000000005\r\nhello\r\n0\r\n\r\n", "5\nhello\n0\n\n", "5;a\rb\r\nhello\r\n0\r\n\r\n",
                           "5;a\nb\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n", "5\r\nhello\n0\r\n\r\n",
                           "5\r\nhello\r\n0\r\nX-T : y\r\n\r\n", "5\r\nhello\r\n0\r\n y\r\n\r\n",
                           "5\r\nhello\r\n0\r\nX: a\rb\r\n\r\n", "5\r\nhello\r\n0\r\nX: y\n\r\n", "5\r\nhello\r\n0\r\n\n",
                           "5 x\r\nhello\r\n0\r\n\r\n", "5;\x01\r\nhello\r\n0\r\n\r\n"})
    {
        const std::string got = chunked(in);
        if (got.size() < 6 || got.compare(got.size() - 6, 6, "|error") != 0)
            FAIL(("accepted " + esc(in) + " as " + esc(got)).c_str());
    }
}

TEST(HttpMessageChunked, SizeAndExtensionCaps) {
    // 13 hex digits (2^52 - 1) is a size; the body is simply not there yet
    STRCMP_EQUAL("fffffffffffff\r\nab|incomplete", chunked("fffffffffffff\r\nab").c_str());
    STRCMP_EQUAL("|error", chunked("1fffffffffffff\r\nab").c_str());
    STRCMP_EQUAL("1\r\nx\r\n0\r\n\r\n|done rest=0",
                 chunked("1;" + std::string(kMaxChunkExt, 'e') + "\r\nx\r\n0\r\n\r\n").c_str());
    STRCMP_EQUAL("|error", chunked("1;" + std::string(kMaxChunkExt + 1, 'e') + "\r\nx\r\n0\r\n\r\n").c_str());
}

TEST(HttpMessageChunked, LargeChunksUnderSmallOutput) {
    const std::string data(100000, 'z');
    const std::string body = "186a0\r\n" + data + "\r\n1\r\n!\r\n0\r\n\r\n";
    STRCMP_EQUAL(("186a0\r\n" + data + "\r\n1\r\n!\r\n0\r\n\r\n|done rest=0").c_str(),
                 transcode(body, Output::Chunked, 1000, 32).c_str());
    STRCMP_EQUAL((data + "!|done rest=0").c_str(), transcode(body, Output::Plain, 3, 33).c_str());
}

TEST_GROUP(HttpMessageError){};

// research §5: generated answers
TEST(HttpMessageError, ShortAnswers) {
    char out[256];
    size_t n = write_error(502, false, false, "", out, sizeof out);
    EXPECT_OUTCOME("HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n\r\n"
                   "502 Bad Gateway\n",
                   std::string(out, n));
    n = write_error(431, true, true, "Retry-After: 1\r\n", out, sizeof out);
    EXPECT_OUTCOME("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n"
                   "Content-Length: 36\r\nConnection: close\r\nRetry-After: 1\r\n\r\n",
                   std::string(out, n));
    LONGS_EQUAL(0, write_error(400, true, false, "", out, 40));
    for (int s : {400, 408, 413, 414, 417, 431, 501, 503, 504, 505}) CHECK(!reason_phrase(s).empty());
}
