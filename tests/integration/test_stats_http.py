"""The stats HTTP endpoint (global.stats.listen): the dashboard, /metrics and
/stats.json answer while traffic flows and agree with epstat; bad, oversized,
slow and surplus requests get their 4xx/5xx (or are cut off) and the master
keeps serving; the access rule; promtool accepts /metrics; a headless
Chromium renders the dashboard with each server's name and state; and an
entry point's routes and its middlewares are shown in every format, counted,
and keep their counters over a reload."""
import csv
import html
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from backend import read_to_eof  # noqa: E402
from harness import connect, free_port, new_ip, wait_until  # noqa: E402
from test_http import HttpCase  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ECHO_SIZE = 10000


def check(interval="200ms", timeout="100ms"):
    return {"type": "tcp", "interval": interval, "timeout": timeout, "rise": 1, "fall": 1}


def echo(addr, size=ECHO_SIZE):
    """One connection through the proxy: sends `size` bytes, half-closes,
    returns how many came back."""
    data = b"x" * size
    with connect(addr) as s:
        threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)), daemon=True).start()
        return read_to_eof(s)[0]


def exchange(addr, data, timeout=5.0, source=None):
    """Sends raw bytes, reads until the server closes; returns
    (status, headers with lower-case names, body). status 0: no answer."""
    out = b""
    with connect(addr, timeout, source) as s:
        s.settimeout(timeout)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before we were done sending
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    if not head:
        return 0, {}, b""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def request(addr, path, method="GET", source=None, extra=""):
    host = addr
    return exchange(addr, ("%s %s HTTP/1.1\r\nHost: %s\r\n%sUser-Agent: test\r\n\r\n" %
                           (method, path, host, extra)).encode(), source=source)


