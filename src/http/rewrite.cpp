// rewrite.cpp: the heads the proxy sends on (research/http.md §2, §3, §5):
// requests to servers with hop-by-hop fields removed and X-Forwarded-* added,
// responses to clients, and the proxy's own short error answers.
#include <arpa/inet.h>

#include <cstring>

#include "http/lex.hpp"
#include "http/message.hpp"

namespace ep::http {

using namespace lex;

namespace {

// Appends to a fixed buffer; remembers running out of room instead of
// checking at every call site.
struct Out {
    char* p;
    char* end;
    bool full = false;
    void put(const char* s, size_t n) {
        if (full || size_t(end - p) < n) {
            full = true;
            return;
        }
        if (n == 0) return;  // an empty view may have no data pointer
        std::memcpy(p, s, n);
        p += n;
    }
    void put(std::string_view s) { put(s.data(), s.size()); }  // literals: length folded
    void put_uint(uint64_t v) {
        char d[20];
        size_t n = 0;
        do d[sizeof d - ++n] = char('0' + v % 10);
        while ((v /= 10) != 0);
        put(d + sizeof d - n, n);
    }
    void field(std::string_view name, std::string_view value) {
        put(name);
        put(": ", 2);
        put(value);
        put("\r\n", 2);
    }
};

// The peer's IP as X-Forwarded-For writes it (IPv4-mapped IPv6 as IPv4);
// empty for a unix-socket peer.
std::string_view peer_ip(const net::Address* a, char (&buf)[INET6_ADDRSTRLEN]) {
    if (a == nullptr) return {};
    const uint8_t* v4 = nullptr;
    if (a->family() == AF_INET) {
        v4 = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(a->sa())->sin_addr);
    } else if (a->family() == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6*>(a->sa())->sin6_addr;
        if (!IN6_IS_ADDR_V4MAPPED(&in6)) {
            const char* s = inet_ntop(AF_INET6, &in6, buf, sizeof buf);
            return s ? std::string_view(s) : std::string_view();
        }
        v4 = &in6.s6_addr[12];
    } else {
        return {};
    }
    // IPv4 by hand: inet_ntop costs more than the rest of the head rewrite
    size_t n = 0;
    for (int i = 0; i < 4; ++i) {
        const unsigned x = v4[i];
        if (x >= 100) buf[n++] = char('0' + x / 100);
        if (x >= 10) buf[n++] = char('0' + x / 10 % 10);
        buf[n++] = char('0' + x % 10);
        if (i < 3) buf[n++] = '.';
    }
    return {buf, n};
}

// Whether a Connection field of the message names this field (RFC 9110
// §7.6.1), which makes it hop-by-hop. `ids` holds name_of() of every field.
bool nominated(const Head& h, const char* buf, const Name* ids, std::string_view name) {
    for (size_t i = 0; i < h.field_count; ++i) {
        if (ids[i] != Name::Connection) continue;
        ListWalker w{h.fields[i].value.in(buf)};
        std::string_view t;
        while (w.next(t))
            if (ieq(t, name)) return true;
    }
    return false;
}

// Fields a Connection token can never remove: framing, Host, and the
// forwarding fields the proxy itself answers for.
// Fields about one connection, never forwarded in either direction (RFC 9110
// §7.6.1; h2c's HTTP2-Settings too). TE and Upgrade are written again by the
// request writer when they apply.
bool hop_by_hop(Name n) {
    switch (n) {
    case Name::Connection:
    case Name::KeepAlive:
    case Name::ProxyConnection:
    case Name::TE:
    case Name::Upgrade:
    case Name::Http2Settings:
        return true;
    default:
        return false;
    }
}

bool protected_name(Name n) {
    switch (n) {
    case Name::Host:
    case Name::ContentLength:
    case Name::TransferEncoding:
    case Name::XForwardedFor:
    case Name::XForwardedProto:
    case Name::XForwardedHost:
    case Name::XRealIp:
        return true;
    default:
        return false;
    }
}

// Names every field once; returns whether a Connection token other than
// close, keep-alive and upgrade names fields to remove.
bool name_fields(const Head& h, const char* buf, Name* ids) {
    bool names_others = false;
    for (size_t i = 0; i < h.field_count; ++i) {
        ids[i] = name_of(h.fields[i].name.in(buf));
        if (ids[i] != Name::Connection || names_others) continue;
        ListWalker w{h.fields[i].value.in(buf)};
        std::string_view t;
        while (w.next(t))
            if (!ieq(t, "close") && !ieq(t, "keep-alive") && !ieq(t, "upgrade")) names_others = true;
    }
    return names_others;
}

bool framing(Name n) { return n == Name::ContentLength || n == Name::TransferEncoding; }

}  // namespace

