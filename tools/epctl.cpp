// epctl.cpp: controls a running easyproxy through its control socket
// RUN_DIR/easyproxy.sock (protocol in src/control/protocol.hpp). `drain --wait`
// then follows the server's active connections in the shared memory.
#include "config.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "control/protocol.hpp"
#include "shm/segment.hpp"
#include "stats/snapshot.hpp"
#include "util/clock.hpp"
#include "util/unique_fd.hpp"

// CLI11 last: it is the slow header, and nothing above depends on it.
#include <CLI/CLI.hpp>

namespace {

constexpr int kExitError = 1;
constexpr int kExitUnreachable = 2;
constexpr int kExitTimeout = 3;
// A reload resolves hostnames and parses the config before answering.
constexpr int kAnswerTimeoutMs = 60000;
constexpr unsigned kWaitPollMs = 200;

[[noreturn]] void die(int code, const std::string& message) {
    std::fprintf(stderr, "epctl: %s\n", message.c_str());
    std::exit(code);
}

std::string errno_text() { return std::strerror(errno); }

ep::UniqueFd connect_control(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        die(kExitUnreachable, "cannot connect to " + path + ": path too long for a unix socket");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ep::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) die(kExitUnreachable, "cannot create a socket: " + errno_text());
    int rc;
    do {
        rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) die(kExitUnreachable, "cannot connect to " + path + ": " + errno_text());
    return fd;
}

// Sends one request line and returns the whole answer text.
std::string exchange(const std::string& path, const std::string& line) {
    ep::UniqueFd fd = connect_control(path);
    const std::string request = line + "\n";
    size_t sent = 0;
    while (sent < request.size()) {
        const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            die(kExitUnreachable, "cannot send to " + path + ": " + errno_text());
        }
        sent += size_t(n);
    }
    std::string received;
    const uint64_t deadline = ep::monotonic_ms() + kAnswerTimeoutMs;
    while (!ep::control::answer_complete(received)) {
        const uint64_t now = ep::monotonic_ms();
        if (now >= deadline) die(kExitUnreachable, "no answer from " + path + " within 60 s");
        pollfd p{fd.get(), POLLIN, 0};
        const int ready = ::poll(&p, 1, int(deadline - now));
        if (ready < 0 && errno != EINTR) die(kExitUnreachable, "cannot read from " + path + ": " + errno_text());
        if (ready <= 0) continue;
        char buf[4096];
        const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            die(kExitUnreachable, "cannot read from " + path + ": " + errno_text());
        }
        if (n == 0) break;  // the master may close right after answering `stop`
        received.append(buf, size_t(n));
    }
    if (received.empty()) die(kExitUnreachable, path + " closed the connection without answering");
    return received;
}

