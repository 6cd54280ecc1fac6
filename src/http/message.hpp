// message.hpp: HTTP/1.1 messages for the proxy (RFC 9112, research/http.md §1):
// a strict, incremental, resumable parser of request and response heads, the
// chunked-body transcoder, and the rewriting of heads on their way through the
// proxy. Pure: no I/O, no allocation per message; a head is described by spans
// into the caller's buffer, which must hold the whole head from offset 0.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "net/address.hpp"

namespace ep::http {

inline constexpr size_t kMaxFields = 100;        // more: 431 (request) / 502 (response)
inline constexpr size_t kMaxTarget = 8192;       // longer request-target: 414
inline constexpr size_t kMaxMethod = 32;         // longer method: 501
inline constexpr size_t kMaxChunkExt = 1024;     // longer chunk extension: error
inline constexpr uint64_t kMaxChunkSize = (uint64_t(1) << 52) - 1;

enum class Method : uint8_t { Get, Head, Post, Put, Delete, Options, Trace, Connect, Patch, Other };

// Safe to retry on another connection (RFC 9110 §9.2.2).
bool idempotent(Method m);
// The method a request line's token names (case-sensitive, RFC 9110 §9.1);
// Other for any other token.
Method method_of(std::string_view text);

struct Span {
    uint32_t off = 0;
    uint32_t len = 0;
    std::string_view in(const char* buf) const { return {buf + off, len}; }
    bool empty() const { return len == 0; }
};

struct Field {
    Span name;   // as sent (case kept)
    Span value;  // leading and trailing SP/HTAB removed
};

// How the body after a head is delimited (RFC 9112 §6.3).
enum class Body : uint8_t {
    None,        // no body: request without CL/TE, HEAD/1xx/204/304 response
    Length,      // Content-Length bytes (content_length, may be 0)
    Chunked,     // Transfer-Encoding: chunked
    UntilClose,  // response without CL or TE: read until the server closes
};

struct Head {
    // request line (requests)
    Method method = Method::Other;
    Span method_text;
    Span target;      // as sent
    Span path;        // origin-form path part of target (absolute-form: its path; "*": empty)
    Span query;       // after '?', without it; empty when none
    // status line (responses)
    int status = 0;
    Span reason;
    uint8_t version_minor = 1;  // HTTP/1.<minor>: 0 or 1

    std::array<Field, kMaxFields> fields;
    uint16_t field_count = 0;
    uint32_t length = 0;        // bytes of the head, final CRLF included

    // From the semantic pass over the fields:
    Body body = Body::None;
    uint64_t content_length = 0;
    int16_t host = -1;          // index of the Host field (requests), -1: none
    Span authority;             // absolute-form target's host[:port] (requests), else empty
    bool connection_close = false;       // Connection: close (or 1.0 without keep-alive)
    bool connection_keep_alive = false;  // Connection: keep-alive token
    bool connection_upgrade = false;     // Connection: upgrade token
    bool upgrade_websocket = false;      // Upgrade: websocket (request), or the 101's Upgrade
    bool expect_continue = false;        // Expect: 100-continue (requests, 1.1 only)
    bool te_trailers = false;            // TE lists "trailers"
    bool event_stream = false;           // Content-Type: text/event-stream (responses)
    bool no_reuse = false;               // response framed by both CL and TE (TE wins, CL is
                                         // dropped): never pool the server connection after it

