// test_config.cpp: the config loader against DESIGN.md §3: every invalid
// config gives the exact "FILE:LINE: key.path: message" lines an operator
// reads, valid ones load into the expected model, and shipped files load.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "config/summary.hpp"

// CppUTest last: its leak-detector macros must not see std headers.
#include <CppUTest/TestHarness.h>

using namespace ep::config;

namespace {

std::string errors_of(const std::string& text) {
    try {
        load_string(text, "bad.conf");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(loaded without error)";
}

std::string file_errors_of(const std::string& path) {
    try {
        load_file(path);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(loaded without error)";
}

Config loaded(const std::string& text) {
    try {
        return load_string(text, "good.conf");
    } catch (const ConfigError& e) {
        FAIL(e.what());
    }
    return {};
}

// A scratch directory holding main.conf and more files, removed at the end.
class ConfigDir {
public:
    ConfigDir() {
        if (!mkdtemp(dir_)) FAIL("mkdtemp failed");
    }
    ~ConfigDir() {
        for (const std::string& name : names_) {
            const std::string p = path(name);
            if (unlink(p.c_str()) != 0) rmdir(p.c_str());
        }
        rmdir(dir_);
    }
    std::string path(const std::string& name) const { return std::string(dir_) + "/" + name; }
    std::string write(const std::string& name, const std::string& text) {
        std::ofstream(path(name)) << text;
        names_.push_back(name);
        return path(name);
    }
    std::string make_dir(const std::string& name) {
        mkdir(path(name).c_str(), 0700);
        names_.push_back(name);
        return path(name);
    }
    std::string make_fifo(const std::string& name) {
        mkfifo(path(name).c_str(), 0600);
        names_.push_back(name);
        return path(name);
    }

private:
    char dir_[32] = "/tmp/ep-config-test-XXXXXX";
    std::vector<std::string> names_;
};

std::string fixture(const char* relative) {
    const char* top = std::getenv("top_srcdir");
    return std::string(top ? top : ".") + "/" + relative;
}

Config loaded_file(const char* relative) {
    try {
        return load_file(fixture(relative));
    } catch (const ConfigError& e) {
        FAIL(e.what());
    }
    return {};
}

// One valid service; `extra` lands on line 3, inside the service group.
std::string service_with(const std::string& extra) {
    return "services = ( {\n"
           "  name = \"web\"; listen = \"127.0.0.1:8080\";\n" +
           extra +
           "\n"
           "  servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } );\n"
           "} );\n";
}

// The only server of a service is `fields`, on line 4.
std::string server_is(const std::string& fields) {
    return "services = ( {\n"
           "  name = \"web\"; listen = \"127.0.0.1:8080\";\n"
           "  servers = (\n"
           "    { " + fields + " }\n"
           "  );\n"
           "} );\n";
}

// `extra` on line 2, inside global; a valid service follows.
std::string global_with(const std::string& extra) {
    return "global = {\n" + extra + "\n};\n" + service_with("");
}

// A health_check group holding `fields`, on line 3.
std::string check_with(const std::string& fields) {
    return service_with("  health_check = { " + fields + " };");
}

}  // namespace

#define CHECK_ERRORS(expected, text) STRCMP_EQUAL(expected, errors_of(text).c_str())

TEST_GROUP(ConfigSyntax){};

TEST(ConfigSyntax, SyntaxErrorNamesFileAndLine) {
    CHECK_ERRORS("bad.conf:3: syntax error", "services = (\n  {\n    name = ;\n  }\n);\n");
}

TEST(ConfigSyntax, DuplicateKeyInAGroupIsASyntaxError) {
    CHECK_ERRORS("bad.conf:2: duplicate setting name", "global = { workers = 1;\n workers = 2; };\n");
}

TEST(ConfigSyntax, UnreadableFile) {
    STRCMP_EQUAL("/nonexistent/easyproxy.conf: cannot read file: No such file or directory",
                 file_errors_of("/nonexistent/easyproxy.conf").c_str());
}

TEST(ConfigSyntax, DirectoryIsNotAFile) {
    STRCMP_EQUAL("/: cannot read file: Is a directory", file_errors_of("/").c_str());
}

TEST(ConfigSyntax, DiagnosticWithoutLineOrPath) {
    STRCMP_EQUAL("f.conf: oops", (Diagnostic{"f.conf", 0, "", "oops"}).str().c_str());
    STRCMP_EQUAL("f.conf:7: oops", (Diagnostic{"f.conf", 7, "", "oops"}).str().c_str());
    STRCMP_EQUAL("f.conf:7: a.b: oops", (Diagnostic{"f.conf", 7, "a.b", "oops"}).str().c_str());
}

TEST(ConfigSyntax, IncludedFileIsNamedInMessages) {
    char dir[] = "/tmp/ep-config-test-XXXXXX";
    CHECK(mkdtemp(dir) != nullptr);
    const std::string main_conf = std::string(dir) + "/main.conf", part = std::string(dir) + "/web.conf";
    std::ofstream(main_conf) << "services = (\n@include \"web.conf\"\n);\n";
    std::ofstream(part) << "{ name = \"web\"; listen = \"127.0.0.1:80\";\n"
                           "  servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; weight = 999; } ); }\n";
    const std::string errors = file_errors_of(main_conf);
    unlink(part.c_str());
    unlink(main_conf.c_str());
    rmdir(dir);
    STRCMP_EQUAL((part + ":2: services[0].servers[0].weight: must be between 0 and 256 (got 999)").c_str(),
                 errors.c_str());
}

TEST(ConfigSyntax, IntegersOfAnIncludedFileKeepTheirPlace) {
    ConfigDir dir;
    const std::string main_conf = dir.write(
        "main.conf", "global = { max_connections = 100;\n@include \"g.conf\"\nshutdown_timeout = 5; };\n" + service_with(""));
    dir.write("g.conf", "workers = 3;\n");
    const Config c = load_file(main_conf);
    LONGS_EQUAL(100, c.global.max_connections);
    LONGS_EQUAL(3, c.global.workers);
    UNSIGNED_LONGLONGS_EQUAL(5, c.global.shutdown_timeout_ms);
}

TEST(ConfigSyntax, IntegerPast32BitsInAnIncludedFile) {
    ConfigDir dir;
    const std::string main_conf = dir.write(
        "main.conf", "global = {\n@include \"g.conf\"\nmax_connections = 4294967296; };\n" + service_with(""));
    const std::string part = dir.write("g.conf", "workers = 4294967298;\n");
    STRCMP_EQUAL((part + ":1: global.workers: must be between 0 and 64 (got 4294967298)\n" + main_conf +
                  ":3: global.max_connections: must be between 1 and 1000000 (got 4294967296)").c_str(),
                 file_errors_of(main_conf).c_str());
}

// libconfig's scanner exits the process ("input in flex scanner failed") on
// a directory and blocks on a FIFO: such targets never reach it.
TEST(ConfigSyntax, IncludeOfADirectoryIsRefused) {
    ConfigDir dir;
    const std::string main_conf = dir.write("main.conf", service_with("") + "@include \"conf.d\"\n");
    dir.make_dir("conf.d");
    STRCMP_EQUAL((main_conf + ":6: cannot include \"conf.d\": Is a directory").c_str(),
                 file_errors_of(main_conf).c_str());
}

TEST(ConfigSyntax, IncludeOfAFifoIsRefused) {
    ConfigDir dir;
    const std::string main_conf = dir.write("main.conf", "  @include \"pipe\"\n" + service_with(""));
    dir.make_fifo("pipe");
    STRCMP_EQUAL((main_conf + ":1: cannot include \"pipe\": not a regular file").c_str(),
                 file_errors_of(main_conf).c_str());
}

// Each level doubles the work: the scan must stop where libconfig does.
TEST(ConfigSyntax, FileIncludingItselfTwiceStopsAtTheNestingLimit) {
    ConfigDir dir;
    std::string twice = "@include \"main.conf\"\n@include \"main.conf\"\n";
    for (int i = 0; i < 5; ++i) twice += twice;  // 64 includes of itself: 64^10 files without the limit
    const std::string main_conf = dir.write("main.conf", twice);
    STRCMP_EQUAL((dir.path("main.conf") + ":1: include file nesting too deep").c_str(),
                 file_errors_of(main_conf).c_str());
}

TEST(ConfigSyntax, IncludeOfAMissingFileNamesItAndWhy) {
    ConfigDir dir;
    const std::string main_conf = dir.write("main.conf", service_with("") + "@include \"nope.conf\"\n");
    STRCMP_EQUAL((main_conf + ":6: cannot include \"nope.conf\": No such file or directory").c_str(),
                 file_errors_of(main_conf).c_str());
}

TEST_GROUP(ConfigTop){};

// The root group opens the file: a key it lacks is reported at line 1.
TEST(ConfigTop, EmptyFileNeedsServices) {
    CHECK_ERRORS("bad.conf:1: missing required key \"services\"", "");
}

TEST(ConfigTop, FileWithoutServicesNeedsServices) {
    CHECK_ERRORS("bad.conf:1: missing required key \"services\"", "# nothing yet\n\nglobal = { workers = 2; };\n");
}

TEST(ConfigTop, UnknownTopLevelKey) {
    CHECK_ERRORS("bad.conf:1: workers: unknown key", "workers = 2;\n" + service_with(""));
}

TEST(ConfigTop, ServicesMustNotBeEmpty) {
    CHECK_ERRORS("bad.conf:1: services: must list at least one service", "services = ( );\n");
}

TEST(ConfigTop, ServicesMustBeAList) {
    CHECK_ERRORS("bad.conf:1: services: must be a list ( { ... }, ... ) (got a string)", "services = \"web\";\n");
}

TEST(ConfigTop, ServiceMustBeAGroup) {
    CHECK_ERRORS("bad.conf:1: services[0]: must be a group { ... } (got a string)", "services = ( \"web\" );\n");
}

TEST(ConfigTop, GlobalMustBeAGroup) {
    CHECK_ERRORS("bad.conf:1: global: must be a group { ... } (got an integer)", "global = 1;\n" + service_with(""));
}

TEST_GROUP(ConfigGlobal){};

TEST(ConfigGlobal, WorkersWrongType) {
    CHECK_ERRORS("bad.conf:2: global.workers: must be an integer (got a string)", global_with("workers = \"4\";"));
}

TEST(ConfigGlobal, WorkersOutOfRange) {
    CHECK_ERRORS("bad.conf:2: global.workers: must be between 0 and 64 (got 65)", global_with("workers = 65;"));
    CHECK_ERRORS("bad.conf:2: global.workers: must be between 0 and 64 (got -1)", global_with("workers = -1;"));
}

TEST(ConfigGlobal, WorkersAs64BitInteger) {
    CHECK_ERRORS("bad.conf:2: global.workers: must be between 0 and 64 (got 5000000000L)",
                 global_with("workers = 5000000000L;"));
}

TEST(ConfigGlobal, MaxConnectionsOutOfRange) {
    CHECK_ERRORS("bad.conf:2: global.max_connections: must be between 1 and 1000000 (got 0)",
                 global_with("max_connections = 0;"));
}

TEST(ConfigGlobal, RunDirMustBeAbsolute) {
    CHECK_ERRORS("bad.conf:2: global.run_dir: must be an absolute path (got \"run\")", global_with("run_dir = \"run\";"));
}

TEST(ConfigGlobal, StateFileMustBeAbsolute) {
    CHECK_ERRORS("bad.conf:2: global.state_file: must be an absolute path (got \"\")", global_with("state_file = \"\";"));
}

TEST(ConfigGlobal, UserMustNotBeEmpty) {
    CHECK_ERRORS("bad.conf:2: global.user: must not be empty", global_with("user = \"\";"));
}

TEST(ConfigGlobal, GroupMustBeAString) {
    CHECK_ERRORS("bad.conf:2: global.group: must be a string (got an integer)", global_with("group = 100;"));
}

TEST(ConfigGlobal, ShutdownTimeoutNegative) {
    CHECK_ERRORS("bad.conf:2: global.shutdown_timeout: negative duration \"-1s\"",
                 global_with("shutdown_timeout = \"-1s\";"));
    CHECK_ERRORS("bad.conf:2: global.shutdown_timeout: must not be negative (got -5)",
                 global_with("shutdown_timeout = -5;"));
}

TEST(ConfigGlobal, ShutdownTimeoutTooLong) {
    CHECK_ERRORS("bad.conf:2: global.shutdown_timeout: must be at most 576h (got \"1000h\")",
                 global_with("shutdown_timeout = \"1000h\";"));
}

// An idle worker loop turns once a second: a shorter watchdog would kill it.
TEST(ConfigGlobal, WatchdogTimeoutZeroOrAtLeastTwoSeconds) {
    CHECK_ERRORS("bad.conf:2: global.watchdog_timeout: must be 0 (off) or at least 2000 ms",
                 global_with("watchdog_timeout = \"1500ms\";"));
    CHECK_EQUAL(0, loaded(global_with("watchdog_timeout = 0;")).global.watchdog_timeout_ms);
    CHECK_EQUAL(2000, loaded(global_with("watchdog_timeout = \"2s\";")).global.watchdog_timeout_ms);
}

TEST(ConfigGlobal, UnknownPoller) {
    CHECK_ERRORS("bad.conf:2: global.poller: must be one of auto, poll, epoll (got \"kqueue\")",
                 global_with("poller = \"kqueue\";"));
}

TEST(ConfigGlobal, UnknownLogLevel) {
    CHECK_ERRORS("bad.conf:2: global.log.level: must be one of debug, info, notice, warning, error (got \"loud\")",
                 global_with("log = { level = \"loud\"; };"));
}

TEST(ConfigGlobal, UnknownLogTarget) {
    CHECK_ERRORS("bad.conf:2: global.log.target: must be one of stderr, syslog (got \"file\")",
                 global_with("log = { target = \"file\"; };"));
}

TEST(ConfigGlobal, AccessLogMustBeAbsolute) {
    CHECK_ERRORS("bad.conf:2: global.log.access_log: must be an absolute path (got \"access.log\")",
                 global_with("log = { access_log = \"access.log\"; };"));
}

TEST(ConfigGlobal, UnknownLogKey) {
    CHECK_ERRORS("bad.conf:2: global.log.facility: unknown key", global_with("log = { facility = \"daemon\"; };"));
}

TEST(ConfigGlobal, UnknownGlobalKey) {
    CHECK_ERRORS("bad.conf:2: global.daemon: unknown key", global_with("daemon = true;"));
}

TEST(ConfigGlobal, StatsListenNotUnix) {
    CHECK_ERRORS("bad.conf:2: global.stats.listen: must be an IP address and port, not a unix socket",
                 global_with("stats = { listen = \"unix:/run/stats.sock\"; };"));
}

TEST(ConfigGlobal, StatsListenMissingPort) {
    CHECK_ERRORS("bad.conf:2: global.stats.listen: missing port in \"127.0.0.1\" (expected HOST:PORT)",
                 global_with("stats = { listen = \"127.0.0.1\"; };"));
}

TEST(ConfigGlobal, StatsAllowBadPrefix) {
    CHECK_ERRORS("bad.conf:2: global.stats.allow[1]: prefix length 33 out of range for IPv4 (0-32)",
                 global_with("stats = { allow = [ \"127.0.0.1\", \"10.0.0.0/33\" ]; };"));
}

TEST(ConfigGlobal, StatsListenClashesWithAService) {
    CHECK_ERRORS("bad.conf:2: global.stats.listen: address 127.0.0.1:8080 is already used by service \"web\" (line 5)",
                 global_with("stats = { listen = \"127.0.0.1:8080\"; };"));
}

TEST_GROUP(ConfigService){};

TEST(ConfigService, MissingName) {
    CHECK_ERRORS("bad.conf:1: services[0]: missing required key \"name\"",
                 "services = ( { listen = \"127.0.0.1:80\";\n"
                 "  servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); } );\n");
}

TEST(ConfigService, MissingListenAndServers) {
    CHECK_ERRORS("bad.conf:2: services[0]: needs \"listen\" and \"servers\" (a service), \"listen\" and "
                 "\"routes\" (an entry point) or \"servers\" alone (a pool that routes send to)",
                 "services = (\n  { name = \"web\"; }\n);\n");
}

TEST(ConfigService, UnknownKey) {
    CHECK_ERRORS("bad.conf:3: services[0].balanse: unknown key", service_with("balanse = \"random\";"));
}

TEST(ConfigService, NameWithSlash) {
    CHECK_ERRORS("bad.conf:1: services[0].name: must be 1 to 63 characters among A-Z a-z 0-9 _ . - (got \"a/b\")",
                 "services = ( { name = \"a/b\"; listen = \"127.0.0.1:80\";\n"
                 "  servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); } );\n");
}

TEST(ConfigService, NameTooLong) {
    const std::string name(64, 'n');
    CHECK_ERRORS(("bad.conf:1: services[0].name: must be 1 to 63 characters among A-Z a-z 0-9 _ . - (got \"" + name +
                  "\")").c_str(),
                 "services = ( { name = \"" + name + "\"; listen = \"127.0.0.1:80\";\n"
                 "  servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); } );\n");
}

TEST(ConfigService, DuplicateName) {
    CHECK_ERRORS("bad.conf:7: services[1].name: duplicate service name \"web\" (first defined at line 3)",
                 "services = (\n"
                 "  {\n"
                 "    name = \"web\"; listen = \"127.0.0.1:80\";\n"
                 "    servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } );\n"
                 "  },\n"
                 "  {\n"
                 "    name = \"web\"; listen = \"127.0.0.1:81\";\n"
                 "    servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } );\n"
                 "  }\n"
                 ");\n");
}

TEST(ConfigService, DuplicateListenAcrossServices) {
    CHECK_ERRORS("bad.conf:5: services[1].listen[0]: listen address 127.0.0.1:80 is already used by service \"web\" (line 2)",
                 "services = (\n"
                 "  { name = \"web\"; listen = \"127.0.0.1:80\";\n"
                 "    servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } );\n"
                 "  },\n"
                 "  { name = \"api\"; listen = [ \"127.0.0.1:80\" ];\n"
                 "    servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } );\n"
                 "  }\n"
                 ");\n");
}

TEST(ConfigService, DuplicateListenWithinAService) {
    CHECK_ERRORS("bad.conf:3: services[0].listen[2]: listen address 127.0.0.1:80 is listed twice (also at line 2)",
                 "services = ( { name = \"web\";\n"
                 "  listen = [ \"127.0.0.1:80\", \"[::1]:80\",\n"
                 "             \"127.0.0.1:80\" ];\n"
                 "  servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); } );\n");
}

TEST(ConfigService, DuplicateListenSpelledDifferently) {
    CHECK_ERRORS("bad.conf:2: services[0].listen[1]: listen address 127.0.0.1:80 is listed twice (also at line 2)",
                 "services = ( { name = \"web\";\n"
                 "  listen = [ \"127.0.0.1:80\", \"localhost:80\" ];\n"
                 "  servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); } );\n");
}

TEST(ConfigService, ListenMustNotBeEmpty) {
    CHECK_ERRORS("bad.conf:2: services[0].listen: must list at least one address",
                 "services = ( { name = \"web\";\n"
                 "  listen = [ ];\n"
                 "  servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); } );\n");
}

TEST(ConfigService, ListenWrongType) {
    CHECK_ERRORS("bad.conf:2: services[0].listen: must be a string or a list of strings (got an integer)",
                 "services = ( { name = \"web\";\n"
                 "  listen = 8080;\n"
                 "  servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); } );\n");
}

TEST(ConfigService, ListenBadPortInList) {
    CHECK_ERRORS("bad.conf:2: services[0].listen[1]: port 0 out of range (1-65535)\n"
                 "bad.conf:2: services[0].listen[2]: must be a string (got an integer)",
                 "services = ( { name = \"web\";\n"
                 "  listen = ( \"127.0.0.1:80\", \"127.0.0.1:0\", 81 );\n"
                 "  servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); } );\n");
}

TEST(ConfigService, UnknownMode) {
    CHECK_ERRORS("bad.conf:3: services[0].mode: must be one of tcp, http (got \"udp\")", service_with("mode = \"udp\";"));
}

TEST(ConfigService, UnknownBalance) {
    CHECK_ERRORS("bad.conf:3: services[0].balance: must be one of roundrobin, random, source, leastconn, p2c, maglev, "
                 "uri, header:NAME, cookie:NAME (got \"rr\")",
                 service_with("balance = \"rr\";"));
}

TEST(ConfigService, HttpBalanceInTcpMode) {
    CHECK_ERRORS("bad.conf:3: services[0].balance: balance \"uri\" is only valid when mode = \"http\"",
                 service_with("balance = \"uri\";"));
    CHECK_ERRORS("bad.conf:3: services[0].balance: balance \"header:X-User\" is only valid when mode = \"http\"",
                 service_with("mode = \"tcp\"; balance = \"header:X-User\";"));
    CHECK_ERRORS("bad.conf:3: services[0].balance: balance \"cookie:sid\" is only valid when mode = \"http\"",
                 service_with("balance = \"cookie:sid\";"));
}

TEST(ConfigService, HeaderBalanceNeedsAName) {
    CHECK_ERRORS("bad.conf:3: services[0].balance: needs a header name after \"header:\", as \"header:X-User\" "
                 "(got \"header:\")",
                 service_with("mode = \"http\"; balance = \"header:\";"));
}

TEST(ConfigService, CookieBalanceNameIsAToken) {
    CHECK_ERRORS("bad.conf:3: services[0].balance: needs a cookie name after \"cookie:\", as \"cookie:session\" "
                 "(got \"cookie:my id\")",
                 service_with("mode = \"http\"; balance = \"cookie:my id\";"));
}

TEST(ConfigService, ConnectTimeoutFraction) {
    CHECK_ERRORS("bad.conf:3: services[0].connect_timeout: invalid duration \"1.5s\" (expected digits and a unit: "
                 "ms, s, m or h, as \"250ms\" or \"2s\")",
                 service_with("connect_timeout = \"1.5s\";"));
}

TEST(ConfigService, ConnectTimeoutZero) {
    CHECK_ERRORS("bad.conf:3: services[0].connect_timeout: must be between 1ms and 576h (got 0)",
                 service_with("connect_timeout = 0;"));
}

TEST(ConfigService, ConnectTimeoutFloat) {
    CHECK_ERRORS("bad.conf:3: services[0].connect_timeout: must be a duration such as \"2s\" or an integer of "
                 "milliseconds (got a float)",
                 service_with("connect_timeout = 1.5;"));
}

TEST(ConfigService, IdleTimeoutMustBePositive) {
    CHECK_ERRORS("bad.conf:3: services[0].idle_timeout: must be between 1ms and 576h (got \"0s\")",
                 service_with("idle_timeout = \"0s\";"));
}

TEST(ConfigService, IdleTimeoutUnknownUnit) {
    CHECK_ERRORS("bad.conf:3: services[0].idle_timeout: unknown unit \"d\" in duration \"2d\" (expected ms, s, m or h)",
                 service_with("idle_timeout = \"2d\";"));
}

TEST(ConfigService, RetriesOutOfRange) {
    CHECK_ERRORS("bad.conf:3: services[0].retries: must be between 0 and 10 (got 11)", service_with("retries = 11;"));
}

TEST(ConfigService, MaxConnectionsNegative) {
    CHECK_ERRORS("bad.conf:3: services[0].max_connections: must be at least 0 (got -1)",
                 service_with("max_connections = -1;"));
}

TEST(ConfigService, AllowBadAddress) {
    CHECK_ERRORS("bad.conf:3: services[0].allow[1]: invalid address \"10.0.0.300\" in CIDR \"10.0.0.300/32\" "
                 "(expected a range such as \"10.0.0.0/8\" or \"fd00::/8\")",
                 service_with("allow = [ \"10.0.0.0/8\", \"10.0.0.300/32\" ];"));
}

TEST(ConfigService, DenyWrongType) {
    CHECK_ERRORS("bad.conf:3: services[0].deny: must be a string or a list of strings (got an integer)",
                 service_with("deny = 5;"));
}

TEST(ConfigService, UnknownProxyProtocol) {
    CHECK_ERRORS("bad.conf:3: services[0].proxy_protocol: must be one of off, v1, v2 (got \"v3\")",
                 service_with("proxy_protocol = \"v3\";"));
}

TEST(ConfigService, ProxyProtocolNotABoolean) {
    CHECK_ERRORS("bad.conf:3: services[0].proxy_protocol: must be a string (got a boolean)",
                 service_with("proxy_protocol = false;"));
}

// relay = "sockmap" (issue 15): the kernel relays established tcp
// connections; it cannot parse HTTP nor decrypt TLS, so the loader refuses
// those pairings instead of silently relaying in the worker.
TEST_GROUP(ConfigRelay){};

TEST(ConfigRelay, DefaultIsTheWorker) {
    const Config c = loaded(service_with(""));
    CHECK(c.services[0].relay == Relay::Worker);
    UNSIGNED_LONGLONGS_EQUAL(65536, c.services[0].sockmap_after);
}

TEST(ConfigRelay, SockmapForTcpWithTheDefaultThreshold) {
    const Config c = loaded(service_with("relay = \"sockmap\";"));
    CHECK(c.services[0].relay == Relay::Sockmap);
    UNSIGNED_LONGLONGS_EQUAL(65536, c.services[0].sockmap_after);
}

TEST(ConfigRelay, WorkerWrittenOut) {
    const Config w = loaded(service_with("relay = \"worker\";"));
    CHECK(w.services[0].relay == Relay::Worker);
}

TEST(ConfigRelay, SockmapAfterSet) {
    const Config zero = loaded(service_with("relay = \"sockmap\"; sockmap_after = 0;"));
    UNSIGNED_LONGLONGS_EQUAL(0, zero.services[0].sockmap_after);
    const Config big = loaded(service_with("relay = \"sockmap\"; sockmap_after = 1048576;"));
    UNSIGNED_LONGLONGS_EQUAL(1048576, big.services[0].sockmap_after);
    const Config top = loaded(service_with("relay = \"sockmap\"; sockmap_after = 1125899906842624L;"));
    UNSIGNED_LONGLONGS_EQUAL(1125899906842624ull, top.services[0].sockmap_after);
}

TEST(ConfigRelay, SockmapRefusedInHttpMode) {
    CHECK_ERRORS("bad.conf:3: services[0].relay: \"sockmap\" is only for mode = \"tcp\" services (an HTTP session "
                 "reads every byte)",
                 service_with("mode = \"http\"; relay = \"sockmap\";"));
}

TEST(ConfigRelay, SockmapRefusedWithTls) {
    CHECK_ERRORS("bad.conf:4: services[0].relay: \"sockmap\" cannot relay TLS (the kernel would have to decrypt): "
                 "remove tls/server_tls or use relay = \"worker\"",
                 service_with("tls = { certificates = ( { cert = \"/c/a.pem\"; key = \"/c/a.key\"; } ); };\n"
                              "  relay = \"sockmap\";"));
}

TEST(ConfigRelay, SockmapRefusedWithServerTls) {
    CHECK_ERRORS("bad.conf:4: services[0].relay: \"sockmap\" cannot relay TLS (the kernel would have to decrypt): "
                 "remove tls/server_tls or use relay = \"worker\"",
                 service_with("server_tls = { verify = false; };\n"
                              "  relay = \"sockmap\";"));
}

TEST(ConfigRelay, SockmapAfterWithoutSockmap) {
    CHECK_ERRORS("bad.conf:3: services[0].sockmap_after: only with relay = \"sockmap\"",
                 service_with("sockmap_after = 4096;"));
    CHECK_ERRORS("bad.conf:3: services[0].sockmap_after: only with relay = \"sockmap\"",
                 service_with("relay = \"worker\"; sockmap_after = 4096;"));
}

TEST(ConfigRelay, UnknownRelay) {
    CHECK_ERRORS("bad.conf:3: services[0].relay: must be one of worker, sockmap (got \"kernel\")",
                 service_with("relay = \"kernel\";"));
}

TEST(ConfigRelay, NegativeSockmapAfter) {
    CHECK_ERRORS("bad.conf:3: services[0].sockmap_after: must be between 0 and 1125899906842624 (got -1)",
                 service_with("relay = \"sockmap\"; sockmap_after = -1;"));
}

TEST(ConfigRelay, SockmapAfterTooLarge) {
    CHECK_ERRORS("bad.conf:3: services[0].sockmap_after: must be between 0 and 1125899906842624 "
                 "(got 1125899906842625L)",
                 service_with("relay = \"sockmap\"; sockmap_after = 1125899906842625L;"));
}

TEST_GROUP(ConfigHealthCheck){};

TEST(ConfigHealthCheck, MustBeAGroup) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check: must be a group { ... } (got a string)",
                 service_with("health_check = \"tcp\";"));
}

