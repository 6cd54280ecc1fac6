// format.cpp: renders a Snapshot as a table, CSV, JSON or Prometheus text.
// Table widths are computed from the data; colour codes are added after the
// padding so they never disturb the alignment.
#include "stats/format.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <iterator>
#include <utility>
#include <vector>

#include "util/duration.hpp"

namespace ep::stats {

namespace {

// ---- small text helpers ----------------------------------------------------

std::string num(uint64_t v) { return std::to_string(v); }

// Milliseconds or microseconds as a decimal number of larger units, exact and
// locale-free ("12.345"), for the machine formats.
std::string fixed_div(uint64_t value, uint64_t divisor, int decimals) {
    std::string s = std::to_string(value / divisor);
    if (decimals > 0) {
        std::string frac = std::to_string(value % divisor + divisor);  // keeps leading zeros
        s += '.';
        s += frac.substr(1, size_t(decimals));
    }
    return s;
}

// ---- table -------------------------------------------------------------------

constexpr const char* kGreen = "32";
constexpr const char* kRed = "31";
constexpr const char* kYellow = "33";
constexpr const char* kMagenta = "35";

struct Cell {
    std::string text;
    const char* color = nullptr;  // ANSI SGR parameter, or none
};

struct Column {
    const char* title;
    bool right;  // numbers align right
};

class Table {
public:
    explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
    void add(std::vector<Cell> row) { rows_.push_back(std::move(row)); }

    std::string render(bool color) const {
        std::vector<size_t> width(columns_.size());
        for (size_t c = 0; c < columns_.size(); ++c) {
            width[c] = std::string_view(columns_[c].title).size();
            for (const auto& row : rows_) width[c] = std::max(width[c], row[c].text.size());
        }
        std::string out;
        std::vector<Cell> titles;
        for (const auto& col : columns_) titles.push_back({col.title, color ? "1" : nullptr});
        line(out, titles, width, color);
        for (const auto& row : rows_) line(out, row, width, color);
        return out;
    }

private:
    void line(std::string& out, const std::vector<Cell>& row, const std::vector<size_t>& width, bool color) const {
        std::string text;
        for (size_t c = 0; c < columns_.size(); ++c) {
            const Cell& cell = row[c];
            const size_t pad = width[c] - cell.text.size();
            const bool last = c + 1 == columns_.size();
            if (c > 0) text += "  ";
            if (columns_[c].right) text.append(pad, ' ');
            if (color && cell.color) {
                text += "\033[";
                text += cell.color;
                text += 'm';
                text += cell.text;
                text += "\033[0m";
            } else {
                text += cell.text;
            }
            if (!columns_[c].right && !last) text.append(pad, ' ');
        }
        // A right-aligned last column never leaves trailing blanks; a left one
        // was not padded; titles can still end in blanks only if empty.
        while (!text.empty() && text.back() == ' ') text.pop_back();
        out += text;
        out += '\n';
    }

