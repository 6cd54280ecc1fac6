// htpasswd.cpp: parses htpasswd text for basic_auth (research/http.md §7).
// Only hashes that crypt(3) from libxcrypt verifies are accepted, so that a
// line that can never match is a config error at load, not a 401 forever.
#include "config/htpasswd.hpp"

namespace ep::config {

namespace {

// The prefixes libxcrypt's crypt_r checks: bcrypt (htpasswd -B), SHA-256 and
// SHA-512 crypt (openssl passwd -5 / -6, mkpasswd), yescrypt (mkpasswd's
// default on Debian 12).
constexpr std::string_view kAccepted[] = {"$2y$", "$2b$", "$2a$", "$5$", "$6$", "$y$"};

// Why a hash is refused, or "" when crypt(3) takes it.
std::string refusal(std::string_view hash) {
    for (std::string_view prefix : kAccepted) {
        if (!hash.starts_with(prefix)) continue;
        if (hash.size() == prefix.size()) return "the hash after \"" + std::string(prefix) + "\" is empty";
        return "";
    }
    if (hash.starts_with("$apr1$"))
        return "$apr1$ (htpasswd's default MD5) is not supported by crypt(3); "
               "make it with htpasswd -B or openssl passwd -6";
    if (hash.starts_with("{SHA}"))
        return "{SHA} (htpasswd -s, unsalted SHA-1) is not supported by crypt(3); "
               "make it with htpasswd -B or openssl passwd -6";
    if (hash.starts_with("$1$"))
        return "$1$ (MD5 crypt) is too weak to accept; make it with htpasswd -B or openssl passwd -6";
    if (hash.empty()) return "the hash is empty";
    if (hash.size() == 13 && hash.find('$') == std::string_view::npos)
        return "a DES crypt hash (htpasswd -d) keeps only 8 characters of a password and is refused; "
               "make it with htpasswd -B or openssl passwd -6";
    if (hash.front() != '$')
        return "the hash is not a crypt(3) hash (a plain-text password?); "
               "make it with htpasswd -B or openssl passwd -6";
    return "unknown hash type \"" + std::string(hash.substr(0, hash.find('$', 1) + 1)) +
           "\"; accepted: $2y$, $2b$, $2a$ (bcrypt), $5$, $6$ (SHA-crypt), $y$ (yescrypt)";
}

}  // namespace

HtpasswdResult parse_htpasswd(std::string_view text) {
    HtpasswdResult out;
    int line = 0;
    while (!text.empty()) {
        ++line;
        const size_t eol = text.find('\n');
        std::string_view row = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
        if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
        const size_t first = row.find_first_not_of(" \t");
        if (first == std::string_view::npos || row[first] == '#') continue;
        auto fail = [&](std::string why) {
            out.entries.clear();
            out.error_line = line;
            out.error = std::move(why);
            return out;
        };
        const size_t colon = row.find(':');
        if (colon == std::string_view::npos) return fail("expected \"user:hash\"");
        const std::string_view user = row.substr(0, colon), hash = row.substr(colon + 1);
        if (user.empty()) return fail("the user name is empty");
        for (char c : row)
            if (static_cast<unsigned char>(c) < 0x20 || c == '\x7f')
                return fail("control character in the line");
        if (hash.find_first_of(" \t:") != std::string_view::npos)
            return fail("the hash must not contain spaces or a colon");
        if (std::string why = refusal(hash); !why.empty()) return fail("user \"" + std::string(user) + "\": " + why);
        for (const HtpasswdEntry& e : out.entries)
            if (e.user == user) return fail("user \"" + std::string(user) + "\" is listed twice");
        out.entries.push_back({std::string(user), std::string(hash)});
    }
    return out;
}

}  // namespace ep::config
