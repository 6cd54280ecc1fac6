"""Health checks through the real daemon: tcp, http and send-expect checks,
HAProxy's rise/fall (down after `fall` failures, up after `rise` passes, a
flapping server never changes state), checks spread over the interval, and
passive failure accounting with its recovery."""
import collections
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import fetch_name, free_port, new_ip, wait_until  # noqa: E402

INTERVAL = 0.2  # seconds, the checks' interval in most tests


def servers(proxy):
    """epstat's servers view as {server name: record}."""
    data = json.loads(proxy.epstat("-o", "json", "servers").stdout)
    return {s["server"]: s for s in data["servers"]}


def check(kind="tcp", interval="200ms", timeout="100ms", rise=2, fall=3, **extra):
    hc = {"type": kind, "interval": interval, "timeout": timeout, "rise": rise, "fall": fall}
    hc.update(extra)
    return hc


class ScriptedServer:
    """A loopback server run by the test itself: it records when each
    connection arrives and answers connection n with reply(n) (bytes, or None
    to close without a word), after reading the request if `reads` is set."""

    def __init__(self, reply=lambda n: None, reads=False):
        self.ip = new_ip()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.ip, 0))
        self.sock.listen(64)
        self.addr = "%s:%d" % self.sock.getsockname()
        self.reply = reply
        self.reads = reads
        self.times = []
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self._stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.times.append(time.monotonic())
                n = len(self.times)
            threading.Thread(target=self._serve, args=(conn, n), daemon=True).start()

    def _serve(self, conn, n):
        with conn:
            try:
                conn.settimeout(2)
                if self.reads:
                    conn.recv(1024)
                data = self.reply(n)
                if data:
                    conn.sendall(data)
            except OSError:
                pass

    def arrivals(self):
        with self._lock:
            return list(self.times)

    def close(self):
        self._stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class ActiveCheckTest(harness.ProxyTestCase):
    def scripted(self, **kw):
        s = ScriptedServer(**kw)
        self.addCleanup(s.close)
        return s

    def test_stopped_server_goes_down_then_up_after_rise_checks(self):
        a, b = self.backend("a"), self.backend("b")
        svc, addr = self.service([a, b], health_check=check(rise=2, fall=3))
        p = self.proxy([svc])
        wait_until(lambda: all(s["health"] == "up" for s in servers(p).values()), 3, 0.05, "both servers up")
        self.assertEqual(servers(p)["a"]["last_check"], "ok")

        a.stop()
        t0 = time.monotonic()
        bound = 3 * INTERVAL + 0.1 + 0.6  # fall x interval + timeout + margin
        wait_until(lambda: servers(p)["a"]["health"] == "down", bound, 0.03, "a to go down")
        self.assertLess(time.monotonic() - t0, bound)
        s = servers(p)["a"]
        self.assertEqual((s["last_check"], s["state"]), ("connection refused", "down"))
        self.assertIn("svc/a is DOWN (connection refused, 3/3 checks failed)", p.log())
        self.assertEqual(collections.Counter(fetch_name(addr) for _ in range(10)), {"b": 10})

        a2 = self.backend("a", ip=a.ip, port=a.port)  # the same address again
        t0 = time.monotonic()
        bound = 2 * INTERVAL + 0.1 + 0.6  # rise x interval + timeout + margin
        wait_until(lambda: servers(p)["a"]["health"] == "up", bound, 0.03, "a to come back up")
        self.assertLess(time.monotonic() - t0, bound)
        self.assertIn("svc/a is UP (2/2 checks passed, ", p.log())
        self.assertEqual(p.log().count("svc/a is DOWN"), 1)
        self.assertEqual(collections.Counter(fetch_name(addr) for _ in range(10)), {"a": 5, "b": 5})
        wait_until(lambda: a2.connections() >= 2 + 5, 2, what="rise checks and 5 clients on the new a")

    def test_flapping_server_never_changes_state(self):
        """Replies alternate ok/fail: with rise 2 fall 3 an UP server stays
        UP (4 -> 3 -> 4 ...) and a DOWN one stays DOWN (0 -> 1 -> 0 ...)."""
        good_first = self.scripted(reply=lambda n: b"+PONG\r\n" if n % 2 else b"-ERR\r\n", reads=True)
        bad_first = self.scripted(reply=lambda n: b"-ERR\r\n" if n % 2 else b"+PONG\r\n", reads=True)
        hc = check("send-expect", send="PING\r\n", expect="+PONG")
        svc, _ = self.service([{"name": "up", "address": good_first.addr},
                               {"name": "down", "address": bad_first.addr}], health_check=hc)
        p = self.proxy([svc])
        wait_until(lambda: len(good_first.arrivals()) >= 14 and len(bad_first.arrivals()) >= 14, 8, 0.05,
                   "14 checks of each server")
        s = servers(p)
        self.assertEqual((s["up"]["health"], s["down"]["health"]), ("up", "down"))
        log = p.log()
        self.assertIn("svc/up is UP (first check passed", log)
        self.assertIn('svc/down is DOWN (unexpected reply "-ERR", first check failed)', log)
        self.assertNotIn("svc/up is DOWN", log)
        self.assertNotIn("svc/down is UP", log)

    def test_http_check_with_status_503_marks_down(self):
        ok = self.backend("ok", mode="http", status=200)
        sick = self.backend("sick", mode="http", status=503)
        svc, _ = self.service([ok, sick], health_check=check("http", path="/health", expect_status=200))
        p = self.proxy([svc])
        wait_until(lambda: servers(p)["sick"]["health"] == "down", 2, 0.05, "sick to go down")
        s = servers(p)
        self.assertEqual(s["sick"]["last_check"], "status 503")
        self.assertEqual((s["ok"]["health"], s["ok"]["last_check"]), ("up", "ok"))
        self.assertIn("svc/sick is DOWN (status 503, first check failed)", p.log())
        self.assertIn("REQ GET /health HTTP/1.0", ok.output())

    def test_http_check_sends_host_and_agent(self):
        """The exact request bytes: HTTP/1.0, Host (the server's address when
        no host is configured), the check's User-Agent, Connection: close."""
        lst = socket.socket()
        lst.bind((new_ip(), 0))
        lst.listen(4)
        self.addCleanup(lst.close)
        addr = "%s:%d" % lst.getsockname()
        svc, _ = self.service([{"name": "web", "address": addr}],
                              health_check=check("http", interval="1s", timeout="500ms", path="/ping",
                                                 expect_status=204))
        p = self.proxy([svc])
        lst.settimeout(5)
        conn, _ = lst.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            conn.sendall(b"HTTP/1.0 204 No Content\r\n\r\n")
        self.assertEqual(data, ("GET /ping HTTP/1.0\r\nHost: %s\r\nUser-Agent: easyproxy-check\r\n"
                                   "Connection: close\r\n\r\n" % addr).encode())
        wait_until(lambda: servers(p)["web"]["health"] == "up", 3, 0.05, "web to be up")

    def test_send_expect_wrong_banner_marks_down(self):
        good = self.backend("good", mode="banner", banner="+PONG\r\n")
        # (backend.py's argparse would take a banner starting with "-" for an
        # option; the flapping test covers "-ERR" with a scripted server.)
        wrong = self.backend("wrong", mode="banner", banner="ERR wrong server\r\n")
        svc, _ = self.service([good, wrong], health_check=check("send-expect", send="PING\r\n", expect="+PONG"))
        p = self.proxy([svc])
        wait_until(lambda: servers(p)["wrong"]["health"] == "down", 2, 0.05, "wrong to go down")
        s = servers(p)
        self.assertEqual(s["wrong"]["last_check"], 'unexpected reply "ERR wrong server"')
        self.assertIn('svc/wrong is DOWN (unexpected reply "ERR wrong server", first check failed)', p.log())
        self.assertEqual((s["good"]["health"], s["good"]["last_check"]), ("up", "ok"))

    def test_silent_server_times_out(self):
        silent = self.backend("silent", mode="silent")
        svc, _ = self.service([silent], health_check=check("send-expect", timeout="150ms", send="PING\r\n",
                                                           expect="+PONG"))
        p = self.proxy([svc])
        wait_until(lambda: servers(p)["silent"]["health"] == "down", 2, 0.05, "silent to go down")
        s = servers(p)["silent"]
        self.assertEqual(s["last_check"], "timeout after 150 ms")
        self.assertGreaterEqual(s["last_check_us"], 150000)
        self.assertLess(s["last_check_us"], 400000)

    def test_checks_are_spread_over_the_interval_and_on_time(self):
        listeners = [self.scripted() for _ in range(4)]
        svc, _ = self.service([{"name": "s%d" % i, "address": l.addr} for i, l in enumerate(listeners)],
                              health_check=check(interval="800ms", timeout="100ms"))
        self.proxy([svc])
        wait_until(lambda: all(len(l.arrivals()) >= 4 for l in listeners), 6, 0.05, "4 checks of each server")
        # One round: the first check of every server, 800/4 = 200 ms apart.
        first = sorted(l.arrivals()[0] for l in listeners)
        gaps = [b - a for a, b in zip(first, first[1:])]
        self.assertTrue(all(0.1 < g < 0.35 for g in gaps), gaps)
        # Each server every 800 ms, on time (the master wakes for it).
        for l in listeners:
            t = l.arrivals()[:4]
            for g in (b - a for a, b in zip(t, t[1:])):
                self.assertGreater(g, 0.7)
                self.assertLess(g, 0.95)

    def test_200ms_interval_is_kept(self):
        s = self.scripted()
        svc, _ = self.service([{"name": "s", "address": s.addr}], health_check=check())
        self.proxy([svc])
        wait_until(lambda: len(s.arrivals()) >= 11, 5, 0.05, "11 checks")
        t = s.arrivals()[:11]
        self.assertGreater(t[-1] - t[0], 10 * INTERVAL - 0.1)
        self.assertLess(t[-1] - t[0], 10 * INTERVAL + 0.4)