    std::vector<Column> columns_;
    std::vector<std::vector<Cell>> rows_;
};

const char* admin_color(shm::AdminState a) {
    switch (a) {
        case shm::AdminState::Ready: return kGreen;
        case shm::AdminState::Drain: return kYellow;
        case shm::AdminState::Maint: return kMagenta;
    }
    return nullptr;
}

std::string health_text(const ServerStats& s) {
    if (s.passive_down && s.health != shm::Health::Down) return "down (passive)";
    return health_name(s.health);
}

const char* health_color(const ServerStats& s) {
    if (s.passive_down || s.health == shm::Health::Down) return kRed;
    if (s.health == shm::Health::Up) return kGreen;
    return nullptr;  // unchecked: nothing to report
}

std::string check_text(const ServerStats& s) {
    if (s.last_check.empty()) return "-";
    return s.last_check + " (" + human_check_duration(s.last_check_us) + ")";
}

// HTTP services get a second table of their request counters.
std::string table_http(const Snapshot& snap) {
    Table t({{"SERVICE", false}, {"REQUESTS", true}, {"1XX", true}, {"2XX", true}, {"3XX", true}, {"4XX", true},
             {"5XX", true}, {"502", true}, {"503", true}, {"504", true}, {"SRV CONN NEW", true},
             {"SRV CONN REUSED", true}});
    for (const auto& s : snap.services) {
        if (s.mode != "http") continue;
        t.add({{s.name}, {num(s.requests)}, {num(s.responses[0])}, {num(s.responses[1])}, {num(s.responses[2])},
               {num(s.responses[3])}, {num(s.responses[4])}, {num(s.errors_502)}, {num(s.errors_503)},
               {num(s.errors_504)}, {num(s.server_conns_opened)}, {num(s.server_conns_reused)}});
    }
    return t.render(false);
}

// Services that terminate TLS get a table of their handshakes.
std::string table_tls(const Snapshot& snap) {
    Table t({{"SERVICE", false}, {"HANDSHAKES", true}, {"RESUMED", true}, {"NO CIPHER", true}, {"UNKNOWN CA", true},
             {"TIMEOUT", true}, {"PROTOCOL", true}, {"OTHER", true}});
    for (const auto& s : snap.services) {
        if (!s.tls) continue;
        t.add({{s.name}, {num(s.tls_handshakes)}, {num(s.tls_resumed)}, {num(s.tls_failures[0])},
               {num(s.tls_failures[1])}, {num(s.tls_failures[2])}, {num(s.tls_failures[3])}, {num(s.tls_failures[4])}});
    }
    return t.render(false);
}

bool any_http(const Snapshot& snap) {
    return std::any_of(snap.services.begin(), snap.services.end(), [](const ServiceStats& s) { return s.mode == "http"; });
}

std::string table_services(const Snapshot& snap, bool color) {
    Table t({{"SERVICE", false}, {"MODE", false}, {"BALANCE", false}, {"SERVERS", true}, {"ACTIVE", true},
             {"ACCEPTED", true}, {"DENIED", true}, {"NO SERVER", true}, {"LOCAL ERR", true}, {"FAILED", true},
             {"RETRIES", true}, {"IN", true}, {"OUT", true}});
    for (const auto& s : snap.services) {
        const char* servers_color = s.servers_usable == 0 ? kRed : (s.servers_usable < s.servers ? kYellow : kGreen);
        t.add({{s.name},
               {s.mode},
               {s.balance},
               {num(s.servers_usable) + "/" + num(s.servers), servers_color},
               {num(s.active)},
               {num(s.accepted)},
               {num(s.denied)},
               {num(s.no_server), s.no_server ? kRed : nullptr},
               {num(s.local_errors), s.local_errors ? kYellow : nullptr},
               {num(s.failures)},
               {num(s.retries)},
               {human_bytes(s.bytes_in)},
               {human_bytes(s.bytes_out)}});
    }
    return t.render(color);
}

std::string table_servers(const Snapshot& snap, bool color) {
    Table t({{"SERVICE", false}, {"SERVER", false}, {"ADDRESS", false}, {"ADMIN", false}, {"HEALTH", false},
             {"WEIGHT", true}, {"BACKUP", false}, {"ACTIVE", true}, {"TOTAL", true}, {"FAILED", true},
             {"RETRIES", true}, {"IN", true}, {"OUT", true}, {"LAST CHECK", false}, {"CHANGED", true}});
    for (const auto& s : snap.servers) {
        t.add({{s.service},
               {s.name},
               {s.address},
               {admin_name(s.admin), admin_color(s.admin)},
               {health_text(s), health_color(s)},
               {num(s.weight)},
               {s.backup ? "yes" : "-"},
               {num(s.active)},
               {num(s.total)},
               {num(s.failures)},
               {num(s.retries)},
               {human_bytes(s.bytes_in)},
               {human_bytes(s.bytes_out)},
               {check_text(s)},
               {s.changed ? format_duration_ms(s.since_change_ms) + " ago" : "-"}});
    }
    return t.render(color);
}

std::string table_workers(const Snapshot& snap, bool color) {
    Table t({{"SLOT", true}, {"PID", true}, {"GEN", true}, {"STATE", false}, {"ACTIVE", true}, {"ACCEPTED", true},
             {"UPTIME", true}, {"LOOP", true}, {"SPLICED", true}, {"KERNEL", true}, {"KERN CONNS", true},
             {"COLD", true}, {"LOCAL ERR", true}});
    for (const auto& w : snap.workers) {
        t.add({{num(w.slot)},
               {std::to_string(w.pid)},
               {num(w.generation)},
               {worker_state_name(w.state), w.state == shm::WorkerState::Running ? kGreen : kYellow},
               {num(w.active)},
               {num(w.accepted)},
               {format_duration_ms(w.uptime_ms)},
               {format_duration_ms(w.loop_age_ms) + " ago", w.loop_age_ms >= 2000 ? kRed : nullptr},
               {human_bytes(w.bytes_spliced)},
               {human_bytes(w.bytes_kernel)},
               {num(w.kernel_relays)},
               {num(w.cold_fds)},
               {num(w.local_errors), w.local_errors ? kYellow : nullptr}});
    }
    return t.render(color);
}

std::string table_sessions(const Snapshot& snap, bool color) {
    Table t({{"WORKER", true}, {"CLIENT", false}, {"SERVICE", false}, {"SERVER", false}, {"AGE", true},
             {"IN", true}, {"OUT", true}});
    for (const auto& s : snap.sessions) {
        t.add({{std::to_string(s.worker_pid)},
               {s.client},
               {s.service.empty() ? "-" : s.service},
               {s.server.empty() ? "-" : s.server},
               {format_duration_ms(s.age_ms)},
               {human_bytes(s.bytes_in)},
               {human_bytes(s.bytes_out)}});
    }
    return t.render(color);
}

// Each entry point's routes in match order, then what matched none of them.
std::string table_routes(const Snapshot& snap) {
    Table t({{"SERVICE", false}, {"#", true}, {"ROUTE", false}, {"HITS", true}, {"2XX", true}, {"3XX", true},
             {"4XX", true}, {"5XX", true}, {"401", true}, {"403", true}, {"429", true}});
    for (size_t i = 0; i < snap.routes.size(); ++i) {
        const RouteStats& r = snap.routes[i];
        t.add({{r.service}, {num(r.position + 1)}, {r.route}, {num(r.hits)}, {num(r.responses[1])},
               {num(r.responses[2])}, {num(r.responses[3])}, {num(r.responses[4])}, {num(r.denied_401)},
               {num(r.denied_403)}, {num(r.denied_429)}});
        if (i + 1 < snap.routes.size() && snap.routes[i + 1].service == r.service) continue;
        // 404: the entry point answered itself
        for (const ServiceStats& s : snap.services)
            if (s.name == r.service)
                t.add({{r.service}, {"-"}, {"no route (404)"}, {num(s.errors_404)}, {"-"}, {"-"}, {num(s.errors_404)},
                       {"-"}, {"-"}, {"-"}, {"-"}});
    }
    return t.render(false);
}

// "2027-01-31 12:00" (UTC), and whole days left (negative once expired).
std::string expiry_date(int64_t unix_s) {
    const time_t t = time_t(unix_s);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char text[32];
    strftime(text, sizeof text, "%Y-%m-%d %H:%M", &tm);
    return text;
}
int64_t days_left(const CertificateStats& c, uint64_t now_unix_ms) {
    const int64_t left = c.not_after_unix - int64_t(now_unix_ms / 1000);
    return left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
}

std::string table_certificates(const Snapshot& snap, bool color) {
    Table t({{"SERVICE", false}, {"CERTIFICATE", false}, {"NAMES", false}, {"EXPIRES (UTC)", false},
             {"DAYS LEFT", true}});
    for (const CertificateStats& c : snap.certificates) {
        const int64_t days = days_left(c, snap.taken_unix_ms);
        const char* tint = days < 0 ? kRed : days < 14 ? kYellow : nullptr;
        t.add({{c.service}, {c.file}, {c.names}, {expiry_date(c.not_after_unix)},
               {std::to_string(days), color ? tint : nullptr}});
    }
    return t.render(color);
}

std::string table_middlewares(const Snapshot& snap) {
    Table t({{"MIDDLEWARE", false}, {"TYPE", false}, {"DENIALS", true}});
    for (const MiddlewareStats& m : snap.middlewares) t.add({{m.name}, {m.type}, {num(m.denials)}});
    return t.render(false);
}

// ---- CSV -----------------------------------------------------------------------

std::string csv_field(std::string_view s) {
    if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

void csv_row(std::string& out, std::initializer_list<std::string> fields) {
    bool first = true;
    for (const auto& f : fields) {
        if (!first) out += ',';
        out += csv_field(f);
        first = false;
    }
    out += '\n';
}

std::string csv_services(const Snapshot& snap) {
    std::string out =
        "# service,mode,balance,servers,servers_usable,active,accepted,denied,no_server,connections,failures,"
        "retries,bytes_in,bytes_out,local_errors,requests,responses_1xx,responses_2xx,responses_3xx,"
        "responses_4xx,responses_5xx,errors_502,errors_503,errors_504,server_connections_opened,"
        "server_connections_reused,errors_404\n";
    for (const auto& s : snap.services)  // the http columns are 0 for tcp services
        csv_row(out, {s.name, s.mode, s.balance, num(s.servers), num(s.servers_usable), num(s.active),
                      num(s.accepted), num(s.denied), num(s.no_server), num(s.total), num(s.failures),
                      num(s.retries), num(s.bytes_in), num(s.bytes_out), num(s.local_errors), num(s.requests),
                      num(s.responses[0]), num(s.responses[1]), num(s.responses[2]), num(s.responses[3]),
                      num(s.responses[4]), num(s.errors_502), num(s.errors_503), num(s.errors_504),
                      num(s.server_conns_opened), num(s.server_conns_reused), num(s.errors_404)});
    return out;
}

std::string csv_servers(const Snapshot& snap) {
    std::string out =
        "# service,server,address,admin,health,state,weight,backup,active,total,failures,retries,bytes_in,"
        "bytes_out,last_check,last_check_ms,since_change_s\n";
    for (const auto& s : snap.servers)
        csv_row(out, {s.service, s.name, s.address, admin_name(s.admin), health_name(s.health),
                      server_state_name(s), num(s.weight), s.backup ? "1" : "0", num(s.active), num(s.total),
                      num(s.failures), num(s.retries), num(s.bytes_in), num(s.bytes_out), s.last_check,
                      s.last_check.empty() ? "" : fixed_div(s.last_check_us, 1000, 3),
                      s.changed ? num(s.since_change_ms / 1000) : ""});
    return out;
}

std::string csv_workers(const Snapshot& snap) {
    // kernel_relays and bytes_kernel came later: at the end, so scripts that
    // read columns by position keep working.
    std::string out = "# slot,pid,generation,state,active,accepted,uptime_s,loop_age_ms,bytes_spliced,cold_fds,"
                      "local_errors,kernel_relays,bytes_kernel\n";
    for (const auto& w : snap.workers)
        csv_row(out, {num(w.slot), std::to_string(w.pid), num(w.generation), worker_state_name(w.state),
                      num(w.active), num(w.accepted), num(w.uptime_ms / 1000), num(w.loop_age_ms),
                      num(w.bytes_spliced), num(w.cold_fds), num(w.local_errors), num(w.kernel_relays),
                      num(w.bytes_kernel)});
    return out;
}

std::string csv_sessions(const Snapshot& snap) {
    std::string out = "# worker_pid,client,service,server,age_s,bytes_in,bytes_out\n";
    for (const auto& s : snap.sessions)
        csv_row(out, {std::to_string(s.worker_pid), s.client, s.service, s.server, num(s.age_ms / 1000),
                      num(s.bytes_in), num(s.bytes_out)});
    return out;
}

std::string csv_routes(const Snapshot& snap) {
    std::string out = "# service,position,route,pool,hits,responses_1xx,responses_2xx,responses_3xx,responses_4xx,"
                      "responses_5xx,denied_401,denied_403,denied_429\n";
    for (const auto& r : snap.routes)
        csv_row(out, {r.service, num(r.position + 1), r.route, r.pool, num(r.hits), num(r.responses[0]),
                      num(r.responses[1]), num(r.responses[2]), num(r.responses[3]), num(r.responses[4]),
                      num(r.denied_401), num(r.denied_403), num(r.denied_429)});
    return out;
}

std::string csv_certificates(const Snapshot& snap) {
    std::string out = "# service,certificate,names,not_after_unix\n";
    for (const auto& c : snap.certificates)
        csv_row(out, {c.service, c.file, c.names, std::to_string(c.not_after_unix)});
    return out;
}

std::string csv_middlewares(const Snapshot& snap) {
    std::string out = "# middleware,type,denials\n";
    for (const auto& m : snap.middlewares) csv_row(out, {m.name, m.type, num(m.denials)});
    return out;
}

// ---- JSON ----------------------------------------------------------------------

// Builds one flat JSON object; values are already JSON text.
class JsonObject {
public:
    JsonObject& str(const char* key, std::string_view v) { return raw(key, json_quote(v)); }
    JsonObject& str_or_null(const char* key, std::string_view v) { return raw(key, v.empty() ? "null" : json_quote(v)); }
    JsonObject& u64(const char* key, uint64_t v) { return raw(key, num(v)); }
    JsonObject& i64(const char* key, int64_t v) { return raw(key, std::to_string(v)); }
    JsonObject& boolean(const char* key, bool v) { return raw(key, v ? "true" : "false"); }
    JsonObject& raw(const char* key, std::string_view json) {
        text_ += text_.empty() ? "{" : ",";
        text_ += json_quote(key);
        text_ += ':';
        text_ += json;
        return *this;
    }
    std::string done() const { return text_.empty() ? "{}" : text_ + "}"; }

private:
    std::string text_;
};

std::string json_master(const Snapshot& snap) {
    return JsonObject()
        .i64("pid", snap.master_pid)
        .boolean("alive", snap.master_alive)
        .u64("generation", snap.generation)
        .u64("start_unix_ms", snap.start_unix_ms)
        .u64("uptime_ms", snap.uptime_ms)
        .u64("heartbeat_age_ms", snap.heartbeat_age_ms)
        .u64("watchdog_kills", snap.watchdog_kills)
        .str("config_file", snap.config_file)
        .done();
}

std::string json_service(const ServiceStats& s) {
    JsonObject o;
    o.str("service", s.name)
        .str("mode", s.mode)
        .str("balance", s.balance)
        .u64("servers", s.servers)
        .u64("servers_usable", s.servers_usable)
        .u64("active", s.active)
        .u64("accepted", s.accepted)
        .u64("denied", s.denied)
        .u64("no_server", s.no_server)
        .u64("local_errors", s.local_errors)
        .u64("connections", s.total)
        .u64("failures", s.failures)
        .u64("retries", s.retries)
        .u64("bytes_in", s.bytes_in)
        .u64("bytes_out", s.bytes_out);
    if (s.mode == "http") {
        o.u64("requests", s.requests);
        static const char* const classes[] = {"responses_1xx", "responses_2xx", "responses_3xx", "responses_4xx",
                                              "responses_5xx"};
        for (int c = 0; c < 5; ++c) o.u64(classes[c], s.responses[c]);
        o.u64("errors_502", s.errors_502)
            .u64("errors_503", s.errors_503)
            .u64("errors_504", s.errors_504)
            .u64("server_connections_opened", s.server_conns_opened)
            .u64("server_connections_reused", s.server_conns_reused)
            .u64("errors_404", s.errors_404);
    }
    if (s.tls) {
        o.u64("tls_handshakes", s.tls_handshakes).u64("tls_resumed", s.tls_resumed);
        for (int r = 0; r < 5; ++r) o.u64((std::string("tls_failures_") + kTlsFailureNames[r]).c_str(), s.tls_failures[r]);
    }
    if (s.tls || s.tls_server_failures) o.u64("tls_server_failures", s.tls_server_failures);
    return o.done();
}

std::string json_server(const ServerStats& s) {
    JsonObject o;
    o.str("service", s.service)
        .str("server", s.name)
        .str("address", s.address)
        .str("admin", admin_name(s.admin))
        .str("health", health_name(s.health))
        .boolean("passive_down", s.passive_down)
        .str("state", server_state_name(s))
        .u64("weight", s.weight)
        .u64("config_weight", s.config_weight)
        .boolean("backup", s.backup)
        .u64("max_connections", s.max_connections)
        .u64("active", s.active)
        .u64("total", s.total)
        .u64("failures", s.failures)
        .u64("retries", s.retries)
        .u64("bytes_in", s.bytes_in)
        .u64("bytes_out", s.bytes_out)
        .str_or_null("last_check", s.last_check);
    if (s.last_check.empty())
        o.raw("last_check_us", "null");
    else
        o.u64("last_check_us", s.last_check_us);
    if (s.changed)
        o.u64("since_change_ms", s.since_change_ms);
    else
        o.raw("since_change_ms", "null");
    return o.done();
}

std::string json_worker(const WorkerStats& w) {
    return JsonObject()
        .u64("slot", w.slot)
        .i64("pid", w.pid)
        .u64("generation", w.generation)
        .str("state", worker_state_name(w.state))
        .u64("active", w.active)
        .u64("accepted", w.accepted)
        .u64("started_unix_ms", w.started_unix_ms)
        .u64("uptime_ms", w.uptime_ms)
        .u64("loop_age_ms", w.loop_age_ms)
        .u64("bytes_spliced", w.bytes_spliced)
        .u64("cold_fds", w.cold_fds)
        .u64("local_errors", w.local_errors)
        .u64("kernel_relays", w.kernel_relays)
        .u64("bytes_kernel", w.bytes_kernel)
        .done();
}

std::string json_session(const SessionStats& s) {
    return JsonObject()
        .i64("worker_pid", s.worker_pid)
        .str("client", s.client)
        .str_or_null("service", s.service)
        .str_or_null("server", s.server)
        .u64("age_ms", s.age_ms)
        .u64("bytes_in", s.bytes_in)
        .u64("bytes_out", s.bytes_out)
        .done();
}

std::string json_route(const RouteStats& r) {
    return JsonObject()
        .str("service", r.service)
        .u64("position", r.position + 1)
        .str("route", r.route)
        .str("pool", r.pool)
        .u64("hits", r.hits)
        .u64("responses_1xx", r.responses[0])
        .u64("responses_2xx", r.responses[1])
        .u64("responses_3xx", r.responses[2])
        .u64("responses_4xx", r.responses[3])
        .u64("responses_5xx", r.responses[4])
        .u64("denied_401", r.denied_401)
        .u64("denied_403", r.denied_403)
        .u64("denied_429", r.denied_429)
        .done();
}

std::string json_certificate(const CertificateStats& c) {
    return JsonObject()
        .str("service", c.service)
        .str("certificate", c.file)
        .str("names", c.names)
        .i64("not_after_unix", c.not_after_unix)
        .done();
}

std::string json_middleware(const MiddlewareStats& m) {
    return JsonObject().str("middleware", m.name).str("type", m.type).u64("denials", m.denials).done();
}

template <typename T, typename F>
void json_array(std::string& out, const char* key, const std::vector<T>& items, F&& one) {
    out += ",\n  ";
    out += json_quote(key);
    if (items.empty()) {
        out += ": []";
        return;
    }
    out += ": [\n";
    for (size_t i = 0; i < items.size(); ++i) {
        out += "    ";
        out += one(items[i]);
        out += i + 1 < items.size() ? ",\n" : "\n";
    }
    out += "  ]";
}

std::string json_view(const Snapshot& snap, View view) {
    std::string out = "{\n  \"master\": " + json_master(snap);
    switch (view) {
        case View::Services: json_array(out, "services", snap.services, json_service); break;
        case View::Servers: json_array(out, "servers", snap.servers, json_server); break;
        case View::Workers: json_array(out, "workers", snap.workers, json_worker); break;
        case View::Sessions: json_array(out, "sessions", snap.sessions, json_session); break;
        case View::Routes: json_array(out, "routes", snap.routes, json_route); break;
        case View::Middlewares: json_array(out, "middlewares", snap.middlewares, json_middleware); break;
        case View::Certificates: json_array(out, "certificates", snap.certificates, json_certificate); break;
    }
    out += "\n}\n";
    return out;
}

// ---- Prometheus ----------------------------------------------------------------
//
// Text exposition format 0.0.4. Every family is written once (HELP, TYPE, then
// all its samples), counters end in _total, units are base units (seconds,
// bytes). Families:
//   easyproxy_start_time_seconds, easyproxy_generation, easyproxy_watchdog_kills_total
//   easyproxy_service_{active_connections, connections_total,
//     denied_connections_total, no_server_total, local_errors_total, servers,
//     usable_servers}{service}
//   easyproxy_server_{active_connections, connections_total,
//     connect_failures_total, retries_total, bytes_in_total, bytes_out_total,
//     weight, backup, check_duration_seconds, last_change_seconds}{service,server}
//   easyproxy_server_state{service,server,state="up|down|drain|maint"} (one 1, three 0)
//   easyproxy_worker_{active_connections, accepted_connections_total,
//     start_time_seconds, loop_age_seconds, spliced_bytes_total,
//     kernel_relays_total, kernel_bytes_total, cold_fds, local_errors_total}{worker}
//   http services only: easyproxy_service_http_{requests_total,
//     responses_total{class}, errors_total{status}},
//     easyproxy_service_server_connections_total{how}
//   entry points only: easyproxy_route_requests_total{service,route},
//     easyproxy_route_responses_total{service,route,class},
//     easyproxy_route_denials_total{service,route,status="401|403|429"}
//   easyproxy_middleware_denials_total{middleware,type}

std::string label_value(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

class Prometheus {
public:
    void family(const char* name, const char* type, const char* help) {
        name_ = name;
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    // labels: pairs of name, value
    void sample(std::initializer_list<std::pair<const char*, std::string_view>> labels, const std::string& value) {
        out_ += name_;
        if (labels.size() > 0) {
            out_ += '{';
            bool first = true;
            for (const auto& [k, v] : labels) {
                if (!first) out_ += ',';
                out_ += k;
                out_ += "=\"";
                out_ += label_value(v);
                out_ += '"';
                first = false;
            }
            out_ += '}';
        }
        out_ += ' ';
        out_ += value;
        out_ += '\n';
    }
    std::string take() { return std::move(out_); }

private:
    const char* name_ = "";
    std::string out_;
};

std::string format_prometheus(const Snapshot& snap) {
    Prometheus p;
    p.family("easyproxy_start_time_seconds", "gauge", "Start time of the easyproxy master since the Unix epoch.");
    p.sample({}, fixed_div(snap.start_unix_ms, 1000, 3));
    p.family("easyproxy_generation", "gauge", "Worker generation; it grows by one at each reload.");
    p.sample({}, num(snap.generation));
    p.family("easyproxy_watchdog_kills_total", "counter", "Workers killed because their event loop stopped turning.");
    p.sample({}, num(snap.watchdog_kills));

    // Services
    struct ServiceMetric {
        const char* name;
        const char* type;
        const char* help;
        uint64_t (*get)(const ServiceStats&);
    };
    static const ServiceMetric service_metrics[] = {
        {"easyproxy_service_active_connections", "gauge", "Client connections open now.",
         [](const ServiceStats& s) { return s.active; }},
        {"easyproxy_service_connections_total", "counter", "Client connections accepted.",
         [](const ServiceStats& s) { return s.accepted; }},
        {"easyproxy_service_denied_connections_total", "counter",
         "Client connections refused by allow/deny rules or max_connections.",
         [](const ServiceStats& s) { return s.denied; }},
        {"easyproxy_service_no_server_total", "counter", "Client connections closed because no server was usable.",
         [](const ServiceStats& s) { return s.no_server; }},
        {"easyproxy_service_local_errors_total", "counter",
         "Client connections closed because the proxy itself ran short (descriptors, memory, local ports).",
         [](const ServiceStats& s) { return s.local_errors; }},
        {"easyproxy_service_servers", "gauge", "Servers configured in the service.",
         [](const ServiceStats& s) { return uint64_t(s.servers); }},
        {"easyproxy_service_usable_servers", "gauge", "Servers that take new connections (up and ready).",
         [](const ServiceStats& s) { return uint64_t(s.servers_usable); }},
    };
    for (const auto& m : service_metrics) {
        p.family(m.name, m.type, m.help);
        for (const auto& s : snap.services) p.sample({{"service", s.name}}, num(m.get(s)));
    }
    if (any_http(snap)) {
        p.family("easyproxy_service_http_requests_total", "counter", "HTTP requests received (http services).");
        for (const auto& s : snap.services)
            if (s.mode == "http") p.sample({{"service", s.name}}, num(s.requests));
        p.family("easyproxy_service_http_responses_total", "counter",
                 "HTTP responses sent to clients by status class (http services).");
        static const char* const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
        for (const auto& s : snap.services)
            if (s.mode == "http")
                for (int c = 0; c < 5; ++c) p.sample({{"service", s.name}, {"class", classes[c]}}, num(s.responses[c]));
        p.family("easyproxy_service_http_errors_total", "counter",
                 "Answers made by the proxy: 404 no route, 502 bad or unreachable server, 503 no server, "
                 "504 server timeout.");
        for (const auto& s : snap.services)
            if (s.mode == "http") {
                p.sample({{"service", s.name}, {"status", "404"}}, num(s.errors_404));
                p.sample({{"service", s.name}, {"status", "502"}}, num(s.errors_502));
                p.sample({{"service", s.name}, {"status", "503"}}, num(s.errors_503));
                p.sample({{"service", s.name}, {"status", "504"}}, num(s.errors_504));
            }
        p.family("easyproxy_service_server_connections_total", "counter",
                 "Requests sent on a new server connection (opened) or on a pooled one (reused).");
        for (const auto& s : snap.services)
            if (s.mode == "http") {
                p.sample({{"service", s.name}, {"how", "opened"}}, num(s.server_conns_opened));
                p.sample({{"service", s.name}, {"how", "reused"}}, num(s.server_conns_reused));
            }
    }
    if (std::any_of(snap.services.begin(), snap.services.end(), [](const ServiceStats& s) { return s.tls; })) {
        p.family("easyproxy_service_tls_handshakes_total", "counter",
                 "TLS handshakes completed with clients: full, or resumed from a session ticket.");
        for (const auto& s : snap.services)
            if (s.tls) {
                p.sample({{"service", s.name}, {"kind", "full"}}, num(s.tls_handshakes - s.tls_resumed));
                p.sample({{"service", s.name}, {"kind", "resumed"}}, num(s.tls_resumed));
            }
        p.family("easyproxy_service_tls_handshake_failures_total", "counter",
                 "TLS handshakes with clients that failed, by reason.");
        for (const auto& s : snap.services)
            if (s.tls)
                for (int r = 0; r < 5; ++r)
                    p.sample({{"service", s.name}, {"reason", kTlsFailureNames[r]}}, num(s.tls_failures[r]));
    }
    if (std::any_of(snap.services.begin(), snap.services.end(),
                    [](const ServiceStats& s) { return s.tls_server_failures > 0; })) {
        p.family("easyproxy_service_tls_server_handshake_failures_total", "counter",
                 "TLS handshakes with servers that failed (each also a connect failure).");
        for (const auto& s : snap.services) p.sample({{"service", s.name}}, num(s.tls_server_failures));
    }
    if (!snap.certificates.empty()) {
        p.family("easyproxy_tls_certificate_expiry_timestamp_seconds", "gauge",
                 "When each certificate of a TLS listener expires (notAfter), in seconds since the epoch.");
        for (const auto& c : snap.certificates)
            p.sample({{"service", c.service}, {"cert", c.file}, {"names", c.names}}, std::to_string(c.not_after_unix));
    }

    // Routes: the label is the route's text, which stays the same across
    // reloads as long as the route does. Two routes with the same text (a
    // duplicate, or texts cut at the slot's length) get their position added
    // so that no two samples share a label set.
    if (!snap.routes.empty()) {
        std::vector<std::string> labels;
        for (const auto& r : snap.routes) {
            std::string label = r.route;
            for (size_t k = 0; k < labels.size(); ++k)
                if (labels[k] == label && snap.routes[k].service == r.service) {
                    label += " #" + num(r.position + 1);
                    break;
                }
            labels.push_back(std::move(label));
        }
        p.family("easyproxy_route_requests_total", "counter", "HTTP requests that matched the route.");
        for (size_t k = 0; k < snap.routes.size(); ++k)
            p.sample({{"service", snap.routes[k].service}, {"route", labels[k]}}, num(snap.routes[k].hits));
        p.family("easyproxy_route_responses_total", "counter",
                 "HTTP responses sent to clients for requests of the route, by status class.");
        static const char* const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
        for (size_t k = 0; k < snap.routes.size(); ++k)
            for (int c = 0; c < 5; ++c)
                p.sample({{"service", snap.routes[k].service}, {"route", labels[k]}, {"class", classes[c]}},
                         num(snap.routes[k].responses[c]));
        p.family("easyproxy_route_denials_total", "counter",
                 "Requests of the route refused by its middlewares: 401 basic_auth, 403 ip_allow, 429 rate_limit.");
        for (size_t k = 0; k < snap.routes.size(); ++k) {
            const RouteStats& r = snap.routes[k];
            p.sample({{"service", r.service}, {"route", labels[k]}, {"status", "401"}}, num(r.denied_401));
            p.sample({{"service", r.service}, {"route", labels[k]}, {"status", "403"}}, num(r.denied_403));
            p.sample({{"service", r.service}, {"route", labels[k]}, {"status", "429"}}, num(r.denied_429));
        }
    }
    if (!snap.middlewares.empty()) {
        p.family("easyproxy_middleware_denials_total", "counter", "Requests the middleware refused itself.");
        for (const auto& m : snap.middlewares) p.sample({{"middleware", m.name}, {"type", m.type}}, num(m.denials));
    }

    // Servers
    struct ServerMetric {
        const char* name;
        const char* type;
        const char* help;
        uint64_t (*get)(const ServerStats&);
    };
    static const ServerMetric server_metrics[] = {
        {"easyproxy_server_active_connections", "gauge", "Connections to the server open now.",
         [](const ServerStats& s) { return s.active; }},
        {"easyproxy_server_connections_total", "counter", "Connections made to the server.",
         [](const ServerStats& s) { return s.total; }},
        {"easyproxy_server_connect_failures_total", "counter", "Failed connects to the server.",
         [](const ServerStats& s) { return s.failures; }},
        {"easyproxy_server_retries_total", "counter", "Connects retried on another server after failing here.",
         [](const ServerStats& s) { return s.retries; }},
        {"easyproxy_server_bytes_in_total", "counter", "Bytes relayed from clients to the server.",
         [](const ServerStats& s) { return s.bytes_in; }},
        {"easyproxy_server_bytes_out_total", "counter", "Bytes relayed from the server to clients.",
         [](const ServerStats& s) { return s.bytes_out; }},
        {"easyproxy_server_weight", "gauge", "Effective weight (run-time override or config).",
         [](const ServerStats& s) { return uint64_t(s.weight); }},
        {"easyproxy_server_backup", "gauge", "1 for a backup server, used only when no other server is usable.",
         [](const ServerStats& s) { return uint64_t(s.backup); }},
    };
    for (const auto& m : server_metrics) {
        p.family(m.name, m.type, m.help);
        for (const auto& s : snap.servers) p.sample({{"service", s.service}, {"server", s.name}}, num(m.get(s)));
    }
    p.family("easyproxy_server_state", "gauge",
             "Server state as the balancer sees it: 1 for the current state (maint, drain, down or up), 0 otherwise.");
    for (const auto& s : snap.servers) {
        const std::string_view current = server_state_name(s);
        for (const char* state : {"up", "down", "drain", "maint"})
            p.sample({{"service", s.service}, {"server", s.name}, {"state", state}}, current == state ? "1" : "0");
    }
    p.family("easyproxy_server_check_duration_seconds", "gauge", "Duration of the last active health check.");
    for (const auto& s : snap.servers)
        if (!s.last_check.empty())
            p.sample({{"service", s.service}, {"server", s.name}}, fixed_div(s.last_check_us, 1000000, 6));
    p.family("easyproxy_server_last_change_seconds", "gauge", "Seconds since the last state change of the server.");
    for (const auto& s : snap.servers)
        if (s.changed) p.sample({{"service", s.service}, {"server", s.name}}, fixed_div(s.since_change_ms, 1000, 3));

    // Workers
    p.family("easyproxy_worker_active_connections", "gauge", "Client connections the worker holds now.");
    for (const auto& w : snap.workers) p.sample({{"worker", num(w.slot)}}, num(w.active));
    p.family("easyproxy_worker_accepted_connections_total", "counter", "Client connections the worker accepted.");
    for (const auto& w : snap.workers) p.sample({{"worker", num(w.slot)}}, num(w.accepted));
    p.family("easyproxy_worker_start_time_seconds", "gauge", "Start time of the worker since the Unix epoch.");
    for (const auto& w : snap.workers) p.sample({{"worker", num(w.slot)}}, fixed_div(w.started_unix_ms, 1000, 3));
    p.family("easyproxy_worker_loop_age_seconds", "gauge", "Seconds since the worker's event loop last turned.");
    for (const auto& w : snap.workers) p.sample({{"worker", num(w.slot)}}, fixed_div(w.loop_age_ms, 1000, 3));
    p.family("easyproxy_worker_spliced_bytes_total", "counter", "Bytes the worker relayed with splice().");
    for (const auto& w : snap.workers) p.sample({{"worker", num(w.slot)}}, num(w.bytes_spliced));
    p.family("easyproxy_worker_kernel_relays_total", "counter",
             "Connections relay = \"sockmap\" handed to the kernel.");
    for (const auto& w : snap.workers) p.sample({{"worker", num(w.slot)}}, num(w.kernel_relays));
    p.family("easyproxy_worker_kernel_bytes_total", "counter",
             "Bytes the kernel relayed (relay = \"sockmap\"), never copied to the worker.");
    for (const auto& w : snap.workers) p.sample({{"worker", num(w.slot)}}, num(w.bytes_kernel));
    p.family("easyproxy_worker_cold_fds", "gauge", "Quiet descriptors parked in the poll() backend's cold set.");
    for (const auto& w : snap.workers) p.sample({{"worker", num(w.slot)}}, num(w.cold_fds));
    p.family("easyproxy_worker_local_errors_total", "counter",
             "Accepts and server connections that failed for a shortage of the proxy's own.");
    for (const auto& w : snap.workers) p.sample({{"worker", num(w.slot)}}, num(w.local_errors));
    return p.take();
}

}  // namespace

// ---- public --------------------------------------------------------------------

bool parse_view(std::string_view word, View& out) {
    if (word == "services") out = View::Services;
    else if (word == "servers") out = View::Servers;
    else if (word == "workers") out = View::Workers;
    else if (word == "sessions") out = View::Sessions;
    else if (word == "routes") out = View::Routes;
    else if (word == "middlewares") out = View::Middlewares;
    else if (word == "certificates") out = View::Certificates;
    else return false;
    return true;
}

bool parse_format(std::string_view word, Format& out) {
    if (word == "table") out = Format::Table;
    else if (word == "csv") out = Format::Csv;
    else if (word == "json") out = Format::Json;
    else if (word == "prometheus") out = Format::Prometheus;
    else return false;
    return true;
}

const char* view_name(View v) {
    switch (v) {
        case View::Services: return "services";
        case View::Servers: return "servers";
        case View::Workers: return "workers";
        case View::Sessions: return "sessions";
        case View::Routes: return "routes";
        case View::Middlewares: return "middlewares";
        case View::Certificates: return "certificates";
    }
    return "?";
}

std::string format(const Snapshot& snap, View view, Format fmt, bool color) {
    switch (fmt) {
        case Format::Table:
            switch (view) {
                case View::Services: {
                    std::string out = table_services(snap, color);
                    if (any_http(snap)) out += "\n" + table_http(snap);
                    if (std::any_of(snap.services.begin(), snap.services.end(),
                                    [](const ServiceStats& s) { return s.tls; }))
                        out += "\n" + table_tls(snap);
                    return out;
                }
                case View::Servers: return table_servers(snap, color);
                case View::Workers: return table_workers(snap, color);
                case View::Sessions: return table_sessions(snap, color);
                case View::Routes: return table_routes(snap);
                case View::Middlewares: return table_middlewares(snap);
                case View::Certificates: return table_certificates(snap, color);
            }
            break;
        case Format::Csv:
            switch (view) {
                case View::Services: return csv_services(snap);
                case View::Servers: return csv_servers(snap);
                case View::Workers: return csv_workers(snap);
                case View::Sessions: return csv_sessions(snap);
                case View::Routes: return csv_routes(snap);
                case View::Middlewares: return csv_middlewares(snap);
                case View::Certificates: return csv_certificates(snap);
            }
            break;
        case Format::Json: return json_view(snap, view);
        case Format::Prometheus: return format_prometheus(snap);
    }
    return {};
}

std::string format_json_all(const Snapshot& snap) {
    std::string out = "{\n  \"master\": " + json_master(snap);
    json_array(out, "services", snap.services, json_service);
    json_array(out, "servers", snap.servers, json_server);
    json_array(out, "workers", snap.workers, json_worker);
    json_array(out, "routes", snap.routes, json_route);
    json_array(out, "middlewares", snap.middlewares, json_middleware);
    // Only with TLS listeners: the document of a plain setup stays as it was.
    if (!snap.certificates.empty()) json_array(out, "certificates", snap.certificates, json_certificate);
    out += "\n}\n";
    return out;
}

std::string format_summary(const Snapshot& snap) {
    std::string out = "master pid " + std::to_string(snap.master_pid);
    // A dead master's uptime would keep growing; its last heartbeat says how
    // old the numbers are.
    if (snap.master_alive)
        out += " running, generation " + num(snap.generation) + ", up " + format_duration_ms(snap.uptime_ms);
    else
        out += " not running (data is stale, last update " + format_duration_ms(snap.heartbeat_age_ms) +
               " ago), generation " + num(snap.generation);
    if (!snap.config_file.empty()) out += ", config " + snap.config_file;
    return out;
}

std::string human_bytes(uint64_t bytes) {
    if (bytes < 1024) return num(bytes) + " B";
    static const char* const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = double(bytes) / 1024.0;
    size_t u = 0;
    // Move up a unit before printf would round to "1024.0".
    while (v >= 1023.95 && u + 1 < std::size(units)) {
        v /= 1024.0;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

std::string human_check_duration(uint64_t us) {
    if (us < 10000) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1fms", double(us) / 1000.0);
        return buf;
    }
    return format_duration_ms(us / 1000);
}

std::string json_quote(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += char(c);
                }
        }
    }
    out += '"';
    return out;
}

}  // namespace ep::stats
