"""Routes and middlewares (DESIGN §8, research/http.md §6-§8, golden cases
36-42) through the real daemon: an entry point that routes to pools by host,
path and method (each answer names the origin that gave it: X-Origin), 404
and 400 made by the proxy, every middleware type as the origin and the client
see it (strip_prefix, add_prefix, headers in onion order, redirect, basic_auth
with htpasswd lines made by openssl and htpasswd, ip_allow, a rate limit that
holds across 2 workers, request_id down to the access log, retry), sticky
cookies that follow server state, and routes changed by reloads under wrk load
with no request failed."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import EASYPROXY, new_ip, render_config, run_tool, wait_until  # noqa: E402
from test_http import Client, HttpCase, websocket_client  # noqa: E402

HEX32 = re.compile(r"[0-9a-f]{32}")


def request(addr, method, target, host, headers=(), body=b"", source=None):
    """One request on a new connection (raw bytes, so the target reaches the
    proxy exactly as written): the Response, its head parsed."""
    head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, target, host)
    for name, value in headers:
        head += "%s: %s\r\n" % (name, value)
    if body or method in ("POST", "PUT"):
        head += "Content-Length: %d\r\n" % len(body)
    with Client(addr, source=source) as c:
        c.send(head.encode("latin-1") + b"\r\n" + body)
        return c.response(method)


def curl(url, *args):
    """curl (a client others wrote) on `url`: (status, [(name, value)], body)
    of the last response it got."""
    r = subprocess.run(["curl", "-sS", "-i", "--max-time", "10", "--path-as-is"] + list(args) + [url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    if r.returncode != 0:
        raise AssertionError("curl %s failed (%d): %s" % (url, r.returncode, r.stderr.decode(errors="replace")))
    out = r.stdout
    while True:   # the last head: skip any 1xx
        head, _, out = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        if not 100 <= status < 200:
            break
    headers = [(n, v.strip()) for n, _, v in (l.partition(":") for l in lines[1:])]
    return status, headers, out


def values(headers, name):
    """All values of a header (case-insensitive name) in a [(name, value)] list."""
    return [v for n, v in headers if n.lower() == name.lower()]


class GatewayCase(HttpCase):
    def pool(self, name, origins, **keys):
        """A pool: servers and no listen."""
        svc = {"name": name, "mode": "http", "balance": "roundrobin"}
        svc.update(keys)
        svc["servers"] = [{"name": o.name, "address": o.addr} for o in origins]
        return svc

    def entry(self, routes, name="edge", **keys):
        """An entry point: listen and routes, no servers; (service, address)."""
        ip = new_ip()
        addr = "%s:%d" % (ip, harness.free_port(ip))
        svc = {"name": name, "mode": "http", "listen": [addr]}
        svc.update(keys)
        svc["routes"] = routes
        return svc, addr

    def gateway(self, routes, pools, middlewares=None, entry_middlewares=None, access_log=False, **global_keys):
        """easyproxy with one entry point over `pools`; (proxy, address)."""
        keys = {"middlewares": entry_middlewares} if entry_middlewares else {}
        edge, addr = self.entry(routes, **keys)
        if access_log:
            self.access_log = os.path.join(self.tmp, "access.log")
            global_keys["log"] = {"access_log": self.access_log}
        p = self.proxy([edge] + pools, middlewares=middlewares, **global_keys)
        return p, addr

    def servers(self, proxy):
        """epstat's servers view as {server name: record}."""
        return {s["server"]: s for s in json.loads(proxy.epstat("-o", "json", "servers").stdout)["servers"]}

    def rewrite(self, proxy, config):
        proxy.config = config
        with open(proxy.config_path, "w") as f:
            f.write(render_config(config))