bool HeadEdits::removes(std::string_view name) const {
    for (std::string_view r : remove)
        if (ieq(r, name)) return true;
    return false;
}

size_t write_request_head(const char* buf, const Head& req, const ClientInfo& client, char* out, size_t cap,
                          const HeadEdits& edits) {
    Out w{out, out + cap};
    const std::string_view target = req.target.in(buf);
    const bool removing = !edits.remove.empty();
    auto kept = [&](std::string_view name) { return !removing || !edits.removes(name); };

    w.put(req.method_text.in(buf));
    w.put(" ");
    if (!edits.path.empty()) {
        w.put(edits.path);
        const size_t q = target.find('?');
        if (q != std::string_view::npos) w.put(target.substr(q));
    } else if (!req.authority.empty() && req.method != Method::Connect) {
        // absolute-form becomes origin-form: what follows the authority
        const size_t tail = req.authority.off + req.authority.len - req.target.off;
        const std::string_view rest = target.substr(tail);
        if (rest.empty() || rest[0] == '?') w.put("/");
        w.put(rest);
    } else {
        w.put(target);
    }
    w.put(" HTTP/1.1\r\n");

    Name ids[kMaxFields];
    const bool check_nominated = name_fields(req, buf, ids);
    std::string_view host;
    bool have_xff = false, have_real_ip = false, have_proto = false, have_fwd_host = false;
    for (size_t i = 0; i < req.field_count; ++i) {
        const std::string_view name = req.fields[i].name.in(buf);
        const std::string_view value = req.fields[i].value.in(buf);
        const Name id = ids[i];
        if (check_nominated && !protected_name(id) && nominated(req, buf, ids, name)) continue;
        if (hop_by_hop(id)) continue;
        if (removing && !framing(id) && edits.removes(name)) {
            if (id == Name::Host) host = value;  // still the client's authority for X-Forwarded-Host
            continue;
        }
        switch (id) {
        case Name::ProxyAuthorization:
            continue;  // meant for this proxy
        case Name::Trailer:
            // announces the trailers of a chunked body, which are relayed
            if (req.body != Body::Chunked) continue;
            break;
        case Name::ContentLength:
            w.put("Content-Length: ");
            w.put_uint(req.content_length);
            w.put("\r\n");
            continue;
        case Name::TransferEncoding:
            w.put("Transfer-Encoding: chunked\r\n");
            continue;
        case Name::Host:
            host = value;
            break;
        case Name::Expect:
            if (req.version_minor == 0) continue;
            break;
        case Name::XForwardedFor:
            have_xff = true;
            continue;  // joined into one line below
        case Name::XRealIp:
            have_real_ip = true;
            if (!client.trusted) continue;
            break;
        case Name::XForwardedProto:
            have_proto = true;
            if (!client.trusted) continue;
            break;
        case Name::XForwardedHost:
            have_fwd_host = true;
            if (!client.trusted) continue;
            break;
        default:
            break;
        }
        w.field(name, value);
    }

    // An HTTP/1.0 request may come without Host; the 1.1 request we send
    // needs one (RFC 9112 §3.2: empty when the authority is unknown).
    if (req.host < 0) {
        host = req.authority.in(buf);
        w.field("Host", host);
    }

    char ip_buf[INET6_ADDRSTRLEN];
    const std::string_view ip = peer_ip(client.peer, ip_buf);
    if ((have_xff || !ip.empty()) && kept("X-Forwarded-For")) {
        w.put("X-Forwarded-For: ");
        bool first = true;
        for (size_t i = 0; have_xff && i < req.field_count; ++i) {
            if (ids[i] != Name::XForwardedFor) continue;
            const std::string_view v = req.fields[i].value.in(buf);
            if (v.empty()) continue;
            if (!first) w.put(", ");
            w.put(v);
            first = false;
        }
        if (!ip.empty()) {
            if (!first) w.put(", ");
            w.put(ip);
        }
        w.put("\r\n");
    }
    const bool keep = client.trusted;
    if (!(keep && have_real_ip) && !ip.empty() && kept("X-Real-IP")) w.field("X-Real-IP", ip);
    if (!(keep && have_proto) && kept("X-Forwarded-Proto")) w.field("X-Forwarded-Proto", client.tls ? "https" : "http");
    if (!(keep && have_fwd_host) && !host.empty() && kept("X-Forwarded-Host")) w.field("X-Forwarded-Host", host);
    w.put(edits.add);
    if (req.te_trailers) w.put("TE: trailers\r\n");
    if (req.upgrade_websocket) w.put("Connection: Upgrade\r\nUpgrade: websocket\r\n");
    w.put("\r\n");
    return w.full ? 0 : size_t(w.p - out);
}

