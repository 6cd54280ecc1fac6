// fuzz_control.cpp: libFuzzer target for the control-socket protocol, both
// directions: a request line as the master parses it (parse_command), and an
// answer as epctl parses it (parse_answer). What parses must survive a round
// trip: to_line() gives a line that parses to the same command, and
// format_answer() gives one complete answer that parses back.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control/protocol.hpp"

namespace {

using namespace ep::control;

bool same(const Command& a, const Command& b) {
    return a.verb == b.verb && a.target.service == b.target.service && a.target.server == b.target.server &&
           a.weight == b.weight && a.kill == b.kill && a.graceful == b.graceful;
}

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    Command cmd;
    std::string error;
    if (parse_command(input, cmd, error)) {
        const std::string line = to_line(cmd);
        check(line.size() <= kMaxLineLength);
        Command again;
        std::string error2;
        check(parse_command(line, again, error2) && same(cmd, again));
        check(cmd.weight >= 0 && cmd.weight <= kMaxWeight);
    } else {
        check(!error.empty());
    }

    Answer answer;
    if (parse_answer(input, answer)) {
        // The only empty line is the one that ends the answer.
        const std::string bytes = format_answer(answer);
        check(answer_complete(bytes) && bytes.find("\n\n") == bytes.size() - 2);
        Answer again;
        check(parse_answer(bytes, again) && again.ok == answer.ok);
    }
    (void)answer_complete(input);
    return 0;
}
