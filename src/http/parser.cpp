// parser.cpp: the strict, resumable HTTP/1.1 head parser (RFC 9112 §2-§5) and
// its semantic pass over the fields (framing, Host, Connection, Upgrade,
// Expect), with the answers of research/http.md §1 for every ambiguity.
#include <cstring>

#include "http/lex.hpp"
#include "http/message.hpp"

namespace ep::http {

using namespace lex;

namespace lex {

Name name_of(std::string_view n) {
    // Length first: most fields are ruled out without reading a byte.
    switch (n.size()) {
    case 2:
        if (ieq(n, "te")) return Name::TE;
        break;
    case 4:
        if (ieq(n, "host")) return Name::Host;
        break;
    case 6:
        if (ieq(n, "expect")) return Name::Expect;
        break;
    case 7:
        if (ieq(n, "upgrade")) return Name::Upgrade;
        if (ieq(n, "trailer")) return Name::Trailer;
        break;
    case 9:
        if (ieq(n, "x-real-ip")) return Name::XRealIp;
        break;
    case 10:
        if (ieq(n, "connection")) return Name::Connection;
        if (ieq(n, "keep-alive")) return Name::KeepAlive;
        break;
    case 12:
        if (ieq(n, "content-type")) return Name::ContentType;
        break;
    case 14:
        if (ieq(n, "content-length")) return Name::ContentLength;
        if (ieq(n, "http2-settings")) return Name::Http2Settings;
        break;
    case 15:
        if (ieq(n, "x-forwarded-for")) return Name::XForwardedFor;
        break;
    case 16:
        if (ieq(n, "proxy-connection")) return Name::ProxyConnection;
        if (ieq(n, "x-forwarded-host")) return Name::XForwardedHost;
        break;
    case 17:
        if (ieq(n, "transfer-encoding")) return Name::TransferEncoding;
        if (ieq(n, "x-forwarded-proto")) return Name::XForwardedProto;
        break;
    case 18:
        if (ieq(n, "proxy-authenticate")) return Name::ProxyAuthenticate;
        break;
    case 19:
        if (ieq(n, "proxy-authorization")) return Name::ProxyAuthorization;
        break;
    default:
        break;
    }
    return Name::Other;
}

}  // namespace lex

bool idempotent(Method m) {
    switch (m) {
    case Method::Get:
    case Method::Head:
    case Method::Options:
    case Method::Trace:
    case Method::Put:
    case Method::Delete:
        return true;
    default:
        return false;
    }
}

Method method_of(std::string_view m) {
    switch (m.size()) {
    case 3:
        if (m == "GET") return Method::Get;
        if (m == "PUT") return Method::Put;
        break;
    case 4:
        if (m == "HEAD") return Method::Head;
        if (m == "POST") return Method::Post;
        break;
    case 5:
        if (m == "TRACE") return Method::Trace;
        if (m == "PATCH") return Method::Patch;
        break;
    case 6:
        if (m == "DELETE") return Method::Delete;
        break;
    case 7:
        if (m == "OPTIONS") return Method::Options;
        if (m == "CONNECT") return Method::Connect;
        break;
    default:
        break;
    }
    return Method::Other;
}

int Head::find(std::string_view name, const char* buf) const {
    for (size_t i = 0; i < field_count; ++i)
        if (ieq(fields[i].name.in(buf), name)) return int(i);
    return -1;
}

namespace {

enum State : uint8_t {
    sLineStart,  // request: optional empty lines, then the method
    sLineStartLf,
    sMethod,
    sTarget,
    sVersion,    // "HTTP/1.x" of a request line, then CR
    sLineLf,
    sStatusVersion,  // "HTTP/1.x " of a status line
    sStatusCode,
    sReason,
    sStatusLf,
    sFieldStart,
    sName,
    sValueLead,
    sValue,
    sValueLf,
    sEndLf,
    sDone,
    sError,
};

// 1*DIGIT, leading zeros allowed ("002" is 2); no sign, list or spaces.
bool parse_content_length(std::string_view v, uint64_t& out) {
    if (v.empty()) return false;
    uint64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return false;
        if (n > (uint64_t(1) << 59)) return false;  // far past any real body; no overflow
        n = n * 10 + uint64_t(c - '0');
    }
    out = n;
    return true;
}

bool token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is(uint8_t(c), kTchar)) return false;
    return true;
}