TEST(ConfigHealthCheck, UnknownType) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.type: must be one of tcp, http, send-expect (got \"icmp\")",
                 check_with("type = \"icmp\";"));
}

TEST(ConfigHealthCheck, RiseAndFallRanges) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.rise: must be between 1 and 100 (got 0)\n"
                 "bad.conf:3: services[0].health_check.fall: must be between 1 and 100 (got 101)",
                 check_with("rise = 0; fall = 101;"));
}

TEST(ConfigHealthCheck, IntervalMustBePositive) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.interval: must be between 1ms and 576h (got \"0ms\")",
                 check_with("interval = \"0ms\";"));
}

TEST(ConfigHealthCheck, TimeoutLongerThanInterval) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.timeout: timeout must not be longer than interval "
                 "(timeout 5s, interval 2s)",
                 check_with("timeout = \"5s\";"));
}

TEST(ConfigHealthCheck, HttpFieldWithTcpType) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.path: \"path\" is only valid when type = \"http\"",
                 check_with("type = \"tcp\"; path = \"/health\";"));
}

TEST(ConfigHealthCheck, TypeDefaultsToTcp) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.expect_status: \"expect_status\" is only valid when type = \"http\"",
                 check_with("interval = \"5s\"; expect_status = 200;"));
}

TEST(ConfigHealthCheck, SendExpectFieldWithHttpType) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.send: \"send\" is only valid when type = \"send-expect\"",
                 check_with("type = \"http\"; send = \"PING\";"));
}

