// test_duration.cpp: the config's duration syntax (what is accepted, what is
// refused and with which message) and the compact form shown to people.
#include <cstdint>
#include <string>

#include "util/duration.hpp"

// CppUTest last: its leak-detector macros must not see std headers.
#include <CppUTest/TestHarness.h>

namespace {

uint64_t parsed(const char* text) {
    uint64_t ms = 12345;
    std::string error;
    if (!ep::parse_duration_ms(text, ms, error)) FAIL(("unexpected error: " + error).c_str());
    return ms;
}

std::string error_of(const char* text) {
    uint64_t ms = 12345;
    std::string error;
    if (ep::parse_duration_ms(text, ms, error)) return "(accepted)";
    if (ms != 12345) return "(output changed on error)";
    return error;
}

}  // namespace

TEST_GROUP(Duration){};

TEST(Duration, UnitsAndBareMilliseconds) {
    UNSIGNED_LONGLONGS_EQUAL(250, parsed("250ms"));
    UNSIGNED_LONGLONGS_EQUAL(2000, parsed("2s"));
    UNSIGNED_LONGLONGS_EQUAL(300000, parsed("5m"));
    UNSIGNED_LONGLONGS_EQUAL(3600000, parsed("1h"));
    UNSIGNED_LONGLONGS_EQUAL(1500, parsed("1500"));
    UNSIGNED_LONGLONGS_EQUAL(0, parsed("0"));
    UNSIGNED_LONGLONGS_EQUAL(0, parsed("0s"));
    UNSIGNED_LONGLONGS_EQUAL(7000, parsed("007s"));
}

TEST(Duration, LargestValues) {
    UNSIGNED_LONGLONGS_EQUAL(18446744073709551615ull, parsed("18446744073709551615"));
    UNSIGNED_LONGLONGS_EQUAL(18446744073709551000ull, parsed("18446744073709551s"));
    STRCMP_EQUAL("duration \"18446744073709551616\" is too large", error_of("18446744073709551616").c_str());
    STRCMP_EQUAL("duration \"18446744073709552s\" is too large", error_of("18446744073709552s").c_str());
    STRCMP_EQUAL("duration \"99999999999999999999999h\" is too large",
                 error_of("99999999999999999999999h").c_str());
}

TEST(Duration, RejectsEmpty) {
    STRCMP_EQUAL("empty duration (expected digits and a unit: ms, s, m or h, as \"250ms\" or \"2s\")",
                 error_of("").c_str());
}

TEST(Duration, RejectsNegative) {
    STRCMP_EQUAL("negative duration \"-1s\"", error_of("-1s").c_str());
    STRCMP_EQUAL("negative duration \"-5\"", error_of("-5").c_str());
}

TEST(Duration, RejectsFractionsSpacesAndSigns) {
    const char* expected_tail = " (expected digits and a unit: ms, s, m or h, as \"250ms\" or \"2s\")";
    STRCMP_EQUAL((std::string("invalid duration \"1.5s\"") + expected_tail).c_str(), error_of("1.5s").c_str());
    STRCMP_EQUAL((std::string("invalid duration \"2 s\"") + expected_tail).c_str(), error_of("2 s").c_str());
    STRCMP_EQUAL((std::string("invalid duration \" 2s\"") + expected_tail).c_str(), error_of(" 2s").c_str());
    STRCMP_EQUAL((std::string("invalid duration \"2s \"") + expected_tail).c_str(), error_of("2s ").c_str());
    STRCMP_EQUAL((std::string("invalid duration \"+3s\"") + expected_tail).c_str(), error_of("+3s").c_str());
    STRCMP_EQUAL((std::string("invalid duration \"s\"") + expected_tail).c_str(), error_of("s").c_str());
    STRCMP_EQUAL((std::string("invalid duration \"1h30m\"") + expected_tail).c_str(), error_of("1h30m").c_str());
}

TEST(Duration, RejectsUnknownUnits) {
    STRCMP_EQUAL("unknown unit \"d\" in duration \"2d\" (expected ms, s, m or h)", error_of("2d").c_str());
    STRCMP_EQUAL("unknown unit \"S\" in duration \"2S\" (expected ms, s, m or h)", error_of("2S").c_str());
    STRCMP_EQUAL("unknown unit \"sec\" in duration \"5sec\" (expected ms, s, m or h)", error_of("5sec").c_str());
    STRCMP_EQUAL("unknown unit \"us\" in duration \"10us\" (expected ms, s, m or h)", error_of("10us").c_str());
}

TEST(Duration, FormatsCompactly) {
    STRCMP_EQUAL("0s", ep::format_duration_ms(0).c_str());
    STRCMP_EQUAL("1ms", ep::format_duration_ms(1).c_str());
    STRCMP_EQUAL("250ms", ep::format_duration_ms(250).c_str());
    STRCMP_EQUAL("999ms", ep::format_duration_ms(999).c_str());
    STRCMP_EQUAL("1s", ep::format_duration_ms(1000).c_str());
    STRCMP_EQUAL("1.5s", ep::format_duration_ms(1500).c_str());
    STRCMP_EQUAL("2s", ep::format_duration_ms(2000).c_str());
    STRCMP_EQUAL("59.9s", ep::format_duration_ms(59999).c_str());
    STRCMP_EQUAL("1m", ep::format_duration_ms(60000).c_str());
    STRCMP_EQUAL("3m12s", ep::format_duration_ms(192000).c_str());
    STRCMP_EQUAL("3m05s", ep::format_duration_ms(185000).c_str());
    STRCMP_EQUAL("10m", ep::format_duration_ms(600000).c_str());
    STRCMP_EQUAL("1h", ep::format_duration_ms(3600000).c_str());
    STRCMP_EQUAL("1h05m", ep::format_duration_ms(3900000).c_str());
    STRCMP_EQUAL("23h59m", ep::format_duration_ms(86399999).c_str());
    STRCMP_EQUAL("1d", ep::format_duration_ms(86400000).c_str());
    STRCMP_EQUAL("2d03h", ep::format_duration_ms(2 * 86400000ull + 3 * 3600000ull).c_str());
    STRCMP_EQUAL("213503982334d14h", ep::format_duration_ms(UINT64_MAX).c_str());
}

TEST(Duration, FormattedWholeUnitsParseBack) {
    const uint64_t values[] = {250, 2000, 600000, 3600000};
    for (uint64_t ms : values) UNSIGNED_LONGLONGS_EQUAL(ms, parsed(ep::format_duration_ms(ms).c_str()));
}
