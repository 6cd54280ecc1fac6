// fuzz_state_file.cpp: libFuzzer target for the server-state file parser,
// fed from a file as the master reads it (load_state). Every entry it keeps
// must be written back by state_line() as a line that parses to the same
// entry, and every skipped line must have its warning.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "control/protocol.hpp"
#include "control/state_file.hpp"

namespace {

const std::string& state_path() {
    static const std::string path = [] {
        char dir[] = "/tmp/ep-fuzz-state-XXXXXX";
        if (!mkdtemp(dir)) std::abort();
        return std::string(dir) + "/server-state";
    }();
    return path;
}

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::ofstream(state_path(), std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data), std::streamsize(size));
    std::vector<ep::control::StateEntry> entries;
    std::vector<std::string> warnings;
    std::string error;
    check(ep::control::load_state(state_path(), entries, warnings, error));
    for (const auto& e : entries) {
        check(e.weight >= -1 && e.weight <= ep::control::kMaxWeight);
        ep::control::StateEntry again;
        std::string reason;
        check(ep::control::parse_state_line(ep::control::state_line(e), again, reason) && again == e);
    }
    for (const std::string& w : warnings) check(w.starts_with(state_path() + ":"));
    return 0;
}