TEST(ConfigHealthCheck, HttpPathMustStartWithSlash) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.path: must start with \"/\" (got \"health\")",
                 check_with("type = \"http\"; path = \"health\";"));
}

TEST(ConfigHealthCheck, HttpPathWithoutSpaces) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.path: must not contain spaces or control characters",
                 check_with("type = \"http\"; path = \"/a b\";"));
}

TEST(ConfigHealthCheck, ExpectStatusRange) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.expect_status: must be between 100 and 599 (got 600)",
                 check_with("type = \"http\"; expect_status = 600;"));
}

TEST(ConfigHealthCheck, HttpHostMustNotBeEmpty) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.host: must not be empty", check_with("type = \"http\"; host = \"\";"));
}

TEST(ConfigHealthCheck, SendExpectNeedsExpect) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check: missing required key \"expect\"",
                 check_with("type = \"send-expect\"; send = \"PING\\r\\n\";"));
}

TEST(ConfigHealthCheck, SendExpectExpectNotEmpty) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.expect: must not be empty",
                 check_with("type = \"send-expect\"; expect = \"\";"));
}

TEST(ConfigHealthCheck, UnknownKey) {
    CHECK_ERRORS("bad.conf:3: services[0].health_check.port: unknown key", check_with("port = 8081;"));
}

TEST_GROUP(ConfigPassive){};

TEST(ConfigPassive, MaxFailsRange) {
    CHECK_ERRORS("bad.conf:3: services[0].passive.max_fails: must be between 0 and 1000 (got 1001)",
                 service_with("passive = { max_fails = 1001; };"));
}

TEST(ConfigPassive, FailTimeoutPositive) {
    CHECK_ERRORS("bad.conf:3: services[0].passive.fail_timeout: must be between 1ms and 576h (got \"0s\")",
                 service_with("passive = { fail_timeout = \"0s\"; };"));
}

TEST_GROUP(ConfigServer){};

TEST(ConfigServer, ServersMustNotBeEmpty) {
    CHECK_ERRORS("bad.conf:3: services[0].servers: must list at least one server",
                 "services = ( {\n  name = \"web\"; listen = \"127.0.0.1:8080\";\n  servers = ( );\n} );\n");
}

TEST(ConfigServer, ServersMustBeAList) {
    CHECK_ERRORS("bad.conf:3: services[0].servers: must be a list ( { ... }, ... ) (got a group)",
                 "services = ( {\n  name = \"web\"; listen = \"127.0.0.1:8080\";\n"
                 "  servers = { name = \"a\"; address = \"10.0.0.1:80\"; };\n} );\n");
}

TEST(ConfigServer, MissingNameAndAddress) {
    CHECK_ERRORS("bad.conf:4: services[0].servers[0]: missing required key \"name\"\n"
                 "bad.conf:4: services[0].servers[0]: missing required key \"address\"",
                 server_is("weight = 2;"));
}

TEST(ConfigServer, WeightOutOfRange) {
    CHECK_ERRORS("bad.conf:4: services[0].servers[0].weight: must be between 0 and 256 (got 300)",
                 server_is("name = \"a\"; address = \"10.0.0.1:80\"; weight = 300;"));
    CHECK_ERRORS("bad.conf:4: services[0].servers[0].weight: must be between 0 and 256 (got -1)",
                 server_is("name = \"a\"; address = \"10.0.0.1:80\"; weight = -1;"));
}

TEST(ConfigServer, BackupMustBeABoolean) {
    CHECK_ERRORS("bad.conf:4: services[0].servers[0].backup: must be a boolean (got a string)",
                 server_is("name = \"a\"; address = \"10.0.0.1:80\"; backup = \"yes\";"));
}

TEST(ConfigServer, MaxConnectionsWrongType) {
    CHECK_ERRORS("bad.conf:4: services[0].servers[0].max_connections: must be an integer (got a string)",
                 server_is("name = \"a\"; address = \"10.0.0.1:80\"; max_connections = \"10\";"));
}

TEST(ConfigServer, AddressPortOutOfRange) {
    CHECK_ERRORS("bad.conf:4: services[0].servers[0].address: port 70000 out of range (1-65535)",
                 server_is("name = \"a\"; address = \"10.0.0.1:70000\";"));
}

TEST(ConfigServer, AddressMissingPort) {
    CHECK_ERRORS("bad.conf:4: services[0].servers[0].address: missing port in \"[2001:db8::1]\"",
                 server_is("name = \"a\"; address = \"[2001:db8::1]\";"));
}

TEST(ConfigServer, AddressWrongType) {
    CHECK_ERRORS("bad.conf:4: services[0].servers[0].address: must be a string (got an integer)",
                 server_is("name = \"a\"; address = 3306;"));
}

TEST(ConfigServer, OldStylePortKeyIsUnknown) {
    CHECK_ERRORS("bad.conf:4: services[0].servers[0].port: unknown key",
                 server_is("name = \"a\"; address = \"10.0.0.1:80\"; port = 80;"));
}

TEST(ConfigServer, NameWithSpace) {
    CHECK_ERRORS("bad.conf:4: services[0].servers[0].name: must be 1 to 63 characters among A-Z a-z 0-9 _ . - "
                 "(got \"db 1\")",
                 server_is("name = \"db 1\"; address = \"10.0.0.1:80\";"));
}

