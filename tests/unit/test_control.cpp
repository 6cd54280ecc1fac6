// test_control.cpp: the control-socket protocol (every command, every error
// message, splitting input into whole lines, answers) and the server-state
// file (round trip, atomic replace, damaged lines). Messages are pinned:
// epctl users and scripts read them.
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "control/protocol.hpp"
#include "control/state_file.hpp"

// CppUTest last: its leak-detector macros must not see std headers.
#include <CppUTest/TestHarness.h>

using namespace ep;
using control::Command;
using control::Verb;

namespace {

Command parse_ok(const std::string& line) {
    Command c;
    std::string error;
    if (!control::parse_command(line, c, error)) FAIL(("parse failed: " + line + ": " + error).c_str());
    return c;
}

std::string parse_error(std::string_view line) {
    Command c;
    std::string error;
    if (control::parse_command(line, c, error)) return "(accepted)";
    return error;
}

}  // namespace

TEST_GROUP(ControlProtocol){};

TEST(ControlProtocol, Status) {
    const Command c = parse_ok("status");
    CHECK(c.verb == Verb::Status);
    STRCMP_EQUAL("status", control::to_line(c).c_str());
}

TEST(ControlProtocol, Drain) {
    const Command c = parse_ok("drain web/app1");
    CHECK(c.verb == Verb::Drain);
    STRCMP_EQUAL("web", c.target.service.c_str());
    STRCMP_EQUAL("app1", c.target.server.c_str());
    CHECK_FALSE(c.target.all_servers());
    STRCMP_EQUAL("drain web/app1", control::to_line(c).c_str());
}

TEST(ControlProtocol, DrainEveryServerOfAService) {
    const Command c = parse_ok("drain web/*");
    CHECK(c.target.all_servers());
    STRCMP_EQUAL("drain web/*", control::to_line(c).c_str());
}

TEST(ControlProtocol, Maint) {
    Command c = parse_ok("maint db/db1");
    CHECK(c.verb == Verb::Maint);
    CHECK_FALSE(c.kill);
    STRCMP_EQUAL("maint db/db1", control::to_line(c).c_str());
    c = parse_ok("maint db/db1 --kill");
    CHECK(c.kill);
    STRCMP_EQUAL("maint db/db1 --kill", control::to_line(c).c_str());
    c = parse_ok("maint --kill db/*");  // options may come first
    CHECK(c.kill);
    CHECK(c.target.all_servers());
}

TEST(ControlProtocol, Ready) {
    const Command c = parse_ok("ready web/app1");
    CHECK(c.verb == Verb::Ready);
    STRCMP_EQUAL("ready web/app1", control::to_line(c).c_str());
}

TEST(ControlProtocol, Weight) {
    Command c = parse_ok("weight web/app1 0");
    CHECK(c.verb == Verb::Weight);
    LONGS_EQUAL(0, c.weight);
    c = parse_ok("weight web/app1 256");
    LONGS_EQUAL(256, c.weight);
    STRCMP_EQUAL("weight web/app1 256", control::to_line(c).c_str());
    c = parse_ok("weight web/* 7");
    CHECK(c.target.all_servers());
    LONGS_EQUAL(7, c.weight);
}

TEST(ControlProtocol, ReloadAndStop) {
    CHECK(parse_ok("reload").verb == Verb::Reload);
    STRCMP_EQUAL("reload", control::to_line(parse_ok("reload")).c_str());
    Command c = parse_ok("stop");
    CHECK(c.verb == Verb::Stop);
    CHECK_FALSE(c.graceful);
    STRCMP_EQUAL("stop", control::to_line(c).c_str());
    c = parse_ok("stop --graceful");
    CHECK(c.graceful);
    STRCMP_EQUAL("stop --graceful", control::to_line(c).c_str());
}