class PassiveTest(harness.ProxyTestCase):
    def test_passive_failures_mark_down_and_fail_timeout_recovers(self):
        live = self.backend("live")
        dead_ip = new_ip()
        dead_port = free_port(dead_ip)  # nothing listens: connects are refused
        svc, addr = self.service([{"name": "dead", "address": "%s:%d" % (dead_ip, dead_port)}, live],
                                 retries=2, passive={"max_fails": 2, "fail_timeout": "1s"})
        p = self.proxy([svc])
        # Round robin offers `dead` every other time; the retry reaches `live`.
        self.assertEqual([fetch_name(addr) for _ in range(4)], ["live"] * 4)
        s = servers(p)["dead"]
        self.assertEqual((s["failures"], s["passive_down"], s["state"]), (2, True, "down"))
        self.assertIn("svc/dead is DOWN (2 failed connects", p.log())
        # Down: not tried any more.
        self.assertEqual([fetch_name(addr) for _ in range(4)], ["live"] * 4)
        self.assertEqual(servers(p)["dead"]["failures"], 2)

        revived = self.backend("dead", ip=dead_ip, port=dead_port)
        wait_until(lambda: not servers(p)["dead"]["passive_down"], 1 + 0.25 + 1.0, 0.05,
                   "fail_timeout to end the passive mark")
        self.assertIn("svc/dead is UP (probing: fail_timeout 1000 ms passed", p.log())
        self.assertEqual(collections.Counter(fetch_name(addr) for _ in range(6)), {"dead": 3, "live": 3})
        wait_until(lambda: revived.connections() == 3, 2, what="the revived server's 3 connections")

    def test_passing_check_clears_passive_mark(self):
        a, b = self.backend("a"), self.backend("b")
        svc, addr = self.service([a, b], retries=2, passive={"max_fails": 2, "fail_timeout": "30s"},
                                 health_check=check(interval="1s", timeout="200ms", rise=2, fall=3))
        p = self.proxy([svc])
        wait_until(lambda: servers(p)["a"]["health"] == "up", 3, 0.05, "a to be up")
        a.stop()
        self.assertEqual([fetch_name(addr) for _ in range(4)], ["b"] * 4)
        self.assertTrue(servers(p)["a"]["passive_down"])
        self.backend("a", ip=a.ip, port=a.port)
        # fail_timeout is 30 s: only a passing check can end the mark.
        wait_until(lambda: not servers(p)["a"]["passive_down"], 3, 0.05, "a check to clear the passive mark")
        s = servers(p)["a"]
        self.assertEqual((s["health"], s["state"]), ("up", "up"))
        self.assertIn("svc/a is UP (check passed after passive failures)", p.log())
        self.assertNotIn("svc/a is DOWN (connection refused", p.log())  # the checks never saw 3 failures


if __name__ == "__main__":
    harness.main()