class RoutingTest(GatewayCase):
    def test_golden_table(self):   # golden 36, research §6
        names = ["api-v1", "health", "web", "static", "fallback"]
        origins = {n: self.origin(n) for n in names}
        routes = [
            {"host": "api.example.com", "path_prefix": "/v1/", "service": "api-v1"},
            {"host": "api.example.com", "path": "/health", "service": "health"},
            {"host": "*.example.com", "service": "web"},
            {"path_prefix": "/static/", "methods": ["GET", "HEAD"], "service": "static"},
            {"path_prefix": "/", "service": "fallback"},
        ]
        p, addr = self.gateway(routes, [self.pool(n, [origins[n]]) for n in names])
        cases = [
            ("GET", "/v1/users", "API.Example.COM:8080", "api-v1"),
            ("GET", "http://api.example.com/v1/users", "api.example.com", "api-v1"),   # absolute form
            ("GET", "/health", "api.example.com.", "health"),
            ("GET", "/v1", "api.example.com", "web"),              # the prefix is "/v1/"
            ("GET", "/static/a.css", "shop.example.com", "web"),   # host class first
            ("GET", "/static/a.css", "a.b.example.com", "static"),   # "*." is one label
            ("HEAD", "/static/a.css", "a.b.example.com", "static"),
            ("POST", "/static/a.css", "a.b.example.com", "fallback"),
            ("GET", "/", "example.com", "fallback"),
            ("GET", "/v1%2Fusers", "api.example.com", "web"),      # %2F never decoded
            ("GET", "/v1/%75sers", "api.example.com", "api-v1"),   # unreserved %XX decoded to match
            ("GET", "/%76%31/users", "api.example.com", "api-v1"),
            ("GET", "/a/../v1/", "api.example.com", 400),
            ("GET", "/a/%2e%2e/v1/", "api.example.com", 400),
            ("GET", "/v1/./users", "api.example.com", 400),
            ("GET", "/v1/users/..", "shop.example.com", 400),
        ]
        got = []
        for method, target, host, _ in cases:
            r = request(addr, method, target, host)
            got.append(r.get("x-origin") if r.status == 200 else r.status)
        self.assertEqual(list(zip(cases, got)), [(c, c[3]) for c in cases])
        # Matching decodes for itself: each origin got the target as sent
        # (origin form), and nothing of a 400.
        forwarded = sorted((c[3], c[1].replace("http://api.example.com", "")) for c in cases if c[3] != 400)
        wait_until(lambda: sum(len(o.requests()) for o in origins.values()) >= len(forwarded), 5,
                   what="the origins to log %d requests" % len(forwarded))
        seen = sorted((n, r["target"]) for n in names for r in origins[n].requests())
        self.assertEqual(seen, forwarded)

    def test_two_pools_by_host_and_path_prefix_and_404(self):
        one, two = self.origin("one"), self.origin("two")
        routes = [
            {"host": "one.test", "service": "one"},
            {"path_prefix": "/two/", "service": "two"},
            {"path_prefix": "/two/", "headers": {"X-Canary": "1"}, "service": "one"},   # more conditions first
        ]
        p, addr = self.gateway(routes, [self.pool("one", [one]), self.pool("two", [two])])
        url = "http://%s" % addr
        cases = [
            ("/x", ["-H", "Host: one.test"], "one"),
            ("/two/x", ["-H", "Host: other.test"], "two"),
            ("/two/x", ["-H", "Host: ONE.test:80"], "one"),   # an exact host beats no host
            ("/two/x", ["-H", "Host: other.test", "-H", "X-Canary: 1"], "one"),
            ("/two/x", ["-H", "Host: other.test", "-H", "X-Canary: 2"], "two"),
            ("/two", ["-H", "Host: other.test"], 404),        # no route, no catch-all
            ("/x", ["-H", "Host: other.test"], 404),
        ]
        got = []
        for path, args, _ in cases:
            status, headers, _ = curl(url + path, *args)
            got.append(values(headers, "X-Origin")[0] if status == 200 else status)
        self.assertEqual(got, [c[2] for c in cases])
        self.assertEqual(([r["target"] for r in one.requests(3)], [r["target"] for r in two.requests(2)]),
                         (["/x", "/two/x", "/two/x"], ["/two/x", "/two/x"]))