TEST(ConfigServer, DuplicateNameInAService) {
    CHECK_ERRORS("bad.conf:5: services[0].servers[1].name: duplicate server name \"db1\" (first defined at line 4)",
                 "services = ( {\n  name = \"web\"; listen = \"127.0.0.1:8080\";\n  servers = (\n"
                 "    { name = \"db1\"; address = \"10.0.0.1:80\"; },\n"
                 "    { name = \"db1\"; address = \"10.0.0.2:80\"; }\n"
                 "  );\n} );\n");
}

TEST(ConfigServer, ServerMustBeAGroup) {
    CHECK_ERRORS("bad.conf:3: services[0].servers[0]: must be a group { ... } (got a string)",
                 "services = ( {\n  name = \"web\"; listen = \"127.0.0.1:8080\";\n  servers = ( \"10.0.0.1:80\" );\n} );\n");
}

// libconfig 1.5 wraps an integer without an L suffix to 32 bits
// (4294967298 reads as 2): the loader judges the literal as written.
TEST_GROUP(ConfigIntegers){};

TEST(ConfigIntegers, WorkersPast32BitsIsNotWrapped) {
    CHECK_ERRORS("bad.conf:2: global.workers: must be between 0 and 64 (got 4294967298)",
                 global_with("workers = 4294967298;"));
}

TEST(ConfigIntegers, IdleTimeoutPast32BitsIsNotWrapped) {
    CHECK_ERRORS("bad.conf:3: services[0].idle_timeout: must be between 1ms and 576h (got 99999999999)",
                 service_with("idle_timeout = 99999999999;"));
}

TEST(ConfigIntegers, RetriesPast32BitsIsNotWrapped) {
    CHECK_ERRORS("bad.conf:3: services[0].retries: must be between 0 and 10 (got 4294967298)",
                 service_with("retries = 4294967298;"));
}

TEST(ConfigIntegers, DurationInMillisecondsPast32BitsIsNotWrapped) {
    // 4294967297 would wrap to 1 ms, 4294968296 to 1000 ms: both valid.
    CHECK_ERRORS("bad.conf:3: services[0].connect_timeout: must be between 1ms and 576h (got 4294967297)",
                 service_with("connect_timeout = 4294967297;"));
    CHECK_ERRORS("bad.conf:3: services[0].passive.fail_timeout: must be between 1ms and 576h (got 4294968296)",
                 service_with("passive = { fail_timeout = 4294968296; };"));
}

TEST(ConfigIntegers, NegativeAndHexadecimalPast32BitsAreNotWrapped) {
    CHECK_ERRORS("bad.conf:4: services[0].servers[0].weight: must be between 0 and 256 (got -4294967295)",
                 server_is("name = \"a\"; address = \"10.0.0.1:80\"; weight = -4294967295;"));
    CHECK_ERRORS("bad.conf:4: services[0].servers[0].weight: must be between 0 and 256 (got 0x100000002)",
                 server_is("name = \"a\"; address = \"10.0.0.1:80\"; weight = 0x100000002;"));
    // 2^31 would wrap to INT_MIN and be called negative.
    CHECK_ERRORS("bad.conf:3: services[0].max_connections: must be between 0 and 2147483647 (got 2147483648)",
                 service_with("max_connections = 2147483648;"));
}

TEST(ConfigIntegers, WrittenWithLAndOutOfRange) {
    CHECK_ERRORS("bad.conf:3: services[0].retries: must be between 0 and 10 (got 11L)", service_with("retries = 11L;"));
    CHECK_ERRORS("bad.conf:3: services[0].idle_timeout: must be between 1ms and 576h (got 99999999999L)",
                 service_with("idle_timeout = 99999999999L;"));
    // Past 64 bits libconfig saturates; the message still shows what was written.
    CHECK_ERRORS("bad.conf:2: global.workers: must be between 0 and 64 (got 99999999999999999999L)",
                 global_with("workers = 99999999999999999999L;"));
    CHECK_ERRORS("bad.conf:2: global.shutdown_timeout: must not be negative (got -99999999999999999999L)",
                 global_with("shutdown_timeout = -99999999999999999999L;"));
}

TEST(ConfigIntegers, InRangeValuesLoadInEveryForm) {
    const Config c = loaded(
        "global = { workers = 64L; max_connections = 0xF4240; shutdown_timeout = 2073600000; };\n"
        "/* 4294967298 in a comment */ # 99999999999\n"
        "services = ( { name = \"web-4294967298\"; listen = \"127.0.0.1:8080\"; retries = +3; idle_timeout = 1;\n"
        "  servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; weight = 256; },\n"
        "              { name = \"b\"; address = \"10.0.0.2:80\"; weight = 0; max_connections = 2147483647; } );\n"
        "  health_check = { type = \"http\"; host = \"a\\\"1\"; rise = 007; fall = 1LL; interval = 0x5dc; }; } );\n");
    LONGS_EQUAL(64, c.global.workers);
    LONGS_EQUAL(1000000, c.global.max_connections);
    UNSIGNED_LONGLONGS_EQUAL(2073600000, c.global.shutdown_timeout_ms);
    const Service& s = c.services[0];
    LONGS_EQUAL(3, s.retries);
    UNSIGNED_LONGLONGS_EQUAL(1, s.idle_timeout_ms);
    LONGS_EQUAL(256, s.servers[0].weight);
    LONGS_EQUAL(0, s.servers[1].weight);
    LONGS_EQUAL(2147483647, s.servers[1].max_connections);
    LONGS_EQUAL(7, s.health_check.rise);
    LONGS_EQUAL(1, s.health_check.fall);
    UNSIGNED_LONGLONGS_EQUAL(1500, s.health_check.interval_ms);
}

TEST_GROUP(ConfigManyErrors){};

TEST(ConfigManyErrors, AllReportedInLineOrder) {
    const std::string text =
        "global = {\n"                                              // 1
        "  workers = \"4\";\n"                                      // 2
        "  poller = \"kqueue\";\n"                                  // 3
        "};\n"                                                      // 4
        "services = (\n"                                            // 5
        "  {\n"                                                     // 6
        "    servers = (\n"                                         // 7
        "      { name = \"a\"; address = \"10.0.0.1:70000\"; },\n"  // 8
        "      { name = \"a\"; address = \"10.0.0.2:80\"; }\n"      // 9
        "    );\n"                                                  // 10
        "    name = \"web\";\n"                                     // 11
        "    listen = \"127.0.0.1:80\";\n"                          // 12
        "    balanse = \"random\";\n"                               // 13
        "    retries = 20;\n"                                       // 14
        "  },\n"                                                    // 15
        "  {\n"                                                     // 16
        "    name = \"web\"; listen = \"127.0.0.1:80\";\n"          // 17
        "    servers = ( { name = \"b\"; address = \"10.0.0.3:80\"; weight = 257; } );\n"  // 18
        "  }\n"                                                     // 19
        ");\n";                                                     // 20
    CHECK_ERRORS("bad.conf:2: global.workers: must be an integer (got a string)\n"
                 "bad.conf:3: global.poller: must be one of auto, poll, epoll (got \"kqueue\")\n"
                 "bad.conf:8: services[0].servers[0].address: port 70000 out of range (1-65535)\n"
                 "bad.conf:9: services[0].servers[1].name: duplicate server name \"a\" (first defined at line 8)\n"
                 "bad.conf:13: services[0].balanse: unknown key\n"
                 "bad.conf:14: services[0].retries: must be between 0 and 10 (got 20)\n"
                 "bad.conf:17: services[1].name: duplicate service name \"web\" (first defined at line 11)\n"
                 "bad.conf:17: services[1].listen: listen address 127.0.0.1:80 is already used by service \"web\" (line 12)\n"
                 "bad.conf:18: services[1].servers[0].weight: must be between 0 and 256 (got 257)",
                 text);
}

TEST(ConfigManyErrors, DiagnosticsAreStructured) {
    try {
        load_string(global_with("workers = 99;\nrun_dir = \"x\";"), "bad.conf");
        FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        LONGS_EQUAL(2, e.diagnostics().size());
        const Diagnostic& first = e.diagnostics()[0];
        STRCMP_EQUAL("bad.conf", first.file.c_str());
        LONGS_EQUAL(2, first.line);
        STRCMP_EQUAL("global.workers", first.path.c_str());
        STRCMP_EQUAL("must be between 0 and 64 (got 99)", first.message.c_str());
        LONGS_EQUAL(3, e.diagnostics()[1].line);
    }
}

TEST_GROUP(ConfigModel){};

TEST(ConfigModel, DefaultsOfAMinimalConfig) {
    const Config c = loaded("services = (\n"
                            "  { name = \"web\"; listen = \"127.0.0.1:8080\";\n"
                            "    servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); }\n"
                            ");\n");
    STRCMP_EQUAL("good.conf", c.file.c_str());
    LONGS_EQUAL(0, c.global.workers);
    STRCMP_EQUAL("", c.global.user.c_str());
    STRCMP_EQUAL("", c.global.group.c_str());
    STRCMP_EQUAL(RUNSTATEDIR "/easyproxy", c.global.run_dir.c_str());
    STRCMP_EQUAL(LOCALSTATEDIR "/lib/easyproxy/server-state", c.global.state_file.c_str());
    LONGS_EQUAL(20000, c.global.max_connections);
    UNSIGNED_LONGLONGS_EQUAL(30000, c.global.shutdown_timeout_ms);
    CHECK(c.global.poller == Poller::Auto);
    CHECK(c.global.log.level == LogLevel::Info);
    CHECK(c.global.log.target == LogTarget::Default);
    STRCMP_EQUAL("", c.global.log.access_log.c_str());
    STRCMP_EQUAL("", c.global.stats.listen_text.c_str());
    LONGS_EQUAL(0, c.global.stats.allow.size());

    LONGS_EQUAL(1, c.services.size());
    const Service& s = c.services[0];
    STRCMP_EQUAL("web", s.name.c_str());
    LONGS_EQUAL(2, s.line);
    LONGS_EQUAL(1, s.listen.size());
    STRCMP_EQUAL("127.0.0.1:8080", s.listen_text[0].c_str());
    STRCMP_EQUAL("127.0.0.1:8080", ep::net::format_address(s.listen[0]).c_str());
    CHECK(s.mode == Mode::Tcp);
    CHECK(s.balance == Balance::RoundRobin);
    STRCMP_EQUAL("", s.balance_key.c_str());
    UNSIGNED_LONGLONGS_EQUAL(3000, s.connect_timeout_ms);
    UNSIGNED_LONGLONGS_EQUAL(600000, s.idle_timeout_ms);
    LONGS_EQUAL(2, s.retries);
    LONGS_EQUAL(0, s.max_connections);
    LONGS_EQUAL(0, s.allow.size());
    LONGS_EQUAL(0, s.deny.size());
    CHECK(s.proxy_protocol == ProxyProtocol::Off);
    CHECK(s.health_check.type == CheckType::None);
    LONGS_EQUAL(3, s.passive.max_fails);
    UNSIGNED_LONGLONGS_EQUAL(10000, s.passive.fail_timeout_ms);
    LONGS_EQUAL(1, s.servers.size());
    STRCMP_EQUAL("a", s.servers[0].name.c_str());
    STRCMP_EQUAL("10.0.0.1:80", s.servers[0].address_text.c_str());
    LONGS_EQUAL(80, s.servers[0].address.port());
    LONGS_EQUAL(1, s.servers[0].weight);
    CHECK_FALSE(s.servers[0].backup);
    LONGS_EQUAL(0, s.servers[0].max_connections);
    LONGS_EQUAL(3, s.servers[0].line);
}

TEST(ConfigModel, HealthCheckGroupWithoutTypeIsTcpWithDefaults) {
    const Config c = loaded(check_with(""));
    const HealthCheck& hc = c.services[0].health_check;
    CHECK(hc.type == CheckType::Tcp);
    UNSIGNED_LONGLONGS_EQUAL(2000, hc.interval_ms);
    UNSIGNED_LONGLONGS_EQUAL(1000, hc.timeout_ms);
    LONGS_EQUAL(2, hc.rise);
    LONGS_EQUAL(3, hc.fall);
}

