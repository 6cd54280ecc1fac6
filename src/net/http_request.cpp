// http_request.cpp: the HTTP/1.x request-head reader (RFC 9112 §2-§5). Every
// rule answers with the status the stats endpoint sends, and with a few words
// on why for its debug log.
#include "net/http_request.hpp"

#include <cstring>

namespace ep::net {

namespace {

// ASCII classes written out: <cctype> answers by locale.
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_visible(unsigned char c) { return c > 0x20 && c < 0x7f; }
unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

bool is_tchar(unsigned char c) {  // RFC 9110 §5.6.2 token characters
    if (is_digit(c) || is_alpha(c)) return true;
    return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (!is_tchar(c)) return false;
    return true;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A line without its terminator: LF or CRLF (RFC 9112 §2.2 lets a recipient
// accept a bare LF).
std::string_view strip_cr(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

// Whether an unfinished request line can still become a valid one: method
// characters, one space, visible target characters, one space, version
// characters. Lets garbage without a line break be refused at once.
bool request_line_prefix_ok(std::string_view partial) {
    int part = 0;  // 0 method, 1 target, 2 version
    for (unsigned char c : partial) {
        if (c == ' ') {
            if (++part > 2) return false;
            continue;
        }
        const bool ok = part == 0   ? is_tchar(c)
                        : part == 1 ? is_visible(c)
                                    : (is_alpha(c) || is_digit(c) || c == '/' || c == '.' || c == '\r');
        if (!ok) return false;
    }
    return true;
}

HeadResult need_more() { return {HeadStatus::NeedMore, ""}; }
HeadResult bad(const char* why) { return {HeadStatus::BadRequest, why}; }
HeadResult uri_too_long() { return {HeadStatus::UriTooLong, "request line longer than 2048 bytes"}; }
HeadResult fields_too_large() { return {HeadStatus::FieldsTooLarge, "request head longer than 8192 bytes"}; }

}  // namespace

HeadResult parse_request_head(std::string_view data, HttpRequest& req) {
    req = HttpRequest{};
    // RFC 9112 §2.2: empty lines before the request line are ignored.
    size_t start = 0;
    while (start < data.size() && start < 8 && (data[start] == '\r' || data[start] == '\n')) ++start;
    if (start < data.size() && !is_tchar(static_cast<unsigned char>(data[start])))
        return bad("request line does not start with a method");
    const size_t line_end = data.find('\n', start);
    if (line_end == std::string_view::npos) {
        const std::string_view partial = data.substr(start, kMaxRequestLine + 1);
        if (!request_line_prefix_ok(partial)) return bad("malformed request line");
        return partial.size() > kMaxRequestLine ? uri_too_long() : need_more();
    }
    const std::string_view line = strip_cr(data.substr(start, line_end - start));
    if (line.size() > kMaxRequestLine) return uri_too_long();

    // method SP request-target SP HTTP-version, single spaces (§3)
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return bad("malformed request line");
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method)) return bad("malformed method");
    if (target.empty()) return bad("empty request target");
    for (unsigned char c : target)
        if (!is_visible(c)) return bad("malformed request target");
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !is_digit(static_cast<unsigned char>(version[5])) ||
        version[6] != '.' || !is_digit(static_cast<unsigned char>(version[7])))
        return bad("malformed HTTP version");
    if (version[5] != '1') return {HeadStatus::VersionNotSupported, "HTTP major version is not 1"};
    const bool http11 = version[7] != '0';
    req.method = method;
    req.target = target;
    req.version = version;

    // The head ends at the first empty line.
    size_t pos = line_end + 1;
    int hosts = 0;
    for (;;) {
        const size_t end = data.find('\n', pos);
        if (end == std::string_view::npos) return data.size() > kMaxRequestHead ? fields_too_large() : need_more();
        if (end + 1 > kMaxRequestHead) return fields_too_large();
        const std::string_view field = strip_cr(data.substr(pos, end - pos));
        pos = end + 1;
        if (field.empty()) break;
        // obs-fold (a line starting with blanks) is refused, as §5.2 allows.
        if (field.front() == ' ' || field.front() == '\t') return bad("folded header line (obs-fold)");
        const size_t colon = field.find(':');
        if (colon == std::string_view::npos || !is_token(field.substr(0, colon))) return bad("malformed header field");
        const std::string_view value = trim_ows(field.substr(colon + 1));
        for (unsigned char c : value)
            if ((c < 0x20 && c != '\t') || c == 0x7f) return bad("control character in a header value");
        if (iequals(field.substr(0, colon), "host")) ++hosts;
    }
    // §3.2: an HTTP/1.1 request without exactly one Host is a bad request.
    if (hosts > 1) return bad("more than one Host header");
    if (http11 && hosts != 1) return bad("no Host header");

    std::string_view path = target;
    if (path.substr(0, 7) == "http://" || path.substr(0, 8) == "https://") {  // absolute-form (§3.2.2)
        const size_t slash = path.find('/', path.find("//") + 2);
        path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
    if (path.front() == '/') {
        const size_t end = path.find_first_of("?#");
        if (end != std::string_view::npos && path[end] == '?') {
            const std::string_view rest = path.substr(end + 1);
            req.query = rest.substr(0, rest.find('#'));
        }
        req.path = path.substr(0, end);
    }
    return {HeadStatus::Complete, ""};
}

}  // namespace ep::net
