// literals.cpp: the token rules of libconfig 1.5's scanner (lib/scanner.l),
// as far as they decide where integer literals and @include directives are:
// strings, comments and names are skipped, numbers are matched longest first.
// The scanner state (inside a string, a comment...) carries across an
// @include boundary, as flex's start condition does.
#include "config/literals.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>
#include <algorithm>

#include "util/unique_fd.hpp"

namespace ep::config {

namespace {

// libconfig refuses a deeper nesting itself ("include file nesting too deep").
constexpr int kMaxIncludeDepth = 10;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c) || c == '-' || c == '_'; }

bool read_fd(int fd, std::string& out, int& error) {
    char buf[16384];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n == 0) return true;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = errno;
            return false;
        }
        out.append(buf, size_t(n));
    }
}

// Lengths of the number tokens that start at `at` (0: no match).
struct NumberMatch {
    size_t integer = 0;  // [-+]?[0-9]+ or 0[xX][0-9a-fA-F]+, each with L{0,2}
    size_t real = 0;     // the float rule
};

size_t digits(std::string_view t, size_t i) {
    size_t n = 0;
    while (i + n < t.size() && is_digit(t[i + n])) ++n;
    return n;
}

size_t long_suffix(std::string_view t, size_t i) {
    size_t n = 0;
    while (n < 2 && i + n < t.size() && t[i + n] == 'L') ++n;
    return n;
}

// [eE][-+]?[0-9]+ at i, or 0.
size_t exponent(std::string_view t, size_t i) {
    if (i >= t.size() || (t[i] != 'e' && t[i] != 'E')) return 0;
    size_t j = i + 1;
    if (j < t.size() && (t[j] == '-' || t[j] == '+')) ++j;
    const size_t d = digits(t, j);
    return d ? j + d - i : 0;
}

NumberMatch match_number(std::string_view t, size_t at) {
    NumberMatch m;
    size_t i = at;
    if (t[i] == '-' || t[i] == '+') ++i;
    const size_t lead = digits(t, i);
    if (lead) m.integer = i + lead - at + long_suffix(t, i + lead);
    if (i == at && t[at] == '0' && at + 2 < t.size() && (t[at + 1] == 'x' || t[at + 1] == 'X') &&
        is_hex_digit(t[at + 2])) {
        size_t end = at + 2;
        while (end < t.size() && is_hex_digit(t[end])) ++end;
        m.integer = std::max(m.integer, end - at + long_suffix(t, end));
    }
    // [-+]?[0-9]*\.[0-9]*([eE][-+]?[0-9]+)?  |  [-+]?[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+
    size_t j = i + lead;
    if (j < t.size() && t[j] == '.') {
        j += 1 + digits(t, j + 1);
        m.real = j + exponent(t, j) - at;
    } else if (lead) {
        const size_t e = exponent(t, j);
        if (e) m.real = j + e - at;
    }
    return m;
}

class Scanner {
public:
    Scanner(std::string include_dir, Literals& out) : include_dir_(std::move(include_dir)), out_(out) {}

    void scan(std::string_view t, const std::string& shown, int depth) {
        int line = 1;
        size_t i = 0;
        while (i < t.size() && !too_deep_) {
            const char c = t[i];
            const char next = i + 1 < t.size() ? t[i + 1] : '\0';
            if (c == '\n') ++line;
            switch (state_) {
            case State::Comment:
                if (c == '*' && next == '/') {
                    state_ = State::Initial;
                    ++i;
                }
                ++i;
                continue;
            case State::String:
                if (c == '"') state_ = State::Initial;
                else if (c == '\\' && (next == '"' || next == '\\')) ++i;
                ++i;
                continue;
            case State::Include:
                // A backslash before anything but \ or " matches no rule: flex drops it.
                if (c == '"') {
                    state_ = State::Initial;
                    include(shown, line, depth);
                } else if (c == '\\') {
                    if (next == '"' || next == '\\') include_name_ += t[++i];
                } else {
                    include_name_ += c;
                }
                ++i;
                continue;
            case State::Initial:
                break;
            }
            // flex's ^ holds when the last token ended with a newline.
            if (i == 0 || t[i - 1] == '\n') {
                if (const size_t n = include_directive(t, i)) {
                    state_ = State::Include;
                    include_name_.clear();
                    i += n;
                    continue;
                }
            }
            if (c == '#' || (c == '/' && next == '/')) {
                while (i < t.size() && t[i] != '\n') ++i;
            } else if (c == '/' && next == '*') {
                state_ = State::Comment;
                i += 2;
            } else if (c == '"') {
                state_ = State::String;
                ++i;
            } else if (is_name_start(c)) {
                while (i < t.size() && is_name_char(t[i])) ++i;
            } else if (is_digit(c) || c == '-' || c == '+' || c == '.') {
                const NumberMatch m = match_number(t, i);
                if (m.integer > m.real) {
                    const std::string_view text = t.substr(i, m.integer);
                    out_.integers.push_back({std::string(text), integer_literal_value(text)});
                }
                i += std::max<size_t>(1, std::max(m.integer, m.real));
            } else {
                ++i;
            }
        }
    }

private:
    enum class State { Initial, Comment, String, Include };