TEST(ControlProtocol, LineEndingsAndBlanks) {
    CHECK(parse_ok("status\n").verb == Verb::Status);
    CHECK(parse_ok("status\r\n").verb == Verb::Status);
    const Command c = parse_ok("  weight\tweb/app1   3 \r\n");
    LONGS_EQUAL(3, c.weight);
    STRCMP_EQUAL("app1", c.target.server.c_str());
}

TEST(ControlProtocol, EveryLineRoundTrips) {
    for (const char* line : {"status", "drain web/app1", "drain web/*", "maint db/db1", "maint db/db1 --kill",
                             "ready web/app1", "weight web/app1 42", "reload", "stop", "stop --graceful"})
        STRCMP_EQUAL(line, control::to_line(parse_ok(line)).c_str());
}

TEST(ControlProtocol, UnknownCommand) {
    STRCMP_EQUAL("unknown command \"foo\"", parse_error("foo").c_str());
    STRCMP_EQUAL("unknown command \"STATUS\"", parse_error("STATUS").c_str());  // words are lower case
    STRCMP_EQUAL("unknown command \"enable\"", parse_error("enable web/app1").c_str());
}

TEST(ControlProtocol, WeightOutOfRange) {
    STRCMP_EQUAL("weight must be between 0 and 256 (got 300)", parse_error("weight web/app1 300").c_str());
    STRCMP_EQUAL("weight must be between 0 and 256 (got 257)", parse_error("weight web/app1 257").c_str());
    STRCMP_EQUAL("weight must be between 0 and 256 (got -1)", parse_error("weight web/app1 -1").c_str());
    STRCMP_EQUAL("weight must be between 0 and 256 (got 99999999999999999999999)",
                 parse_error("weight web/app1 99999999999999999999999").c_str());
    STRCMP_EQUAL("weight must be between 0 and 256 (got \"abc\")", parse_error("weight web/app1 abc").c_str());
    STRCMP_EQUAL("weight must be between 0 and 256 (got \"5%\")", parse_error("weight web/app1 5%").c_str());
}

TEST(ControlProtocol, BadTarget) {
    STRCMP_EQUAL("expected SERVICE/SERVER, got \"web\"", parse_error("drain web").c_str());
    STRCMP_EQUAL("expected SERVICE/SERVER, got \"web/\"", parse_error("ready web/").c_str());
    STRCMP_EQUAL("expected SERVICE/SERVER, got \"/app1\"", parse_error("maint /app1").c_str());
    STRCMP_EQUAL("expected SERVICE/SERVER, got \"*/app1\"", parse_error("drain */app1").c_str());
    STRCMP_EQUAL("expected SERVICE/SERVER, got \"a/b/c\"", parse_error("weight a/b/c 1").c_str());
}

TEST(ControlProtocol, MissingAndExtraArguments) {
    STRCMP_EQUAL("missing SERVICE/SERVER (usage: drain SERVICE/SERVER)", parse_error("drain").c_str());
    STRCMP_EQUAL("missing SERVICE/SERVER (usage: maint SERVICE/SERVER [--kill])", parse_error("maint --kill").c_str());
    STRCMP_EQUAL("missing SERVICE/SERVER (usage: ready SERVICE/SERVER)", parse_error("ready").c_str());
    STRCMP_EQUAL("missing SERVICE/SERVER (usage: weight SERVICE/SERVER N)", parse_error("weight").c_str());
    STRCMP_EQUAL("missing N (usage: weight SERVICE/SERVER N)", parse_error("weight web/app1").c_str());
    STRCMP_EQUAL("unexpected argument \"now\" (usage: status)", parse_error("status now").c_str());
    STRCMP_EQUAL("unexpected argument \"x\" (usage: reload)", parse_error("reload x").c_str());
    STRCMP_EQUAL("unexpected argument \"web/app2\" (usage: drain SERVICE/SERVER)",
                 parse_error("drain web/app1 web/app2").c_str());
    STRCMP_EQUAL("unexpected argument \"4\" (usage: weight SERVICE/SERVER N)",
                 parse_error("weight web/app1 3 4").c_str());
}

