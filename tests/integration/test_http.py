"""HTTP mode (mode = "http", DESIGN §7) against real origins and clients: the
exact head an origin receives (research/http.md §12 golden cases), smuggling
attempts refused before any server sees a byte, keep-alive and pipelining,
the per-worker pool of server connections (counted at the origin, which
numbers its connections: X-Connection) and TIME_WAIT, streaming of 200 MiB
both ways with bounded memory, SSE timing, WebSocket and h2c, every proxy
error and timeout, balancing by uri, header and cookie, reload under load,
the per-service counters and the access log.

The daemon's names for counters, metrics, reasons and log fields are read in
one helper each (http_stats, prometheus_http, REASONS, access_entries), so a
renamed field is one edit."""
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import blackhole, connect, free_port, new_ip, wait_until  # noqa: E402
from http_origin import Origin, pattern, pattern_digest, python_with  # noqa: E402

# The contract's defaults (DESIGN §7); tests override what they exercise.
HTTP_KEYS = {"request_timeout": "10s", "keepalive_timeout": "60s", "server_timeout": "60s",
             "max_header_size": 16384, "max_body_size": 0, "trusted_proxies": []}
KEEPALIVE_KEYS = {"max_idle": 32, "idle_timeout": "4s", "max_requests": 10000}

# Reason phrases of the answers the proxy makes itself (RFC 9110 §15).
REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large", 414: "URI Too Long",
           431: "Request Header Fields Too Large", 501: "Not Implemented", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported"}

MIB = 1 << 20


def http_stats(proxy, service="svc"):
    """The HTTP counters of a service in `epstat -o json services`, under the
    names these tests use."""
    names = {"requests": "requests", "1xx": "responses_1xx", "2xx": "responses_2xx",
             "3xx": "responses_3xx", "4xx": "responses_4xx", "5xx": "responses_5xx",
             "502": "errors_502", "503": "errors_503", "504": "errors_504",
             "opened": "server_connections_opened", "reused": "server_connections_reused"}
    services = json.loads(proxy.epstat("-o", "json", "services").stdout)["services"]
    s = [x for x in services if x["service"] == service][0]
    return {k: s[v] for k, v in names.items()}


def prometheus_http(text, service="svc"):
    """The same counters from a Prometheus exposition (`epstat -o prometheus`
    or /metrics)."""
    samples = {}
    for line in text.splitlines():
        m = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if m and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            if labels.pop("service", None) == service:
                samples[(m.group(1), tuple(sorted(labels.items())))] = float(m.group(3))
    out = {"requests": samples.get(("easyproxy_service_http_requests_total", ()))}
    for c in ("1xx", "2xx", "3xx", "4xx", "5xx"):
        out[c] = samples.get(("easyproxy_service_http_responses_total", (("class", c),)))
    for how in ("opened", "reused"):
        out[how] = samples.get(("easyproxy_service_server_connections_total", (("how", how),)))
    return out


ACCESS_RE = re.compile(r'"(\S+) (\S+) (HTTP/1\.[01])" (\d{3})\b')


def websocket_client(addr, messages, cafile=None, server_hostname=None):
    """python3-websockets' client on ws://ADDR/ws (wss:// trusting `cafile`
    when given): sends each of `messages` (a Python expression for a list),
    prints "type length echoed-equal" per echo; the finished process."""
    if cafile:
        url, tls = "wss://%s/ws" % addr, ", ssl=ssl.create_default_context(cafile=%r), server_hostname=%r" % (
            cafile, server_hostname)
    else:
        url, tls = "ws://%s/ws" % addr, ""
    script = ("import asyncio, ssl, websockets\n"
              "async def main():\n"
              "    async with websockets.connect(%r%s, max_size=None) as ws:\n"
              "        for m in %s:\n"
              "            await ws.send(m)\n"
              "            r = await ws.recv()\n"
              "            print(type(r).__name__, len(r), r == m)\n"
              "asyncio.run(asyncio.wait_for(main(), 10))\n" % (url, tls, messages))
    return subprocess.run([python_with("websockets"), "-c", script], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=30)