class PathMiddlewareTest(GatewayCase):
    def test_strip_prefix_and_add_prefix_seen_by_the_origin(self):   # golden 37
        o = self.origin("p")
        mws = [{"name": "strip-api", "type": "strip_prefix", "prefix": "/api"},
               {"name": "v2", "type": "add_prefix", "prefix": "/v2"}]
        routes = [{"path_prefix": "/api", "service": "p", "middlewares": ["strip-api"]},
                  {"path_prefix": "/add/", "service": "p", "middlewares": ["v2"]}]
        p, addr = self.gateway(routes, [self.pool("p", [o])], middlewares=mws)
        cases = [("/api/users?x=1", "/users?x=1", ["/api"]),
                 ("/api", "/", ["/api"]),
                 ("/api?x=1", "/?x=1", ["/api"]),
                 ("/apix", "/x", ["/api"]),   # a byte prefix (Traefik's quirk)
                 ("/add/z?q=1", "/v2/add/z?q=1", [])]
        for target, _, _ in cases:
            self.assertEqual(request(addr, "GET", target, "a").status, 200)
        got = [(r["target"], [v for n, v in r["headers"] if n.lower() == "x-forwarded-prefix"])
               for r in o.requests(len(cases))]
        self.assertEqual(got, [(c[1], c[2]) for c in cases])


class RateLimitTest(GatewayCase):
    def test_rate_limit_holds_across_two_workers(self):   # golden 38
        o = self.origin("p")
        # 5 a burst, then one token every 2 s: the 20 requests below take
        # a few ms, so no token comes back meanwhile and exactly 5 pass.
        mws = [{"name": "limit", "type": "rate_limit", "average": 5, "period": "10s", "burst": 5, "by": "client"}]
        p, addr = self.gateway([{"service": "p", "middlewares": ["limit"]}], [self.pool("p", [o])], middlewares=mws)
        source = new_ip()
        clients = [Client(addr, source=source) for _ in range(20)]
        try:
            # SO_REUSEPORT spreads the 20 connections over both workers:
            # each is held by a worker before any request is sent.
            held = wait_until(lambda: (lambda w: w if None not in w else None)(
                [p.worker_of(c.sock) for c in clients]), 5, what="the workers to accept the 20 connections")
            self.assertEqual(len(set(held)), 2, held)
            start = time.monotonic()
            for c in clients:
                c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            answers = [c.response() for c in clients]
            took = time.monotonic() - start
        finally:
            for c in clients:
                c.sock.close()
        statuses = sorted(r.status for r in answers)
        self.assertEqual(statuses, [200] * 5 + [429] * 15, "in %.3f s" % took)
        self.assertEqual(sorted(r.get("retry-after") for r in answers if r.status == 429), ["2"] * 15)
        self.assertEqual(len(o.requests(5)), 5)
        # another client address has its own bucket
        self.assertEqual(request(addr, "GET", "/", "a", source=new_ip()).status, 200)
        # one token is back 2 s after the burst, and only one
        time.sleep(max(0.0, start + 2.2 - time.monotonic()))
        again = [request(addr, "GET", "/", "a", source=source).status for _ in range(2)]
        self.assertLess(time.monotonic() - start, 3.9, "too slow to tell one token from two")
        self.assertEqual(again, [200, 429])


