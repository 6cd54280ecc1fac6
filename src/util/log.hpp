// log.hpp: the daemon's logger. Messages go to stderr (foreground) or syslog
// (daemon facility), filtered by level. printf-style, safe in any process.
#pragma once
#include <cstdint>
#include <string>

namespace ep::log {

enum class Level { Debug = 0, Info = 1, Notice = 2, Warning = 3, Error = 4 };

// target: true = stderr, false = syslog. `ident` is the program name.
void init(const char* ident, bool to_stderr, Level level);
void set_level(Level level);
// Process role shown in stderr lines ("master", "worker 1"); not owned.
void set_role(const char* role);
bool enabled(Level level);

void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// "2026-12-02T15:49:59.677Z": the time stamp of an access-log line.
struct Stamp {
    char text[32];
};
Stamp utc_stamp(uint64_t wall_ms);

}  // namespace ep::log

#define EP_LOG(level, ...)                                             \
    do {                                                               \
        if (::ep::log::enabled(level)) ::ep::log::write(level, __VA_ARGS__); \
    } while (0)
#define LOG_DEBUG(...) EP_LOG(::ep::log::Level::Debug, __VA_ARGS__)
#define LOG_INFO(...) EP_LOG(::ep::log::Level::Info, __VA_ARGS__)
#define LOG_NOTICE(...) EP_LOG(::ep::log::Level::Notice, __VA_ARGS__)
#define LOG_WARN(...) EP_LOG(::ep::log::Level::Warning, __VA_ARGS__)
#define LOG_ERROR(...) EP_LOG(::ep::log::Level::Error, __VA_ARGS__)
