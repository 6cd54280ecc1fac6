// format.hpp: the one formatter of statistics, shared by epstat and the stats
// HTTP endpoint: aligned tables for people, and CSV, JSON and Prometheus text
// for programs. Pure functions of a Snapshot (no I/O), so tests pin every byte.
//
// Stable machine formats (scripts rely on them; add columns/keys at the end):
//   CSV, one header line per view, starting with "# " like HAProxy's "show stat":
//     services: # service,mode,balance,servers,servers_usable,active,accepted,denied,
//               no_server,connections,failures,retries,bytes_in,bytes_out
//     servers:  # service,server,address,admin,health,state,weight,backup,active,total,
//               failures,retries,bytes_in,bytes_out,last_check,last_check_ms,since_change_s
//     workers:  # slot,pid,generation,state,active,accepted,uptime_s
//     sessions: # worker_pid,client,service,server,age_s,bytes_in,bytes_out
//     routes:   # service,position,route,pool,hits,responses_1xx,responses_2xx,responses_3xx,
//               responses_4xx,responses_5xx,denied_401,denied_403,denied_429
//     middlewares: # middleware,type,denials
//   Fields are quoted (RFC 4180) only when they hold a comma, a quote or a line
//   break. Empty field = no value (never checked, never changed, no server yet).
//   JSON: {"master":{...},"<view>":[{...},...]}, one record per line.
//   Prometheus: text exposition format 0.0.4, see format_prometheus() in format.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "stats/snapshot.hpp"

namespace ep::stats {

enum class View { Services, Servers, Workers, Sessions, Routes, Middlewares };
enum class Format { Table, Csv, Json, Prometheus };

// Parsing of the words epstat accepts ("servers", "csv", ...).
bool parse_view(std::string_view word, View& out);
bool parse_format(std::string_view word, Format& out);
const char* view_name(View v);

// The requested view in the requested format. `color` adds ANSI colours to
// the table's states (only for a terminal). Prometheus ignores `view`: a
// scrape always gets every metric family.
std::string format(const Snapshot& snap, View view, Format fmt, bool color);

// Everything but sessions as one JSON document (the stats endpoint's
// /stats.json): {"master":{...},"services":[...],"servers":[...],"workers":[...],
// "routes":[...],"middlewares":[...]}.
std::string format_json_all(const Snapshot& snap);

// One line about the master for people, e.g.
// "master pid 1234 running, generation 2, up 3m12s, config /etc/easyproxy/easyproxy.conf".
std::string format_summary(const Snapshot& snap);

// Human units used by the table (exposed for tests and the dashboard).
std::string human_bytes(uint64_t bytes);        // "512 B", "1.2 KiB", "3.4 MiB"
std::string human_check_duration(uint64_t us);  // "0.3ms", "12ms", "1s"

// JSON string literal with quotes, escaping ", \ and control characters.
std::string json_quote(std::string_view s);

}  // namespace ep::stats