size_t write_response_head(const char* buf, const Head& resp, const ResponseInfo& info, char* out, size_t cap,
                           const HeadEdits& edits) {
    Out w{out, out + cap};
    const bool removing = !edits.remove.empty();
    w.put("HTTP/1.1 ");
    const char code[3] = {char('0' + resp.status / 100 % 10), char('0' + resp.status / 10 % 10),
                          char('0' + resp.status % 10)};
    w.put(code, 3);
    w.put(" ");
    w.put(resp.reason.empty() ? reason_phrase(resp.status) : resp.reason.in(buf));
    w.put("\r\n");

    Name ids[kMaxFields];
    const bool check_nominated = name_fields(resp, buf, ids);
    for (size_t i = 0; i < resp.field_count; ++i) {
        const std::string_view name = resp.fields[i].name.in(buf);
        const Name id = ids[i];
        if (check_nominated && !protected_name(id) && nominated(resp, buf, ids, name)) continue;
        if (hop_by_hop(id)) continue;
        if (removing && !framing(id) && edits.removes(name)) continue;
        switch (id) {
        case Name::ProxyAuthenticate:
            continue;  // from this proxy's hop only
        case Name::Trailer:
            // announces trailers, which a de-chunked body loses
            if (info.dechunk || resp.body != Body::Chunked) continue;
            break;
        case Name::ContentLength:
            // beside Transfer-Encoding it is a lie (RFC 9112 §6.3): drop it
            if (resp.body == Body::Chunked) continue;
            w.put("Content-Length: ");
            w.put_uint(resp.content_length);
            w.put("\r\n");
            continue;
        case Name::TransferEncoding:
            if (!info.dechunk) w.put("Transfer-Encoding: chunked\r\n");
            continue;
        default:
            break;
        }
        w.field(name, resp.fields[i].value.in(buf));
    }
    w.put(edits.add);
    // An interim response says nothing about the connection.
    if (info.upgrade) w.put("Connection: Upgrade\r\nUpgrade: websocket\r\n");
    else if (resp.status < 200) {
    } else if (!info.keep_alive) w.put("Connection: close\r\n");
    else if (info.client_minor == 0) w.put("Connection: keep-alive\r\n");
    w.put("\r\n");
    return w.full ? 0 : size_t(w.p - out);
}

size_t write_error(int status, bool close, bool head_request, std::string_view extra, char* out, size_t cap) {
    Out w{out, out + cap};
    const std::string_view reason = reason_phrase(status);
    const char code[3] = {char('0' + status / 100 % 10), char('0' + status / 10 % 10), char('0' + status % 10)};
    w.put("HTTP/1.1 ");
    w.put(code, 3);
    w.put(" ");
    w.put(reason);
    w.put("\r\nContent-Type: text/plain\r\nContent-Length: ");
    w.put_uint(3 + 1 + reason.size() + 1);
    w.put("\r\n");
    if (close) w.put("Connection: close\r\n");
    w.put(extra);
    w.put("\r\n");
    if (!head_request) {
        w.put(code, 3);
        w.put(" ");
        w.put(reason);
        w.put("\n");
    }
    return w.full ? 0 : size_t(w.p - out);
}

std::string_view reason_phrase(int status) {
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

}  // namespace ep::http