TEST(ControlProtocol, UnknownOptions) {
    // --wait and --timeout belong to epctl, never to the socket.
    STRCMP_EQUAL("unknown option \"--wait\" for drain", parse_error("drain web/app1 --wait").c_str());
    STRCMP_EQUAL("unknown option \"--graceful\" for maint", parse_error("maint web/app1 --graceful").c_str());
    STRCMP_EQUAL("unknown option \"--kill\" for stop", parse_error("stop --kill").c_str());
    STRCMP_EQUAL("unknown option \"-f\" for status", parse_error("status -f").c_str());
}

TEST(ControlProtocol, EmptyLongAndBinaryLines) {
    STRCMP_EQUAL("empty command", parse_error("").c_str());
    STRCMP_EQUAL("empty command", parse_error(" \t \r\n").c_str());
    const std::string longest = "status" + std::string(control::kMaxLineLength - 6, ' ');
    CHECK(parse_ok(longest).verb == Verb::Status);
    STRCMP_EQUAL("line too long", parse_error(longest + " ").c_str());
    STRCMP_EQUAL("line too long", parse_error(std::string(100000, 'a')).c_str());
    STRCMP_EQUAL("binary data", parse_error(std::string_view("status\0x", 8)).c_str());
    STRCMP_EQUAL("binary data", parse_error("drain web/app1\x1b[A").c_str());
    STRCMP_EQUAL("binary data", parse_error("\x16\x03\x01\x02").c_str());  // a TLS hello
    STRCMP_EQUAL("binary data", parse_error("stat\x7fus").c_str());
    STRCMP_EQUAL("binary data", parse_error("status\r\rstop").c_str());
}

namespace {

std::string line_of(std::string_view buffered, bool ended, control::LineStatus want, size_t consumed) {
    const control::NextLine next = control::next_line(buffered, ended);
    CHECK(next.status == want);
    LONGS_EQUAL(consumed, next.consumed);
    return std::string(next.line);
}

}  // namespace

TEST(ControlProtocol, NextLineTakesOnlyWholeLines) {
    using control::LineStatus;
    STRCMP_EQUAL("weight web/a 250", line_of("weight web/a 250\nstatus", false, LineStatus::Complete, 17).c_str());
    STRCMP_EQUAL("status", line_of("status\r\n", true, LineStatus::Complete, 8).c_str());
    STRCMP_EQUAL("", line_of("\nstatus\n", false, LineStatus::Complete, 1).c_str());
    // Half of "weight web/a 250": more may come, or, once the input has
    // ended, it is a fragment that must not run as "weight web/a 25".
    STRCMP_EQUAL("", line_of("weight web/a 25", false, LineStatus::NeedMore, 0).c_str());
    STRCMP_EQUAL("weight web/a 25", line_of("weight web/a 25", true, LineStatus::Incomplete, 15).c_str());
    STRCMP_EQUAL("status\r", line_of("status\r", true, LineStatus::Incomplete, 7).c_str());
    line_of("", false, LineStatus::NeedMore, 0);
    line_of("", true, LineStatus::NeedMore, 0);
}

TEST(ControlProtocol, NextLineRefusesLongLines) {
    using control::LineStatus;
    const std::string longest(control::kMaxLineLength, 'x');
    STRCMP_EQUAL(longest.c_str(), line_of(longest + "\r\n", false, LineStatus::Complete, longest.size() + 2).c_str());
    // Without its line break yet, one byte more may be the "\r" of a line that fits.
    line_of(longest + "\r", false, LineStatus::NeedMore, 0);
    line_of(longest + "xx", false, LineStatus::TooLong, 0);
    line_of(longest + "x\n", false, LineStatus::TooLong, 0);
    line_of(longest + "x\r\n", true, LineStatus::TooLong, 0);
}