TEST(ConfigModel, ShortIntervalShortensTheDefaultTimeout) {
    const Config c = loaded(check_with("interval = \"500ms\";"));
    UNSIGNED_LONGLONGS_EQUAL(500, c.services[0].health_check.interval_ms);
    UNSIGNED_LONGLONGS_EQUAL(500, c.services[0].health_check.timeout_ms);
}

TEST(ConfigModel, HttpServiceWithEveryKey) {
    const Config c = loaded("services = ( {\n"
                            "  name = \"api.v2\"; listen = [ \"127.0.0.1:8080\", \"[::1]:8080\" ];\n"
                            "  mode = \"http\"; balance = \"header:X-User\";\n"
                            "  connect_timeout = 250; idle_timeout = \"1h\"; retries = 0; max_connections = 100;\n"
                            "  allow = \"10.0.0.0/8\"; deny = [ \"10.9.0.0/16\", \"::1\" ]; proxy_protocol = \"v2\";\n"
                            "  health_check = { type = \"http\"; path = \"/health\"; expect_status = 204;\n"
                            "                   host = \"api.local\"; interval = \"5s\"; timeout = \"5s\"; rise = 1; fall = 100; };\n"
                            "  passive = { max_fails = 0; fail_timeout = \"1m\"; };\n"
                            "  servers = ( { name = \"s_1\"; address = \"localhost:9000\"; weight = 0;\n"
                            "                backup = true; max_connections = 7; },\n"
                            "              { name = \"s-2\"; address = \"unix:/run/api.sock\"; weight = 256; } );\n"
                            "} );\n");
    const Service& s = c.services[0];
    STRCMP_EQUAL("api.v2", s.name.c_str());
    LONGS_EQUAL(2, s.listen.size());
    STRCMP_EQUAL("[::1]:8080", ep::net::format_address(s.listen[1]).c_str());
    CHECK(s.mode == Mode::Http);
    CHECK(s.balance == Balance::Header);
    STRCMP_EQUAL("X-User", s.balance_key.c_str());
    UNSIGNED_LONGLONGS_EQUAL(250, s.connect_timeout_ms);
    UNSIGNED_LONGLONGS_EQUAL(3600000, s.idle_timeout_ms);
    LONGS_EQUAL(0, s.retries);
    LONGS_EQUAL(100, s.max_connections);
    LONGS_EQUAL(1, s.allow.size());
    LONGS_EQUAL(8, s.allow[0].prefix);
    LONGS_EQUAL(2, s.deny.size());
    LONGS_EQUAL(AF_INET6, s.deny[1].family);
    CHECK(s.proxy_protocol == ProxyProtocol::V2);
    CHECK(s.health_check.type == CheckType::Http);
    STRCMP_EQUAL("/health", s.health_check.path.c_str());
    LONGS_EQUAL(204, s.health_check.expect_status);
    STRCMP_EQUAL("api.local", s.health_check.host.c_str());
    UNSIGNED_LONGLONGS_EQUAL(5000, s.health_check.timeout_ms);
    LONGS_EQUAL(1, s.health_check.rise);
    LONGS_EQUAL(100, s.health_check.fall);
    LONGS_EQUAL(0, s.passive.max_fails);
    UNSIGNED_LONGLONGS_EQUAL(60000, s.passive.fail_timeout_ms);
    STRCMP_EQUAL("localhost:9000", s.servers[0].address_text.c_str());
    STRCMP_EQUAL("127.0.0.1:9000", ep::net::format_address(s.servers[0].address).c_str());
    LONGS_EQUAL(0, s.servers[0].weight);
    CHECK(s.servers[0].backup);
    LONGS_EQUAL(7, s.servers[0].max_connections);
    LONGS_EQUAL(AF_UNIX, s.servers[1].address.family());
    LONGS_EQUAL(256, s.servers[1].weight);
}

TEST(ConfigModel, EveryBalanceName) {
    const char* tcp_names[] = {"roundrobin", "random", "source", "leastconn", "p2c", "maglev"};
    for (const char* name : tcp_names) {
        const Config c = loaded(service_with(std::string("balance = \"") + name + "\";"));
        STRCMP_EQUAL(name, balance_name(c.services[0].balance));
    }
    const Config uri = loaded(service_with("mode = \"http\"; balance = \"uri\";"));
    CHECK(uri.services[0].balance == Balance::Uri);
    const Config cookie = loaded(service_with("mode = \"http\"; balance = \"cookie:sid\";"));
    CHECK(cookie.services[0].balance == Balance::Cookie);
    STRCMP_EQUAL("sid", cookie.services[0].balance_key.c_str());
    STRCMP_EQUAL("cookie", balance_name(Balance::Cookie));
    STRCMP_EQUAL("header", balance_name(Balance::Header));
    STRCMP_EQUAL("http", mode_name(Mode::Http));
    STRCMP_EQUAL("send-expect", check_type_name(CheckType::SendExpect));
    STRCMP_EQUAL("none", check_type_name(CheckType::None));
}

TEST(ConfigModel, SameServerNameInTwoServicesIsFine) {
    const Config c = loaded("services = (\n"
                            "  { name = \"a\"; listen = \"127.0.0.1:80\"; servers = ( { name = \"s\"; address = \"10.0.0.1:80\"; } ); },\n"
                            "  { name = \"b\"; listen = \"127.0.0.1:81\"; servers = ( { name = \"s\"; address = \"10.0.0.1:80\"; } ); }\n"
                            ");\n");
    LONGS_EQUAL(2, c.services.size());
}

TEST(ConfigModel, EmptyAccessLogMeansNone) {
    const Config c = loaded(global_with("log = { access_log = \"\"; };"));
    STRCMP_EQUAL("", c.global.log.access_log.c_str());
}

TEST(ConfigModel, SummaryListsServicesAndServers) {
    const Config c = loaded(global_with("workers = 2; run_dir = \"/tmp/ep\";"));
    STRCMP_EQUAL("config good.conf: 2 workers, run_dir /tmp/ep\n"
                 "service web: 127.0.0.1:8080 tcp roundrobin, no health check, 1 server\n"
                 "  server a 10.0.0.1:80 weight 1\n",
                 summary(c).c_str());
}

// ---- routes, middlewares, pools (DESIGN.md §8) ----------------------------

namespace {

// research/http.md §6: the golden route set, one route per line from line 3;
// the pools follow, one per line.
const char* kGoldenRoutes =
    "services = (\n"
    "  { name = \"edge\"; mode = \"http\"; listen = \"127.0.0.1:8080\"; routes = (\n"
    "    { host = \"api.example.com\"; path_prefix = \"/v1/\"; service = \"api-v1\"; middlewares = [ \"strip-v1\" ]; },\n"
    "    { host = \"api.example.com\"; path = \"/health\"; service = \"health\"; },\n"
    "    { host = \"*.example.com\"; service = \"web\"; },\n"
    "    { path_prefix = \"/static/\"; methods = [ \"GET\", \"HEAD\" ]; service = \"static\"; },\n"
    "    { path_prefix = \"/\"; service = \"fallback\"; }\n"
    "  ); },\n"
    "  { name = \"api-v1\"; mode = \"http\"; servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); },\n"
    "  { name = \"health\"; mode = \"http\"; servers = ( { name = \"a\"; address = \"10.0.0.2:80\"; } ); },\n"
    "  { name = \"web\"; mode = \"http\"; servers = ( { name = \"a\"; address = \"10.0.0.3:80\"; } ); },\n"
    "  { name = \"static\"; mode = \"http\"; servers = ( { name = \"a\"; address = \"10.0.0.4:80\"; } ); },\n"
    "  { name = \"fallback\"; mode = \"http\"; servers = ( { name = \"a\"; address = \"10.0.0.5:80\"; } ); }\n"
    ");\n"
    "middlewares = ( { name = \"strip-v1\"; type = \"strip_prefix\"; prefix = \"/v1\"; } );\n";

// An entry point "edge" whose routes are `routes` (from line 3) and a pool
// "web" on the line after them; `rest` follows (more services, then the
// top-level middlewares list).
std::string gateway(const std::string& routes, const std::string& edge_extra = "",
                    const std::string& rest = ");\n") {
    return "services = (\n"
           "  { name = \"edge\"; mode = \"http\"; listen = \"127.0.0.1:8080\";" + edge_extra + " routes = (\n" +
           routes + "\n"
           "  ); },\n"
           "  { name = \"web\"; mode = \"http\"; servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); }\n" +
           rest;
}

// `gateway` with a route to "web" and the middleware `fields` on line 6.
std::string middleware_is(const std::string& fields) {
    return gateway("    { service = \"web\"; }", "", "); middlewares = ( { name = \"m\"; " + fields + " } );\n");
}

std::string route_services(const Service& entry, const Config& c) {
    std::string out;
    for (const Route& r : entry.routes) out += (out.empty() ? "" : " ") + c.services[r.service_index].name;
    return out;
}

}  // namespace

TEST_GROUP(ConfigRoutes){};

TEST(ConfigRoutes, GoldenSetInMatchOrder) {
    const Config c = loaded(kGoldenRoutes);
    const Service& edge = c.services[0];
    CHECK(edge.is_entry_point());
    CHECK_FALSE(edge.is_pool());
    CHECK(c.services[1].is_pool());
    CHECK_FALSE(c.services[1].is_entry_point());
    STRCMP_EQUAL("health api-v1 web static fallback", route_services(edge, c).c_str());
    const Route& api = edge.routes[1];
    STRCMP_EQUAL("api.example.com", api.host.c_str());
    STRCMP_EQUAL("/v1/", api.path_prefix.c_str());
    STRCMP_EQUAL("api-v1", api.service.c_str());
    LONGS_EQUAL(1, api.service_index);
    LONGS_EQUAL(0, api.ordinal);
    LONGS_EQUAL(3, api.line);
    LONGS_EQUAL(1, api.middlewares.size());
    LONGS_EQUAL(1, api.chain.size());
    LONGS_EQUAL(0, api.chain[0]);
    STRCMP_EQUAL("/health", edge.routes[0].path.c_str());
    LONGS_EQUAL(2, edge.routes[3].methods.size());
    STRCMP_EQUAL("HEAD", edge.routes[3].methods[1].c_str());
    LONGS_EQUAL(0, c.warnings.size());
}

TEST(ConfigRoutes, PriorityGoesFirstThenHostClassThenPathThenConditions) {
    const Config c = loaded(gateway("    { path_prefix = \"/a/\"; service = \"web\"; },\n"              // 0
                                    "    { host = \"x.org\"; service = \"web\"; },\n"                     // 1
                                    "    { priority = 5; service = \"web\"; },\n"                         // 2
                                    "    { host = \"x.org\"; headers = { X-A = \"1\"; }; service = \"web\"; },\n"  // 3
                                    "    { path_prefix = \"/a/b/\"; service = \"web\"; },\n"              // 4
                                    "    { priority = -1; host = \"x.org\"; path = \"/\"; service = \"web\"; },\n"  // 5
                                    "    { path_prefix = \"/a/\"; service = \"web\"; }"));                // 6
    std::string order;
    for (const Route& r : c.services[0].routes) order += std::to_string(r.ordinal);
    STRCMP_EQUAL("2314065", order.c_str());
    CHECK(c.services[0].routes[0].has_priority);
    LONGS_EQUAL(5, c.services[0].routes[0].priority);
    LONGS_EQUAL(1, c.services[0].routes[1].headers.size());
    STRCMP_EQUAL("X-A", c.services[0].routes[1].headers[0].first.c_str());
}

TEST(ConfigRoutes, RouteTablePrintsTheGoldenSetInMatchOrder) {
    const Config c = loaded(kGoldenRoutes);
    STRCMP_EQUAL("entry point edge: 127.0.0.1:8080, 5 routes in match order\n"
                 "  route 1 (line 4): host=api.example.com path=/health -> health\n"
                 "  route 2 (line 3): host=api.example.com path_prefix=/v1/ -> api-v1 [strip-v1]\n"
                 "  route 3 (line 5): host=*.example.com -> web\n"
                 "  route 4 (line 6): path_prefix=/static/ methods=GET,HEAD -> static\n"
                 "  route 5 (line 7): path_prefix=/ -> fallback\n"
                 "middleware strip-v1 (line 15): strip_prefix /v1\n",
                 route_table(c).c_str());
}