// Transfer-Encoding: exactly "chunked" is the one framing we relay. Valid
// codings before a final chunked are understood but not implemented (501);
// anything else is an ambiguity (400).
enum class Te : uint8_t { Chunked, Unsupported, Invalid };
Te classify_te(std::string_view v) {
    if (ieq(v, "chunked")) return Te::Chunked;
    // A list: every element a token (empty elements are an error here, a
    // leading "," included), chunked once and last.
    size_t start = 0;
    bool chunked_seen = false, last_chunked = false;
    for (;;) {
        size_t comma = v.find(',', start);
        std::string_view e = v.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        while (!e.empty() && ows(e.front())) e.remove_prefix(1);
        while (!e.empty() && ows(e.back())) e.remove_suffix(1);
        if (!token(e)) return Te::Invalid;
        last_chunked = ieq(e, "chunked");
        if (last_chunked && chunked_seen) return Te::Invalid;
        chunked_seen |= last_chunked;
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return last_chunked ? Te::Unsupported : Te::Invalid;
}

// uri-host [":" port] (RFC 9110 §7.2); an empty Host is legal.
bool valid_host(std::string_view h, bool need_port = false) {
    size_t i = 0;
    if (!h.empty() && h[0] == '[') {
        const size_t close = h.find(']');
        if (close == std::string_view::npos || close < 2) return false;
        for (i = 1; i < close; ++i) {
            const uint8_t c = uint8_t(h[i]);
            if (!is(c, kHex) && c != ':' && c != '.') return false;
        }
        i = close + 1;
    } else {
        while (i < h.size() && is(uint8_t(h[i]), kHost)) ++i;
    }
    if (i == h.size()) return !need_port;
    if (h[i] != ':') return false;
    if (need_port && i + 1 == h.size()) return false;
    for (++i; i < h.size(); ++i)
        if (!is(uint8_t(h[i]), kDigit)) return false;
    return true;
}

bool list_has(std::string_view v, std::string_view tok) {
    ListWalker w{v};
    std::string_view e;
    while (w.next(e)) {
        // "trailers;q=1", "websocket/13": the name before any parameter or version
        const size_t cut = e.find_first_of(";/");
        if (cut != std::string_view::npos) e = e.substr(0, cut);
        while (!e.empty() && ows(e.back())) e.remove_suffix(1);
        if (ieq(e, tok)) return true;
    }
    return false;
}

}  // namespace

void HeadParser::reset(Kind kind, size_t max_head, Method request) {
    kind_ = kind;
    request_ = request;
    max_head_ = max_head;
    pos_ = 0;
    state_ = kind == Kind::Request ? sLineStart : sStatusVersion;
    mark_ = 0;
    started_ = false;
    error_status_ = 0;
    error_reason_ = "";
}

Parse HeadParser::fail(int status, const char* reason) {
    state_ = sError;
    error_status_ = kind_ == Kind::Request ? status : 502;
    error_reason_ = reason;
    return Parse::Error;
}

