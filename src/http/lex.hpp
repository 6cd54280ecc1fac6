// lex.hpp: the byte classes and field names shared by the HTTP head parser,
// the chunked transcoder and the head rewriting (internal to src/http/).
// Tables, not <cctype>: they answer in one load and never by locale.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ep::http::lex {

enum : uint8_t {
    kTchar = 1,    // RFC 9110 §5.6.2 token
    kValue = 2,    // field-content and reason-phrase: HTAB, SP, VCHAR, obs-text
    kTarget = 4,   // request-target bytes: VCHAR except '#'
    kHex = 8,      // HEXDIG
    kHost = 16,    // reg-name: unreserved, sub-delims, '%'
    kDigit = 32,
};

constexpr std::array<uint8_t, 256> make_classes() {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
        uint8_t f = 0;
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        const bool digit = c >= '0' && c <= '9';
        bool tchar = alpha || digit;
        for (char s : std::string_view("!#$%&'*+-.^_`|~"))
            if (c == s) tchar = true;
        if (tchar) f |= kTchar;
        if (c == '\t' || (c >= 0x20 && c != 0x7f)) f |= kValue;
        if (c > 0x20 && c < 0x7f && c != '#') f |= kTarget;
        if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) f |= kHex;
        bool host = alpha || digit;
        for (char s : std::string_view("-._~!$&'()*+,;=%"))
            if (c == s) host = true;
        if (host) f |= kHost;
        if (digit) f |= kDigit;
        t[size_t(c)] = f;
    }
    return t;
}
inline constexpr std::array<uint8_t, 256> kClass = make_classes();

inline bool is(uint8_t c, uint8_t cls) { return (kClass[c] & cls) != 0; }
inline unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }
inline bool ows(char c) { return c == ' ' || c == '\t'; }

// Case-insensitive equality; `lit` may be in any case.
inline bool ieq(std::string_view a, std::string_view lit) {
    if (a.size() != lit.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(uint8_t(a[i])) != lower(uint8_t(lit[i]))) return false;
    return true;
}

// Walks a comma-separated list (RFC 9110 §5.6.1), skipping empty elements
// and trimming OWS: `while (list.next(item))`.
struct ListWalker {
    std::string_view rest;
    bool next(std::string_view& item) {
        while (!rest.empty()) {
            const size_t comma = rest.find(',');
            std::string_view e = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
            while (!e.empty() && ows(e.front())) e.remove_prefix(1);
            while (!e.empty() && ows(e.back())) e.remove_suffix(1);
            if (!e.empty()) {
                item = e;
                return true;
            }
        }
        return false;
    }
};

// The fields the proxy acts on; the rest are relayed untouched.
enum class Name : uint8_t {
    Other,
    ContentLength,
    TransferEncoding,
    Host,
    Connection,
    Upgrade,
    Expect,
    TE,
    ContentType,
    KeepAlive,
    ProxyConnection,
    Trailer,
    Http2Settings,
    ProxyAuthorization,
    ProxyAuthenticate,
    XForwardedFor,
    XForwardedProto,
    XForwardedHost,
    XRealIp,
};

Name name_of(std::string_view name);

}  // namespace ep::http::lex