def access_entries(path):
    """[(method, target, version, status, termination code)] of the access-log
    lines that name a request (a head rejected before its request line was
    read may log otherwise, or not at all)."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path, errors="replace") as f:
        for line in f.read().splitlines():
            m = ACCESS_RE.search(line)
            if m:
                out.append((m.group(1), m.group(2), m.group(3), int(m.group(4)), line.split()[-1]))
    return out


def wait_entries(path, count):
    """The access-log entries once there are `count` (5 s at most)."""
    try:
        return wait_until(lambda: (lambda e: e if len(e) >= count else None)(access_entries(path)), 5,
                          what="%d access-log lines" % count)
    except AssertionError as e:
        text = open(path, errors="replace").read() if os.path.exists(path) else "(none)"
        raise AssertionError("%s; the access log:\n%s" % (e, text))


def workers_rss_kib(proxy):
    """The resident memory of all workers together."""
    total = 0
    for pid in proxy.worker_pids():
        try:
            with open("/proc/%d/status" % pid) as f:
                total += int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))
        except (OSError, AttributeError):
            pass   # a worker exiting meanwhile
    return total


def time_wait_toward(addr):
    """TIME_WAIT sockets on this host whose peer is `addr` (the origin)."""
    out = subprocess.run(["ss", "-Htan", "state", "time-wait", "dst", addr],
                         stdout=subprocess.PIPE, text=True, timeout=10).stdout
    return len([l for l in out.splitlines() if l.strip()])


class Response:
    def __init__(self, version, status, reason, headers, body, chunked):
        self.version, self.status, self.reason = version, status, reason
        self.headers, self.body, self.chunked = headers, body, chunked

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def get(self, name):
        values = self.all(name)
        return values[0] if values else None

    def __repr__(self):
        return "<%d %r %r>" % (self.status, self.headers, self.body[:200])


class Client:
    """One client connection that writes raw bytes and reads responses with
    byte-exact framing (several in a row for keep-alive and pipelining)."""

    def __init__(self, addr, timeout=5.0, source=None):
        self.sock = connect(addr, timeout, source)
        self.sock.settimeout(timeout)
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.sock.close()

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass   # answered and closed before all was sent: the answer is read next

    def _fill(self):
        try:
            data = self.sock.recv(262144)
        except ConnectionResetError:
            data = b""
        if not data:
            raise EOFError("the proxy closed the connection (%d bytes unread: %r)" % (len(self.buf), self.buf[:200]))
        self.buf += data

    def _until(self, mark):
        while mark not in self.buf:
            self._fill()
        i = self.buf.index(mark) + len(mark)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self, method="GET", final=True):
        """The next response (the next final one, 1xx skipped, when `final`)."""
        while True:
            head = self._until(b"\r\n\r\n").decode("latin-1")
            lines = head[:-4].split("\r\n")
            version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
            status = int(status)
            headers = [(n, v.strip()) for n, _, v in (l.partition(":") for l in lines[1:])]
            if not (final and 100 <= status < 200 and status != 101):
                break
        r = Response(version, status, reason, headers, b"", False)
        if method == "HEAD" or status < 200 or status in (204, 304):
            return r
        if (r.get("transfer-encoding") or "").lower() == "chunked":
            r.chunked = True
            while True:
                size = int(self._until(b"\r\n").split(b";")[0].strip(), 16)
                if size == 0:
                    while self._until(b"\r\n") != b"\r\n":
                        pass
                    return r
                r.body += self._exact(size)
                assert self._exact(2) == b"\r\n", "chunk data not followed by CRLF"
        if r.get("content-length") is not None:
            r.body = self._exact(int(r.get("content-length")))
            return r
        while True:   # delimited by the close
            try:
                self._fill()
            except EOFError:
                r.body, self.buf = self.buf, b""
                return r

    def eof(self, timeout=5.0):
        """True when the proxy closes the connection without sending more."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(5.0)
        return data == b"" and self.buf == b""


def ask(addr, raw, method="GET", source=None, timeout=5.0, close_wait=0.2):
    """One request on a new connection: (response, whether the proxy closed
    the connection within close_wait seconds after it)."""
    with Client(addr, timeout, source) as c:
        c.send(raw)
        r = c.response(method)
        return r, c.eof(close_wait)


def get(host, path, headers=None):
    """GET with python's http.client on a new connection: (status, headers, body)."""
    h, port = host.rsplit(":", 1)
    c = http.client.HTTPConnection(h, int(port), timeout=10)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


class HttpCase(harness.ProxyTestCase):
    maxDiff = None   # a failure shows every case that went wrong
    def origin(self, name="origin", ip=None, **opts):
        o = Origin(ip or new_ip(), name=name, **opts)
        self.procs.append(o)
        return o

    def http_service(self, servers, name="svc", http=None, keepalive=None, **keys):
        h = dict(HTTP_KEYS, **(http or {}))
        k = dict(KEEPALIVE_KEYS, **(keepalive or {}))
        return self.service(servers, name=name, mode="http", http=h, keepalive=k, **keys)

    def http_proxy(self, servers, access_log=False, stats=False, **keys):
        """One http service in front of `servers`; (proxy, listen address).
        access_log: to self.access_log; stats: the stats endpoint on
        self.stats_addr."""
        svc, addr = self.http_service(servers, **keys)
        extra = {}
        if access_log:
            self.access_log = os.path.join(self.tmp, "access.log")
            extra["log"] = {"access_log": self.access_log}
        if stats:
            ip = new_ip()
            self.stats_addr = "%s:%d" % (ip, free_port(ip))
            extra["stats"] = {"listen": self.stats_addr}
        return self.proxy([svc], **extra), addr

    def assert_made(self, r, status, close=True):
        """A response the proxy made itself: `<status> <reason>\\n`, text/plain."""
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.body, ("%d %s\n" % (status, REASONS[status])).encode())
        self.assertEqual(r.get("content-type"), "text/plain")
        if close:
            self.assertEqual((r.get("connection") or "").lower(), "close", r)

    def assert_origin_got_nothing(self, o):
        self.assertEqual((o.connections(), o.requests()), (0, []))


def fields(head):
    """The header lines of a head, without the request line."""
    return head.split("\r\n")[1:-2]