    // [ \t]*@include[ \t]+" at i: its length, or 0.
    static size_t include_directive(std::string_view t, size_t i) {
        size_t j = i;
        while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
        if (t.substr(j, 8) != "@include") return 0;
        j += 8;
        const size_t blanks = j;
        while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
        if (j == blanks || j >= t.size() || t[j] != '"') return 0;
        return j + 1 - i;
    }

    // "dir//name" as libconfig joins them names the same file as "dir/name".
    static std::string without_double_slashes(const std::string& path) {
        std::string out;
        for (char c : path)
            if (c != '/' || out.empty() || out.back() != '/') out += c;
        return out;
    }

    // libconfig opens INCLUDE_DIR "/" NAME and names the file NAME in its
    // settings; the loader shows that as the path it reads.
    void include(const std::string& from, int line, int depth) {
        // libconfig stops at the same point, with its own error. Going on
        // would read a file that includes itself twice 2^10 times.
        if (depth >= kMaxIncludeDepth) {
            too_deep_ = true;
            return;
        }
        const std::string name = include_name_;
        const std::string path = include_dir_.empty() ? name : include_dir_ + "/" + name;
        const std::string shown = name.starts_with('/') ? name : include_dir_ + name;
        auto refuse = [&](const std::string& why) {
            out_.errors.push_back({from, line, "", "cannot include \"" + name + "\": " + why});
        };
        // O_NONBLOCK: opening a FIFO must not wait for a writer.
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
        struct stat st {};
        if (!fd || ::fstat(fd.get(), &st) != 0) return refuse(std::strerror(errno));
        if (S_ISDIR(st.st_mode)) return refuse(std::strerror(EISDIR));
        if (!S_ISREG(st.st_mode)) return refuse("not a regular file");
        std::string text;
        int error = 0;
        if (!read_fd(fd.get(), text, error)) return refuse(std::strerror(error));
        out_.includes.push_back(without_double_slashes(path));
        scan(text, shown, depth + 1);
    }

    std::string include_dir_;
    Literals& out_;
    State state_ = State::Initial;
    std::string include_name_;
    bool too_deep_ = false;
};

}  // namespace

long long integer_literal_value(std::string_view text) {
    bool negative = false;
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
        negative = text[0] == '-';
        text.remove_prefix(1);
    }
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    // Magnitudes past LLONG_MAX saturate: every key's range is far below.
    unsigned long long magnitude = 0;
    const unsigned long long limit = static_cast<unsigned long long>(LLONG_MAX) + 1;
    for (char c : text) {
        if (c == 'L') break;
        const int d = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
        magnitude = magnitude > (limit - d) / base ? limit : magnitude * base + d;
    }
    if (negative) return magnitude >= limit ? LLONG_MIN : -static_cast<long long>(magnitude);
    return magnitude >= limit ? LLONG_MAX : static_cast<long long>(magnitude);
}

Literals scan_literals(std::string_view text, const std::string& name, const std::string& include_dir) {
    Literals out;
    // libconfig reads the main text as a C string: it ends at a NUL byte.
    text = text.substr(0, text.find('\0'));
    Scanner(include_dir, out).scan(text, name, 0);
    return out;
}

bool read_whole_file(const std::string& path, std::string& out, int& error) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        error = errno;
        return false;
    }
    return read_fd(fd.get(), out, error);
}

}  // namespace ep::config