TEST(ControlProtocol, IncompleteLineError) {
    STRCMP_EQUAL("incomplete line, not run: \"weight web/a 25\" has no line break",
                 control::incomplete_line_error("weight web/a 25").c_str());
    // Only printable bytes reach an answer or the log, and not too many.
    STRCMP_EQUAL("incomplete line, not run: \"a?b??\" has no line break",
                 control::incomplete_line_error(std::string_view("a\0b\"\x1b", 5)).c_str());
    const std::string shown = control::incomplete_line_error(std::string(500, 'y'));
    STRCMP_EQUAL(("incomplete line, not run: \"" + std::string(64, 'y') + "...\" has no line break").c_str(),
                 shown.c_str());
}

TEST(ControlProtocol, Answers) {
    STRCMP_EQUAL("OK\n\n", control::ok_answer().c_str());
    STRCMP_EQUAL("OK web/app1 draining\n\n", control::ok_answer("web/app1 draining").c_str());
    STRCMP_EQUAL("OK\nmaster pid 12\nworkers 2\n\n", control::ok_answer("", {"master pid 12", "", "workers 2"}).c_str());
    STRCMP_EQUAL("ERR reload refused\n/etc/easyproxy/easyproxy.conf:3: bad\n\n",
                 control::err_answer("reload refused", {"/etc/easyproxy/easyproxy.conf:3: bad"}).c_str());
    STRCMP_EQUAL("ERR first\nsecond\nthird\n\n", control::err_answer("first\nsecond\r\n\nthird").c_str());
    STRCMP_EQUAL("ERR error\n\n", control::err_answer("").c_str());
    STRCMP_EQUAL("OK ab\n\n", control::ok_answer("a\rb").c_str());
}

// Found by fuzz_control: "\r\r" lost one \r here and the other in add_line,
// leaving an empty line that ended the answer before "next".
TEST(ControlProtocol, DetailsOfOnlyLineBreaksAreDropped) {
    STRCMP_EQUAL("OK\nnext\n\n", control::ok_answer("", {"\r\r", "\n", "\r\n\r", "next"}).c_str());
    STRCMP_EQUAL("ERR first\nnext\n\n", control::err_answer("first\n\r\r\nnext").c_str());
}

TEST(ControlProtocol, AnswerComplete) {
    CHECK_FALSE(control::answer_complete(""));
    CHECK_FALSE(control::answer_complete("OK"));
    CHECK_FALSE(control::answer_complete("OK\n"));
    CHECK_FALSE(control::answer_complete("OK\nline\n"));
    CHECK(control::answer_complete("OK\n\n"));
    CHECK(control::answer_complete("OK\nline\n\n"));
}

TEST(ControlProtocol, ParseAnswer) {
    control::Answer a;
    CHECK(control::parse_answer("OK web/app1 draining\n\n", a));
    CHECK(a.ok);
    STRCMP_EQUAL("web/app1 draining", a.text.c_str());
    LONGS_EQUAL(0, a.details.size());

    CHECK(control::parse_answer("OK\nmaster pid 12\nworkers 2\n\n", a));
    CHECK(a.ok);
    STRCMP_EQUAL("", a.text.c_str());
    LONGS_EQUAL(2, a.details.size());
    STRCMP_EQUAL("workers 2", a.details[1].c_str());

    CHECK(control::parse_answer("ERR no server web/app9\r\n\r\n", a));
    CHECK_FALSE(a.ok);
    STRCMP_EQUAL("no server web/app9", a.text.c_str());

    CHECK(control::parse_answer("OK stopping", a));  // cut short by the master closing
    STRCMP_EQUAL("stopping", a.text.c_str());

    CHECK_FALSE(control::parse_answer("", a));
    CHECK_FALSE(control::parse_answer("\n", a));
    CHECK_FALSE(control::parse_answer("OKAY\n\n", a));
    CHECK_FALSE(control::parse_answer("HTTP/1.1 400 Bad Request\r\n\r\n", a));

    // What format_answer writes, parse_answer reads back.
    CHECK(control::parse_answer(control::err_answer("reload refused", {"a.conf:3: bad", "a.conf:9: worse"}), a));
    CHECK_FALSE(a.ok);
    STRCMP_EQUAL("reload refused", a.text.c_str());
    LONGS_EQUAL(2, a.details.size());
    STRCMP_EQUAL("a.conf:9: worse", a.details[1].c_str());
}

