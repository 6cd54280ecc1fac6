"""The relay: bytes both ways, half-close, large payloads, retries on refused
and blackholed servers, no usable server, idle timeout, ACLs and limits."""
import hashlib
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from backend import pattern, read_to_eof  # noqa: E402
from harness import blackhole, connect, fetch_name, new_ip, read_line, wait_until  # noqa: E402


def payload_chunks(total, seed=7):
    """Deterministic pseudo-random chunks (16 distinct 1 MiB blocks)."""
    import random
    rnd = random.Random(seed)
    blocks = [rnd.randbytes(1 << 20) for _ in range(16)]
    sent = 0
    i = 0
    while sent < total:
        b = blocks[(i * 7 + i // 16) % 16][: total - sent]
        sent += len(b)
        i += 1
        yield b


def echo_through(addr, size, timeout):
    """Sends `size` bytes of payload_chunks() to an echo server behind
    `addr` and shuts the write side while reading the echo to EOF. Returns
    (bytes read, their sha256, sha256 of what was sent)."""
    sent = hashlib.sha256()
    with connect(addr, timeout=timeout) as s:
        def send():
            for chunk in payload_chunks(size):
                sent.update(chunk)
                s.sendall(chunk)
            s.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=send, daemon=True)
        t.start()
        total, digest = read_to_eof(s)
        t.join(timeout)
    return total, digest, sent.hexdigest()


class RelayTest(harness.ProxyTestCase):
    def test_echo_exact_bytes(self):
        b = self.backend("echo", mode="echo")
        svc, addr = self.service([b])
        self.proxy([svc])
        with connect(addr) as s:
            data = os.urandom(300000)
            threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)), daemon=True).start()
            total, digest = read_to_eof(s)
        self.assertEqual(total, 300000)
        self.assertEqual(digest, hashlib.sha256(data).hexdigest())

    def test_half_close_from_client(self):
        """Client sends then shuts its write side; the server's reply still arrives."""
        b = self.backend("digest", mode="digest")
        svc, addr = self.service([b])
        self.proxy([svc])
        data = os.urandom(1 << 20)
        with connect(addr) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            reply = read_line(s, 10)
            self.assertEqual(s.recv(10), b"")  # then a clean EOF
        self.assertEqual(reply, "%d %s" % (len(data), hashlib.sha256(data).hexdigest()))

    def test_half_close_from_server(self):
        """Server sends then shuts its write side; the client can still send."""
        b = self.backend("source", mode="source", bytes=1 << 20)
        svc, addr = self.service([b])
        self.proxy([svc])
        expected = hashlib.sha256()
        for chunk in pattern(1 << 20):
            expected.update(chunk)
        with connect(addr) as s:
            s.settimeout(10)
            total, digest = read_to_eof(s)  # EOF from the server's shutdown
            self.assertEqual((total, digest), (1 << 20, expected.hexdigest()))
            late = os.urandom(4096)
            s.sendall(late)
            s.shutdown(socket.SHUT_WR)
            want = "RECV 4096 %s" % hashlib.sha256(late).hexdigest()
            wait_until(lambda: want in b.output(), 10, what="backend to receive the late bytes")

    def test_256mib_both_directions(self):
        b = self.backend("echo", mode="echo")
        svc, addr = self.service([b])
        self.proxy([svc])
        size = 256 << 20
        total, digest, sent = echo_through(addr, size, 60)
        self.assertEqual(total, size)
        self.assertEqual(digest, sent)