void sleep_ms(unsigned ms) {
    timespec ts{time_t(ms / 1000), long(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

std::string connections(uint64_t n) {
    return std::to_string(n) + (n == 1 ? " active connection" : " active connections");
}

// Follows the target's active connections until none are left (0) or the
// timeout passes (3). The counters are read from the shared memory, which
// the workers update as connections close.
int wait_drained(const std::string& run_dir, const ep::control::Target& target, double timeout_s) {
    const std::string shm_path = run_dir + "/easyproxy.shm";
    const std::string name = target.text();
    const bool tty = isatty(STDOUT_FILENO);
    const uint64_t deadline = ep::monotonic_ms() + uint64_t(timeout_s * 1000.0);
    bool shown = false;
    uint64_t last = 0;
    for (;;) {
        uint64_t active = 0;
        bool found = false;
        try {
            const ep::shm::Segment seg = ep::shm::Segment::open_readonly(shm_path);
            const ep::stats::Snapshot snap = ep::stats::read_snapshot(seg);
            for (const auto& s : snap.servers)
                if (s.service == target.service && (target.all_servers() || s.name == target.server)) {
                    found = true;
                    active += s.active;
                }
        } catch (const std::exception& e) {
            if (shown && tty) std::fputc('\n', stdout);
            die(kExitUnreachable, e.what());
        }
        if (!found) {
            if (shown && tty) std::fputc('\n', stdout);
            die(kExitError, name + " is not in " + shm_path);
        }
        if (active == 0) {
            const std::string line = name + ": drained, no active connections";
            if (tty) std::printf("\r\033[K%s\n", line.c_str());
            else std::printf("%s\n", line.c_str());
            return 0;
        }
        const std::string line = name + ": draining, " + connections(active);
        if (tty) {
            std::printf("\r\033[K%s", line.c_str());  // one line, redrawn in place
            std::fflush(stdout);
        } else if (!shown || active != last) {
            std::printf("%s\n", line.c_str());
            std::fflush(stdout);
        }
        shown = true;
        last = active;
        if (ep::monotonic_ms() >= deadline) {
            if (tty) std::fputc('\n', stdout);
            std::fflush(stdout);
            char secs[32];
            std::snprintf(secs, sizeof secs, "%g", timeout_s);
            std::fprintf(stderr, "epctl: %s still has %s after %s s\n", name.c_str(), connections(active).c_str(),
                         secs);
            return kExitTimeout;
        }
        sleep_ms(kWaitPollMs);
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"epctl - control a running easyproxy", "epctl"};
    app.set_version_flag("-V,--version", "epctl (" PACKAGE_NAME ") " PACKAGE_VERSION);
    std::string run_dir = RUNSTATEDIR "/easyproxy";
    app.add_option("-r,--run-dir", run_dir, "directory holding easyproxy.sock and easyproxy.shm")
        ->capture_default_str();
    app.require_subcommand(1, 1);
    app.fallthrough();  // -r is also accepted after the command
    app.footer("SERVICE/* names every server of a service.\n"
               "Exit status: 0 done, 1 usage or command error, 2 easyproxy not reachable, 3 drain --wait timed out.");

    std::string target, weight;
    bool wait = false, kill = false, graceful = false;
    double timeout = 300;

    app.add_subcommand("status", "master pid, uptime, generation, config file, workers");
    auto* drain = app.add_subcommand("drain", "no new connections to a server; existing ones continue");
    drain->add_option("target", target, "SERVICE/SERVER or SERVICE/*")->required();
    auto* wait_flag = drain->add_flag("--wait", wait, "wait until the server has no active connections");
    drain->add_option("--timeout", timeout, "give up waiting after SECS (exit 3)")
        ->type_name("SECS")
        ->check(CLI::Range(0.0, 86400.0))
        ->capture_default_str()
        ->needs(wait_flag);
    auto* maint = app.add_subcommand("maint", "take a server out of service and stop its checks");
    maint->add_option("target", target, "SERVICE/SERVER or SERVICE/*")->required();
    maint->add_flag("--kill", kill, "also close the server's connections");
    auto* ready = app.add_subcommand("ready", "put a server back in service");
    ready->add_option("target", target, "SERVICE/SERVER or SERVICE/*")->required();
    auto* weight_cmd = app.add_subcommand("weight", "change a server's weight at run time");
    weight_cmd->add_option("target", target, "SERVICE/SERVER or SERVICE/*")->required();
    weight_cmd->add_option("N", weight, "new weight, 0..256")->required();
    app.add_subcommand("reload", "reload the configuration and report whether it was taken");
    auto* stop = app.add_subcommand("stop", "stop easyproxy");
    stop->add_flag("--graceful", graceful, "let open connections finish (up to shutdown_timeout)");

    // CLI11 would say "A subcommand is required" for a mistyped command; name it.
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "-r" || a == "--run-dir") {
            ++i;
            continue;
        }
        if (a.empty() || a[0] == '-') continue;
        bool known = false;
        for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
            known = known || sub->get_name() == a;
        if (!known)
            die(kExitError, "unknown command \"" + std::string(a) + "\" (see epctl --help)");
        break;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11 uses codes 1xx for usage errors; the tools promise 1 (DESIGN.md §2).
        const int code = app.exit(e);
        return code == 0 ? 0 : kExitError;
    }

    // Build the request line from the words given, then check it with the
    // master's own parser, so epctl and the socket refuse the same things
    // with the same messages.
    const std::string verb = app.get_subcommands().front()->get_name();
    std::string line = verb;
    if (!target.empty()) line += " " + target;
    if (!weight.empty()) line += " " + weight;
    if (kill) line += " --kill";
    if (graceful) line += " --graceful";
    ep::control::Command cmd;
    std::string error;
    if (!ep::control::parse_command(line, cmd, error)) die(kExitError, error);

    const std::string answer_text = exchange(run_dir + "/easyproxy.sock", ep::control::to_line(cmd));
    ep::control::Answer answer;
    if (!ep::control::parse_answer(answer_text, answer)) {
        const std::string first = answer_text.substr(0, answer_text.find('\n'));
        die(kExitError, "unexpected answer from easyproxy: \"" + first + "\"");
    }
    if (!answer.ok) {
        std::fprintf(stderr, "epctl: %s\n", answer.text.c_str());
        for (const auto& d : answer.details) std::fprintf(stderr, "%s\n", d.c_str());
        return kExitError;
    }
    if (!answer.text.empty()) std::printf("%s\n", answer.text.c_str());
    for (const auto& d : answer.details) std::printf("%s\n", d.c_str());
    std::fflush(stdout);

    if (cmd.verb == ep::control::Verb::Drain && wait) return wait_drained(run_dir, cmd.target, timeout);
    return 0;
}