class BasicAuthTest(GatewayCase):
    def htpasswd_lines(self):
        alice = subprocess.run(["openssl", "passwd", "-6", "alice-pw"], stdout=subprocess.PIPE, text=True,
                               check=True).stdout.strip()
        bob = subprocess.run(["htpasswd", "-nbB", "bob", "bob-pw"], stdout=subprocess.PIPE, text=True,
                             check=True).stdout.strip()
        self.assertTrue(alice.startswith("$6$") and bob.startswith("bob:$2y$"), (alice, bob))
        return ["alice:" + alice, bob]

    def test_htpasswd_users_and_wrong_passwords(self):   # golden 39
        path = os.path.join(self.tmp, "htpasswd")
        with open(path, "w") as f:
            f.write("# users\n" + "\n".join(self.htpasswd_lines()) + "\n")
        o = self.origin("p")
        mws = [{"name": "admin", "type": "basic_auth", "htpasswd": path, "realm": "admin", "remove_header": True}]
        routes = [{"path_prefix": "/admin/", "service": "p", "middlewares": ["admin"]}, {"service": "p"}]
        p, addr = self.gateway(routes, [self.pool("p", [o])], middlewares=mws)
        url = "http://%s/admin/x" % addr
        cases = [([], 401), (["-u", "alice:alice-pw"], 200), (["-u", "bob:bob-pw"], 200),
                 (["-u", "bob:wrong"], 401), (["-u", "alice:bob-pw"], 401), (["-u", "carol:x"], 401),
                 (["-u", "alice:alice-pw"], 200), (["-u", "bob:bob-pw"], 200)]   # again: from the cache
        got = []
        for args, _ in cases:
            status, headers, _ = curl(url, *args)
            got.append((status, values(headers, "WWW-Authenticate")))
        challenge = ['Basic realm="admin"']
        self.assertEqual(got, [(s, challenge if s == 401 else []) for _, s in cases])
        self.assertEqual(curl("http://%s/open" % addr)[0], 200)
        reqs = o.requests(5)
        self.assertEqual([r["target"] for r in reqs], ["/admin/x"] * 4 + ["/open"])
        self.assertEqual([values(r["headers"], "Authorization") for r in reqs], [[]] * 5)   # remove_header

    def test_apr1_line_is_a_config_error_naming_file_and_line(self):
        path = os.path.join(self.tmp, "htpasswd")
        apr1 = subprocess.run(["htpasswd", "-nbm", "carol", "carol-pw"], stdout=subprocess.PIPE, text=True,
                              check=True).stdout.strip()
        self.assertIn(":$apr1$", apr1)
        good = self.htpasswd_lines()
        with open(path, "w") as f:
            f.write("\n".join(good) + "\n")
        o = self.origin("p")
        mws = [{"name": "admin", "type": "basic_auth", "htpasswd": path}]
        p, addr = self.gateway([{"service": "p", "middlewares": ["admin"]}], [self.pool("p", [o])], middlewares=mws)
        self.assertEqual(curl("http://%s/" % addr, "-u", "alice:alice-pw")[0], 200)
        with open(path, "w") as f:
            f.write(good[0] + "\n" + apr1 + "\n")
        r = run_tool([EASYPROXY, "-t", "-c", p.config_path], check=False)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("%s:2" % path, r.stdout + r.stderr)
        self.assertIn("apr1", r.stdout + r.stderr)
        # a reload refuses it and the old users keep working
        r = p.epctl("reload", check=False)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("%s:2" % path, r.stdout + r.stderr)
        self.assertEqual([curl("http://%s/" % addr, "-u", u)[0] for u in ("alice:alice-pw", "bob:bob-pw")], [200, 200])


