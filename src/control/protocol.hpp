// protocol.hpp: the control-socket protocol (RUN_DIR/easyproxy.sock), shared by
// the master, which parses requests, and epctl, which builds them, so both
// sides accept exactly the same words (DESIGN.md §2).
//
// Request: one command per line, words separated by blanks, at most
// kMaxLineLength bytes, printable text only (a trailing "\r" is ignored):
//     status
//     drain SERVICE/SERVER
//     maint SERVICE/SERVER [--kill]
//     ready SERVICE/SERVER
//     weight SERVICE/SERVER N          N in 0..256
//     reload
//     stop [--graceful]
// SERVICE/* names every server of the service. epctl's `drain --wait` and
// `--timeout` are client-side only: the master never sees them.
//
// Answer: one or more lines, then one empty line that ends the answer. The
// first line is "OK" or "OK <text>" on success, "ERR <reason>" on failure;
// the lines after it carry details (status lines, or the FILE:LINE errors of
// a reload that was refused). Lines of an answer are never empty, so a client
// reads until the first empty line (or until the master closes the socket,
// as it may after `stop`):
//     > drain web/app1
//     < OK web/app1 draining
//     <
//     > weight web/app1 300
//     < ERR weight must be between 0 and 256 (got 300)
//     <
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ep::control {

inline constexpr size_t kMaxLineLength = 1024;
inline constexpr int kMaxWeight = 256;

enum class Verb { Status, Drain, Maint, Ready, Weight, Reload, Stop };

struct Target {
    std::string service;
    std::string server;  // "*": every server of the service
    bool all_servers() const { return server == "*"; }
    std::string text() const { return service + "/" + server; }
};

struct Command {
    Verb verb = Verb::Status;
    Target target;        // drain, maint, ready, weight
    int weight = 0;       // weight
    bool kill = false;    // maint --kill: close the server's connections
    bool graceful = false;  // stop --graceful
};

const char* verb_name(Verb v);

// Parses one request line (without or with its "\n"). On failure returns
// false and sets `error` to the reason the master sends back after "ERR ":
//   unknown command "foo"; expected SERVICE/SERVER, got "web";
//   weight must be between 0 and 256 (got 300); line too long; binary data; ...
bool parse_command(std::string_view line, Command& out, std::string& error);

// ---- splitting a client's input into lines ----------------------------------

// Only a line ended by "\n" is a request. Input that stops in the middle of a
// line (the client was cut off or died while sending "weight web/a 250")
// must never run as the shorter command it happens to spell.
enum class LineStatus {
    Complete,    // `line` (without "\r\n" or "\n") is a request
    NeedMore,    // no whole line yet (or nothing at all)
    Incomplete,  // the input ended before the line break: `line` holds the fragment
    TooLong,     // more than kMaxLineLength bytes before the line break
};

struct NextLine {
    LineStatus status = LineStatus::NeedMore;
    std::string_view line;  // a view into `buffered`
    size_t consumed = 0;    // bytes of `buffered` to drop once `line` is used
};

// The first line of `buffered` (what was received and not yet taken);
// `input_ended`: the client shut its sending side, nothing more will come.
NextLine next_line(std::string_view buffered, bool input_ended);

// The reason given for an incomplete line: names the fragment (printable
// bytes only, shortened) and that it was not run.
std::string incomplete_line_error(std::string_view fragment);

// "SERVICE/SERVER" or "SERVICE/*"; false with the error above otherwise.
bool parse_target(std::string_view word, Target& out, std::string& error);

// The request line for a command, without the "\n": parse_command(to_line(c))
// gives back c.
std::string to_line(const Command& cmd);

// ---- answers ----------------------------------------------------------------

struct Answer {
    bool ok = false;
    std::string text;                 // after "OK " / "ERR " (may be empty for OK)
    std::vector<std::string> details;  // the following lines
};

// The bytes of an answer, blank line included. Empty detail lines are
// dropped (they would end the answer early); line breaks inside `text` start
// detail lines.
std::string format_answer(const Answer& answer);
std::string ok_answer(std::string_view text = {}, const std::vector<std::string>& details = {});
std::string err_answer(std::string_view reason, const std::vector<std::string>& details = {});

// True once `received` holds a whole answer (it ends with an empty line).
bool answer_complete(std::string_view received);

// Parses what a client received (whole, or cut short by the master closing).
// False when the first line is neither OK nor ERR.
bool parse_answer(std::string_view received, Answer& out);

}  // namespace ep::control
