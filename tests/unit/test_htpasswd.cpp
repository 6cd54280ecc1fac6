// test_htpasswd.cpp: the htpasswd parser of basic_auth: the hashes crypt(3)
// verifies are taken, the ones it cannot (htpasswd's default $apr1$, {SHA},
// DES) are refused with the line and the reason, comments and blanks skipped.
#include <string>

#include "config/htpasswd.hpp"

// CppUTest last: its leak-detector macros must not see std headers.
#include <CppUTest/TestHarness.h>

using namespace ep::config;

namespace {

// Lines made by the tools the man page names (htpasswd -B, openssl passwd -6
// / -5, mkpasswd -m yescrypt), and the refused ones by htpasswd's other modes.
const char* kBcrypt = "$2y$05$wnNcBV9sLpW8hxKWAp9gjeTNlsj1/HfAzGvFEjdYpNo5./fXIMze2";
const char* kSha512 =
    "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.";

std::string error_of(const std::string& text) {
    const HtpasswdResult r = parse_htpasswd(text);
    if (r.ok()) return "(no error)";
    return std::to_string(r.error_line) + ": " + r.error;
}

}  // namespace

TEST_GROUP(Htpasswd){};

TEST(Htpasswd, EveryCryptHashIsTaken) {
    const std::string text = std::string("alice:") + kBcrypt + "\n" + "bob:" + kSha512 + "\n" +
                             "carol:$5$salt$Rk1OoqhJb0ceP9tdiFfUNx3xCr5TP.2IDcL8d5/iK/6\n"
                             "dave:$y$j9T$abcdefghijklmnopqrstuv$ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg\n"
                             "erin:$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234\n"
                             "fred:$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234";
    const HtpasswdResult r = parse_htpasswd(text);
    CHECK(r.ok());
    LONGS_EQUAL(6, r.entries.size());
    STRCMP_EQUAL("alice", r.entries[0].user.c_str());
    STRCMP_EQUAL(kBcrypt, r.entries[0].hash.c_str());
    STRCMP_EQUAL("bob", r.entries[1].user.c_str());
    STRCMP_EQUAL(kSha512, r.entries[1].hash.c_str());
    STRCMP_EQUAL("fred", r.entries[5].user.c_str());
}

TEST(Htpasswd, CommentsBlankLinesAndCrlfAreSkipped) {
    const HtpasswdResult r =
        parse_htpasswd(std::string("# admins\n\n   \n\t# indented comment\r\nalice:") + kBcrypt + "\r\n\n");
    CHECK(r.ok());
    LONGS_EQUAL(1, r.entries.size());
    STRCMP_EQUAL(kBcrypt, r.entries[0].hash.c_str());
}

TEST(Htpasswd, EmptyTextHasNoUsers) {
    CHECK(parse_htpasswd("").ok());
    LONGS_EQUAL(0, parse_htpasswd("# nobody yet\n").entries.size());
}

TEST(Htpasswd, Apr1IsRefusedWithTheWayOut) {
    STRCMP_EQUAL("3: user \"bob\": $apr1$ (htpasswd's default MD5) is not supported by crypt(3); make it with "
                 "htpasswd -B or openssl passwd -6",
                 error_of(std::string("alice:") + kBcrypt + "\n# bob\nbob:$apr1$Q5.35P0E$geos7J8qfWVHyqgo0CK.S.\n").c_str());
}

TEST(Htpasswd, ShaAndDesAndMd5CryptAreRefused) {
    STRCMP_EQUAL("1: user \"carol\": {SHA} (htpasswd -s, unsalted SHA-1) is not supported by crypt(3); make it "
                 "with htpasswd -B or openssl passwd -6",
                 error_of("carol:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=").c_str());
    STRCMP_EQUAL("1: user \"dave\": a DES crypt hash (htpasswd -d) keeps only 8 characters of a password and is "
                 "refused; make it with htpasswd -B or openssl passwd -6",
                 error_of("dave:b5R0hp6DihnLM").c_str());
    STRCMP_EQUAL("1: user \"eve\": $1$ (MD5 crypt) is too weak to accept; make it with htpasswd -B or openssl "
                 "passwd -6",
                 error_of("eve:$1$abc$def").c_str());
}

TEST(Htpasswd, BadLines) {
    STRCMP_EQUAL("1: expected \"user:hash\"", error_of("alice").c_str());
    STRCMP_EQUAL("2: the user name is empty", error_of("# x\n:$6$a$b").c_str());
    STRCMP_EQUAL("1: user \"alice\": the hash is empty", error_of("alice:").c_str());
    STRCMP_EQUAL("1: user \"alice\": the hash after \"$6$\" is empty", error_of("alice:$6$").c_str());
    STRCMP_EQUAL("1: user \"alice\": the hash is not a crypt(3) hash (a plain-text password?); make it with "
                 "htpasswd -B or openssl passwd -6",
                 error_of("alice:secret").c_str());
    STRCMP_EQUAL("1: user \"alice\": unknown hash type \"$7$\"; accepted: $2y$, $2b$, $2a$ (bcrypt), $5$, $6$ "
                 "(SHA-crypt), $y$ (yescrypt)",
                 error_of("alice:$7$CU..../....abc$def").c_str());
    STRCMP_EQUAL("1: the hash must not contain spaces or a colon", error_of("alice:$6$a$b c").c_str());
    STRCMP_EQUAL("1: control character in the line", error_of("al\x01ice:$6$a$b").c_str());
    STRCMP_EQUAL("2: user \"alice\" is listed twice", error_of("alice:$6$a$b\nalice:$6$a$c").c_str());
}

TEST(Htpasswd, AnErrorLeavesNoEntries) {
    const HtpasswdResult r = parse_htpasswd(std::string("alice:") + kBcrypt + "\nbob\n");
    CHECK_FALSE(r.ok());
    LONGS_EQUAL(0, r.entries.size());
}