TEST(ConfigRoutes, RouteTableShowsPriorityHeadersAndTheWholeChain) {
    const Config c = loaded(gateway("    { priority = 3; headers = { X-Env = \"canary 1\"; }; service = \"web\"; middlewares = [ \"b\" ]; },\n"
                                    "    { service = \"web\"; }",
                                    " middlewares = [ \"a\" ];",
                                    "  , { name = \"p\"; mode = \"http\"; balance = \"cookie:sid\"; sticky = { };\n"
                                    "      servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); }\n"
                                    ");\nmiddlewares = (\n"
                                    "  { name = \"a\"; type = \"request_id\"; },\n"
                                    "  { name = \"b\"; type = \"rate_limit\"; average = 100; period = \"1m\"; burst = 200; },\n"
                                    "  { name = \"c\"; type = \"headers\"; request_set = { X-A = \"1\"; }; response_remove = [ \"Server\", \"Via\" ]; },\n"
                                    "  { name = \"d\"; type = \"redirect\"; scheme = \"https\"; host = \"a.org\"; port = 8443; path = \"/x\"; code = 308; },\n"
                                    "  { name = \"e\"; type = \"ip_allow\"; allow = [ \"10.0.0.0/8\", \"::1\" ]; },\n"
                                    "  { name = \"f\"; type = \"retry\"; attempts = 3; },\n"
                                    "  { name = \"g\"; type = \"max_body_size\"; limit = 1024; },\n"
                                    "  { name = \"h\"; type = \"add_prefix\"; prefix = \"/app\"; },\n"
                                    "  { name = \"i\"; type = \"strip_prefix\"; prefixes = [ \"/a\", \"/b\" ]; }\n"
                                    ");\n"));
    STRCMP_EQUAL("config good.conf: one worker per CPU, run_dir " RUNSTATEDIR "/easyproxy\n"
                 "pool web: http roundrobin, no health check, 1 server\n"
                 "  server a 10.0.0.1:80 weight 1\n"
                 "pool p: http cookie:sid, no health check, 1 server, sticky cookie EPSRV\n"
                 "  server a 10.0.0.1:80 weight 1\n"
                 "entry point edge: 127.0.0.1:8080, 2 routes in match order\n"
                 "  route 1 (line 3): priority=3 header X-Env=\"canary 1\" -> web [a, b]\n"
                 "  route 2 (line 4): any -> web [a]\n"
                 "middleware a (line 11): request_id X-Request-ID\n"
                 "middleware b (line 12): rate_limit 100 per 1m, burst 200, per client\n"
                 "middleware c (line 13): headers request_set X-A=\"1\" response_remove Server,Via\n"
                 "middleware d (line 14): redirect 308 scheme=https host=a.org port=8443 path=/x\n"
                 "middleware e (line 15): ip_allow 2 ranges\n"
                 "middleware f (line 16): retry 3 attempts\n"
                 "middleware g (line 17): max_body_size 1024 bytes\n"
                 "middleware h (line 18): add_prefix /app\n"
                 "middleware i (line 19): strip_prefix /a /b\n",
                 summary(c).c_str());
    CHECK(route_table(loaded(service_with(""))).empty());
}

TEST(ConfigRoutes, HostsAreLowerCasedWithoutTheTrailingDot) {
    const Config c = loaded(gateway("    { host = \"API.Example.COM.\"; service = \"web\"; },\n"
                                    "    { host = \"*.Example.com\"; service = \"web\"; },\n"
                                    "    { host = \"[::1]\"; service = \"web\"; }"));
    STRCMP_EQUAL("api.example.com", c.services[0].routes[0].host.c_str());
    STRCMP_EQUAL("[::1]", c.services[0].routes[1].host.c_str());
    STRCMP_EQUAL("*.example.com", c.services[0].routes[2].host.c_str());
}

TEST(ConfigRoutes, BadHosts) {
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].host: a wildcard is \"*.\" before a domain, for exactly one "
                 "label, as \"*.example.com\" (got \"a.*.com\")",
                 gateway("    { host = \"a.*.com\"; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].host: a wildcard is \"*.\" before a domain, for exactly one "
                 "label, as \"*.example.com\" (got \"*example.com\")",
                 gateway("    { host = \"*example.com\"; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].host: a wildcard is \"*.\" before a domain, for exactly one "
                 "label, as \"*.example.com\" (got \"*.*.example.com\")",
                 gateway("    { host = \"*.*.example.com\"; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].host: must be a host name without a port: the port of a "
                 "request's Host is ignored (got \"a.org:80\")",
                 gateway("    { host = \"a.org:80\"; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].host: must be a host name, or \"*.\" and a domain (got \"a b\")",
                 gateway("    { host = \"a b\"; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].host: must be a host name, or \"*.\" and a domain (got \"\")",
                 gateway("    { host = \"\"; service = \"web\"; }"));
}

// Routes match the decoded form (research/http.md §6), so they are kept and
// ordered in it: "/%61pi/" is the 5-byte prefix "/api/", after "/api/v1/".
TEST(ConfigRoutes, UnreservedEscapesInPathsAreDecodedAtLoad) {
    const Config c = loaded(gateway("    { path_prefix = \"/%61pi/\"; service = \"web\"; },\n"
                                    "    { path_prefix = \"/api/v1/\"; service = \"web\"; },\n"
                                    "    { path = \"/a%2Fb%7e\"; service = \"web\"; }"));
    STRCMP_EQUAL("/a%2Fb~", c.services[0].routes[0].path.c_str());
    STRCMP_EQUAL("/api/v1/", c.services[0].routes[1].path_prefix.c_str());
    STRCMP_EQUAL("/api/", c.services[0].routes[2].path_prefix.c_str());
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].path_prefix: must not hold a \".\" or \"..\" segment "
                 "(got \"/a/../b\")",
                 gateway("    { path_prefix = \"/a/%2e%2E/b\"; service = \"web\"; }"));
}

TEST(ConfigRoutes, BadPathsAndMethods) {
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].path: must start with \"/\" (got \"v1\")",
                 gateway("    { path = \"v1\"; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].path_prefix: must start with \"/\" (got \"\")",
                 gateway("    { path_prefix = \"\"; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].path_prefix: must not hold a \".\" or \"..\" segment "
                 "(got \"/a/../b\")",
                 gateway("    { path_prefix = \"/a/../b\"; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].path: must be a path alone, without \"?\" or \"#\" "
                 "(got \"/a?b=1\")",
                 gateway("    { path = \"/a?b=1\"; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].path_prefix: give \"path\" (exact) or \"path_prefix\", not both",
                 gateway("    { path = \"/a\"; path_prefix = \"/b\"; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].methods[1]: must be a method in upper case, as \"GET\" "
                 "(got \"post\")",
                 gateway("    { methods = [ \"GET\", \"post\" ]; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].headers.X-A: must be a string (got an integer)",
                 gateway("    { headers = { X-A = 1; }; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].priority: must be between -1000000 and 1000000 (got 2000000)",
                 gateway("    { priority = 2000000; service = \"web\"; }"));
}

TEST(ConfigRoutes, UnknownKeyAndMissingService) {
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].prefix: unknown key",
                 gateway("    { prefix = \"/a\"; service = \"web\"; }"));
    CHECK_ERRORS("bad.conf:3: services[0].routes[0]: missing required key \"service\"",
                 gateway("    { path = \"/a\"; },\n    { service = \"web\"; }"));
}

TEST(ConfigRoutes, RouteToAnUnknownService) {
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].service: unknown service \"api\"",
                 gateway("    { service = \"api\"; }"));
}

TEST(ConfigRoutes, RouteToATcpService) {
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].service: service \"db\" is mode = \"tcp\": a route sends "
                 "HTTP requests, to mode = \"http\" services only",
                 gateway("    { service = \"db\"; },\n    { service = \"web\"; }", "",
                         "  , { name = \"db\"; servers = ( { name = \"a\"; address = \"10.0.0.1:5432\"; } ); }\n);\n"));
}

TEST(ConfigRoutes, RouteToAServiceWithoutServers) {
    CHECK_ERRORS("bad.conf:3: services[0].routes[0].service: service \"edge\" has no servers: a route sends to a "
                 "pool (a service with servers)",
                 gateway("    { service = \"edge\"; },\n    { service = \"web\"; }", "", ");\n"));
}

TEST(ConfigRoutes, RouteToAPlainServiceIsFine) {
    const Config c = loaded(gateway("    { service = \"web\"; },\n    { service = \"www\"; }", "",
                                    "  , { name = \"www\"; mode = \"http\"; listen = \"127.0.0.1:81\";\n"
                                    "      servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); }\n);\n"));
    LONGS_EQUAL(2, c.services[0].routes[1].service_index);
}

TEST(ConfigRoutes, RoutesOnlyOnHttpServices) {
    CHECK_ERRORS("bad.conf:2: services[0].routes: only for mode = \"http\" services",
                 "services = (\n  { name = \"edge\"; listen = \"127.0.0.1:80\"; routes = ( { service = \"web\"; } ); },\n"
                 "  { name = \"web\"; mode = \"http\"; servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); }\n);\n");
}

TEST(ConfigRoutes, RoutesAndServersTogetherAreAnError) {
    CHECK_ERRORS("bad.conf:3: services[0].servers: a service with routes sends each request where its routes "
                 "say, so its own servers would never be used: put them in a pool (a service with servers and "
                 "no listen) and name it in a route",
                 "services = (\n  { name = \"edge\"; mode = \"http\"; listen = \"127.0.0.1:80\"; routes = ( { service = \"web\"; } );\n"
                 "    servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); },\n"
                 "  { name = \"web\"; mode = \"http\"; servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); }\n);\n");
}

TEST(ConfigRoutes, RoutesWithoutListenAreAnError) {
    CHECK_ERRORS("bad.conf:2: services[0].routes: a service with routes needs \"listen\": routes choose where "
                 "the clients it accepts go",
                 "services = (\n  { name = \"edge\"; mode = \"http\"; routes = ( { service = \"web\"; } ); },\n"
                 "  { name = \"web\"; mode = \"http\"; servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); }\n);\n");
}

TEST(ConfigRoutes, ListenAloneIsAnError) {
    CHECK_ERRORS("bad.conf:2: services[0]: missing required key \"servers\" (or \"routes\")",
                 "services = (\n  { name = \"edge\"; listen = \"127.0.0.1:80\"; }\n);\n");
}

TEST(ConfigRoutes, UnusedPoolIsAWarning) {
    const Config c = loaded(gateway("    { service = \"web\"; }", "",
                                    "  , { name = \"spare\"; mode = \"http\";\n"
                                    "      servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); }\n);\n"));
    LONGS_EQUAL(1, c.warnings.size());
    STRCMP_EQUAL("good.conf:6: warning: services[2]: pool \"spare\" has no listen and no route names it: it serves "
                 "nothing",
                 c.warnings[0].c_str());
}

TEST(ConfigRoutes, EntryPointMiddlewaresComeFirstInEveryChain) {
    const Config c = loaded(gateway("    { service = \"web\"; middlewares = [ \"b\", \"a\" ]; },\n"
                                    "    { path = \"/x\"; service = \"web\"; }",
                                    " middlewares = [ \"c\" ];",
                                    ");\nmiddlewares = (\n"
                                    "  { name = \"a\"; type = \"retry\"; },\n"
                                    "  { name = \"b\"; type = \"request_id\"; },\n"
                                    "  { name = \"c\"; type = \"max_body_size\"; limit = 1024; }\n);\n"));
    const Service& edge = c.services[0];
    LONGS_EQUAL(1, edge.middlewares.size());
    const Route& any = edge.routes[1];
    LONGS_EQUAL(3, any.chain.size());
    LONGS_EQUAL(2, any.chain[0]);
    LONGS_EQUAL(1, any.chain[1]);
    LONGS_EQUAL(0, any.chain[2]);
    STRCMP_EQUAL("b", any.middlewares[0].c_str());
    const Route& x = edge.routes[0];
    LONGS_EQUAL(1, x.chain.size());
    LONGS_EQUAL(2, x.chain[0]);
}

