// duration.hpp: durations as written in the config ("250ms", "2s", "5m", "1h")
// and as shown to people ("3m12s", "1.2 ms"). Pure functions, no I/O.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace ep {

// Parses "<digits><unit>" with unit ms, s, m or h (a bare number is ms).
// On failure returns false and sets `error` to a message naming what is wrong.
bool parse_duration_ms(std::string_view text, uint64_t& out_ms, std::string& error);

// Compact human form: 0s, 250ms, 2s, 3m12s, 1h05m, 2d03h.
std::string format_duration_ms(uint64_t ms);

}  // namespace ep