class FailureTest(harness.ProxyTestCase):
    def test_refused_server_is_retried_on_another(self):
        live = self.backend("live")
        dead_ip = new_ip()
        dead = {"name": "dead", "address": "%s:%d" % (dead_ip, harness.free_port(dead_ip))}
        svc, addr = self.service([dead, live], passive={"max_fails": 0})
        p = self.proxy([svc])
        names = [fetch_name(addr) for _ in range(10)]
        self.assertEqual(names, ["live"] * 10)
        stats = {s["server"]: s for s in servers_json(p)}
        self.assertEqual(stats["dead"]["failures"], 5)   # round robin sent every other first try there
        self.assertEqual(stats["dead"]["retries"], 5)
        self.assertEqual(stats["live"]["total"], 10)

    def test_blackholed_server_times_out_and_is_retried(self):
        live = self.backend("live")
        ip = new_ip()
        hole, fillers, hole_addr = blackhole(ip)
        try:
            svc, addr = self.service([{"name": "hole", "address": hole_addr}, live],
                                     connect_timeout="300ms", passive={"max_fails": 0})
            self.proxy([svc])
            t0 = time.monotonic()
            first = fetch_name(addr, timeout=5)   # round robin: the hole first
            elapsed = time.monotonic() - t0
            self.assertEqual(first, "live")
            self.assertGreaterEqual(elapsed, 0.25)
            self.assertLess(elapsed, 2.0)
        finally:
            for f in fillers:
                f.close()
            hole.close()

    def test_no_usable_server_closes_client_at_once(self):
        svc, addr = self.service([{"name": "zero", "address": "127.0.0.1:9", "weight": 0}])
        p = self.proxy([svc])
        for _ in range(3):
            with connect(addr) as s:
                s.settimeout(2)
                t0 = time.monotonic()
                self.assertEqual(s.recv(10), b"")
                self.assertLess(time.monotonic() - t0, 1.0)
        services = {s["service"]: s for s in services_json(p)}
        self.assertEqual(services["svc"]["no_server"], 3)

    def test_retries_exhausted_closes_client(self):
        ips = [new_ip() for _ in range(3)]
        dead = [{"name": "d%d" % i, "address": "%s:%d" % (ip, harness.free_port(ip))} for i, ip in enumerate(ips)]
        svc, addr = self.service(dead, retries=1, passive={"max_fails": 0})
        p = self.proxy([svc])
        with connect(addr) as s:
            s.settimeout(3)
            self.assertEqual(s.recv(10), b"")
        failures = sum(s["failures"] for s in servers_json(p))
        self.assertEqual(failures, 2)  # the first try and one retry

    def test_idle_timeout_closes_quiet_connection(self):
        b = self.backend("a")
        svc, addr = self.service([b], idle_timeout="600ms")
        self.proxy([svc])
        with connect(addr) as s:
            self.assertEqual(read_line(s), "a")
            t0 = time.monotonic()
            s.settimeout(5)
            self.assertEqual(s.recv(10), b"")
            elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 0.5)
        self.assertLess(elapsed, 2.5)

    def test_traffic_keeps_connection_past_idle_timeout(self):
        b = self.backend("a")
        svc, addr = self.service([b], idle_timeout="800ms")
        self.proxy([svc])
        with connect(addr) as s:
            self.assertEqual(read_line(s), "a")
            for i in range(6):   # 6 x 300 ms > idle_timeout, but never idle that long
                time.sleep(0.3)
                s.sendall(b"ping%d\n" % i)
                self.assertEqual(read_line(s), "ping%d" % i)


class QuietConnectionTest(harness.ProxyTestCase):
    """Connections that stay silent for a while (thousands of them are the
    normal case in front of databases) must wake up intact in either direction."""

    QUIET_S = 2.5

    def test_quiet_client_then_sends(self):
        b = self.backend("echo", mode="echo")
        svc, addr = self.service([b])
        self.proxy([svc])
        with connect(addr, timeout=10) as s:
            time.sleep(self.QUIET_S)
            data = os.urandom(1 << 20)
            threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)), daemon=True).start()
            self.assertEqual(read_to_eof(s), (len(data), hashlib.sha256(data).hexdigest()))

    def test_quiet_then_server_speaks_first_and_half_closes(self):
        b = self.backend("late", mode="late", delay=self.QUIET_S, bytes=1 << 20)
        svc, addr = self.service([b])
        self.proxy([svc])
        expected = hashlib.sha256()
        for chunk in pattern(1 << 20):
            expected.update(chunk)
        with connect(addr, timeout=10) as s:
            s.settimeout(10)
            self.assertEqual(read_to_eof(s), (1 << 20, expected.hexdigest()))   # ends with the server's FIN
            s.sendall(b"after the half-close")
            s.shutdown(socket.SHUT_WR)
            want = "RECV 20 %s" % hashlib.sha256(b"after the half-close").hexdigest()
            wait_until(lambda: want in b.output(), 10, what="the backend to get the client's bytes")

    def test_quiet_connections_still_honour_idle_timeout(self):
        b = self.backend("a")
        svc, addr = self.service([b], idle_timeout="1500ms")
        self.proxy([svc])
        socks = [connect(addr) for _ in range(20)]
        for s in socks:
            self.assertEqual(read_line(s), "a")
        t0 = time.monotonic()
        for s in socks:
            s.settimeout(6)
            self.assertEqual(s.recv(10), b"")
        self.assertLess(time.monotonic() - t0, 4.0)
        for s in socks:
            s.close()