class AnswerTest(GatewayCase):
    """Middlewares that answer themselves: the origin never sees those requests."""

    def test_redirect_keeps_the_query(self):   # golden 40
        o = self.origin("p")
        mws = [{"name": "to-https", "type": "redirect", "scheme": "https", "permanent": True},
               {"name": "moved", "type": "redirect", "host": "new.test", "port": 8443, "path": "/new", "code": 302}]
        routes = [{"host": "a.test", "service": "p", "middlewares": ["to-https"]},
                  {"host": "b.test", "service": "p", "middlewares": ["moved"]}]
        p, addr = self.gateway(routes, [self.pool("p", [o])], middlewares=mws)
        cases = [("GET", "a.test", "/p?q=1&r=%20", 301, "https://a.test/p?q=1&r=%20"),
                 ("HEAD", "a.test", "/p?q=1", 301, "https://a.test/p?q=1"),
                 ("POST", "a.test", "/p?q=1", 308, "https://a.test/p?q=1"),
                 ("GET", "a.test:8080", "/", 301, "https://a.test/"),   # the scheme changes: its port goes
                 ("GET", "b.test", "/old?x=y", 302, "http://new.test:8443/new?x=y"),
                 ("DELETE", "b.test", "/old", 307, "http://new.test:8443/new")]
        got = []
        for method, host, target, _, _ in cases:
            r = request(addr, method, target, host)
            got.append((r.status, r.get("location")))
        self.assertEqual(got, [(c[3], c[4]) for c in cases])
        status, headers, _ = curl("http://%s/p?q=1" % addr, "-H", "Host: a.test")
        self.assertEqual((status, values(headers, "Location")), (301, ["https://a.test/p?q=1"]))
        self.assert_origin_got_nothing(o)

    def test_ip_allow(self):   # golden 39
        o = self.origin("p")
        mine = new_ip()
        mws = [{"name": "ten", "type": "ip_allow", "allow": ["10.0.0.0/8"]},
               {"name": "lo", "type": "ip_allow", "allow": ["127.0.0.0/8"]},
               {"name": "me", "type": "ip_allow", "allow": ["192.0.2.0/24", mine + "/32"]}]
        routes = [{"path_prefix": "/ten/", "service": "p", "middlewares": ["ten"]},
                  {"path_prefix": "/lo/", "service": "p", "middlewares": ["lo"]},
                  {"path_prefix": "/me/", "service": "p", "middlewares": ["me"]}]
        p, addr = self.gateway(routes, [self.pool("p", [o])], middlewares=mws)
        other = new_ip()
        cases = [("/ten/a", None, 403), ("/lo/b", None, 200), ("/lo/c", other, 200),
                 ("/me/d", mine, 200), ("/me/e", other, 403)]
        got = [request(addr, "GET", path, "a", source=source).status for path, source, _ in cases]
        self.assertEqual(got, [c[2] for c in cases])
        self.assertEqual([r["target"] for r in o.requests(3)], ["/lo/b", "/lo/c", "/me/d"])


    def test_outer_layers_wrap_an_answer_and_the_connection_stays(self):
        o = self.origin("p")
        mws = [{"name": "secure", "type": "headers", "response_set": {"X-Frame-Options": "DENY"}},
               {"name": "id", "type": "request_id"},
               {"name": "ten", "type": "ip_allow", "allow": ["10.0.0.0/8"]}]
        routes = [{"path_prefix": "/ten/", "service": "p", "middlewares": ["ten"]},
                  {"path_prefix": "/ok/", "service": "p"}]
        p, addr = self.gateway(routes, [self.pool("p", [o])], middlewares=mws, entry_middlewares=["secure", "id"])
        with Client(addr) as c:
            c.send(b"GET /ten/a HTTP/1.1\r\nHost: a\r\n\r\n")
            denied = c.response()
            # the same connection carries on: no body was left unread
            c.send(b"GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")
            missing = c.response()
            c.send(b"GET /ok/b HTTP/1.1\r\nHost: a\r\n\r\n")
            ok = c.response()
        self.assertEqual((denied.status, denied.get("x-frame-options")), (403, "DENY"))
        self.assertRegex(denied.get("x-request-id") or "", r"^[0-9a-f]{32}$")
        self.assertIsNone(denied.get("connection"))
        self.assertEqual(missing.status, 404)
        self.assertEqual((ok.status, ok.get("x-frame-options")), (200, "DENY"))
        self.assertEqual([r["target"] for r in o.requests(1)], ["/ok/b"])