TEST(ConfigRoutes, UnknownMiddlewareNames) {
    CHECK_ERRORS("bad.conf:2: services[0].middlewares[0]: unknown middleware \"nope\"\n"
                 "bad.conf:3: services[0].routes[0].middlewares[1]: unknown middleware \"gone\"",
                 gateway("    { service = \"web\"; middlewares = [ \"m\", \"gone\" ]; }", " middlewares = [ \"nope\" ];",
                         ");\nmiddlewares = ( { name = \"m\"; type = \"retry\"; } );\n"));
}

TEST(ConfigRoutes, MiddlewaresOnlyOnAnEntryPoint) {
    CHECK_ERRORS("bad.conf:3: services[0].middlewares: only for a service with routes (an entry point): they run "
                 "before each route's own",
                 service_with("mode = \"http\"; middlewares = [ \"m\" ];") +
                     "middlewares = ( { name = \"m\"; type = \"retry\"; } );\n");
}

TEST(ConfigRoutes, StickyOnAPool) {
    const Config c = loaded(gateway("    { service = \"web\"; }", "",
                                    "  , { name = \"p\"; mode = \"http\"; sticky = { cookie = \"SRV\"; };\n"
                                    "      servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); },\n"
                                    "  { name = \"q\"; mode = \"http\"; sticky = { };\n"
                                    "      servers = ( { name = \"a\"; address = \"10.0.0.1:80\"; } ); }\n);\n"));
    STRCMP_EQUAL("", c.services[1].sticky_cookie.c_str());
    STRCMP_EQUAL("SRV", c.services[2].sticky_cookie.c_str());
    STRCMP_EQUAL("EPSRV", c.services[3].sticky_cookie.c_str());
    LONGS_EQUAL(2, c.warnings.size());
}

TEST(ConfigRoutes, StickyErrors) {
    CHECK_ERRORS("bad.conf:3: services[0].sticky: only for mode = \"http\" services",
                 service_with("sticky = { cookie = \"S\"; };"));
    CHECK_ERRORS("bad.conf:3: services[0].sticky.cookie: must be a cookie name (an HTTP token) (got \"a b\")",
                 service_with("mode = \"http\"; sticky = { cookie = \"a b\"; };"));
    CHECK_ERRORS("bad.conf:3: services[0].sticky.name: unknown key",
                 service_with("mode = \"http\"; sticky = { name = \"S\"; };"));
    CHECK_ERRORS("bad.conf:2: services[0].sticky: only for a service with servers (it pins a client to one of them)",
                 gateway("    { service = \"web\"; }", " sticky = { };", ");\n"));
}

TEST(ConfigRoutes, WatchIsABoolean) {
    CHECK_FALSE(loaded(global_with("")).global.watch);
    CHECK(loaded(global_with("watch = true;")).global.watch);
    CHECK_ERRORS("bad.conf:2: global.watch: must be a boolean (got a string)", global_with("watch = \"yes\";"));
}

TEST_GROUP(ConfigMiddlewares){};

TEST(ConfigMiddlewares, Headers) {
    const Config c = loaded(middleware_is("type = \"headers\"; request_set = { X-A = \"1\"; X-B = \"two words\"; };\n"
                                          "    request_add = { Via = \"ep\"; }; request_remove = [ \"Cookie\" ];\n"
                                          "    response_set = { X-Frame-Options = \"DENY\"; };\n"
                                          "    response_add = { Set-Cookie = \"a=1\"; }; response_remove = \"Server\";"));
    const Middleware& m = c.middlewares[0];
    CHECK(m.type == MiddlewareType::Headers);
    STRCMP_EQUAL("headers", middleware_type_name(m.type));
    LONGS_EQUAL(6, m.line);
    LONGS_EQUAL(2, m.request_set.size());
    STRCMP_EQUAL("X-B", m.request_set[1].first.c_str());
    STRCMP_EQUAL("two words", m.request_set[1].second.c_str());
    STRCMP_EQUAL("Via", m.request_add[0].first.c_str());
    STRCMP_EQUAL("Cookie", m.request_remove[0].c_str());
    STRCMP_EQUAL("DENY", m.response_set[0].second.c_str());
    STRCMP_EQUAL("a=1", m.response_add[0].second.c_str());
    STRCMP_EQUAL("Server", m.response_remove[0].c_str());
}

TEST(ConfigMiddlewares, HeadersErrors) {
    CHECK_ERRORS("bad.conf:6: middlewares[0]: a headers middleware needs at least one of request_set, request_add, "
                 "request_remove, response_set, response_add, response_remove",
                 middleware_is("type = \"headers\";"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].request_remove[0]: must be a header name (an HTTP token) (got \"a b\")",
                 middleware_is("type = \"headers\"; request_remove = [ \"a b\" ];"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].response_set.X-A: must not contain control characters",
                 middleware_is("type = \"headers\"; response_set = { X-A = \"a\\nb\"; };"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].request_set: must be a group { ... } (got a list)",
                 middleware_is("type = \"headers\"; request_set = ( \"a\" );"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].prefix: unknown key", middleware_is("type = \"headers\"; prefix = \"/\"; response_remove = \"Server\";"));
}

TEST(ConfigMiddlewares, StripAndAddPrefix) {
    const Config one = loaded(middleware_is("type = \"strip_prefix\"; prefix = \"/v1\";"));
    CHECK(one.middlewares[0].type == MiddlewareType::StripPrefix);
    LONGS_EQUAL(1, one.middlewares[0].prefixes.size());
    STRCMP_EQUAL("/v1", one.middlewares[0].prefixes[0].c_str());
    const Config two = loaded(middleware_is("type = \"strip_prefix\"; prefixes = [ \"/api\", \"/v2\" ];"));
    LONGS_EQUAL(2, two.middlewares[0].prefixes.size());
    STRCMP_EQUAL("/v2", two.middlewares[0].prefixes[1].c_str());
    const Config add = loaded(middleware_is("type = \"add_prefix\"; prefix = \"/app\";"));
    CHECK(add.middlewares[0].type == MiddlewareType::AddPrefix);
    STRCMP_EQUAL("/app", add.middlewares[0].prefixes[0].c_str());
}

TEST(ConfigMiddlewares, PrefixErrors) {
    CHECK_ERRORS("bad.conf:6: middlewares[0]: needs \"prefix\" or \"prefixes\"", middleware_is("type = \"strip_prefix\";"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].prefixes: give \"prefix\" or \"prefixes\", not both",
                 middleware_is("type = \"strip_prefix\"; prefix = \"/a\"; prefixes = [ \"/b\" ];"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].prefixes: must list at least one prefix",
                 middleware_is("type = \"strip_prefix\"; prefixes = [ ];"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].prefixes[1]: must start with \"/\" (got \"v2\")",
                 middleware_is("type = \"strip_prefix\"; prefixes = [ \"/v1\", \"v2\" ];"));
    CHECK_ERRORS("bad.conf:6: middlewares[0]: missing required key \"prefix\"", middleware_is("type = \"add_prefix\";"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].prefixes: unknown key",
                 middleware_is("type = \"add_prefix\"; prefix = \"/b\"; prefixes = [ \"/a\" ];"));
}

TEST(ConfigMiddlewares, Redirect) {
    const Config c = loaded(middleware_is("type = \"redirect\"; scheme = \"https\";"));
    const Middleware& m = c.middlewares[0];
    CHECK(m.type == MiddlewareType::Redirect);
    STRCMP_EQUAL("https", m.scheme.c_str());
    LONGS_EQUAL(302, m.code);
    LONGS_EQUAL(0, m.port);
    const Config all = loaded(middleware_is("type = \"redirect\"; scheme = \"http\"; host = \"WWW.Example.com\";\n"
                                            "    port = 8443; path = \"/new\"; code = 308;"));
    const Middleware& a = all.middlewares[0];
    STRCMP_EQUAL("www.example.com", a.host.c_str());
    LONGS_EQUAL(8443, a.port);
    STRCMP_EQUAL("/new", a.path.c_str());
    LONGS_EQUAL(308, a.code);
    LONGS_EQUAL(301, loaded(middleware_is("type = \"redirect\"; host = \"a.org\"; permanent = true;")).middlewares[0].code);
    LONGS_EQUAL(302, loaded(middleware_is("type = \"redirect\"; host = \"a.org\"; permanent = false;")).middlewares[0].code);
}