class AccessLogTest(harness.ProxyTestCase):
    def test_one_line_per_connection(self):
        b = self.backend("a")
        log_path = os.path.join(self.tmp, "access.log")
        dead_ip = new_ip()
        svc, addr = self.service([b])
        none, none_addr = self.service([{"name": "zero", "address": "%s:9" % dead_ip, "weight": 0}], name="none")
        self.proxy([svc, none], log={"access_log": log_path})
        with connect(addr) as s:
            self.assertEqual(read_line(s), "a")
            s.sendall(b"0123456789\n")
            self.assertEqual(read_line(s), "0123456789")
        fetch_name(none_addr)
        def log_lines():
            if not os.path.exists(log_path):
                return None
            with open(log_path) as f:
                lines = f.read().splitlines()
            return lines if len(lines) >= 2 else None
        lines = wait_until(log_lines, 5, what="two access-log lines")
        self.assertEqual(len(lines), 2)
        ok = [l for l in lines if " svc/a " in l][0].split()
        self.assertIn("bytes_in=11", ok)
        self.assertIn("bytes_out=13", ok)   # "a\n" then the 11-byte echo
        self.assertEqual(ok[-1], "--")
        self.assertTrue(ok[1].startswith("127."))
        refused = [l for l in lines if " none/<NOSRV> " in l][0].split()
        self.assertEqual(refused[-1], "SC")


class ProxyProtocolTest(harness.ProxyTestCase):
    """The server receives the PROXY header first, then the client's bytes."""

    def exchange(self, version, source):
        b = self.backend("echo", mode="echo")
        svc, addr = self.service([b], proxy_protocol=version)
        self.proxy([svc])
        with connect(addr, source=source) as s:
            s.sendall(b"hello")
            s.shutdown(socket.SHUT_WR)
            return harness.recv_to_eof(s), s.getsockname(), addr

    def test_v1(self):
        source = new_ip()
        got, (cip, cport), addr = self.exchange("v1", source)
        lip, lport = addr.rsplit(":", 1)
        self.assertEqual(got, b"PROXY TCP4 %s %s %d %s\r\nhello" % (cip.encode(), lip.encode(), cport, lport.encode()))

    def test_v2(self):
        import ipaddress
        import struct
        source = new_ip()
        got, (cip, cport), addr = self.exchange("v2", source)
        lip, lport = addr.rsplit(":", 1)
        header = (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", 12) +
                  ipaddress.IPv4Address(cip).packed + ipaddress.IPv4Address(lip).packed +
                  struct.pack("!HH", cport, int(lport)))
        self.assertEqual(got, header + b"hello")

    def test_no_header_without_our_own_address(self):
        """getsockname failing: the connection is closed, no made-up header sent."""
        b = self.backend("digest", mode="digest")
        svc, addr = self.service([b], proxy_protocol="v1")
        fault = harness.failing_in_workers(self, [("getsockname", "int fd, void *addr, void *len", "fd, addr, len")],
                                           "ENOBUFS")
        p = self.proxy([svc], prefix=fault)
        with connect(addr) as s:
            s.shutdown(socket.SHUT_WR)  # nothing unread to turn the proxy's close into a reset
            s.settimeout(5)
            self.assertEqual(harness.recv_to_eof(s), b"")
        self.assertIn("svc: cannot send the PROXY header: getsockname: No buffer space available; "
                      "closing the connection", p.log())
        # The server saw the connection end without a byte.
        received = wait_until(lambda: [l for l in b.output() if l.startswith("RECV ")], 5, what="the server's RECV")
        self.assertEqual(received, ["RECV 0 %s" % hashlib.sha256(b"").hexdigest()])


class AccessTest(harness.ProxyTestCase):
    def test_deny_and_allow(self):
        b = self.backend("a")
        denied_ip, allowed_ip = new_ip(), new_ip()
        svc, addr = self.service([b], allow=["127.0.0.0/8"], deny=[denied_ip + "/32"])
        p = self.proxy([svc])
        self.assertEqual(fetch_name(addr, source=allowed_ip), "a")
        self.assertEqual(fetch_name(addr, source=denied_ip), "")
        services = {s["service"]: s for s in services_json(p)}
        self.assertEqual(services["svc"]["denied"], 1)

    def test_service_max_connections(self):
        b = self.backend("a")
        svc, addr = self.service([b], max_connections=2)
        self.proxy([svc])
        held = [connect(addr), connect(addr)]
        try:
            for h in held:
                self.assertEqual(read_line(h), "a")
            self.assertEqual(fetch_name(addr), "")   # the third is refused
        finally:
            for h in held:
                h.close()
        wait_until(lambda: fetch_name(addr) == "a", 5, what="a slot to free up")


def servers_json(proxy):
    import json
    return json.loads(proxy.epstat("-o", "json", "servers").stdout)["servers"]


def services_json(proxy):
    import json
    return json.loads(proxy.epstat("-o", "json", "services").stdout)["services"]


if __name__ == "__main__":
    harness.main()