Parse HeadParser::parse(const char* buf, size_t len, Head& h) {
    if (state_ == sDone) return Parse::Done;
    if (state_ == sError) return Parse::Error;
    if (!started_) {
        started_ = true;
        // Everything but the fields array, which field_count bounds.
        h.method = Method::Other;
        h.method_text = h.target = h.path = h.query = h.reason = h.authority = Span{};
        h.status = 0;
        h.version_minor = 1;
        h.field_count = 0;
        h.length = 0;
        h.body = Body::None;
        h.content_length = 0;
        h.host = -1;
        h.connection_close = h.connection_keep_alive = h.connection_upgrade = false;
        h.upgrade_websocket = h.expect_continue = h.te_trailers = h.event_stream = h.no_reuse = false;
    }
    const bool request = kind_ == Kind::Request;
    const auto* b = reinterpret_cast<const uint8_t*>(buf);
    // Bytes past max_head are never looked at: reaching it unfinished is the error.
    const size_t limit = len < max_head_ ? len : max_head_;
    size_t p = pos_;

    while (p < limit) {
        switch (state_) {
        case sLineStart:
            // RFC 9112 §2.2: empty lines before a request line are ignored
            // (a client may add CRLF after a body).
            if (b[p] == '\r') {
                state_ = sLineStartLf;
                ++p;
            } else if (is(b[p], kTchar)) {
                mark_ = uint32_t(p);
                state_ = sMethod;
            } else {
                return fail(400, "invalid request line");
            }
            break;
        case sLineStartLf:
            if (b[p] != '\n') return fail(400, "bare CR");
            state_ = sLineStart;
            ++p;
            break;
        case sMethod: {
            const size_t stop = mark_ + kMaxMethod + 1 < limit ? mark_ + kMaxMethod + 1 : limit;
            while (p < stop && is(b[p], kTchar)) ++p;
            if (p - mark_ > kMaxMethod) return fail(501, "method too long");
            if (p == limit) break;
            if (b[p] != ' ') return fail(400, "invalid method");
            h.method_text = Span{mark_, uint32_t(p - mark_)};
            h.method = method_of(h.method_text.in(buf));
            mark_ = uint32_t(++p);
            state_ = sTarget;
            break;
        }
        case sTarget: {
            const size_t stop = mark_ + kMaxTarget + 1 < limit ? mark_ + kMaxTarget + 1 : limit;
            while (p < stop && is(b[p], kTarget)) ++p;
            if (p - mark_ > kMaxTarget) return fail(414, "request target too long");
            if (p == limit) break;
            if (b[p] != ' ' || p == mark_) return fail(400, "invalid request target");
            h.target = Span{mark_, uint32_t(p - mark_)};
            mark_ = uint32_t(++p);
            state_ = sVersion;
            break;
        }
        case sVersion:
            // the common case whole: "HTTP/1.1\r\n"
            if (p == mark_ && limit - p >= 10 && std::memcmp(b + p, "HTTP/1.", 7) == 0 && is(b[p + 7], kDigit) &&
                b[p + 8] == '\r' && b[p + 9] == '\n') {
                h.version_minor = b[p + 7] == '0' ? 0 : 1;
                p += 10;
                state_ = sFieldStart;
                break;
            }
            [[fallthrough]];
        case sStatusVersion: {
            // "HTTP/" DIGIT "." DIGIT, exactly: "HTTP/1.10" and "HTTP/11.1" are not versions.
            const size_t i = p - mark_;
            const uint8_t c = b[p];
            if (i < 5) {
                if (c != "HTTP/"[i]) return fail(400, "invalid version");
            } else if (i == 5) {
                if (c != '1') return fail(is(c, kDigit) ? 505 : 400, "HTTP major version not 1");
            } else if (i == 6) {
                if (c != '.') return fail(400, "invalid version");
            } else if (i == 7) {
                if (!is(c, kDigit)) return fail(400, "invalid version");
                h.version_minor = c == '0' ? 0 : 1;  // 1.2 and up are answered as 1.1 (RFC 9110 §2.5)
            } else if (state_ == sVersion) {
                if (c != '\r') return fail(400, c == '\n' ? "bare LF" : "invalid version");
                state_ = sLineLf;
            } else {
                if (c != ' ') return fail(502, "invalid status line");
                mark_ = uint32_t(p + 1);
                state_ = sStatusCode;
            }
            ++p;
            break;
        }
        case sLineLf:
            if (b[p] != '\n') return fail(400, "bare CR");
            state_ = sFieldStart;
            ++p;
            break;
        case sStatusCode: {
            const size_t i = p - mark_;
            const uint8_t c = b[p];
            if (i < 3) {
                if (!is(c, kDigit)) return fail(502, "invalid status code");
                h.status = h.status * 10 + (c - '0');
                ++p;
                break;
            }
            if (h.status < 100) return fail(502, "invalid status code");
            // The SP before an empty reason is often left out; tolerated.
            if (c == ' ') {
                mark_ = uint32_t(++p);
                state_ = sReason;
            } else if (c == '\r' || c == '\n') {
                mark_ = uint32_t(p);
                state_ = sReason;
            } else {
                return fail(502, "invalid status code");
            }
            break;
        }
        case sReason:
            while (p < limit && is(b[p], kValue)) ++p;
            if (p == limit) break;
            h.reason = Span{mark_, uint32_t(p - mark_)};
            if (b[p] == '\r') {
                state_ = sStatusLf;
            } else if (b[p] == '\n') {
                state_ = sFieldStart;
            } else {
                return fail(502, "invalid reason phrase");
            }
            ++p;
            break;
        case sStatusLf:
            if (b[p] != '\n') return fail(502, "bare CR");
            state_ = sFieldStart;
            ++p;
            break;
        // A field line runs through these four cases in one go; the switch
        // is entered again only where the bytes ran out.
        case sFieldStart:
            if (b[p] == '\r') {
                state_ = sEndLf;
                ++p;
                break;
            }
            if (!is(b[p], kTchar)) {
                if (b[p] == '\n' && !request) {
                    h.length = uint32_t(++p);
                    pos_ = uint32_t(p);
                    state_ = sDone;
                    return finish(buf, h);
                }
                if (b[p] == ' ' || b[p] == '\t') return fail(400, "obs-fold or whitespace before a field");
                return fail(400, b[p] == '\n' ? "bare LF" : "invalid field name");
            }
            if (h.field_count == kMaxFields) return fail(431, "too many header fields");
            mark_ = uint32_t(p);
            state_ = sName;
            [[fallthrough]];
        case sName:
            while (p < limit && is(b[p], kTchar)) ++p;
            if (p == limit) break;
            if (b[p] != ':') return fail(400, ows(char(b[p])) ? "whitespace before colon" : "invalid field name");
            h.fields[h.field_count].name = Span{mark_, uint32_t(p - mark_)};
            state_ = sValueLead;
            if (++p == limit) break;
            [[fallthrough]];
        case sValueLead:
            while (p < limit && (b[p] == ' ' || b[p] == '\t')) ++p;
            if (p == limit) break;
            mark_ = uint32_t(p);
            state_ = sValue;
            [[fallthrough]];
        case sValue: {
            // The hot loop: eight bytes per test for a control byte (< 0x20
            // or DEL); the lowest flagged byte is exact (borrows only run
            // upwards), so the scan lands on it. HTAB is the one allowed.
            while (p + 8 <= limit) {
                uint64_t v;
                std::memcpy(&v, b + p, 8);
                const uint64_t del = v ^ 0x7f7f7f7f7f7f7f7full;
                const uint64_t ctl = (((v - 0x2020202020202020ull) & ~v) | ((del - 0x0101010101010101ull) & ~del)) &
                                     0x8080808080808080ull;
                if (ctl == 0) {
                    p += 8;
                    continue;
                }
                p += size_t(__builtin_ctzll(ctl)) / 8;
                if (b[p] != '\t') break;
                ++p;
            }
            while (p < limit && is(b[p], kValue)) ++p;
            if (p == limit) break;
            const uint8_t c = b[p];
            if (c != '\r' && (c != '\n' || request))
                return fail(400, c == '\n' ? "bare LF" : "control character in a field value");
            size_t end = p;
            while (end > mark_ && (b[end - 1] == ' ' || b[end - 1] == '\t')) --end;
            h.fields[h.field_count++].value = Span{mark_, uint32_t(end - mark_)};
            if (c == '\r' && p + 1 < limit && b[p + 1] == '\n') {
                p += 2;
                state_ = sFieldStart;
            } else {
                state_ = c == '\r' ? sValueLf : sFieldStart;
                ++p;
            }
            break;
        }
        case sValueLf:
            if (b[p] != '\n') return fail(400, "bare CR");
            state_ = sFieldStart;
            ++p;
            break;
        case sEndLf:
            if (b[p] != '\n') return fail(400, "bare CR");
            h.length = uint32_t(++p);
            pos_ = uint32_t(p);
            state_ = sDone;
            return finish(buf, h);
        default:
            return fail(400, "parser misuse");
        }
    }
    pos_ = uint32_t(p);
    if (len >= max_head_) return fail(431, "head too large");
    return Parse::NeedMore;
}

