"""relay = "sockmap": tcp connections relayed by the kernel (a BPF stream
verdict on a SOCKMAP). Bytes exact both ways at 1 GiB, half-close with data in
flight, a reader that stops (the sender is held back, the workers' memory stays
flat), 2000 concurrent connections counted exactly, and the fallback to the
worker when the kernel refuses the program. The rest of the tcp suite runs
with EP_RELAY=sockmap (harness.py)."""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from backend import pattern, read_to_eof  # noqa: E402
from harness import EASYPROXY, connect, read_line, run_tool, wait_until  # noqa: E402
from test_proxy import echo_through  # noqa: E402

MIB = 1 << 20


def workers(proxy):
    return json.loads(proxy.epstat("-o", "json", "workers").stdout)["workers"]


def kernel_relays(proxy):
    return sum(w["kernel_relays"] for w in workers(proxy))


def bytes_kernel(proxy):
    return sum(w["bytes_kernel"] for w in workers(proxy))


def server_stats(proxy):
    return json.loads(proxy.epstat("-o", "json", "servers").stdout)["servers"][0]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def pattern_digest(n):
    h = hashlib.sha256()
    for chunk in pattern(n):
        h.update(chunk)
    return h.hexdigest()


class SockmapTest(harness.ProxyTestCase):
    def kernel_service(self, backend, after=0, **keys):
        svc, addr = self.service([backend], relay="sockmap", sockmap_after=after, **keys)
        return svc, addr

    def test_gigabyte_each_way(self):
        """1 GiB each way through an echo server: same sha256 both ways, and
        the bytes counted once."""
        b = self.backend("echo", mode="echo")
        svc, addr = self.kernel_service(b)
        p = self.proxy([svc])
        size = 1 << 30
        total, digest, sent = echo_through(addr, size, 120)
        self.assertEqual(total, size)
        self.assertEqual(digest, sent)
        wait_until(lambda: server_stats(p)["active"] == 0, 10, what="the connection to close")
        st = server_stats(p)
        self.assertEqual((st["bytes_in"], st["bytes_out"]), (size, size))
        self.assertEqual(kernel_relays(p), 1)
        # The worker forwards what the program passed while the echo server
        # (the slower side) kept more than the window waiting.
        self.assertGreater(bytes_kernel(p), 0)
        self.assertLessEqual(bytes_kernel(p), 2 * size)

    def handed_over(self, proxy, n=1):
        wait_until(lambda: kernel_relays(proxy) >= n, 10, what="the connection to be handed to the kernel")

    def test_half_close_from_client_with_data_in_flight(self):
        """The client sends 8 MiB and shuts its write side at once while the
        kernel relays: the server reads every byte, then EOF, and its reply
        still reaches the client, then EOF."""
        b = self.backend("digest", mode="digest")
        svc, addr = self.kernel_service(b)
        p = self.proxy([svc])
        first, rest = os.urandom(4096), os.urandom(8 * MIB)
        with connect(addr, timeout=20) as s:
            s.sendall(first)
            self.handed_over(p)
            s.sendall(rest)
            s.shutdown(socket.SHUT_WR)
            reply = read_line(s, 20)
            self.assertEqual(s.recv(10), b"")
        self.assertEqual(reply, "%d %s" % (len(first) + len(rest), hashlib.sha256(first + rest).hexdigest()))

    def test_half_close_from_server_with_data_in_flight(self):
        """The server sends 64 MiB and shuts its write side: the client reads
        them all, then EOF, and can still send; the server gets those bytes."""
        b = self.backend("source", mode="source", bytes=64 * MIB)
        svc, addr = self.kernel_service(b)
        p = self.proxy([svc])
        with connect(addr, timeout=20) as s:
            total, digest = read_to_eof(s)
            self.assertEqual((total, digest), (64 * MIB, pattern_digest(64 * MIB)))
            self.assertEqual(kernel_relays(p), 1)
            late = os.urandom(100000)
            s.sendall(late)
            s.shutdown(socket.SHUT_WR)
            want = "RECV 100000 %s" % hashlib.sha256(late).hexdigest()
            wait_until(lambda: want in b.output(), 10, what="the server to receive the late bytes")

    def test_reader_that_stops_holds_the_sender_back(self):
        """A client reads nothing for 5 s from a server with 512 MiB to send:
        the proxy takes only what the socket buffers and the credit hold (the
        kernel would take it all in a second), the workers' memory stays flat,
        and once the client reads, every byte arrives in order."""
        size = 512 * MIB
        b = self.backend("source", mode="source", bytes=size)
        svc, addr = self.kernel_service(b)
        p = self.proxy([svc])
        pids = p.worker_pids()
        with connect(addr, timeout=60) as s:
            self.handed_over(p)
            before = {pid: rss_kib(pid) for pid in pids}
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # the stall itself: the point of the test
                time.sleep(0.5)
                self.assertTrue(p.alive())
            # Counters of the kernel's bytes are refreshed at least once a second.
            wait_until(lambda: server_stats(p)["bytes_out"] > 0, 5, what="the byte counters to refresh")
            taken = server_stats(p)["bytes_out"]
            self.assertLess(taken, 64 * MIB, "the proxy took %d bytes from the server for a reader that stopped" % taken)
            for pid in pids:
                self.assertLess(rss_kib(pid) - before[pid], 4096, "worker %d grew while the reader stopped" % pid)
            total, digest = read_to_eof(s)
        self.assertEqual((total, digest), (size, pattern_digest(size)))

    def test_2000_concurrent_connections_counted_exactly(self):
        """2000 connections open at once, each echoing its own number of
        bytes: every reply exact, and epstat's byte counts exact to the byte."""
        b = self.backend("echo", mode="echo")
        svc, addr = self.kernel_service(b, max_connections=5000)
        p = self.proxy([svc], max_connections=5000)
        n = 2000
        socks = []
        try:
            for i in range(n):
                socks.append(connect(addr, timeout=20))
            self.handed_over(p, n)
            expected = 0
            for i, s in enumerate(socks):
                size = 1000 + i * 37
                s.sendall(bytes([i % 251]) * size)
                expected += size
            for i, s in enumerate(socks):
                size = 1000 + i * 37
                got = b""
                while len(got) < size:
                    chunk = s.recv(size - len(got))
                    self.assertTrue(chunk, "connection %d closed after %d of %d bytes" % (i, len(got), size))
                    got += chunk
                self.assertEqual(got, bytes([i % 251]) * size)
        finally:
            for s in socks:
                s.close()
        wait_until(lambda: server_stats(p)["active"] == 0, 30, what="all connections to close")
        st = server_stats(p)
        self.assertEqual((st["total"], st["bytes_in"], st["bytes_out"]), (n, expected, expected))
        self.assertEqual(kernel_relays(p), n)
        self.assertEqual(bytes_kernel(p), 2 * expected)

    def test_sockmap_after_leaves_short_connections_to_the_worker(self):
        """With sockmap_after = 1 MiB, a 100 KB exchange stays with the worker;
        a connection that has echoed 2 MiB is handed over (once nothing is
        left unread), and the kernel relays its next 2 MiB each way."""
        b = self.backend("echo", mode="echo")
        svc, addr = self.kernel_service(b, after=MIB)
        p = self.proxy([svc])

        def exchange(s, size):
            data = os.urandom(size)
            threading.Thread(target=s.sendall, args=(data,), daemon=True).start()
            got = b""
            while len(got) < size:
                chunk = s.recv(size - len(got))
                self.assertTrue(chunk, "closed after %d of %d bytes" % (len(got), size))
                got += chunk
            self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())

        with connect(addr, timeout=20) as s:
            exchange(s, 100000)
        wait_until(lambda: server_stats(p)["active"] == 0, 10, what="the short connection to close")
        self.assertEqual(kernel_relays(p), 0)
        with connect(addr, timeout=20) as s:
            exchange(s, 2 * MIB)
            self.handed_over(p)
            exchange(s, 2 * MIB)
        wait_until(lambda: server_stats(p)["active"] == 0, 10, what="the long connection to close")
        self.assertEqual(kernel_relays(p), 1)
        st = server_stats(p)
        self.assertEqual((st["bytes_in"], st["bytes_out"]), (100000 + 4 * MIB, 100000 + 4 * MIB))
        # Never the first MiB; the rest as the program redirects it (past
        # its window while the echo server lags, the worker sends it).
        self.assertGreater(bytes_kernel(p), 0)
        self.assertLessEqual(bytes_kernel(p), 7 * MIB)

    def without_bpf(self):
        """A command prefix that runs easyproxy without the capabilities BPF
        needs, as root (so nothing else changes)."""
        if not shutil.which("setpriv"):
            self.skipTest("needs setpriv (util-linux)")
        caps = "-bpf,-sys_admin,-net_admin,-perfmon"
        return ("setpriv", "--bounding-set", caps, "--inh-caps", caps, "--")

    def test_fallback_when_the_kernel_refuses(self):
        """Without CAP_BPF/CAP_SYS_ADMIN the program cannot load: -t warns and
        still says the configuration is valid, the daemon starts, says why in
        its log, and the worker relays the service."""
        b = self.backend("echo", mode="echo")
        svc, addr = self.kernel_service(b)
        p = self.proxy([svc], prefix=self.without_bpf())
        r = subprocess.run(list(self.without_bpf()) + [EASYPROXY, "-t", "-c", p.config_path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn('warning: relay = "sockmap" is not available here: ', r.stdout)
        self.assertIn("; svc will relay in the worker", r.stdout)
        self.assertIn("configuration is valid", r.stdout)
        wait_until(lambda: 'relay = "sockmap" is not available: ' in p.log(), 10, what="the log line")
        self.assertIn("; svc relays in the worker", p.log())
        data = os.urandom(3 * MIB)
        with connect(addr, timeout=20) as s:
            threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)), daemon=True).start()
            total, digest = read_to_eof(s)
        self.assertEqual((total, digest), (len(data), hashlib.sha256(data).hexdigest()))
        self.assertEqual(kernel_relays(p), 0)

    def test_check_says_available(self):
        b = self.backend("echo", mode="echo")
        svc, addr = self.kernel_service(b)
        p = self.proxy([svc], wait=False)
        r = run_tool([EASYPROXY, "-t", "-c", p.config_path])
        self.assertIn('relay = "sockmap": available (svc)', r.stdout + r.stderr)


if __name__ == "__main__":
    harness.main()
