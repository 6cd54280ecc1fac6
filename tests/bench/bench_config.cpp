// bench_config.cpp: cost of loading a realistic config (what a reload pays
// before it can answer epctl) and of the duration and address parsers.
#include <string>

#include "config/loader.hpp"
#include "net/address.hpp"
#include "util/duration.hpp"

#include <benchmark/benchmark.h>

namespace {

// Three services of the kinds the examples ship: MySQL with a backup, Redis
// with a send-expect check, HTTP with an http check.
const char* const kThreeServices = R"(
global = {
  workers = 4;
  user = "easyproxy"; group = "easyproxy";
  run_dir = "/run/easyproxy";
  max_connections = 20000;
  shutdown_timeout = "30s";
  log = { level = "info"; target = "syslog"; access_log = "/var/log/easyproxy/access.log"; };
  stats = { listen = "127.0.0.1:9090"; allow = [ "127.0.0.0/8", "::1" ]; };
};
services = (
  {
    name = "mysql";
    listen = [ "0.0.0.0:3306", "[::]:3306" ];
    balance = "roundrobin";
    connect_timeout = "3s"; idle_timeout = "8h"; retries = 2;
    allow = [ "10.0.0.0/8", "192.168.0.0/16" ]; deny = [ "10.66.0.0/16" ];
    health_check = { type = "tcp"; interval = "2s"; timeout = "1s"; rise = 2; fall = 3; };
    passive = { max_fails = 3; fail_timeout = "10s"; };
    servers = (
      { name = "db1"; address = "10.0.0.1:3306"; weight = 5; },
      { name = "db2"; address = "10.0.0.2:3306"; weight = 5; },
      { name = "db3"; address = "10.0.0.3:3306"; backup = true; }
    );
  },
  {
    name = "redis";
    listen = "0.0.0.0:6379";
    balance = "maglev";
    health_check = { type = "send-expect"; send = "PING\r\n"; expect = "+PONG"; interval = "1s"; timeout = "500ms"; };
    servers = (
      { name = "redis1"; address = "10.0.1.11:6379"; },
      { name = "redis2"; address = "10.0.1.12:6379"; },
      { name = "redis3"; address = "10.0.1.13:6379"; }
    );
  },
  {
    name = "web";
    listen = [ "0.0.0.0:80", "[::]:80" ];
    mode = "http";
    balance = "cookie:session";
    health_check = { type = "http"; path = "/health"; expect_status = 200; interval = "5s"; timeout = "2s"; };
    servers = (
      { name = "app1"; address = "192.168.10.21:8080"; weight = 2; },
      { name = "app2"; address = "192.168.10.22:8080"; weight = 2; },
      { name = "app3"; address = "[2001:db8::23]:8080"; max_connections = 200; },
      { name = "app4"; address = "unix:/run/app4.sock"; }
    );
  }
);
)";

void BM_LoadConfigString(benchmark::State& state) {
    const std::string text(kThreeServices);
    for (auto _ : state) {
        ep::config::Config cfg = ep::config::load_string(text, "bench.conf");
        benchmark::DoNotOptimize(cfg);
    }
}
BENCHMARK(BM_LoadConfigString);

void BM_ParseDuration(benchmark::State& state) {
    const char* const texts[] = {"250ms", "2s", "10m", "1h", "1500"};
    uint64_t ms = 0;
    std::string error;
    size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(ep::parse_duration_ms(texts[i++ % 5], ms, error));
        benchmark::DoNotOptimize(ms);
    }
}
BENCHMARK(BM_ParseDuration);

void BM_ParseAddress(benchmark::State& state, const char* text) {
    ep::net::Address address;
    std::string error;
    for (auto _ : state) {
        benchmark::DoNotOptimize(ep::net::parse_address(text, address, error, false));
        benchmark::DoNotOptimize(address);
    }
}
BENCHMARK_CAPTURE(BM_ParseAddress, IPv4, "10.0.0.1:3306");
BENCHMARK_CAPTURE(BM_ParseAddress, IPv6, "[2001:db8::23]:8080");

}  // namespace
