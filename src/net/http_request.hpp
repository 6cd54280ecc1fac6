// http_request.hpp: reading an HTTP/1.x request head (RFC 9112) from the bytes
// received so far, for the stats endpoint. Pure: no I/O, no allocation; the
// caller keeps the buffer and gets views into it.
#pragma once
#include <cstddef>
#include <string_view>

namespace ep::net {

constexpr size_t kMaxRequestLine = 2048;  // without its line break; longer: 414
constexpr size_t kMaxRequestHead = 8192;  // request line + header fields + blank line; longer: 431

struct HttpRequest {
    // Filled as soon as the request line is read, even when a header field
    // fails later, so that an error answer to HEAD can leave out its body.
    std::string_view method;
    std::string_view target;   // as sent: origin-form, absolute-form, "*", ...
    std::string_view version;  // "HTTP/1.0", "HTTP/1.1", ...
    // Filled only for a complete head. The path of an origin-form or
    // absolute-form target ("/" for "http://host"), without query or
    // fragment; empty for other forms ("*", "host:port").
    std::string_view path;
    std::string_view query;  // after '?', without fragment; empty without one

    bool is_head() const { return method == "HEAD"; }
};

enum class HeadStatus {
    NeedMore = 0,  // no error yet, but the head is not complete
    Complete = 200,
    BadRequest = 400,
    UriTooLong = 414,
    FieldsTooLarge = 431,
    VersionNotSupported = 505,  // HTTP/0.x, HTTP/2.0 and later
};

struct HeadResult {
    HeadStatus status = HeadStatus::NeedMore;
    const char* reason = "";  // for an error, why, for logs; "" otherwise

    int http_status() const { return static_cast<int>(status); }  // 0 for NeedMore
};

// Reads the request head at the start of `data` (the bytes after it, a body,
// are not looked at). Errors are found as early as the bytes allow, so garbage
// is refused without waiting for a blank line. Accepts a bare LF as line end,
// up to 8 empty lines before the request line, and any method: which methods
// and paths are served is the caller's choice.
HeadResult parse_request_head(std::string_view data, HttpRequest& req);

}  // namespace ep::net