    // Whether the client (request) or server (response) lets the connection
    // persist after this message (RFC 9112 §9.3).
    bool keep_alive() const { return !connection_close && (version_minor >= 1 || connection_keep_alive); }
    std::string_view field_name(size_t i, const char* buf) const { return fields[i].name.in(buf); }
    std::string_view field_value(size_t i, const char* buf) const { return fields[i].value.in(buf); }
    // First field with this name (case-insensitive), or -1.
    int find(std::string_view name, const char* buf) const;
};

enum class Parse : uint8_t { NeedMore, Done, Error };

// Incremental head parser. Feed it the whole buffer received so far (offset 0
// is the first byte of the head) each time more arrives; it resumes where it
// stopped (no rescan: slowloris costs linear time) and never reads past the
// end of the head. On Error, error_status() says what to answer: for requests
// 400, 414, 417, 431, 501 or 505; for responses 502. Pass the same Head to
// every call until Done or Error (the fields are filled as they are read).
class HeadParser {
public:
    enum class Kind : uint8_t { Request, Response };
    // `max_head` bytes at most (else 431 / 502); for a response, `request`
    // is the method it answers (HEAD: no body) .
    void reset(Kind kind, size_t max_head, Method request = Method::Get);
    Parse parse(const char* buf, size_t len, Head& head);
    int error_status() const { return error_status_; }
    const char* error_reason() const { return error_reason_; }  // for logs: "Content-Length and Transfer-Encoding"

private:
    Kind kind_ = Kind::Request;
    Method request_ = Method::Get;
    size_t max_head_ = 16384;
    uint32_t pos_ = 0;          // next byte to look at
    uint8_t state_ = 0;
    uint32_t mark_ = 0;         // start of the token being scanned
    bool started_ = false;      // the Head was cleared for this message
    int error_status_ = 0;
    const char* error_reason_ = "";
    Parse fail(int status, const char* reason);
    Parse finish(const char* buf, Head& head);  // the semantic pass
};

// Reads a chunked body and writes it out again, incrementally: as canonical
// chunks ("<hex>\r\n" data "\r\n", no extensions, last chunk and trailers
// kept) or as plain data (de-chunked, for an HTTP/1.0 client). A chunk may
// span any number of feeds. Invalid framing (bad size, missing CRLF after the
// data, bare CR/LF, extension over kMaxChunkExt, size over kMaxChunkSize,
// invalid trailer field) is an error.
class ChunkedTranscoder {
public:
    enum class Output : uint8_t { Chunked, Plain };
    struct Result {
        size_t consumed = 0;  // input bytes used
        size_t produced = 0;  // output bytes written
        bool done = false;    // the whole body (last chunk, trailers, final CRLF) was read
        bool error = false;
    };
    void reset(Output out);
    // Writes at most out_cap bytes (out_cap >= 32 always allows progress).
    Result feed(const char* in, size_t in_len, char* out, size_t out_cap);
    bool done() const;
    // Data bytes announced by the chunk sizes read so far (a body limit can
    // refuse a chunk before its data arrives).
    uint64_t announced() const { return announced_; }

private:
    Output output_ = Output::Chunked;
    uint8_t state_ = 0;
    uint64_t remaining_ = 0;     // data bytes left in the current chunk
    uint64_t size_ = 0;          // size being read
    uint64_t announced_ = 0;     // sum of the chunk sizes read
    uint32_t count_ = 0;         // digits / extension bytes / trailer bytes so far
    // Framing waiting for room in `out` ("<hex>\r\n", "\r\n", a trailer byte):
    // it leaves before any further input is read, so the output never
    // depends on how input or output were cut.
    char pending_[24];
    uint8_t pending_len_ = 0;
    uint8_t pending_off_ = 0;
    void emit(const char* s, size_t n);
};

// What the proxy knows about the request's client side.
struct ClientInfo {
    const net::Address* peer = nullptr;  // the TCP peer
    bool trusted = false;                // peer is in http.trusted_proxies
    bool tls = false;                    // X-Forwarded-Proto: https
};

// Changes the gateway's middlewares make to a head on its way through
// (http::Plan holds them): a new path (the query is kept), fields removed by
// name (every line, case-insensitive; the proxy's own forwarding fields too,
// never the framing fields), and lines added at the end ("Name: value\r\n").
struct HeadEdits {
    std::string_view path;                     // empty: unchanged
    std::span<const std::string_view> remove;
    std::string_view add;
    bool removes(std::string_view name) const;
};

// Writes the request head to send to the server (research/http.md §2):
// request line in origin-form ("GET /x?q HTTP/1.1", absolute-form becomes
// origin-form), fields canonically "Name: value\r\n", hop-by-hop fields
// removed (Connection and the fields it names except protected ones,
// Keep-Alive, Proxy-Connection, TE (kept as "TE: trailers" when listed),
// Trailer (kept before a chunked body, whose trailers are relayed), Upgrade,
// HTTP2-Settings, Proxy-Authorization), X-Forwarded-For
// appended to (one line), X-Real-IP / X-Forwarded-Proto / X-Forwarded-Host set
// (kept from a trusted peer), Content-Length normalised ("002" -> "2"), Expect
// dropped for HTTP/1.0, and for a WebSocket upgrade "Connection: Upgrade" and
// "Upgrade: websocket". No Connection field otherwise (persistent 1.1).
// Returns the bytes written, or 0 when it does not fit in `cap`.
size_t write_request_head(const char* buf, const Head& req, const ClientInfo& client, char* out, size_t cap,
                          const HeadEdits& edits = {});

struct ResponseInfo {
    uint8_t client_minor = 1;   // the client's HTTP/1.<minor>
    bool keep_alive = true;     // the proxy keeps the client connection after this response
    bool dechunk = false;       // chunked from the server, plain to an HTTP/1.0 client
    bool upgrade = false;       // a 101 to a WebSocket request: keep Connection/Upgrade
};

// Writes the response head for the client: status line "HTTP/1.1 <status>
// <reason>", hop-by-hop fields removed, "Connection: close" when not keeping
// the client connection, "Connection: keep-alive" for a kept HTTP/1.0 client
// (neither on an interim 1xx other than the upgrade's 101), Transfer-Encoding
// and Trailer removed when de-chunking, Content-Length removed beside chunked.
// Returns the bytes written, or 0 when it does not fit.
size_t write_response_head(const char* buf, const Head& resp, const ResponseInfo& info, char* out, size_t cap,
                           const HeadEdits& edits = {});

// A complete answer made by the proxy itself: "HTTP/1.1 <status> <reason>",
// Content-Type: text/plain, Content-Length, "Connection: close" when `close`,
// any `extra` header lines (each ending in \r\n), and the body "<status>
// <reason>\n" (none for a HEAD request). Returns bytes written (0: no room).
size_t write_error(int status, bool close, bool head_request, std::string_view extra, char* out, size_t cap);
std::string_view reason_phrase(int status);

}  // namespace ep::http