class HeadersTest(GatewayCase):
    def test_headers_set_add_remove_in_onion_order(self):
        o = self.origin("p")
        mws = [{"name": "outer", "type": "headers",
                "request_set": {"X-Layer": "outer"}, "response_set": {"X-Layer": "outer"}},
               {"name": "hdr", "type": "headers",
                "request_set": {"X-Test": "set", "X-Layer": "inner", "X-Forwarded-Proto": "https"},
                "request_add": {"X-Extra": "added"},
                "request_remove": ["user-agent"],
                "response_set": {"X-Frame-Options": "DENY", "X-Origin": "masked", "X-Layer": "inner"},
                "response_add": {"X-Added": "1"},
                "response_remove": ["x-connection"]}]
        p, addr = self.gateway([{"service": "p", "middlewares": ["hdr"]}], [self.pool("p", [o])],
                               middlewares=mws, entry_middlewares=["outer"])
        status, headers, body = curl("http://%s/h" % addr, "-H", "X-Test: client", "-H", "X-Extra: client")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"p\n")
        got = {n: values(headers, n) for n in ("X-Frame-Options", "X-Origin", "X-Added", "X-Connection", "X-Layer")}
        # the response side runs in reverse: the entry point's layer last
        self.assertEqual(got, {"X-Frame-Options": ["DENY"], "X-Origin": ["masked"], "X-Added": ["1"],
                               "X-Connection": [], "X-Layer": ["outer"]})
        seen = o.requests(1)[0]["headers"]
        got = {n: values(seen, n) for n in ("X-Test", "X-Extra", "User-Agent", "X-Layer", "X-Forwarded-Proto")}
        # the request side in order: the route's layer last
        self.assertEqual(got, {"X-Test": ["set"], "X-Extra": ["client", "added"], "User-Agent": [],
                               "X-Layer": ["inner"], "X-Forwarded-Proto": ["https"]})


class RequestIdTest(GatewayCase):
    def test_request_id_on_response_origin_and_access_log(self):
        o = self.origin("p")
        mws = [{"name": "rid", "type": "request_id", "header": "X-Request-ID"}]
        p, addr = self.gateway([{"service": "p"}], [self.pool("p", [o])], middlewares=mws,
                               entry_middlewares=["rid"], access_log=True)
        ids = []
        for i, extra in enumerate([[], [], ["-H", "X-Request-ID: client-chosen"]]):
            status, headers, _ = curl("http://%s/rid/%d" % (addr, i), *extra)
            self.assertEqual(status, 200)
            ids.append(values(headers, "X-Request-ID"))
        seen = [values(r["headers"], "X-Request-ID") for r in o.requests(3)]
        self.assertEqual(seen, ids)   # the origin got the one the client got back
        self.assertTrue(all(len(v) == 1 and HEX32.fullmatch(v[0]) for v in ids), ids)
        ids = [v[0] for v in ids]
        self.assertEqual(len(set(ids)), 3, ids)   # a new one each time; the client's own is replaced

        def lines():
            text = open(self.access_log).read() if os.path.exists(self.access_log) else ""
            found = [[l for l in text.splitlines() if '"GET /rid/%d HTTP/1.1"' % i in l] for i in range(3)]
            return found if all(found) else None
        logged = wait_until(lines, 5, what="the 3 access-log lines")
        self.assertEqual([[rid in l for l in ls] for rid, ls in zip(ids, logged)], [[True]] * 3)