def prometheus_samples(text):
    """{(name, frozenset(labels.items())): value} of a text exposition."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$', line)
        assert m, "bad sample line: %r" % line
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        samples[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return samples


def local_non_loopback_ipv4():
    """A non-loopback address of this machine, or None (found by routing a UDP
    socket, which sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            ip = s.getsockname()[0]
        return None if ip.startswith("127.") else ip
    except OSError:
        return None


class StatsHttpTest(harness.ProxyTestCase):
    def start(self, names=("app1", "app2", "app3"), **stats):
        backends = [self.backend(n, mode="echo") for n in names]
        svc, addr = self.service(backends, name="web", health_check=check())
        ip = new_ip()
        stats_addr = "%s:%d" % (ip, free_port(ip))
        stats.setdefault("listen", stats_addr)
        p = self.proxy([svc], stats=stats)
        wait_until(lambda: all(s["health"] == "up" for s in self.epstat_servers(p).values()), 10,
                   what="servers up")
        return p, addr, stats["listen"], backends

    @staticmethod
    def epstat_servers(p):
        return {s["server"]: s for s in json.loads(p.epstat("-o", "json", "servers").stdout)["servers"]}

    def assertServing(self, p, addr, stats_addr):
        self.assertEqual(p.epctl("status").returncode, 0)
        self.assertEqual(echo(addr), ECHO_SIZE)
        self.assertEqual(request(stats_addr, "/stats.json")[0], 200)
        self.assertTrue(p.alive())

    def test_paths_answer_while_traffic_flows(self):
        p, addr, stats_addr, _ = self.start()
        stop = threading.Event()
        errors = []

        def traffic():
            while not stop.is_set():
                try:
                    if echo(addr, 50000) != 50000:
                        errors.append("short echo")
                except OSError as e:
                    errors.append(str(e))
        threads = [threading.Thread(target=traffic, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for _ in range(5):
                status, headers, body = request(stats_addr, "/")
                self.assertEqual(status, 200)
                self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
                self.assertEqual(int(headers["content-length"]), len(body))
                self.assertIn(b"<!doctype html>", body)
                self.assertIn(b"stats.json", body)
                self.assertNotRegex(body.decode(), r'(src|href)="(https?:)?//')  # no external assets
                status, headers, body = request(stats_addr, "/metrics")
                self.assertEqual(status, 200)
                self.assertEqual(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
                self.assertIn(b'easyproxy_server_connections_total{service="web",server="app1"}', body)
                status, headers, body = request(stats_addr, "/stats.json?x=1")
                self.assertEqual(status, 200)
                self.assertEqual(headers["content-type"], "application/json")
                data = json.loads(body)
                self.assertEqual(sorted(s["server"] for s in data["servers"]), ["app1", "app2", "app3"])
                self.assertEqual(data["master"]["pid"], p.pid)
                self.assertEqual(headers["connection"], "close")
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        self.assertEqual(errors, [])
        self.assertGreater(sum(s["total"] for s in self.epstat_servers(p).values()), 0)

    def test_numbers_match_epstat(self):
        p, addr, stats_addr, _ = self.start()
        n = 12
        for _ in range(n):
            self.assertEqual(echo(addr), ECHO_SIZE)

        def settled():
            srv = self.epstat_servers(p).values()
            return (sum(s["total"] for s in srv) == n and sum(s["active"] for s in srv) == 0 and
                    sum(s["bytes_in"] for s in srv) == n * ECHO_SIZE and
                    sum(s["bytes_out"] for s in srv) == n * ECHO_SIZE)
        wait_until(settled, 10, what="counters to settle")

        status, _, body = request(stats_addr, "/stats.json")
        self.assertEqual(status, 200)
        http = json.loads(body)
        tool = json.loads(p.epstat("-o", "json", "servers").stdout)
        tool_services = json.loads(p.epstat("-o", "json", "services").stdout)["services"]
        tool_workers = json.loads(p.epstat("-o", "json", "workers").stdout)["workers"]
        moving = {"last_check", "last_check_us", "since_change_ms"}  # health checks keep running
        strip = lambda rows: [{k: v for k, v in r.items() if k not in moving} for r in rows]  # noqa: E731
        self.assertEqual(strip(http["servers"]), strip(tool["servers"]))
        self.assertEqual(http["services"], tool_services)
        wstrip = lambda rows: [{k: v for k, v in r.items() if k not in ("uptime_ms", "loop_age_ms")} for r in rows]  # noqa: E731
        self.assertEqual(wstrip(http["workers"]), wstrip(tool_workers))
        for key in ("pid", "generation", "start_unix_ms", "config_file"):
            self.assertEqual(http["master"][key], tool["master"][key])
        self.assertEqual(tool_services[0]["accepted"], n)
        self.assertEqual(tool_services[0]["bytes_in"], n * ECHO_SIZE)
        self.assertEqual(tool_services[0]["bytes_out"], n * ECHO_SIZE)

        status, _, body = request(stats_addr, "/metrics")
        self.assertEqual(status, 200)
        samples = prometheus_samples(body.decode())
        for s in tool["servers"]:
            labels = frozenset({"service": "web", "server": s["server"]}.items())
            self.assertEqual(samples[("easyproxy_server_connections_total", labels)], s["total"])
            self.assertEqual(samples[("easyproxy_server_bytes_in_total", labels)], s["bytes_in"])
            self.assertEqual(samples[("easyproxy_server_bytes_out_total", labels)], s["bytes_out"])
            self.assertEqual(samples[("easyproxy_server_state", labels | {("state", "up")})], 1)
        svc = frozenset({"service": "web"}.items())
        self.assertEqual(samples[("easyproxy_service_connections_total", svc)], n)

    def test_head_has_the_get_headers_and_no_body(self):
        _, _, stats_addr, _ = self.start()
        for path in ("/", "/metrics", "/stats.json"):
            get_status, get_headers, get_body = request(stats_addr, path)
            status, headers, body = request(stats_addr, path, "HEAD")
            self.assertEqual((status, body), (200, b""), path)
            self.assertEqual(headers["content-type"], get_headers["content-type"])
            if path == "/":  # the others are fresh numbers, maybe of another length
                self.assertEqual(int(headers["content-length"]), len(get_body))

    def test_bad_requests_get_4xx_and_the_master_keeps_serving(self):
        p, addr, stats_addr, _ = self.start()
        status, headers, body = request(stats_addr, "/stats.json", "POST", extra="Content-Length: 5\r\n")
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "GET, HEAD")
        self.assertEqual(request(stats_addr, "/", "DELETE")[0], 405)
        self.assertEqual(request(stats_addr, "/" + "a" * 3000)[0], 414)
        many = "".join("X-Filler-%03d: %s\r\n" % (i, "v" * 100) for i in range(100))  # ~11 KiB
        self.assertEqual(request(stats_addr, "/", extra=many)[0], 431)
        self.assertEqual(request(stats_addr, "/", extra="X-Big: %s\r\n" % ("v" * 9000))[0], 431)
        for garbage in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64) + b"\r\n\r\n",
                        b"hello\r\n\r\n",
                        b"GET /\r\n\r\n",
                        b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
                        b"GET / HTTP/1.1\r\n\r\n",                       # HTTP/1.1 without Host
                        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                        b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n",
                        b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
                        b"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
                        b"GET nope HTTP/1.1\r\nHost: x\r\n\r\n",
                        b"\x00\x01\x02\x03" * 1000):
            self.assertEqual(exchange(stats_addr, garbage)[0], 400, garbage[:40])
        self.assertEqual(exchange(stats_addr, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")[0], 505)
        self.assertEqual(request(stats_addr, "/nope")[0], 404)
        self.assertEqual(request(stats_addr, "/metrics/")[0], 404)
        # Accepted forms: HTTP/1.0 without Host, bare LF line ends, absolute-form.
        self.assertEqual(exchange(stats_addr, b"GET /metrics HTTP/1.0\r\n\r\n")[0], 200)
        self.assertEqual(exchange(stats_addr, b"GET /stats.json HTTP/1.1\nHost: x\n\n")[0], 200)
        self.assertEqual(exchange(stats_addr, b"GET http://x/stats.json HTTP/1.1\r\nHost: x\r\n\r\n")[0], 200)
        # A request trickled in byte by byte is still one request.
        with connect(stats_addr) as s:
            for b in b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n":
                s.sendall(bytes([b]))
            s.settimeout(5)
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200 OK\r\n"))
        self.assertServing(p, addr, stats_addr)

    def test_slow_and_surplus_clients_are_bounded(self):
        p, addr, stats_addr, _ = self.start()
        # A client that never finishes its request is closed at the deadline (2 s).
        slow = connect(stats_addr)
        slow.sendall(b"GET / HTTP/1.1\r\n")
        t0 = time.monotonic()
        slow.settimeout(12)
        self.assertEqual(slow.recv(100), b"")
        self.assertGreater(time.monotonic() - t0, 1.5)
        self.assertLess(time.monotonic() - t0, 4.0)
        slow.close()
        # 64 clients whose requests are whole and answered, and who stay
        # connected (the answer lingers 2 s for them): none of them is closed
        # for a newcomer, who is told 503.
        held = []
        try:
            for _ in range(64):
                s = connect(stats_addr)
                held.append(s)
                s.sendall(b"GET /stats.json HTTP/1.1\r\nHost: x\r\n\r\n")
            for s in held:
                self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200 OK\r\n"))
            def answered():
                r = request(stats_addr, "/")
                return r if r[0] else None  # 0: a reset cut the answer short, ask again

            status, headers, _ = wait_until(answered, 1.5, what="an answer")
            self.assertEqual((status, headers.get("retry-after")), (503, "1"))
            self.assertEqual(p.epctl("status").returncode, 0)
            self.assertEqual(echo(addr), ECHO_SIZE)
        finally:
            for s in held:
                s.close()
        wait_until(lambda: request(stats_addr, "/stats.json")[0] == 200, 5, what="slots to free up")
        self.assertServing(p, addr, stats_addr)

    def assertMetricsServed(self, stats_addr, bound=1.0):
        t0 = time.monotonic()
        status, headers, body = request(stats_addr, "/metrics")
        elapsed = time.monotonic() - t0
        self.assertEqual(status, 200)
        self.assertLess(elapsed, bound)
        self.assertEqual(int(headers["content-length"]), len(body))
        samples = prometheus_samples(body.decode())
        for name in ("app1", "app2", "app3"):
            labels = frozenset({"service": "web", "server": name, "state": "up"}.items())
            self.assertEqual(samples[("easyproxy_server_state", labels)], 1)
        return elapsed

    def test_half_request_heads_do_not_starve_a_scraper(self):
        p, addr, stats_addr, _ = self.start()
        half = b"GET /metrics HTTP/1.1\r\nHost: x\r\n"  # no blank line: never whole
        slow = []
        self.addCleanup(lambda: [s.close() for s in slow])
        for _ in range(200):
            slow.append(connect(stats_addr))
            slow[-1].sendall(half)
        worst = max(self.assertMetricsServed(stats_addr) for _ in range(20))
        # The oldest half heads gave up their slots; the newest still hold theirs.
        s = slow[0]
        s.settimeout(5)
        self.assertEqual(s.recv(100), b"")
        # Slow clients keep trickling in (about 200 a second, so some 400
        # at once within the 2 s head deadline) while a scraper and a browser ask.
        stop = threading.Event()
        trickled = []

        def trickle():
            while not stop.wait(0.005):  # pacing, not synchronisation
                c = connect(stats_addr)
                c.sendall(half)
                trickled.append(1)
                slow.append(c)
                if len(slow) > 500:
                    slow.pop(0).close()

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        try:
            rounds, deadline = 0, time.monotonic() + 20
            while len(trickled) < 400 or rounds < 20:  # the slots turn over several times
                self.assertLess(time.monotonic(), deadline, "only %d slow clients came" % len(trickled))
                rounds += 1
                time.sleep(0.02)  # pacing: a scraper, not a flood
                worst = max(worst, self.assertMetricsServed(stats_addr))
                status, _, body = request(stats_addr, "/")
                self.assertEqual(status, 200)
                self.assertIn(b"<!doctype html>", body)
        finally:
            stop.set()
            thread.join(10)
        sys.stderr.write("slowest /metrics of %d: %.3f s (200 half heads, then %d more trickling in)\n" %
                         (rounds + 20, worst, len(trickled)))
        self.assertServing(p, addr, stats_addr)

    def test_allow_list(self):
        ip = new_ip()
        listen = "%s:%d" % (ip, free_port(ip))
        p, addr, stats_addr, _ = self.start(listen=listen, allow=["127.0.0.1/32", "::1"])
        self.assertEqual(request(stats_addr, "/stats.json", source="127.0.0.1")[0], 200)
        status, _, body = request(stats_addr, "/stats.json", source=new_ip())
        self.assertEqual(status, 403)
        self.assertNotIn(b"app1", body)
        self.assertEqual(request(stats_addr, "/", "HEAD", source=new_ip())[0], 403)

    def test_reload_applies_a_new_allow_list(self):
        p, addr, stats_addr, _ = self.start()
        other = new_ip()
        self.assertEqual(request(stats_addr, "/stats.json", source=other)[0], 200)  # loopback listen: open
        p.config["global"]["stats"]["allow"] = ["127.0.0.1/32"]
        with open(p.config_path, "w") as f:
            f.write(harness.render_config(p.config))
        self.assertIn("reloaded, generation 2", p.epctl("reload").stdout)
        self.assertEqual(request(stats_addr, "/stats.json", source=other)[0], 403)
        status, _, body = request(stats_addr, "/stats.json", source="127.0.0.1")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["master"]["generation"], 2)
        self.assertServing(p, addr, stats_addr)

    def test_non_loopback_listen_without_allow_answers_loopback_only(self):
        other = local_non_loopback_ipv4()
        if other is None:
            self.skipTest("this machine has no non-loopback IPv4 address")
        port = free_port("0.0.0.0")
        p, addr, _, _ = self.start(listen="0.0.0.0:%d" % port)
        self.assertEqual(request("127.0.0.1:%d" % port, "/stats.json")[0], 200)
        self.assertEqual(request("%s:%d" % (other, port), "/stats.json", source=other)[0], 403)

    def test_promtool_accepts_metrics(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool not installed (Debian package prometheus)")
        p, addr, stats_addr, _ = self.start()
        for _ in range(3):
            echo(addr)
        p.epctl("drain", "web/app2")
        status, _, body = request(stats_addr, "/metrics")
        self.assertEqual(status, 200)
        r = subprocess.run([promtool, "check", "metrics"], input=body, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual((r.returncode, r.stdout.decode()), (0, ""))

    def test_dashboard_in_headless_chromium(self):
        if not os.access(CHROMIUM, os.X_OK):
            self.skipTest("chromium not installed (Debian package chromium)")
        p, addr, stats_addr, backends = self.start()
        for _ in range(5):
            echo(addr)
        p.epctl("drain", "web/app2")
        backends[2].stop()  # app3's health check fails: down
        wait_until(lambda: self.epstat_servers(p)["app3"]["state"] == "down", 10, what="app3 down")
        expected = {name: s["state"] for name, s in self.epstat_servers(p).items()}
        self.assertEqual(expected, {"app1": "up", "app2": "drain", "app3": "down"})

        dom = run_chromium(["--dump-dom", "http://%s/" % stats_addr], self.tmp)
        for name, state in expected.items():
            rows = re.findall(r'<tr[^>]*data-server="%s"[^>]*>.*?</tr>' % name, dom, re.S)
            self.assertEqual(len(rows), 1, "row of %s in:\n%s" % (name, dom[-3000:]))
            self.assertIn('data-state="%s"' % state, rows[0])
            text = re.sub(r"<[^>]+>", " ", rows[0])
            self.assertIn(name, text.split())
            self.assertIn(state, text.split())  # the badge shows it
        self.assertIn('id="m-pid">%d<' % p.pid, dom)
        # Each worker's loop turned within the last second (the watchdog's measure).
        loops = re.findall(r'<td[^>]*data-label="Loop"[^>]*>([^<]*)</td>', dom)
        self.assertEqual(len(loops), 2, dom[-3000:])
        for text in loops:
            self.assertRegex(text, r"^\d{1,3}ms ago$")
        # Each worker's kernel relay cell: bytes, and the connections handed
        # over in its tooltip; none here unless EP_RELAY forces the relay.
        kernel = re.findall(r'<td[^>]*data-label="Kernel"[^>]*>([^<]*)</td>', dom)
        handed = re.findall(r'<td[^>]*title="([\d,]+) connections handed to the kernel"', dom)
        self.assertEqual((len(kernel), len(handed)), (2, 2), dom[-3000:])
        for text in kernel:
            self.assertRegex(text, r"^\d+(\.\d)? (B|KiB|MiB|GiB)$")
        if os.environ.get("EP_RELAY") != "sockmap":
            self.assertEqual((kernel, handed), (["0 B", "0 B"], ["0", "0"]))
        self.assertIn(p.config_path, dom)
        self.assertNotIn('class="show"', dom)  # no error banner


def ask(addr, host, path):
    """One request with this Host on its own connection: the status."""
    return exchange(addr, ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())[0]


API_ROUTE = "host=api.example.com path_prefix=/v1/ -> api"
WEB_ROUTE = "host=www.example.com -> web"
STATUS_ROUTE = "host=api.example.com path=/v1/status -> api"


class RouteStatsTest(HttpCase):
    """Per-route and per-middleware statistics (DESIGN §8)."""

    def gateway(self, routes):
        """An entry point `edge` over pools `api` and `web`, a rate limit of 2
        requests a minute named `limit`, the stats endpoint; (proxy, address)."""
        pools = []
        for name in ("api", "web"):
            o = self.origin(name)
            pools.append({"name": name, "mode": "http", "servers": [{"name": name + "1", "address": o.addr}]})
        ip = new_ip()
        addr = "%s:%d" % (ip, free_port(ip))
        edge = {"name": "edge", "mode": "http", "listen": [addr], "routes": routes}
        ip = new_ip()
        self.stats_addr = "%s:%d" % (ip, free_port(ip))
        limit = {"name": "limit", "type": "rate_limit", "average": 2, "period": "1m", "burst": 2}
        p = self.proxy([edge] + pools, middlewares=[limit], stats={"listen": self.stats_addr})
        return p, addr

    # In the file the catch-all host route comes first; the one with a
    # path_prefix is more specific and is tried first.
    ROUTES = [{"host": "www.example.com", "service": "web"},
              {"host": "api.example.com", "path_prefix": "/v1/", "service": "api", "middlewares": ["limit"]}]

    @staticmethod
    def routes_json(p):
        return json.loads(p.epstat("-o", "json", "routes").stdout)["routes"]

    def test_routes_listed_in_match_order_in_every_format(self):
        p, _ = self.gateway(self.ROUTES)
        zero = {"hits": 0, "responses_1xx": 0, "responses_2xx": 0, "responses_3xx": 0, "responses_4xx": 0,
                "responses_5xx": 0, "denied_401": 0, "denied_403": 0, "denied_429": 0}
        routes = self.routes_json(p)
        self.assertEqual(routes, [dict(service="edge", position=1, route=API_ROUTE, pool="api", **zero),
                                  dict(service="edge", position=2, route=WEB_ROUTE, pool="web", **zero)])
        self.assertEqual(json.loads(p.epstat("-o", "json", "middlewares").stdout)["middlewares"],
                         [{"middleware": "limit", "type": "rate_limit", "denials": 0}])

        rows = list(csv.reader(io.StringIO(p.epstat("-o", "csv", "routes").stdout)))
        self.assertEqual(rows[0][:5], ["# service", "position", "route", "pool", "hits"])
        self.assertEqual([r[:5] for r in rows[1:]], [["edge", "1", API_ROUTE, "api", "0"],
                                                    ["edge", "2", WEB_ROUTE, "web", "0"]])
        self.assertEqual(p.epstat("-o", "csv", "middlewares").stdout, "# middleware,type,denials\nlimit,rate_limit,0\n")

        table = p.epstat("routes").stdout.split("\n\n", 1)[1].splitlines()
        self.assertEqual([re.split(r"\s{2,}", line.strip())[:4] for line in table],
                         [["SERVICE", "#", "ROUTE", "HITS"], ["edge", "1", API_ROUTE, "0"],
                          ["edge", "2", WEB_ROUTE, "0"], ["edge", "-", "no route (404)", "0"]])

        status, _, body = request(self.stats_addr, "/metrics")
        self.assertEqual(status, 200)
        samples = prometheus_samples(body.decode())
        for route in (API_ROUTE, WEB_ROUTE):
            labels = {"service": "edge", "route": route}
            self.assertEqual(samples[("easyproxy_route_requests_total", frozenset(labels.items()))], 0)
            for status_code in ("401", "403", "429"):
                key = frozenset(dict(labels, status=status_code).items())
                self.assertEqual(samples[("easyproxy_route_denials_total", key)], 0)
        self.assertEqual(samples[("easyproxy_middleware_denials_total",
                                  frozenset({"middleware": "limit", "type": "rate_limit"}.items()))], 0)
        self.assertEqual(samples[("easyproxy_service_http_errors_total",
                                  frozenset({"service": "edge", "status": "404"}.items()))], 0)
        promtool = shutil.which("promtool")
        if promtool:
            r = subprocess.run([promtool, "check", "metrics"], input=body, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=60)
            self.assertEqual((r.returncode, r.stdout.decode()), (0, ""))

        status, _, body = request(self.stats_addr, "/stats.json")
        self.assertEqual(status, 200)
        doc = json.loads(body)
        self.assertEqual(doc["routes"], routes)
        self.assertEqual(doc["middlewares"], [{"middleware": "limit", "type": "rate_limit", "denials": 0}])

        if not os.access(CHROMIUM, os.X_OK):
            return
        dom = run_chromium(["--dump-dom", "http://%s/" % self.stats_addr], self.tmp)
        card = re.search(r'<section[^>]*data-service="edge".*?</section>', dom, re.S)
        self.assertIsNotNone(card, dom[-3000:])
        shown = re.findall(r'<tr class="route" data-route="([^"]*)"', card.group(0))
        self.assertEqual([html.unescape(text) for text in shown], [API_ROUTE, WEB_ROUTE])
        self.assertIn('data-middleware="limit"', dom)

    def test_hits_classes_denials_and_no_route_counted_and_kept_over_a_reload(self):
        p, addr = self.gateway(self.ROUTES)
        self.assertEqual([ask(addr, "api.example.com", "/v1/x") for _ in range(3)], [200, 200, 429])
        self.assertEqual([ask(addr, "www.example.com", "/") for _ in range(2)], [200, 200])
        self.assertEqual(ask(addr, "other.example.com", "/"), 404)

        def counts():
            return {r["route"]: (r["position"], r["hits"], r["responses_2xx"], r["responses_4xx"], r["denied_429"])
                    for r in self.routes_json(p)}
        expected = {API_ROUTE: (1, 3, 2, 1, 1), WEB_ROUTE: (2, 2, 2, 0, 0)}
        wait_until(lambda: counts() == expected, 5, what="route counts %s" % expected)
        services = {s["service"]: s for s in json.loads(p.epstat("-o", "json", "services").stdout)["services"]}
        self.assertEqual(services["edge"]["errors_404"], 1)
        self.assertEqual(json.loads(p.epstat("-o", "json", "middlewares").stdout)["middlewares"],
                         [{"middleware": "limit", "type": "rate_limit", "denials": 1}])

        # A more specific route arrives in front: the others keep their counts
        # at their new places.
        config = json.loads(json.dumps(p.config))
        config["services"][0]["routes"].append({"host": "api.example.com", "path": "/v1/status", "service": "api"})
        with open(p.config_path, "w") as f:
            f.write(harness.render_config(config))
        r = p.epctl("reload", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("route edge: %s added" % STATUS_ROUTE, r.stdout)
        self.assertEqual(counts(), {STATUS_ROUTE: (1, 0, 0, 0, 0), API_ROUTE: (2, 3, 2, 1, 1),
                                    WEB_ROUTE: (3, 2, 2, 0, 0)})
        self.assertEqual(ask(addr, "www.example.com", "/"), 200)
        wait_until(lambda: counts()[WEB_ROUTE] == (3, 3, 3, 0, 0), 5, what="the web route counted after the reload")


def run_chromium(args, tmp, timeout=90):
    """Runs headless Chromium (flags that work on a closed network) and returns
    its stdout. The whole process group it made is ended by its id."""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp)
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-dev-shm-usage", "--user-data-dir=" + profile,
            "--virtual-time-budget=5000"] + args
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        raise AssertionError("chromium did not finish within %d s" % timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # helpers it may have left behind
        except ProcessLookupError:
            pass
    return out.decode(errors="replace")


if __name__ == "__main__":
    harness.main()