// ---- server-state file ---------------------------------------------------------

namespace {

std::string read_file(const std::string& path) {
    std::string out;
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return "(missing)";
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
    return out;
}

void write_file(const std::string& path, const std::string& text) {
    FILE* f = std::fopen(path.c_str(), "w");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
}

std::vector<std::string> dir_entries(const std::string& dir) {
    std::vector<std::string> names;
    DIR* d = ::opendir(dir.c_str());
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
    return names;
}

const std::vector<control::StateEntry> kEntries = {
    {"web", "app1", shm::AdminState::Drain, 5},
    {"web", "app2", shm::AdminState::Maint, -1},
    {"db", "db1", shm::AdminState::Ready, 0},
};

}  // namespace

TEST_GROUP(StateFile) {
    std::string dir;
    std::string path;

    void setup() override {
        char tmpl[] = "/tmp/ep-test-state-XXXXXX";
        dir = ::mkdtemp(tmpl);
        path = dir + "/server-state";
    }
    void teardown() override {
        for (const auto& name : dir_entries(dir)) {
            const std::string p = dir + "/" + name;
            if (::unlink(p.c_str()) != 0) ::rmdir(p.c_str());
        }
        ::rmdir(dir.c_str());
    }
};

TEST(StateFile, RoundTrip) {
    std::string error;
    CHECK(control::save_state(path, kEntries, error));
    STRCMP_EQUAL("# easyproxy server state: SERVICE/SERVER ADMIN WEIGHT (written by easyproxy, do not edit while it "
                 "runs)\n"
                 "web/app1 drain 5\n"
                 "web/app2 maint -\n"
                 "db/db1 ready 0\n",
                 read_file(path).c_str());
    struct stat st;
    CHECK(::stat(path.c_str(), &st) == 0);
    LONGS_EQUAL(0644, st.st_mode & 0777);

    std::vector<control::StateEntry> loaded;
    std::vector<std::string> warnings;
    CHECK(control::load_state(path, loaded, warnings, error));
    LONGS_EQUAL(0, warnings.size());
    LONGS_EQUAL(kEntries.size(), loaded.size());
    for (size_t i = 0; i < kEntries.size(); ++i) CHECK(kEntries[i] == loaded[i]);
}

TEST(StateFile, SaveReplacesAtomically) {
    std::string error;
    CHECK(control::save_state(path, kEntries, error));
    // A reader that opened the old file keeps reading the old content: the
    // new one arrives by rename, never by rewriting in place.
    const int old_fd = ::open(path.c_str(), O_RDONLY);
    CHECK(old_fd >= 0);
    CHECK(control::save_state(path, {{"web", "app1", shm::AdminState::Ready, 1}}, error));
    char buf[256] = {};
    const ssize_t n = ::pread(old_fd, buf, sizeof buf - 1, 0);
    ::close(old_fd);
    CHECK(n > 0);
    STRCMP_CONTAINS("web/app2 maint -\n", buf);
    STRCMP_CONTAINS("\nweb/app1 ready 1\n", read_file(path).c_str());
    CHECK(read_file(path).find("web/app2") == std::string::npos);
    // No temporary file is left behind.
    const auto names = dir_entries(dir);
    LONGS_EQUAL(1, names.size());
    STRCMP_EQUAL("server-state", names[0].c_str());
}

