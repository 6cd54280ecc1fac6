// epstat.cpp: shows the statistics of a running easyproxy (DESIGN.md §2, §6)
// by mapping RUN_DIR/easyproxy.shm read-only, so it works even when the master
// is busy, and still shows the last data (with a warning) when it is gone.
#include "config.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "shm/segment.hpp"
#include "stats/format.hpp"
#include "stats/snapshot.hpp"

// CLI11 last: it is the slow header, and nothing above depends on it.
#include <CLI/CLI.hpp>

namespace {

volatile sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }

bool write_stdout(const std::string& text) {
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0;
}

bool color_wanted() {
    if (!isatty(STDOUT_FILENO)) return false;
    const char* no_color = std::getenv("NO_COLOR");  // https://no-color.org convention
    if (no_color && *no_color) return false;
    const char* term = std::getenv("TERM");
    return !(term && std::strcmp(term, "dumb") == 0);
}

// Sleeps `seconds`, returning early (false) when SIGINT/SIGTERM arrived.
bool sleep_for(double seconds) {
    timespec ts;
    ts.tv_sec = time_t(seconds);
    ts.tv_nsec = long((seconds - std::floor(seconds)) * 1e9);
    while (!g_stop && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return !g_stop;
}

struct Rendered {
    std::string text;
    bool stale = false;
    int32_t master_pid = 0;
};

// Maps the segment afresh each time: a restarted master creates a new file.
Rendered render(const std::string& path, ep::stats::View view, ep::stats::Format fmt, bool color) {
    const ep::shm::Segment seg = ep::shm::Segment::open_readonly(path);
    const ep::stats::Snapshot snap = ep::stats::read_snapshot(seg);
    Rendered r;
    r.stale = !snap.master_alive;
    r.master_pid = snap.master_pid;
    if (fmt == ep::stats::Format::Table) r.text = ep::stats::format_summary(snap) + "\n\n";
    r.text += ep::stats::format(snap, view, fmt, color);
    return r;
}

void warn_stale(int32_t pid) {
    std::fprintf(stderr, "epstat: data is stale: master pid %d is not running\n", int(pid));
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"epstat - show the statistics of a running easyproxy", "epstat"};
    app.set_version_flag("-V,--version", "epstat (" PACKAGE_NAME ") " PACKAGE_VERSION);
    std::string run_dir = RUNSTATEDIR "/easyproxy";
    app.add_option("-r,--run-dir", run_dir, "directory holding easyproxy.shm")->capture_default_str();
    std::string output = "table";
    app.add_option("-o,--output", output, "output format: table, csv, json or prometheus")
        ->check(CLI::IsMember({"table", "csv", "json", "prometheus"}))
        ->capture_default_str();
    double watch = 0;
    app.add_option("-w,--watch", watch, "redraw every SECONDS until interrupted")
        ->type_name("SECONDS")
        ->check(CLI::Range(0.1, 86400.0));
    std::string view_word = "servers";
    app.add_option("view", view_word, "services, servers, workers, sessions, routes or middlewares")
        ->check(CLI::IsMember({"services", "servers", "workers", "sessions", "routes", "middlewares"}))
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11 uses codes 1xx for usage errors; the tools promise 1 (DESIGN.md §2).
        const int code = app.exit(e);
        return code == 0 ? 0 : 1;
    }

    ep::stats::View view = ep::stats::View::Servers;
    ep::stats::Format fmt = ep::stats::Format::Table;
    ep::stats::parse_view(view_word, view);
    ep::stats::parse_format(output, fmt);
    const std::string path = run_dir + "/easyproxy.shm";
    const bool tty = isatty(STDOUT_FILENO);
    const bool color = fmt == ep::stats::Format::Table && color_wanted();

    if (watch <= 0) {
        try {
            const Rendered r = render(path, view, fmt, color);
            if (r.stale) warn_stale(r.master_pid);
            return write_stdout(r.text) ? 0 : 1;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "epstat: %s\n", e.what());
            return 2;
        }
    }

    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;  // no SA_RESTART: nanosleep must return
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    bool first = true;
    bool was_stale = false;
    std::string last_error;
    do {
        std::string block;
        try {
            const Rendered r = render(path, view, fmt, color);
            if (r.stale && !was_stale) warn_stale(r.master_pid);
            was_stale = r.stale;
            last_error.clear();
            block = r.text;
        } catch (const std::exception& e) {
            if (first) {
                std::fprintf(stderr, "epstat: %s\n", e.what());
                return 2;
            }
            // The master may be restarting: keep trying, say it once.
            const std::string msg = std::string("epstat: ") + e.what() + "\n";
            if (msg != last_error) std::fputs(msg.c_str(), stderr);
            last_error = msg;
            continue;
        }
        if (tty)
            block = "\033[H\033[2J" + block;  // redraw in place
        else if (!first)
            block = "\n" + block;  // separate blocks for pipes and files
        if (!write_stdout(block)) return 1;
        first = false;
    } while (sleep_for(watch));
    return 0;
}