class StickyTest(GatewayCase):
    COOKIE = re.compile(r"EPSRV=([^;]+); Path=/; HttpOnly")

    def ask(self, addr, cookie=None):
        """(server that answered, the EPSRV value it set or None)."""
        headers = [("Cookie", "a=1; EPSRV=%s; b=2" % cookie)] if cookie else []
        r = request(addr, "GET", "/", "a", headers)
        self.assertEqual(r.status, 200, r)
        sets = r.all("set-cookie")
        self.assertLessEqual(len(sets), 1, sets)
        if not sets:
            return r.get("x-origin"), None
        m = self.COOKIE.fullmatch(sets[0])
        self.assertTrue(m, sets[0])
        return r.get("x-origin"), m.group(1)

    def test_sticky_cookie_follows_server_state(self):   # golden 42
        origins = {n: self.origin(n) for n in ("s1", "s2", "s3")}
        pool = self.pool("app", list(origins.values()), sticky={"cookie": "EPSRV"},
                         health_check={"type": "tcp", "interval": "200ms", "timeout": "100ms", "rise": 1, "fall": 2})
        p, addr = self.gateway([{"service": "app"}], [pool])
        first, cookie = self.ask(addr)
        self.assertIsNotNone(cookie)
        # 20 requests on new connections (so over both workers) stay on it
        self.assertEqual([self.ask(addr, cookie) for _ in range(20)], [(first, None)] * 20)
        # an unknown value is ignored: a normal pick and a cookie for it
        server, value = self.ask(addr, "bogus")
        self.assertIsNotNone(value)
        # the server goes down: the next request moves, with a new cookie
        origins[first].stop()
        wait_until(lambda: self.servers(p)[first]["state"] == "down", 5, what="%s down" % first)
        second, cookie2 = self.ask(addr, cookie)
        self.assertNotEqual(second, first)
        self.assertIsNotNone(cookie2)
        self.assertNotEqual(cookie2, cookie)
        self.assertEqual([self.ask(addr, cookie2) for _ in range(4)], [(second, None)] * 4)
        # maint: moves again, to the one server left
        third = ({"s1", "s2", "s3"} - {first, second}).pop()
        p.epctl("maint", "app/" + second)
        third_seen, cookie3 = self.ask(addr, cookie2)
        self.assertEqual(third_seen, third)
        self.assertNotIn(cookie3, (None, cookie, cookie2))
        # drain: its cookie is still honoured, but it takes no new client
        p.epctl("ready", "app/" + second)
        wait_until(lambda: self.servers(p)[second]["state"] == "up", 5, what="%s up" % second)
        self.assertEqual(self.ask(addr, cookie2), (second, None))
        p.epctl("drain", "app/" + second)
        self.assertEqual([self.ask(addr, cookie2) for _ in range(5)], [(second, None)] * 5)
        self.assertEqual([self.ask(addr) for _ in range(4)], [(third, cookie3)] * 4)


class TunnelTest(GatewayCase):
    def test_websocket_through_a_route_holds_a_server_of_the_pool(self):
        o = self.origin("ws")
        p, addr = self.gateway([{"path_prefix": "/ws", "service": "app"}], [self.pool("app", [o])])
        r = websocket_client(addr, "['hello', b'\\x00' * 70000]")
        self.assertEqual((r.returncode, r.stdout), (0, "str 5 True\nbytes 70000 True\n"), r.stderr)
        # the tunnel gave its server back when it closed
        wait_until(lambda: self.servers(p)["ws"]["active"] == 0, 5, what="no active connection on ws")
        self.assertEqual(self.servers(p)["ws"]["total"], 1)