Parse HeadParser::finish(const char* buf, Head& h) {
    const bool request = kind_ == Kind::Request;
    int cl = -1, te = -1;
    bool upgrade_websocket = false, other_expectation = false;

    for (size_t i = 0; i < h.field_count; ++i) {
        const std::string_view value = h.fields[i].value.in(buf);
        switch (name_of(h.fields[i].name.in(buf))) {
        case Name::ContentLength:
            // Equal duplicates too: a second line is how CL.CL smuggling starts.
            if (cl >= 0) return fail(400, "duplicate Content-Length");
            cl = int(i);
            if (!parse_content_length(value, h.content_length)) return fail(400, "invalid Content-Length");
            break;
        case Name::TransferEncoding:
            if (te >= 0) return fail(400, "duplicate Transfer-Encoding");
            te = int(i);
            break;
        case Name::Host:
            if (!request) break;
            if (h.host >= 0) return fail(400, "duplicate Host");
            h.host = int16_t(i);
            if (!valid_host(value)) return fail(400, "invalid Host");
            break;
        case Name::Connection: {
            ListWalker w{value};
            std::string_view t;
            while (w.next(t)) {
                if (ieq(t, "close")) h.connection_close = true;
                else if (ieq(t, "keep-alive")) h.connection_keep_alive = true;
                else if (ieq(t, "upgrade")) h.connection_upgrade = true;
            }
            break;
        }
        case Name::Upgrade:
            upgrade_websocket |= list_has(value, "websocket");
            break;
        case Name::Expect:
            if (!request) break;
            if (ieq(value, "100-continue")) h.expect_continue = true;
            else other_expectation = true;
            break;
        case Name::TE:
            if (request) h.te_trailers |= list_has(value, "trailers");
            break;
        case Name::ContentType:
            if (!request) {
                std::string_view v = value.substr(0, value.find(';'));
                while (!v.empty() && ows(v.back())) v.remove_suffix(1);
                h.event_stream = ieq(v, "text/event-stream");
            }
            break;
        default:
            break;
        }
    }

    bool chunked = false;
    if (te >= 0) {
        if (h.version_minor == 0) return fail(400, "Transfer-Encoding on HTTP/1.0");
        switch (classify_te(h.fields[size_t(te)].value.in(buf))) {
        case Te::Chunked:
            break;
        case Te::Unsupported:
            return fail(501, "transfer coding before chunked");
        case Te::Invalid:
            return fail(400, "invalid Transfer-Encoding");
        }
        // RFC 9112 §6.1: a request with both is refused; a response is
        // chunked (TE wins), but its connection is not trusted again.
        if (cl >= 0) {
            if (request) return fail(400, "Content-Length and Transfer-Encoding");
            h.no_reuse = true;
        }
        chunked = true;
    }
    if (h.version_minor == 0 && !h.connection_keep_alive) h.connection_close = true;

    if (!request) {
        const bool bodiless = request_ == Method::Head || h.status < 200 || h.status == 204 || h.status == 304;
        h.body = bodiless ? Body::None : chunked ? Body::Chunked : cl >= 0 ? Body::Length : Body::UntilClose;
        h.upgrade_websocket = h.status == 101 && upgrade_websocket;
        return Parse::Done;
    }

    // The request target (RFC 9112 §3.2) and its agreement with Host.
    const std::string_view target = h.target.in(buf);
    const uint32_t toff = h.target.off;
    if (target[0] == '/') {
        if (h.method == Method::Connect) return fail(400, "CONNECT needs host:port");
        const size_t q = target.find('?');
        h.path = Span{toff, uint32_t(q == std::string_view::npos ? target.size() : q)};
        if (q != std::string_view::npos) h.query = Span{uint32_t(toff + q + 1), uint32_t(target.size() - q - 1)};
    } else if (target == "*") {
        if (h.method != Method::Options) return fail(400, "'*' target outside OPTIONS");
    } else if (h.method == Method::Connect) {
        if (!valid_host(target, true)) return fail(400, "invalid CONNECT target");
        h.authority = h.target;
    } else {
        // absolute-form: http(s)://authority[/path][?query]
        size_t s = target.find("://");
        if (s == std::string_view::npos || !(ieq(target.substr(0, s), "http") || ieq(target.substr(0, s), "https")))
            return fail(400, "invalid request target");
        s += 3;
        size_t e = target.find_first_of("/?", s);
        if (e == std::string_view::npos) e = target.size();
        const std::string_view authority = target.substr(s, e - s);
        if (authority.empty() || !valid_host(authority)) return fail(400, "invalid authority in request target");
        h.authority = Span{uint32_t(toff + s), uint32_t(e - s)};
        const size_t q = target.find('?', e);
        const size_t path_end = q == std::string_view::npos ? target.size() : q;
        h.path = Span{uint32_t(toff + e), uint32_t(path_end - e)};
        if (q != std::string_view::npos) h.query = Span{uint32_t(toff + q + 1), uint32_t(target.size() - q - 1)};
        if (h.host >= 0 && !ieq(authority, h.fields[size_t(h.host)].value.in(buf)))
            return fail(400, "request target authority differs from Host");
    }
    if (h.version_minor >= 1 && h.host < 0) return fail(400, "missing Host");

    if (h.version_minor == 0) {
        h.expect_continue = false;  // RFC 9110 §10.1.1: ignored on HTTP/1.0
    } else if (other_expectation) {
        return fail(417, "unsupported expectation");
    }
    h.body = chunked ? Body::Chunked : cl >= 0 ? Body::Length : Body::None;
    h.upgrade_websocket =
        upgrade_websocket && h.connection_upgrade && h.method == Method::Get && h.version_minor >= 1;
    return Parse::Done;
}

}  // namespace ep::http
