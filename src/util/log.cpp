// log.cpp: stderr/syslog logger behind log.hpp. One formatted write per line so
// lines from the master and workers never interleave mid-line on stderr.
#include "util/log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace ep::log {

namespace {
bool g_stderr = true;
Level g_level = Level::Info;
const char* g_ident = "easyproxy";
const char* g_role = "";

int syslog_priority(Level l) {
    switch (l) {
    case Level::Debug: return LOG_DEBUG;
    case Level::Info: return LOG_INFO;
    case Level::Notice: return LOG_NOTICE;
    case Level::Warning: return LOG_WARNING;
    case Level::Error: return LOG_ERR;
    }
    return LOG_INFO;
}

const char* level_name(Level l) {
    switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Notice: return "notice";
    case Level::Warning: return "warning";
    case Level::Error: return "error";
    }
    return "info";
}
}  // namespace

void init(const char* ident, bool to_stderr, Level level) {
    g_ident = ident;
    g_stderr = to_stderr;
    g_level = level;
    if (!to_stderr) openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void set_level(Level level) { g_level = level; }
void set_role(const char* role) { g_role = role; }
bool enabled(Level level) { return level >= g_level; }

void write(Level level, const char* fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!g_stderr) {
        syslog(syslog_priority(level), "%s", msg);
        return;
    }
    char stamp[32];
    time_t now = time(nullptr);
    struct tm tmv;
    localtime_r(&now, &tmv);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tmv);
    char line[1200];
    int n = snprintf(line, sizeof line, "%s %s[%d]%s%s %s: %s\n", stamp, g_ident, int(getpid()),
                     *g_role ? " " : "", g_role, level_name(level), msg);
    if (n > int(sizeof line) - 1) n = int(sizeof line) - 1;
    ssize_t ignored = ::write(STDERR_FILENO, line, size_t(n));
    (void)ignored;
}

Stamp utc_stamp(uint64_t wall_ms) {
    Stamp s;
    const time_t secs = time_t(wall_ms / 1000);
    struct tm tmv;
    gmtime_r(&secs, &tmv);
    const size_t k = strftime(s.text, sizeof s.text, "%Y-%m-%dT%H:%M:%S", &tmv);
    snprintf(s.text + k, sizeof s.text - k, ".%03uZ", unsigned(wall_ms % 1000));
    return s;
}

}  // namespace ep::log