class ForwardingTest(HttpCase):
    """What reaches the origin: golden cases 1, 4, 8, 10, 14, 19-21."""

    def test_forwarded_head_is_exact(self):   # golden 1
        o = self.origin()
        p, addr = self.http_proxy([o])
        ip = new_ip()
        r, closed = ask(addr, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", source=ip)
        self.assertEqual((r.status, r.body, r.get("x-origin"), r.get("connection")), (200, b"origin\n", "origin", None))
        self.assertFalse(closed)
        head = o.requests(1)[0]["head"]
        self.assertTrue(head.startswith("GET / HTTP/1.1\r\n") and head.endswith("\r\n\r\n"), head)
        self.assertEqual(sorted(fields(head)), sorted(["Host: a", "X-Forwarded-For: " + ip, "X-Real-IP: " + ip,
                                                       "X-Forwarded-Proto: http", "X-Forwarded-Host: a"]))

    def test_framing_is_rewritten_canonically(self):   # golden 4, 8, 10, 17
        o = self.origin()
        p, addr = self.http_proxy([o])
        r, _ = ask(addr, b"POST /digest HTTP/1.1\r\nHost: a\r\nContent-Length: 002\r\n\r\nab")
        self.assertEqual((r.status, r.body), (200, b"2 %s\n" % hashlib.sha256(b"ab").hexdigest().encode()))
        r, _ = ask(addr, b"POST /digest HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        self.assertEqual(r.status, 200)
        r, _ = ask(addr, b"POST /digest HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5;e=1\r\nhello\r\n0\r\nX-T: y\r\n\r\n")
        self.assertEqual(r.status, 200)
        r, _ = ask(addr, b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n")
        self.assertEqual(r.status, 200)
        reqs = o.requests(4)
        self.assertIn("Content-Length: 2", fields(reqs[0]["head"]))
        self.assertEqual((reqs[0]["body_len"], reqs[0]["body_raw"]), (2, "ab"))
        self.assertIn("Transfer-Encoding: chunked", fields(reqs[1]["head"]))
        self.assertEqual(reqs[1]["body_raw"], "3\r\nabc\r\n0\r\n\r\n")
        # the extension dropped; trailers may be relayed or dropped (RFC 9112 §7.1.2)
        self.assertIn(reqs[2]["body_raw"], ("5\r\nhello\r\n0\r\nX-T: y\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n"))
        self.assertIn("X: caf\xc3\xa9", fields(reqs[3]["head"]))   # the same bytes, read as latin-1

    def test_absolute_form_becomes_origin_form(self):   # golden 14
        o = self.origin()
        p, addr = self.http_proxy([o])
        r, _ = ask(addr, b"GET http://a/x?q HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(r.status, 200)
        r, closed = ask(addr, b"GET http://a/x?q HTTP/1.1\r\nHost: b\r\n\r\n", close_wait=3)
        self.assert_made(r, 400)
        self.assertTrue(closed)
        reqs = o.requests(1)
        self.assertEqual(len(reqs), 1)
        self.assertTrue(reqs[0]["head"].startswith("GET /x?q HTTP/1.1\r\n"), reqs[0]["head"])
        self.assertEqual([f for f in fields(reqs[0]["head"]) if f.lower().startswith("host:")], ["Host: a"])

    def test_hop_by_hop_headers_removed(self):   # golden 19, 32 (h2c)
        o = self.origin()
        p, addr = self.http_proxy([o])
        with Client(addr) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Foo\r\nX-Foo: 1\r\nKeep-Alive: timeout=5\r\n"
                   b"Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: foo\r\n\r\n")
            r = c.response()
            self.assertEqual((r.status, r.get("connection")), (200, "close"))
            self.assertTrue(c.eof())
        r, closed = ask(addr, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                              b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
        self.assertEqual((r.status, r.body, closed), (200, b"origin\n", False))
        hop = ("connection", "x-foo", "keep-alive", "proxy-connection", "te", "upgrade", "http2-settings")
        seen = [[f for f in fields(q["head"]) if f.split(":")[0].lower() in hop] for q in o.requests(2)]
        self.assertEqual(seen, [["TE: trailers"], []])

    def test_x_forwarded_for_appended_on_one_line(self):   # golden 20, 21
        o = self.origin()
        p, addr = self.http_proxy([o])
        ip = new_ip()
        r, _ = ask(addr, b"POST /digest HTTP/1.1\r\nHost: a\r\nConnection: X-Forwarded-For, Host, Content-Length\r\n"
                         b"X-Forwarded-For: 9.9.9.9\r\nContent-Length: 2\r\n\r\nab", source=ip)
        self.assertEqual(r.status, 200)
        r, _ = ask(addr, b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: a\r\nX-Forwarded-For: b\r\n"
                         b"X-Real-IP: 1.1.1.1\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\n\r\n", source=ip)
        self.assertEqual(r.status, 200)
        first, second = [fields(q["head"]) for q in o.requests(2)]
        self.assertIn("Host: a", first)
        self.assertIn("Content-Length: 2", first)
        self.assertEqual([f for f in first if f.startswith("X-Forwarded-For")], ["X-Forwarded-For: 9.9.9.9, " + ip])
        self.assertEqual(o.requests(2)[0]["body_raw"], "ab")
        fwd = sorted(f for f in second if f.lower().startswith(("x-forwarded", "x-real-ip")))
        self.assertEqual(fwd, sorted(["X-Forwarded-For: a, b, " + ip, "X-Real-IP: " + ip,
                                      "X-Forwarded-Host: a", "X-Forwarded-Proto: http"]))

    def test_trusted_proxy_keeps_its_forwarded_headers(self):
        o = self.origin()
        trusted, other = new_ip(), new_ip()
        p, addr = self.http_proxy([o], http={"trusted_proxies": [trusted + "/32"]})
        raw = (b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7\r\nX-Real-IP: 203.0.113.7\r\n"
               b"X-Forwarded-Host: public.example\r\nX-Forwarded-Proto: https\r\n\r\n")
        self.assertEqual(ask(addr, raw, source=trusted)[0].status, 200)
        self.assertEqual(ask(addr, raw, source=other)[0].status, 200)
        got = [sorted(f for f in fields(q["head"]) if f.lower().startswith(("x-forwarded", "x-real-ip")))
               for q in o.requests(2)]
        self.assertEqual(got[0], sorted(["X-Forwarded-For: 203.0.113.7, " + trusted, "X-Real-IP: 203.0.113.7",
                                         "X-Forwarded-Host: public.example", "X-Forwarded-Proto: https"]))
        self.assertEqual(got[1], sorted(["X-Forwarded-For: 203.0.113.7, " + other, "X-Real-IP: " + other,
                                         "X-Forwarded-Host: a", "X-Forwarded-Proto: http"]))


R = b"POST / HTTP/1.1\r\nHost: a\r\n"
SMUGGLED = b"0\r\n\r\nGET /s HTTP/1.1\r\nHost: a\r\n\r\n"
# (golden case, request, status): each is answered by the proxy and closed,
# and no byte of it reaches a server.
REFUSED = [
    ("2 CL+TE", R + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + SMUGGLED, 400),
    ("2 TE+CL", R + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + SMUGGLED, 400),
    ("3 two CL", R + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    ("3 two equal CL", R + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\nab", 400),
    ("3 CL list", R + b"Content-Length: 2, 2\r\n\r\nab", 400),
] + [("4 CL %r" % v, R + b"Content-Length:" + v + b"\r\n\r\nab", 400)
     for v in (b" +2", b" -1", b" 0x2", b"", b" 1 2", b" 99999999999999999999")] + [
] + [("5 TE %r" % v, R + b"Transfer-Encoding: " + v + b"\r\n\r\n" + SMUGGLED, 400)
     for v in (b"chunked, chunked", b"chunked, gzip", b"gzip", b",chunked", b"xchunked")] + [
    ("5 gzip, chunked", R + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + SMUGGLED, 501),
    ("6 TE on 1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
] + [("7 %r" % v, R + v + b"\r\n\r\n" + SMUGGLED, 400)
     for v in (b"Transfer-Encoding : chunked", b"Transfer-Encoding\t: chunked", b"Transfer-Encoding:\x0bchunked",
               b"Transfer-Encoding: chunked\x0b", b"\x0bTransfer-Encoding: chunked")] + [
    ("9 obs-fold", R + b"X: a\r\n b\r\nContent-Length: 0\r\n\r\n", 400),
    ("9 bare CR", R + b"X-Abc: \rxTransfer-Encoding: chunked\r\n\r\n" + SMUGGLED, 400),
    ("10 NUL", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400),
    ("10 DEL", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", 400),
    ("11 empty name", b"GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400),
    ("11 no colon", b"GET / HTTP/1.1\r\nHost: a\r\nFoo\r\n\r\n", 400),
    ("11 non-tchar name", b"GET / HTTP/1.1\r\nHost: a\r\nX\xa0: y\r\n\r\n", 400),
    ("11 space first", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
    ("12 LF only", b"GET / HTTP/1.1\nHost: a\n\n", 400),
    ("12 two spaces", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("12 HTTP/1.10", b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
    ("12 HTTP/2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ("12 PRI", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    ("13 no Host", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("13 two Host", b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
    ("13 bad Host", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    ("14 authority != Host", b"GET http://a/x HTTP/1.1\r\nHost: b\r\n\r\n", 400),
    ("15 long target", b"GET /" + b"x" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    ("15 17 KiB head", b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"y" * (17 << 10) + b"\r\n\r\n", 431),
    ("15 101 fields", b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-F%d: v\r\n" % i for i in range(100)) + b"\r\n", 431),
]


class RefusedRequestTest(HttpCase):
    def test_each_bad_request_is_answered_and_closed_and_never_forwarded(self):   # golden 2-7, 9-15
        o = self.origin()
        p, addr = self.http_proxy([o])
        wrong = []   # every case runs; one failure lists all that went wrong
        for case, raw, status in REFUSED:
            want = (status, ("%d %s\n" % (status, REASONS[status])).encode(), "text/plain", "close", True)
            try:
                r, closed = ask(addr, raw, close_wait=3)
                got = (r.status, r.body, r.get("content-type"), (r.get("connection") or "").lower(), closed)
            except (OSError, EOFError) as e:
                got = repr(e)
            if got != want:
                wrong.append((case, got))
        self.assertEqual(wrong, [])
        self.assert_origin_got_nothing(o)
        # the proxy is still serving
        self.assertEqual(ask(addr, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")[0].status, 200)

    def test_body_over_max_body_size_is_413(self):
        o = self.origin()
        p, addr = self.http_proxy([o], http={"max_body_size": 1000})
        r, closed = ask(addr, b"POST /digest HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n" + b"x" * 1001,
                        close_wait=3)
        self.assert_made(r, 413)
        self.assertTrue(closed)
        self.assert_origin_got_nothing(o)
        r, _ = ask(addr, b"POST /digest HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000)
        self.assertEqual((r.status, r.body), (200, b"1000 %s\n" % hashlib.sha256(b"x" * 1000).hexdigest().encode()))
        # chunked: refused at the chunk size that goes over the limit
        chunked = b"POST /digest HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        r, closed = ask(addr, chunked + b"258\r\n" + b"y" * 600 + b"\r\n190\r\n" + b"y" * 400 + b"\r\n1\r\ny\r\n0\r\n\r\n",
                        close_wait=3)
        self.assert_made(r, 413)
        self.assertTrue(closed)
        r, _ = ask(addr, chunked + b"258\r\n" + b"y" * 600 + b"\r\n190\r\n" + b"y" * 400 + b"\r\n0\r\n\r\n")
        self.assertEqual((r.status, r.body), (200, b"1000 %s\n" % hashlib.sha256(b"y" * 1000).hexdigest().encode()))


class KeepAliveTest(HttpCase):
    FRAMINGS = [("GET", "/frame/cl26", b"abcdefghijklmnopqrstuvwxyz"),
                ("GET", "/frame/chunked", b"abcdefghijklmnopqrstuvwxyz"),
                ("GET", "/frame/chunked0", b""), ("GET", "/frame/cl0", b""),
                ("HEAD", "/frame/head26", b""), ("GET", "/frame/304", b""), ("GET", "/frame/304cl100", b"")]

    def test_two_requests_per_framing_share_the_server_connection(self):   # golden 22
        o = self.origin()
        p, addr = self.http_proxy([o])
        for method, path, body in self.FRAMINGS:
            with Client(addr) as c:
                got = []
                for _ in range(2):
                    c.send(b"%s %s HTTP/1.1\r\nHost: a\r\n\r\n" % (method.encode(), path.encode()))
                    r = c.response(method)
                    got.append((r.status, r.body, r.get("x-connection")))
                self.assertEqual([g[:2] for g in got], [(304 if "304" in path else 200, body)] * 2, path)
                self.assertEqual(got[0][2], got[1][2], path)
                if path == "/frame/head26" or path == "/frame/304cl100":
                    self.assertEqual(r.get("content-length"), "26" if "head" in path else "100")

    def test_pipelined_requests_answered_in_order(self):   # golden 27
        o = self.origin()
        p, addr = self.http_proxy([o], access_log=True)
        with Client(addr) as c:
            c.send(b"GET /status/201 HTTP/1.1\r\nHost: a\r\n\r\nGET /fixed/5 HTTP/1.1\r\nHost: a\r\n\r\n"
                   b"GET /status/202 HTTP/1.1\r\nHost: a\r\n\r\n")
            rs = [c.response() for _ in range(3)]
        self.assertEqual([(r.status, len(r.body)) for r in rs], [(201, 7), (200, 5), (202, 7)])
        self.assertEqual(len({r.get("x-connection") for r in rs}), 1)
        self.assertEqual([q["target"] for q in o.requests(3)], ["/status/201", "/fixed/5", "/status/202"])
        entries = wait_entries(self.access_log, 3)
        self.assertEqual(entries, [("GET", "/status/201", "HTTP/1.1", 201, "--"), ("GET", "/fixed/5", "HTTP/1.1", 200, "--"),
                                   ("GET", "/status/202", "HTTP/1.1", 202, "--")])

    def test_server_closing_an_idle_pooled_connection_fails_nothing(self):   # golden 25
        o = self.origin(idle_close=0.5)
        p, addr = self.http_proxy([o], keepalive={"idle_timeout": "4s"})
        with Client(addr) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertEqual(c.response().status, 200)
            wait_until(lambda: "CLOSE 1" in o.output(), 5, what="the origin to close its idle connection")
            c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertEqual(c.response().status, 200)
            wait_until(lambda: "CLOSE 2" in o.output(), 5, what="the origin to close its idle connection")
            c.send(b"POST /digest HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab")
            r = c.response()
        self.assertEqual((r.status, r.body), (200, b"2 %s\n" % hashlib.sha256(b"ab").hexdigest().encode()))
        self.assertEqual([q["method"] for q in o.requests(3)], ["GET", "GET", "POST"])

    def test_pool_reuses_server_connections(self):
        o = self.origin()
        p, addr = self.http_proxy([o])
        for i in range(100):   # each on a new client connection
            self.assertEqual(get(addr, "/")[0], 200)
        self.assertEqual(len(o.requests(100)), 100)
        self.assertLessEqual(o.connections(), 2 * self.workers)
        s = http_stats(p)
        self.assertEqual((s["opened"], s["opened"] + s["reused"]), (o.connections(), 100))

    def wrk(self, origin, url, *args):
        """16 wrk clients on `url`: every request answered 2xx, no socket
        error; returns how many were done."""
        r = subprocess.run(["wrk", "-t2", "-c16"] + list(args) + [url],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
        done = int(re.search(r"(\d+) requests in", r.stdout).group(1))
        self.assertGreater(done, 200, r.stdout)
        self.assertNotIn("Non-2xx", r.stdout)
        self.assertNotIn("Socket errors", r.stdout)
        self.assertLessEqual(len(origin.requests(done)), done + 16)   # + those in flight when wrk stopped
        return done

    def test_keepalive_load_uses_few_server_connections(self):
        o = self.origin()
        p, addr = self.http_proxy([o])
        self.wrk(o, "http://%s/fixed/100" % addr, "-d1s")
        self.assertLessEqual(o.connections(), 16 + 2 * self.workers)   # one per busy client, a few spare
        s = http_stats(p)
        self.assertEqual(s["opened"], o.connections())

    def test_connection_close_clients_leave_no_time_wait_toward_server(self):   # golden 23
        o = self.origin()
        p, addr = self.http_proxy([o])
        self.wrk(o, "http://%s/" % addr, "-d2s", "-H", "Connection: close")
        self.assertLessEqual(o.connections(), 2 * 16)
        # Pooled connections stay open: what is left in TIME_WAIT are at most
        # the connections whose response wrk cut off when it stopped (without
        # the pool: one per request, thousands).
        self.assertLessEqual(time_wait_toward(o.addr), 16)

    def test_server_close_keeps_the_client_connection(self):   # golden 24
        o = self.origin()
        p, addr = self.http_proxy([o])
        with Client(addr) as c:
            c.send(b"GET /close HTTP/1.1\r\nHost: a\r\n\r\n")
            r1 = c.response()
            self.assertEqual((r1.status, r1.get("connection")), (200, None))
            c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            r2 = c.response()
        self.assertEqual(r2.status, 200)
        self.assertNotEqual(r1.get("x-connection"), r2.get("x-connection"))

    def test_extra_bytes_after_a_response_are_not_relayed(self):   # golden 26
        o = self.origin()
        p, addr = self.http_proxy([o])
        with Client(addr) as c:
            c.send(b"GET /bad/extra HTTP/1.1\r\nHost: a\r\n\r\n")
            r1 = c.response()
            self.assertEqual((r1.status, r1.body), (200, b"ab"))
            c.send(b"HEAD /frame/head26extra HTTP/1.1\r\nHost: a\r\n\r\n")
            r2 = c.response("HEAD")
            self.assertEqual((r2.status, r2.get("content-length")), (200, "26"))
            c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            r3 = c.response()
            self.assertEqual((r3.status, r3.body), (200, b"origin\n"))
        conns = [r1.get("x-connection"), r2.get("x-connection"), r3.get("x-connection")]
        self.assertEqual(len(set(conns)), 3, conns)   # neither polluted connection went back to the pool

    def test_http10_client_gets_a_dechunked_body_and_a_close(self):   # golden 28
        o = self.origin()
        p, addr = self.http_proxy([o])
        with Client(addr) as c:
            c.send(b"GET /frame/seethis HTTP/1.0\r\n\r\n")
            r = c.response()
            self.assertEqual((r.status, r.body, r.get("transfer-encoding")), (200, b"SEE-THIS", None))
            self.assertTrue(c.eof())
        with Client(addr) as c:
            for _ in range(2):
                c.send(b"GET /frame/cl26 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                r = c.response()
                self.assertEqual((r.status, len(r.body), (r.get("connection") or "").lower()), (200, 26, "keep-alive"))


class StreamingTest(HttpCase):
    def test_sse_events_arrive_one_by_one(self):   # golden 29
        o, aio = self.origin(), self.origin("aiohttp", aiohttp=True)
        svc, addr = self.http_service([o])
        aio_svc, aio_addr = self.http_service([aio], name="aio")
        self.proxy([svc, aio_svc])
        for framing, origin, via, events in (("close", o, addr, 2), ("chunked", o, addr, 4), ("aiohttp", aio, aio_addr, 2)):
            curl = subprocess.Popen(["curl", "-sSN", "--max-time", "10",
                                     "http://%s/sse?n=2&interval=1&framing=%s" % (via, framing)],
                                    stdout=subprocess.PIPE)
            try:
                arrived = {}
                for line in curl.stdout:
                    if line.startswith(b"data: "):
                        arrived[int(line[6:])] = time.monotonic()
            finally:
                curl.wait(15)
            self.assertEqual(curl.returncode, 0, framing)
            written = origin.sse_times(events)   # the last round's times win
            self.assertEqual(sorted(arrived), [1, 2], framing)
            self.assertLess(arrived[1] - written[1], 0.2, framing)
            self.assertLess(arrived[1], written[2], framing)
            self.assertLess(arrived[2] - written[2], 0.2, framing)

    SIZE = 200 * MIB
    # curl gives up on a stalled transfer after 5 s under 1 MiB/s
    CURL = ["curl", "-sS", "--max-time", "60", "--speed-limit", str(MIB), "--speed-time", "5"]

    def watch_rss(self, proxy):
        """Samples the workers' RSS every 50 ms; returns (base KiB, [peak KiB], stop)."""
        base = workers_rss_kib(proxy)
        peak, stop = [base], threading.Event()

        def sample():
            while not stop.wait(0.05):
                peak[0] = max(peak[0], workers_rss_kib(proxy))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        self.addCleanup(lambda: (stop.set(), sampler.join(5)))
        return base, peak, stop

    def test_200mib_downloads_stream_with_bounded_memory(self):   # golden 30
        o = self.origin()
        p, addr = self.http_proxy([o])
        self.assertEqual(get(addr, "/fixed/65536")[0], 200)   # buffers allocated once
        base, peak, stop = self.watch_rss(p)
        digest = pattern_digest(self.SIZE)
        for framing in ("chunked", "fixed"):
            head_file = os.path.join(self.tmp, "head")
            curl = subprocess.Popen(self.CURL + ["-D", head_file, "http://%s/%s/%d" % (addr, framing, self.SIZE)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            h, n = hashlib.sha256(), 0
            while True:
                data = curl.stdout.read(MIB)
                if not data:
                    break
                h.update(data)
                n += len(data)
            rc = curl.wait(60)
            self.assertEqual((rc, n, h.hexdigest()), (0, self.SIZE, digest),
                             "%s download: %s" % (framing, curl.stderr.read().decode()))
            head = open(head_file).read().lower()
            if framing == "chunked":   # relayed as it came: no Content-Length made up
                self.assertIn("transfer-encoding: chunked", head)
                self.assertNotIn("content-length", head)
            else:
                self.assertIn("content-length: %d" % self.SIZE, head)
                self.assertNotIn("transfer-encoding", head)
        stop.set()
        sys.stderr.write("\n  workers' RSS: %d KiB before, %d KiB at most during 2 x 200 MiB down\n" % (base, peak[0]))
        self.assertLess(peak[0] - base, 20 * 1024)

    def test_200mib_chunked_upload_streams_with_bounded_memory(self):   # golden 30
        o = self.origin()
        p, addr = self.http_proxy([o])
        self.assertEqual(get(addr, "/fixed/65536")[0], 200)
        base, peak, stop = self.watch_rss(p)
        digest = pattern_digest(self.SIZE)
        curl = subprocess.Popen(self.CURL + ["-H", "Expect:", "-X", "POST", "-T", "-", "http://%s/digest" % addr],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def write():
            try:
                for chunk in pattern(self.SIZE):
                    curl.stdin.write(chunk)
                curl.stdin.close()
            except BrokenPipeError:
                pass   # curl gave up: its exit status says why
        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        out = curl.stdout.read()
        writer.join(60)
        rc = curl.wait(60)
        self.assertEqual((rc, out), (0, b"%d %s\n" % (self.SIZE, digest.encode())), curl.stderr.read().decode())
        stop.set()
        self.assertIn("Transfer-Encoding: chunked", fields(o.requests(2)[-1]["head"]))
        sys.stderr.write("\n  workers' RSS: %d KiB before, %d KiB at most during 200 MiB up\n" % (base, peak[0]))
        self.assertLess(peak[0] - base, 20 * 1024)

    def test_websocket_handshake_and_early_frame(self):   # golden 31
        o = self.origin()
        p, addr = self.http_proxy([o])

        def frame(payload, opcode=1):
            mask = b"\x01\x02\x03\x04"
            return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(
                c ^ mask[i % 4] for i, c in enumerate(payload))
        with Client(addr) as c:
            c.send(b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                   + frame(b"early"))
            r = c.response(final=False)
            self.assertEqual((r.status, r.get("sec-websocket-accept"), r.get("upgrade").lower()),
                             (101, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "websocket"))
            self.assertEqual(c._exact(7), b"\x81\x05early")
            c.send(frame(b"second"))
            self.assertEqual(c._exact(8), b"\x81\x06second")
            n = r.get("x-connection")
            c.sock.shutdown(socket.SHUT_WR)
            wait_until(lambda: "CLOSE %s" % n in o.output(), 5, what="the client's FIN at the origin")
            self.assertTrue(c.eof())
        self.assertEqual(wait_until(lambda: o.count("WS ") >= 2 and o.count("WS "), 5, what="2 frames at the origin"), 2)

    def test_websocket_echo_with_a_real_client(self):
        o = self.origin()
        p, addr = self.http_proxy([o])
        r = websocket_client(addr, "['hello', b'\\x00' * 70000, 'x' * 200]")
        self.assertEqual((r.returncode, r.stdout), (0, "str 5 True\nbytes 70000 True\nstr 200 True\n"), r.stderr)

    def test_unrequested_101_is_502(self):   # golden 32
        o = self.origin()
        p, addr = self.http_proxy([o])
        r, closed = ask(addr, b"GET /bad/101 HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assert_made(r, 502, close=False)


class ErrorTest(HttpCase):
    def test_slowloris_gets_408_and_silent_keepalive_is_closed(self):   # golden 33
        o = self.origin()
        p, addr = self.http_proxy([o], access_log=True, http={"request_timeout": "2s", "keepalive_timeout": "1s"})
        with Client(addr) as c:
            t0 = time.monotonic()
            c.send(b"GET / HTTP/1.1\r\nHost: a\r\n")
            c.sock.settimeout(0.25)
            while not c.buf and time.monotonic() - t0 < 5:
                c.send(b"X: y\r\n")
                try:
                    c._fill()
                except (socket.timeout, EOFError):
                    pass
            c.sock.settimeout(5)
            r = c.response()
            elapsed = time.monotonic() - t0
            self.assert_made(r, 408)
            self.assertTrue(c.eof())
        self.assertTrue(1.9 <= elapsed <= 3.0, elapsed)
        with Client(addr) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertEqual(c.response().status, 200)
            t0 = time.monotonic()
            self.assertTrue(c.eof(timeout=4))
            elapsed = time.monotonic() - t0
        self.assertTrue(0.9 <= elapsed <= 2.0, elapsed)
        self.assertEqual(len(o.requests(1)), 1)
        ok = ("GET", "/", "HTTP/1.1", 200, "--")
        entries = wait_until(lambda: (lambda e: e if ok in e else None)(access_entries(self.access_log)), 5,
                             what="the 200's access-log line")
        self.assertEqual({e[4] for e in entries if e[3] == 408} - {"cR"}, set())   # the 408, if logged: cR

    def test_no_server_refused_and_blackholed(self):   # golden 34
        o = self.origin()
        svc, addr = self.http_service([o])
        dead_ip = new_ip()
        refused, refused_addr = self.http_service([{"name": "dead", "address": "%s:%d" % (dead_ip, free_port(dead_ip))}],
                                                  name="refused", passive={"max_fails": 0})
        hole, fillers, hole_addr = blackhole(new_ip())
        black, black_addr = self.http_service([{"name": "hole", "address": hole_addr}],
                                              name="black", connect_timeout="300ms", retries=1,
                                              passive={"max_fails": 0})
        log = os.path.join(self.tmp, "access.log")
        p = self.proxy([svc, refused, black], log={"access_log": log})
        try:
            p.epctl("maint", "svc/origin")
            r, _ = ask(addr, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assert_made(r, 503, close=False)
            r, _ = ask(refused_addr, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assert_made(r, 502, close=False)
            t0 = time.monotonic()
            r, _ = ask(black_addr, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            elapsed = time.monotonic() - t0
            self.assert_made(r, 504, close=False)
            self.assertTrue(0.25 <= elapsed <= 2.0, elapsed)   # 1 or 2 tries x 300 ms
        finally:
            hole.close()
            for s in fillers:
                s.close()
        self.assert_origin_got_nothing(o)
        self.assertEqual((http_stats(p, "svc")["503"], http_stats(p, "refused")["502"], http_stats(p, "black")["504"]),
                         (1, 1, 1))
        lines = wait_entries(log, 3)
        codes = dict((e[3], e[4]) for e in lines)
        self.assertEqual((codes[502], codes[504]), ("SC", "sC"))
        self.assertRegex(codes[503], r"^[A-Za-z]{2}$")   # research §5 names no code for "no server"

    def test_silent_and_invalid_servers(self):   # golden 35
        o = self.origin()
        p, addr = self.http_proxy([o], access_log=True, http={"server_timeout": "1s"})
        t0 = time.monotonic()
        r, _ = ask(addr, b"GET /slow?delay=3 HTTP/1.1\r\nHost: a\r\n\r\n")
        elapsed = time.monotonic() - t0
        self.assert_made(r, 504, close=False)
        self.assertTrue(0.9 <= elapsed <= 2.0, elapsed)
        for path in ("/bad/garbage", "/bad/two-cl"):
            r, _ = ask(addr, b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path.encode())
            self.assertEqual(r.status, 502, path)
            self.assert_made(r, 502, close=False)
        with Client(addr) as c:
            c.send(b"GET /bad/short HTTP/1.1\r\nHost: a\r\n\r\n")
            head = c._until(b"\r\n\r\n")
            self.assertIn(b"Content-Length: 100\r\n", head)
            got, c.buf = c.buf, b""   # what came with the head
            while True:
                try:
                    c._fill()
                except EOFError:
                    break
                got, c.buf = got + c.buf, b""
            self.assertEqual(got, b"x" * 50)
        entries = wait_entries(self.access_log, 4)
        self.assertEqual(sorted((e[1], e[3], e[4]) for e in entries),   # workers write their own lines
                         sorted([("/slow?delay=3", 504, "sH"), ("/bad/garbage", 502, "PH"), ("/bad/two-cl", 502, "PH"),
                                 ("/bad/short", 200, "SD")]))


class BalanceTest(HttpCase):
    def run_keys(self, balance, request):
        """Sends every key on each of 12 client connections held open at once
        (spread over the workers); returns ({key: {origin names}}, workers
        seen, origins of keyless requests)."""
        origins = [self.origin(n) for n in ("a", "b", "c")]
        p, addr = self.http_proxy(origins, balance=balance)
        clients = [Client(addr) for _ in range(12)]
        try:
            workers = {wait_until(lambda: p.worker_of(c.sock), 5, what="a worker to accept") for c in clients}
            by_key = {}
            for c in clients:
                for k in range(10):
                    c.send(request(k))
                    r = c.response()
                    self.assertEqual(r.status, 200)
                    by_key.setdefault(k, set()).add(r.get("x-origin"))
            keyless = []
            for _ in range(30):
                clients[0].send(request(None))
                keyless.append(clients[0].response().get("x-origin"))
        finally:
            for c in clients:
                c.sock.close()
        return by_key, workers, keyless

    def check(self, by_key, workers, keyless):
        self.assertEqual(len(workers), self.workers, "the 12 connections all went to one worker")
        self.assertEqual({k: len(v) for k, v in by_key.items()}, {k: 1 for k in range(10)})
        self.assertGreater(len(set.union(*by_key.values())), 1, "every key hashed to one server")
        self.assertEqual(sorted(keyless.count(n) for n in "abc"), [10, 10, 10])

    def test_balance_by_uri(self):   # golden 41: the path before "?"
        sent = [0]

        def request(k):   # the query changes from one request to the next
            sent[0] += 1
            path = "/img/%d?q=%d" % (k, sent[0]) if k is not None else "/"
            return b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path.encode()
        by_key, workers, _ = self.run_keys("uri", request)
        self.assertEqual(len(workers), self.workers)
        self.assertEqual({k: len(v) for k, v in by_key.items()}, {k: 1 for k in range(10)})
        self.assertGreater(len(set.union(*by_key.values())), 1)

    def test_balance_by_header(self):
        def request(k):
            h = b"X-User: user-%d\r\n" % k if k is not None else b""
            return b"GET / HTTP/1.1\r\nHost: a\r\n%s\r\n" % h
        self.check(*self.run_keys("header:X-User", request))

    def test_balance_by_cookie(self):
        def request(k):
            h = b"Cookie: theme=dark; sid=s%d; lang=en\r\n" % k if k is not None else b"Cookie: theme=dark\r\n"
            return b"GET / HTTP/1.1\r\nHost: a\r\n%s\r\n" % h
        self.check(*self.run_keys("cookie:sid", request))


class OperationsTest(HttpCase):
    def test_reload_under_load_fails_no_request(self):
        a, b = self.origin("a"), self.origin("b")
        p, addr = self.http_proxy([a, b])
        errors, done, count = [], threading.Event(), [0]

        def load():
            while not done.is_set():
                try:
                    status, _, body = get(addr, "/fixed/1000")
                    if (status, len(body)) != (200, 1000):
                        errors.append((status, len(body)))
                    count[0] += 1
                except (OSError, http.client.HTTPException) as e:
                    errors.append(repr(e))
        threads = [threading.Thread(target=load, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        for i in range(5):
            time.sleep(0.3)
            r = p.epctl("reload", check=False)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        time.sleep(0.3)
        done.set()
        for t in threads:
            t.join(15)
        self.assertEqual(errors, [])
        self.assertGreater(count[0], 50)

    def test_counters_and_access_log_add_up(self):
        o = self.origin()
        p, addr = self.http_proxy([o], access_log=True, stats=True)
        paths = ["/"] * 5 + ["/status/302"] * 2 + ["/status/404"] * 2 + ["/status/500", "/bad/garbage"]
        for path in paths:
            get(addr, path)
        want = {"requests": 11, "1xx": 0, "2xx": 5, "3xx": 2, "4xx": 2, "5xx": 2, "502": 1, "503": 0, "504": 0}
        s = http_stats(p)
        self.assertEqual({k: s[k] for k in want}, want)
        o.requests(11)
        self.assertEqual(s["opened"], o.connections())
        self.assertEqual(s["opened"] + s["reused"], 11)
        self.assertGreater(s["reused"], 0)
        want = {"requests": 11, "1xx": 0, "2xx": 5, "3xx": 2, "4xx": 2, "5xx": 2,
                "opened": s["opened"], "reused": s["reused"]}
        self.assertEqual(prometheus_http(p.epstat("-o", "prometheus").stdout), want)
        status, _, metrics = get(self.stats_addr, "/metrics")
        self.assertEqual((status, prometheus_http(metrics.decode())), (200, want))
        entries = wait_entries(self.access_log, 11)
        self.assertEqual(sorted((e[0], e[1], e[2], e[3], e[4]) for e in entries),
                         sorted([("GET", "/", "HTTP/1.1", 200, "--")] * 5 +
                                [("GET", "/status/302", "HTTP/1.1", 302, "--")] * 2 +
                                [("GET", "/status/404", "HTTP/1.1", 404, "--")] * 2 +
                                [("GET", "/status/500", "HTTP/1.1", 500, "--"),
                                 ("GET", "/bad/garbage", "HTTP/1.1", 502, "PH")]))


if __name__ == "__main__":
    harness.main()
