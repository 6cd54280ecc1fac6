// test_watcher.cpp: when a burst of config changes counts as settled (quiet
// for 300 ms, or 2 s after its first change however busy), and that the
// inotify watch on a file's directory sees in-place edits and renames of that
// file only.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "master/watcher.hpp"

#include <CppUTest/TestHarness.h>  // last: its memory-leak macros clash with the standard headers

using ep::master::Settle;
using ep::master::Watcher;

TEST_GROUP(Settle){};

TEST(Settle, NothingPendingIsNeverDue) {
    Settle s;
    CHECK_FALSE(s.pending());
    CHECK(s.due_at() == UINT64_MAX);
    CHECK_FALSE(s.due(1000000));
}

TEST(Settle, DueAfterQuietPeriodOnce) {
    Settle s;
    s.changed(1000);
    s.changed(1100);
    LONGS_EQUAL(1400, s.due_at());
    CHECK_FALSE(s.due(1399));
    CHECK(s.due(1400));
    CHECK_FALSE(s.due(1500));
    CHECK_FALSE(s.pending());
}

TEST(Settle, ConstantChangesStillDueTwoSecondsAfterTheFirst) {
    Settle s;
    uint64_t t = 5000;
    for (; t < 5000 + Settle::kMaxDelayMs; t += 100) {
        CHECK_FALSE(s.due(t));
        s.changed(t);
    }
    LONGS_EQUAL(7000, s.due_at());
    CHECK(s.due(7000));
    s.changed(7100);  // a new burst starts its own clock
    LONGS_EQUAL(7400, s.due_at());
}

TEST_GROUP(Watcher) {
    std::string dir;
    void setup() override {
        char tmpl[] = "/tmp/ep-watch-XXXXXX";
        dir = mkdtemp(tmpl);
    }
    void teardown() override {
        for (const char* name : {"/a.conf", "/other", "/a.conf.tmp"}) unlink((dir + name).c_str());
        rmdir(dir.c_str());
    }
    void write(const std::string& path) {
        FILE* f = fopen(path.c_str(), "w");
        fputs("x\n", f);
        fclose(f);
    }
    // What the watcher reports once everything it read has settled.
    std::string settled(Watcher& w) {
        std::vector<pollfd> fds;
        w.append_pollfds(fds);
        LONGS_EQUAL(1, fds.size());
        poll(fds.data(), 1, 1000);
        w.process(fds, 0);
        return w.changed(Settle::kMaxDelayMs);
    }
};

TEST(Watcher, SeesEditAndRenameOfItsFileOnly) {
    const std::string file = dir + "/a.conf";
    write(file);
    Watcher w;
    w.watch({file});
    CHECK(w.active());
    write(dir + "/other");
    write(file);
    STRCMP_EQUAL(file.c_str(), settled(w).c_str());
    write(file + ".tmp");
    rename((file + ".tmp").c_str(), file.c_str());
    STRCMP_EQUAL(file.c_str(), settled(w).c_str());
    write(dir + "/other");  // only that: nothing to report
    std::vector<pollfd> fds;
    w.append_pollfds(fds);
    poll(fds.data(), 1, 1000);
    w.process(fds, 0);
    CHECK(w.changed(Settle::kMaxDelayMs).empty());
    w.watch({});
    CHECK_FALSE(w.active());
}
