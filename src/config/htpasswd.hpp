// htpasswd.hpp: the users of a basic_auth middleware, read from an htpasswd
// file ("user:hash" lines). Pure text in, entries or the first bad line out:
// the loader reads the file and turns an error into a FILE:LINE diagnostic.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ep::config {

struct HtpasswdEntry {
    std::string user;
    std::string hash;  // a crypt(3) hash: $2y$, $2b$, $2a$, $5$, $6$ or $y$
};

struct HtpasswdResult {
    std::vector<HtpasswdEntry> entries;
    int error_line = 0;        // 0: no error
    std::string error;         // why that line is refused
    bool ok() const { return error_line == 0; }
};

// Blank lines and lines starting with '#' are skipped; a CR before the
// newline is dropped. Every other line must be "user:hash" with a hash that
// crypt(3) (libxcrypt) verifies; the first line that is not stops the parse.
HtpasswdResult parse_htpasswd(std::string_view text);

}  // namespace ep::config