TEST(ConfigMiddlewares, RedirectErrors) {
    CHECK_ERRORS("bad.conf:6: middlewares[0].scheme: must be one of http, https (got \"ftp\")",
                 middleware_is("type = \"redirect\"; scheme = \"ftp\";"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].code: must be one of 301, 302, 307, 308 (got 303)",
                 middleware_is("type = \"redirect\"; scheme = \"https\"; code = 303;"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].code: must be between 301 and 308 (got 200)",
                 middleware_is("type = \"redirect\"; scheme = \"https\"; code = 200;"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].permanent: give \"code\" or \"permanent\", not both",
                 middleware_is("type = \"redirect\"; scheme = \"https\"; code = 307; permanent = true;"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].port: must be between 1 and 65535 (got 0)",
                 middleware_is("type = \"redirect\"; port = 0;"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].host: must be a host name (got \"*.a.org\")",
                 middleware_is("type = \"redirect\"; host = \"*.a.org\";"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].path: must start with \"/\" (got \"new\")",
                 middleware_is("type = \"redirect\"; path = \"new\";"));
    CHECK_ERRORS("bad.conf:6: middlewares[0]: a redirect needs at least one of scheme, host, port, path (else it "
                 "sends a client back to the URL it asked for)",
                 middleware_is("type = \"redirect\"; code = 301;"));
}

TEST(ConfigMiddlewares, IpAllow) {
    const Config c = loaded(middleware_is("type = \"ip_allow\"; allow = [ \"10.0.0.0/8\", \"::1\" ];"));
    LONGS_EQUAL(2, c.middlewares[0].allow.size());
    LONGS_EQUAL(8, c.middlewares[0].allow[0].prefix);
    CHECK_ERRORS("bad.conf:6: middlewares[0]: missing required key \"allow\"", middleware_is("type = \"ip_allow\";"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].allow: must list at least one address or prefix",
                 middleware_is("type = \"ip_allow\"; allow = [ ];"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].allow[0]: prefix length 33 out of range for IPv4 (0-32)",
                 middleware_is("type = \"ip_allow\"; allow = [ \"10.0.0.0/33\" ];"));
}

TEST(ConfigMiddlewares, RateLimit) {
    const Config d = loaded(middleware_is("type = \"rate_limit\"; average = 100;"));
    const Middleware& m = d.middlewares[0];
    UNSIGNED_LONGLONGS_EQUAL(100, m.average);
    UNSIGNED_LONGLONGS_EQUAL(1000, m.period_ms);
    UNSIGNED_LONGLONGS_EQUAL(1, m.burst);
    const Config c = loaded(middleware_is("type = \"rate_limit\"; average = 5; period = \"1m\"; burst = 20; by = \"client\";"));
    UNSIGNED_LONGLONGS_EQUAL(60000, c.middlewares[0].period_ms);
    UNSIGNED_LONGLONGS_EQUAL(20, c.middlewares[0].burst);
    CHECK_ERRORS("bad.conf:6: middlewares[0]: missing required key \"average\"", middleware_is("type = \"rate_limit\";"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].average: must be between 1 and 1000000000 (got 0)",
                 middleware_is("type = \"rate_limit\"; average = 0;"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].burst: must be between 1 and 1000000000 (got 0)",
                 middleware_is("type = \"rate_limit\"; average = 1; burst = 0;"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].period: must be between 1ms and 576h (got 0)",
                 middleware_is("type = \"rate_limit\"; average = 1; period = 0;"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].by: must be \"client\" (one bucket per client address) (got \"header\")",
                 middleware_is("type = \"rate_limit\"; average = 1; by = \"header\";"));
}

TEST(ConfigMiddlewares, RequestIdRetryMaxBodySize) {
    STRCMP_EQUAL("X-Request-ID", loaded(middleware_is("type = \"request_id\";")).middlewares[0].header.c_str());
    STRCMP_EQUAL("X-Trace", loaded(middleware_is("type = \"request_id\"; header = \"X-Trace\";")).middlewares[0].header.c_str());
    LONGS_EQUAL(2, loaded(middleware_is("type = \"retry\";")).middlewares[0].attempts);
    LONGS_EQUAL(10, loaded(middleware_is("type = \"retry\"; attempts = 10;")).middlewares[0].attempts);
    UNSIGNED_LONGLONGS_EQUAL(5000000000ull,
                             loaded(middleware_is("type = \"max_body_size\"; limit = 5000000000;")).middlewares[0].max_body_size);
    CHECK_ERRORS("bad.conf:6: middlewares[0].header: must be a header name (an HTTP token) (got \"X Id\")",
                 middleware_is("type = \"request_id\"; header = \"X Id\";"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].attempts: must be between 1 and 10 (got 11)",
                 middleware_is("type = \"retry\"; attempts = 11;"));
    CHECK_ERRORS("bad.conf:6: middlewares[0]: missing required key \"limit\"", middleware_is("type = \"max_body_size\";"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].limit: must be between 1 and 1125899906842624 (got 0)",
                 middleware_is("type = \"max_body_size\"; limit = 0;"));
}

TEST(ConfigMiddlewares, NameTypeAndUniqueness) {
    CHECK_ERRORS("bad.conf:6: middlewares[0].type: must be one of headers, strip_prefix, add_prefix, redirect, "
                 "basic_auth, ip_allow, rate_limit, request_id, retry, max_body_size (got \"gzip\")",
                 middleware_is("type = \"gzip\";"));
    CHECK_ERRORS("bad.conf:6: middlewares[0]: missing required key \"type\"", middleware_is(""));
    CHECK_ERRORS("bad.conf:9: middlewares[1].name: duplicate middleware name \"m\" (first defined at line 8)",
                 gateway("    { service = \"web\"; }", "",
                         ");\nmiddlewares = (\n  { name = \"m\"; type = \"retry\"; },\n"
                         "  { name = \"m\"; type = \"retry\"; }\n);\n"));
    CHECK_ERRORS("bad.conf:6: middlewares[0].attempts: unknown key",
                 middleware_is("type = \"request_id\"; attempts = 1;"));
}

TEST(ConfigMiddlewares, BasicAuthReadsTheHtpasswdFileNextToTheConfig) {
    ConfigDir dir;
    dir.write("users", "# admins\nalice:$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVA\n"
                       "bob:$2y$05$wnNcBV9sLpW8hxKWAp9gjeTNlsj1/HfAzGvFEjdYpNo5./fXIMze2\n");
    const std::string main_conf =
        dir.write("main.conf", middleware_is("type = \"basic_auth\"; htpasswd = \"users\"; realm = \"admin\";"
                                             " remove_header = true;"));
    const Config c = load_file(main_conf);
    const Middleware& m = c.middlewares[0];
    CHECK(m.type == MiddlewareType::BasicAuth);
    STRCMP_EQUAL("users", m.htpasswd.c_str());
    STRCMP_EQUAL("admin", m.realm.c_str());
    CHECK(m.remove_header);
    LONGS_EQUAL(2, m.users.size());
    STRCMP_EQUAL("alice", m.users[0].first.c_str());
    STRCMP_EQUAL("$2y$05$wnNcBV9sLpW8hxKWAp9gjeTNlsj1/HfAzGvFEjdYpNo5./fXIMze2", m.users[1].second.c_str());
    LONGS_EQUAL(2, c.files.size());
    STRCMP_EQUAL(main_conf.c_str(), c.files[0].c_str());
    STRCMP_EQUAL(dir.path("users").c_str(), c.files[1].c_str());
}

TEST(ConfigMiddlewares, BasicAuthDefaultsAndAbsolutePath) {
    ConfigDir dir;
    const std::string users = dir.write("users", "alice:$5$salt$Rk1OoqhJb0ceP9tdiFfUNx3xCr5TP.2IDcL8d5/iK/6\n");
    const Config c = loaded(middleware_is("type = \"basic_auth\"; htpasswd = \"" + users + "\";"));
    STRCMP_EQUAL("easyproxy", c.middlewares[0].realm.c_str());
    CHECK_FALSE(c.middlewares[0].remove_header);
    LONGS_EQUAL(1, c.middlewares[0].users.size());
    LONGS_EQUAL(1, c.files.size());  // load_string: no config file of its own
    STRCMP_EQUAL(users.c_str(), c.files[0].c_str());
}

TEST(ConfigMiddlewares, BasicAuthErrorsNameTheHtpasswdFileAndLine) {
    ConfigDir dir;
    const std::string apr1 = dir.write("apr1", "# made by plain htpasswd\nbob:$apr1$Q5.35P0E$geos7J8qfWVHyqgo0CK.S.\n");
    const std::string empty = dir.write("empty", "# nobody\n");
    CHECK_ERRORS(("bad.conf:6: middlewares[0].htpasswd: " + apr1 + ":2: user \"bob\": $apr1$ (htpasswd's default "
                  "MD5) is not supported by crypt(3); make it with htpasswd -B or openssl passwd -6").c_str(),
                 middleware_is("type = \"basic_auth\"; htpasswd = \"" + apr1 + "\";"));
    CHECK_ERRORS(("bad.conf:6: middlewares[0].htpasswd: " + empty + " lists no user (every request would get "
                  "401)").c_str(),
                 middleware_is("type = \"basic_auth\"; htpasswd = \"" + empty + "\";"));
    CHECK_ERRORS(("bad.conf:6: middlewares[0].htpasswd: cannot read " + dir.path("none") +
                  ": No such file or directory").c_str(),
                 middleware_is("type = \"basic_auth\"; htpasswd = \"" + dir.path("none") + "\";"));
    CHECK_ERRORS("bad.conf:6: middlewares[0]: missing required key \"htpasswd\"", middleware_is("type = \"basic_auth\";"));
    const std::string good = dir.write("good", "alice:$6$a$b\n");
    CHECK_ERRORS("bad.conf:6: middlewares[0].realm: must not contain quotes, backslashes or control characters",
                 middleware_is("type = \"basic_auth\"; realm = \"a\\\"b\"; htpasswd = \"" + good + "\";"));
}

TEST(ConfigMiddlewares, FilesListsIncludesOnce) {
    ConfigDir dir;
    const std::string main_conf = dir.write("main.conf", "global = {\n@include \"g.conf\"\n};\n"
                                                         "@include \"s.conf\"\n");
    dir.write("g.conf", "workers = 1;\n");
    dir.write("s.conf", service_with(""));
    const Config c = load_file(main_conf);
    LONGS_EQUAL(3, c.files.size());
    STRCMP_EQUAL(main_conf.c_str(), c.files[0].c_str());
    STRCMP_EQUAL(dir.path("g.conf").c_str(), c.files[1].c_str());
    STRCMP_EQUAL(dir.path("s.conf").c_str(), c.files[2].c_str());
}

TEST_GROUP(ConfigShipped){};

TEST(ConfigShipped, DefaultConfig) {
    const Config c = loaded_file("conf/easyproxy.conf");
    LONGS_EQUAL(0, c.global.workers);
    STRCMP_EQUAL("easyproxy", c.global.user.c_str());
    STRCMP_EQUAL("easyproxy", c.global.group.c_str());
    STRCMP_EQUAL("/run/easyproxy", c.global.run_dir.c_str());
    STRCMP_EQUAL("/var/lib/easyproxy/server-state", c.global.state_file.c_str());
    LONGS_EQUAL(20000, c.global.max_connections);
    UNSIGNED_LONGLONGS_EQUAL(30000, c.global.shutdown_timeout_ms);
    CHECK(c.global.log.target == LogTarget::Syslog);
    STRCMP_EQUAL("127.0.0.1:9090", c.global.stats.listen_text.c_str());
    LONGS_EQUAL(1, c.services.size());
    const Service& s = c.services[0];
    STRCMP_EQUAL("mysql", s.name.c_str());
    LONGS_EQUAL(2, s.listen.size());
    STRCMP_EQUAL("[::]:3306", ep::net::format_address(s.listen[1]).c_str());
    CHECK(s.health_check.type == CheckType::Tcp);
    LONGS_EQUAL(3, s.servers.size());
    LONGS_EQUAL(5, s.servers[0].weight);
    CHECK(s.servers[2].backup);
}

TEST(ConfigShipped, DemoConfig) {
    const Config c = loaded_file("conf/demo.conf");
    LONGS_EQUAL(2, c.global.workers);
    STRCMP_EQUAL("/tmp/easyproxy-demo", c.global.run_dir.c_str());
    STRCMP_EQUAL("/tmp/easyproxy-demo/server-state", c.global.state_file.c_str());
    CHECK(c.global.log.target == LogTarget::Stderr);
    STRCMP_EQUAL("127.0.0.1:9090", ep::net::format_address(c.global.stats.listen).c_str());
    LONGS_EQUAL(1, c.services.size());
    const Service& s = c.services[0];
    STRCMP_EQUAL("demo", s.name.c_str());
    STRCMP_EQUAL("127.0.0.1:8080", ep::net::format_address(s.listen[0]).c_str());
    CHECK(s.balance == Balance::RoundRobin);
    CHECK(s.health_check.type == CheckType::Tcp);
    UNSIGNED_LONGLONGS_EQUAL(2000, s.health_check.interval_ms);
    LONGS_EQUAL(3, s.servers.size());
    const char* names[] = {"app1", "app2", "app3"};
    for (int i = 0; i < 3; ++i) {
        STRCMP_EQUAL(names[i], s.servers[i].name.c_str());
        LONGS_EQUAL(9001 + i, s.servers[i].address.port());
    }
}

TEST(ConfigShipped, RedisExample) {
    const Config c = loaded_file("conf/examples/redis.conf");
    const HealthCheck& hc = c.services[0].health_check;
    CHECK(hc.type == CheckType::SendExpect);
    STRCMP_EQUAL("PING\r\n", hc.send.c_str());
    STRCMP_EQUAL("+PONG", hc.expect.c_str());
    CHECK(c.services[0].balance == Balance::Maglev);
}

TEST(ConfigShipped, HttpExample) {
    const Config c = loaded_file("conf/examples/http.conf");
    CHECK(c.services[0].mode == Mode::Http);
    CHECK(c.services[0].health_check.type == CheckType::Http);
    STRCMP_EQUAL("/health", c.services[0].health_check.path.c_str());
    LONGS_EQUAL(3, c.services[0].servers.size());
}

TEST(ConfigShipped, MysqlExample) {
    const Config c = loaded_file("conf/examples/mysql.conf");
    LONGS_EQUAL(2, c.services[0].servers.size());
    CHECK_FALSE(c.services[0].servers[0].backup);
    CHECK(c.services[0].servers[1].backup);
}

TEST(ConfigShipped, GatewayExample) {
    const Config c = loaded_file("conf/examples/gateway.conf");
    LONGS_EQUAL(0, c.warnings.size());
    const Service& edge = c.services[0];
    CHECK(edge.is_entry_point());
    LONGS_EQUAL(6, edge.routes.size());
    STRCMP_EQUAL("/upload", edge.routes[0].path.c_str());
    STRCMP_EQUAL("admin", c.services[edge.routes[1].service_index].name.c_str());
    STRCMP_EQUAL("EPSRV", c.services[3].sticky_cookie.c_str());
    const Middleware& auth = c.middlewares[edge.routes[1].chain.back()];
    CHECK(auth.type == MiddlewareType::BasicAuth);
    LONGS_EQUAL(2, auth.users.size());
    LONGS_EQUAL(2, c.files.size());
    CHECK(c.files[1].ends_with("conf/examples/gateway.htpasswd"));
}