TEST(StateFile, EmptyListWritesOnlyTheComment) {
    std::string error;
    CHECK(control::save_state(path, {}, error));
    std::vector<control::StateEntry> loaded = kEntries;
    std::vector<std::string> warnings;
    CHECK(control::load_state(path, loaded, warnings, error));
    LONGS_EQUAL(0, loaded.size());
}

TEST(StateFile, SaveIntoMissingDirectoryFails) {
    std::string error;
    CHECK_FALSE(control::save_state(dir + "/missing/server-state", kEntries, error));
    STRCMP_EQUAL(("cannot create temporary file for " + dir + "/missing/server-state: No such file or directory")
                     .c_str(),
                 error.c_str());
}

TEST(StateFile, MissingFileIsAFirstStart) {
    std::vector<control::StateEntry> loaded = kEntries;
    std::vector<std::string> warnings;
    std::string error;
    CHECK(control::load_state(path, loaded, warnings, error));
    LONGS_EQUAL(0, loaded.size());
    LONGS_EQUAL(0, warnings.size());
}

TEST(StateFile, UnreadableFileIsAnError) {
    CHECK(::mkdir(path.c_str(), 0755) == 0);  // a directory where the file should be
    std::vector<control::StateEntry> loaded;
    std::vector<std::string> warnings;
    std::string error;
    CHECK_FALSE(control::load_state(path, loaded, warnings, error));
    STRCMP_EQUAL(("cannot read " + path + ": Is a directory").c_str(), error.c_str());
}

TEST(StateFile, MalformedLinesAreSkippedWithWarnings) {
    write_file(path,
               "# comment\n"
               "\n"
               "web/app1 drain 5\n"
               "web/app2 sleeping 1\n"
               "web drain 1\n"
               "web/app3 ready 300\n"
               "web/app4 ready\n"
               "web/app5 ready 1 extra\n"
               "web/* ready 1\n"
               "   \t\n"
               "  # indented comment\n"
               "db/db1 maint -\n"
               "db/db2 ready 7\r\n"
               "db/db3 ready x7\n"
               "db/db4 drain 0256");
    std::vector<control::StateEntry> loaded;
    std::vector<std::string> warnings;
    std::string error;
    CHECK(control::load_state(path, loaded, warnings, error));
    LONGS_EQUAL(3, loaded.size());
    CHECK(loaded[0] == (control::StateEntry{"web", "app1", shm::AdminState::Drain, 5}));
    CHECK(loaded[1] == (control::StateEntry{"db", "db1", shm::AdminState::Maint, -1}));
    CHECK(loaded[2] == (control::StateEntry{"db", "db2", shm::AdminState::Ready, 7}));
    const std::vector<std::string> expected = {
        path + ":4: unknown admin state \"sleeping\", line skipped",
        path + ":5: expected SERVICE/SERVER, got \"web\", line skipped",
        path + ":6: weight must be between 0 and 256 or - (got \"300\"), line skipped",
        path + ":7: expected SERVICE/SERVER ADMIN WEIGHT, line skipped",
        path + ":8: unexpected \"extra\" after WEIGHT, line skipped",
        path + ":9: expected SERVICE/SERVER, got \"web/*\", line skipped",
        path + ":14: weight must be between 0 and 256 or - (got \"x7\"), line skipped",
        path + ":15: weight must be between 0 and 256 or - (got \"0256\"), line skipped",
    };
    LONGS_EQUAL(expected.size(), warnings.size());
    for (size_t i = 0; i < expected.size(); ++i) STRCMP_EQUAL(expected[i].c_str(), warnings[i].c_str());
}

TEST(StateFile, StateLine) {
    STRCMP_EQUAL("web/app1 drain 5", control::state_line({"web", "app1", shm::AdminState::Drain, 5}).c_str());
    STRCMP_EQUAL("web/app1 ready -", control::state_line({"web", "app1", shm::AdminState::Ready, -1}).c_str());
}