class RetryTest(GatewayCase):
    def test_idempotent_requests_retried_on_the_other_server(self):
        good, bad = self.origin("good"), self.origin("bad", drop=True)   # bad closes without a word
        mws = [{"name": "again", "type": "retry", "attempts": 2}]
        routes = [{"path_prefix": "/r/", "service": "p", "middlewares": ["again"]},
                  {"path_prefix": "/n/", "service": "p"}]
        pool = self.pool("p", [bad, good], passive={"max_fails": 0})   # bad stays in the rotation
        p, addr = self.gateway(routes, [pool], middlewares=mws)
        n = 10
        gets = [request(addr, "GET", "/r/get%d" % i, "a") for i in range(n)]
        self.assertEqual([(r.status, r.get("x-origin")) for r in gets], [(200, "good")] * n)
        posts = [request(addr, "POST", "/r/post%d" % i, "a", body=b"x") for i in range(n)]
        plain = [request(addr, "GET", "/n/%d" % i, "a") for i in range(n)]

        def targets(o, prefix):
            return sorted(r["target"] for r in o.requests() if r["target"].startswith(prefix))
        failed_posts = sorted("/r/post%d" % i for i, r in enumerate(posts) if r.status == 502)
        failed_plain = sorted("/n/%d" % i for i, r in enumerate(plain) if r.status == 502)
        # An origin's log reaches the test a moment after the proxy answered:
        # wait until each has logged all it got (good: what it answered; bad:
        # at least the requests that failed with 502, the last ones sent).
        wait_until(lambda: len(good.requests()) == 3 * n - len(failed_posts) - len(failed_plain), 5,
                   what="good to log its requests")
        wait_until(lambda: targets(bad, "/n/") == failed_plain, 5, what="bad to log the GETs it dropped")
        # every GET that bad dropped was answered by good
        dropped = targets(bad, "/r/get")
        self.assertGreater(len(dropped), 0, "round robin never sent a GET to bad")
        self.assertEqual(targets(good, "/r/get"), sorted("/r/get%d" % i for i in range(n)))
        # a POST is not sent twice: those bad got fail with 502
        self.assertEqual([r.status for r in posts if r.status != 502], [200] * (n - len(failed_posts)))
        self.assertGreater(len(failed_posts), 0)
        self.assertEqual(targets(bad, "/r/post"), failed_posts)
        self.assertEqual(len(targets(good, "/r/post")), n - len(failed_posts))
        # without the middleware a dropped GET is not retried either
        self.assertGreater(len(failed_plain), 0)
        self.assertEqual(len(targets(good, "/n/")), n - len(failed_plain))


class ReloadTest(GatewayCase):
    def test_routes_change_by_reload_under_load_with_no_error(self):
        a, b = self.origin("a"), self.origin("b")
        p, addr = self.gateway([{"path_prefix": "/", "service": "a"}], [self.pool("a", [a])])
        self.assertEqual(values(curl("http://%s/new/x" % addr)[1], "X-Origin"), ["a"])
        # wrk runs until SIGINT (then prints its summary): at least 4 s, and
        # past both reloads however long they take on a busy machine
        start = time.monotonic()
        wrk = subprocess.Popen(["wrk", "-t2", "-c20", "-d60s", "http://%s/" % addr],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(0.5)   # the load is on
            config = json.loads(json.dumps(p.config))
            edge = config["services"][0]
            # 1: a new pool and a route to it
            config["services"].append(self.pool("b", [b]))
            edge["routes"].insert(0, {"path_prefix": "/new/", "service": "b"})
            self.rewrite(p, config)
            r = p.epctl("reload", check=False)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            wait_until(lambda: values(curl("http://%s/new/x" % addr)[1], "X-Origin") == ["b"], 5,
                       what="the new route")
            # 2: a middleware on the route under load
            config["middlewares"] = [{"name": "gen", "type": "headers", "response_set": {"X-Gen": "2"}}]
            edge["routes"][1]["middlewares"] = ["gen"]
            self.rewrite(p, config)
            r = p.epctl("reload", check=False)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            wait_until(lambda: values(curl("http://%s/" % addr)[1], "X-Gen") == ["2"], 5, what="the new middleware")
            time.sleep(max(0.5, start + 4 - time.monotonic()))   # the new config under load too
            self.assertIsNone(wrk.poll(), "wrk ended before both reloads were done")
            wrk.send_signal(signal.SIGINT)
            out = wrk.communicate(timeout=30)[0]
        finally:
            if wrk.poll() is None:
                wrk.kill()
                wrk.wait(5)
        done = int(re.search(r"(\d+) requests in", out).group(1))
        self.assertGreater(done, 500, out)
        self.assertNotIn("Non-2xx", out)
        self.assertNotIn("Socket errors", out)
        status, headers, body = curl("http://%s/new/y" % addr)
        self.assertEqual((status, values(headers, "X-Origin"), values(headers, "X-Gen"), body), (200, ["b"], [], b"b\n"))
        status, headers, body = curl("http://%s/y" % addr)
        self.assertEqual((status, values(headers, "X-Origin"), values(headers, "X-Gen"), body), (200, ["a"], ["2"], b"a\n"))


if __name__ == "__main__":
    harness.main()
