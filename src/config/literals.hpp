// literals.hpp: a second, lexical reading of the config text for what
// libconfig 1.5 loses or mishandles: integers as written (it wraps those
// without an L suffix to 32 bits: 4294967298 loads as 2) and @include targets
// (a directory makes its scanner exit the process, a FIFO or device hangs it).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"

namespace ep::config {

struct IntegerLiteral {
    std::string text;    // as written: "4294967298", "0x1F", "5000000000L"
    long long value = 0;  // its value, saturated to the long long range
};

struct Literals {
    // Every integer literal, in the order libconfig reads them: the text of
    // an @include'd file stands where its directive does.
    std::vector<IntegerLiteral> integers;
    // @include targets that cannot be read as regular files.
    std::vector<Diagnostic> errors;
    // The files read through @include, as opened (what `global.watch` watches).
    std::vector<std::string> includes;
};

// Scans `text` (named `name` in diagnostics) and the files it @includes with
// libconfig 1.5's token rules. `include_dir` is what the loader gives
// libconfig's setIncludeDir ("" for none).
Literals scan_literals(std::string_view text, const std::string& name, const std::string& include_dir);

// The value of one integer literal as libconfig's scanner matched it:
// [-+]?[0-9]+ or 0[xX][0-9a-fA-F]+, with an optional L or LL.
long long integer_literal_value(std::string_view text);

// Reads all of `path` (the loader reads files itself: libconfig's
// FileIOException carries no errno); false with errno in `error` on failure.
bool read_whole_file(const std::string& path, std::string& out, int& error);

}  // namespace ep::config
