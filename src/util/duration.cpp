// duration.cpp: the config's duration syntax ("250ms", "2s", "5m", "1h", bare
// digits = ms) and the compact form shown in logs, stats and summaries.
// Strict on purpose: a typo in a timeout must fail the load, not mean 0.
#include "util/duration.hpp"

#include <cstdio>
#include <limits>

namespace ep {

namespace {

struct Unit {
    std::string_view suffix;
    uint64_t ms;
};

constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}};

constexpr const char* kExpected = "expected digits and a unit: ms, s, m or h, as \"250ms\" or \"2s\"";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

bool parse_duration_ms(std::string_view text, uint64_t& out_ms, std::string& error) {
    if (text.empty()) {
        error = std::string("empty duration (") + kExpected + ")";
        return false;
    }
    if (text.front() == '-') {
        error = "negative duration " + quoted(text);
        return false;
    }
    constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
    uint64_t number = 0;
    size_t pos = 0;
    bool too_large = false;
    for (; pos < text.size() && is_digit(text[pos]); ++pos) {
        const uint64_t digit = uint64_t(text[pos] - '0');
        if (number > (kMax - digit) / 10) too_large = true;
        else number = number * 10 + digit;
    }
    const std::string_view suffix = text.substr(pos);
    // Everything after the digits must be a unit made of letters only: this
    // rejects "1.5s", "2 s", "+3s" and "s" with one clear message.
    bool letters_only = true;
    for (char c : suffix) letters_only = letters_only && is_letter(c);
    if (pos == 0 || !letters_only) {
        error = "invalid duration " + quoted(text) + " (" + kExpected + ")";
        return false;
    }
    uint64_t unit_ms = 0;
    if (suffix.empty()) {
        unit_ms = 1;
    } else {
        for (const Unit& unit : kUnits)
            if (unit.suffix == suffix) unit_ms = unit.ms;
    }
    if (unit_ms == 0) {
        error = "unknown unit " + quoted(suffix) + " in duration " + quoted(text) +
                " (expected ms, s, m or h)";
        return false;
    }
    if (too_large || number > kMax / unit_ms) {
        error = "duration " + quoted(text) + " is too large";
        return false;
    }
    out_ms = number * unit_ms;
    return true;
}

std::string format_duration_ms(uint64_t ms) {
    constexpr uint64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute,
                       kDay = 24 * kHour;
    char buf[64];
    // Two units at most, the smaller one zero-padded and dropped when zero, so
    // a value reads at a glance in a table column ("3m12s", "10m", "1h05m").
    auto two_units = [&buf](uint64_t big, const char* big_unit, uint64_t small,
                            const char* small_unit) {
        if (small == 0)
            std::snprintf(buf, sizeof buf, "%llu%s", (unsigned long long)big, big_unit);
        else
            std::snprintf(buf, sizeof buf, "%llu%s%02llu%s", (unsigned long long)big, big_unit,
                          (unsigned long long)small, small_unit);
    };
    if (ms == 0) {
        return "0s";
    } else if (ms < kSecond) {
        std::snprintf(buf, sizeof buf, "%llums", (unsigned long long)ms);
    } else if (ms < kMinute) {
        const uint64_t tenths = ms / 100;
        if (tenths % 10 == 0)
            std::snprintf(buf, sizeof buf, "%llus", (unsigned long long)(tenths / 10));
        else
            std::snprintf(buf, sizeof buf, "%llu.%llus", (unsigned long long)(tenths / 10),
                          (unsigned long long)(tenths % 10));
    } else if (ms < kHour) {
        two_units(ms / kMinute, "m", ms % kMinute / kSecond, "s");
    } else if (ms < kDay) {
        two_units(ms / kHour, "h", ms % kHour / kMinute, "m");
    } else {
        two_units(ms / kDay, "d", ms % kDay / kHour, "h");
    }
    return buf;
}

}  // namespace ep
