"""Day-to-day operation through the real tools: epctl drain (with --wait),
maint (with --kill), ready and weight against a running daemon, admin state
kept across a restart, epctl's error paths, a hostile client on the control
socket, peer credentials, and epstat's four formats checked against what the
test did."""
import collections
import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import EPCTL, connect, fetch_name, read_line, wait_until  # noqa: E402


def servers(proxy):
    data = json.loads(proxy.epstat("-o", "json", "servers").stdout)
    return {s["server"]: s for s in data["servers"]}


def control(proxy, data, timeout=5.0):
    """Sends raw bytes to the control socket; returns what came back until
    the daemon closed the connection or went quiet after a whole answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(os.path.join(proxy.run_dir, "easyproxy.sock"))
    with s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:  # closed with our input unread
                chunk = b""
            if not chunk:
                return out.decode(errors="replace")
            out += chunk


def answers(text):
    """Answer texts split at their blank line: ["OK ...", "ERR ..."]."""
    return [a + "\n" for a in text.split("\n\n") if a]


class AdminTest(harness.ProxyTestCase):
    def two_servers(self, **keys):
        a, b = self.backend("a"), self.backend("b")
        svc, addr = self.service([a, b], **keys)
        return a, b, svc, addr

    def hold(self, addr, expect):
        """A client connection that stays open on server `expect`."""
        s = connect(addr)
        self.addCleanup(s.close)
        self.assertEqual(read_line(s), expect)
        return s

    def test_drain_keeps_held_connection_and_wait_returns_when_it_closes(self):
        a, b, svc, addr = self.two_servers()
        p = self.proxy([svc])
        held = self.hold(addr, "a")
        r = p.epctl("drain", "svc/a")
        self.assertEqual(r.stdout, "svc/a draining\n")
        self.assertIn("svc/a set to drain by uid %d" % os.getuid(), p.log())
        self.assertEqual([fetch_name(addr) for _ in range(20)], ["b"] * 20)
        held.sendall(b"still there?\n")
        self.assertEqual(read_line(held), "still there?")
        s = servers(p)["a"]
        self.assertEqual((s["admin"], s["state"], s["active"], s["total"]), ("drain", "drain", 1, 1))

        err_path = os.path.join(self.tmp, "epctl-wait.err")
        waiter = harness.Process([EPCTL, "-r", p.run_dir, "drain", "svc/a", "--wait", "--timeout", "30"],
                                 stderr_path=err_path)
        self.procs.append(waiter)
        # It has seen the open connection (and flushed the line saying so).
        wait_until(lambda: "svc/a: draining, 1 active connection" in waiter.output() or not waiter.alive(),
                   10, 0.02, "epctl --wait to report the open connection")
        self.assertTrue(waiter.alive(), "epctl --wait returned while a connection was open")
        held.close()
        t0 = time.monotonic()
        self.assertEqual(waiter.wait(5), 0, open(err_path).read())
        self.assertLess(time.monotonic() - t0, 1.5)
        wait_until(lambda: len(waiter.output()) == 3, 5, 0.02, "epctl's last line")  # read by a thread
        self.assertEqual(waiter.output(), ["svc/a draining", "svc/a: draining, 1 active connection",
                                           "svc/a: drained, no active connections"])

    def test_drain_wait_timeout_exits_3(self):
        a, b, svc, addr = self.two_servers()
        p = self.proxy([svc])
        self.hold(addr, "a")
        t0 = time.monotonic()
        r = p.epctl("drain", "svc/a", "--wait", "--timeout", "1", check=False)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertEqual(r.stderr, "epctl: svc/a still has 1 active connection after 1 s\n")

    def test_maint_stops_checks_kill_closes_and_ready_restores(self):
        hc = {"type": "tcp", "interval": "200ms", "timeout": "100ms", "rise": 1, "fall": 1}
        a, b, svc, addr = self.two_servers(health_check=hc)
        p = self.proxy([svc])
        wait_until(lambda: servers(p)["a"]["health"] == "up", 3, 0.05, "a to be checked")
        held = self.hold(addr, "a")

        self.assertEqual(p.epctl("maint", "svc/a").stdout, "svc/a in maintenance\n")
        wait_until(lambda: "svc/a: checks stopped (maintenance)" in p.log(), 5, 0.02, "a's checks to stop")
        # b's checks go on at the same interval: they are the checker's clock.
        # Two more of them: a check of a begun before maint was accepted and counted.
        b_seen = b.connections()
        wait_until(lambda: b.connections() >= b_seen + 2, 5, 0.02, "two more checks of b")
        before = a.connections()
        b_seen = b.connections()
        wait_until(lambda: b.connections() >= b_seen + 4, 5, 0.02, "four more checks of b (> 3 intervals)")
        self.assertEqual(a.connections(), before, "a was checked while in maintenance")
        self.assertEqual([fetch_name(addr) for _ in range(6)], ["b"] * 6)
        self.assertEqual(a.connections(), before)
        held.sendall(b"ping\n")
        self.assertEqual(read_line(held), "ping")  # maint alone leaves connections alone

        r = p.epctl("maint", "svc/a", "--kill")
        self.assertEqual(r.stdout, "svc/a maint, its connections are being closed\n")
        held.settimeout(5)
        self.assertEqual(held.recv(100), b"")
        wait_until(lambda: servers(p)["a"]["active"] == 0, 5, 0.05, "a's active count to drop")

        self.assertEqual(p.epctl("ready", "svc/a").stdout, "svc/a ready\n")
        wait_until(lambda: a.connections() > before, 2, 0.05, "checks of a to resume")
        self.assertEqual(collections.Counter(fetch_name(addr) for _ in range(10)), {"a": 5, "b": 5})
        self.assertEqual(servers(p)["a"]["admin"], "ready")

    def test_weight_change_applies_to_next_picks(self):
        a, b, svc, addr = self.two_servers()
        p = self.proxy([svc])
        self.assertEqual(p.epctl("weight", "svc/a", "3").stdout, "svc/a weight 3\n")
        self.assertEqual(collections.Counter(fetch_name(addr) for _ in range(40)), {"a": 30, "b": 10})
        s = servers(p)["a"]
        self.assertEqual((s["weight"], s["config_weight"]), (3, 1))
        with open(os.path.join(p.run_dir, "server-state")) as f:
            self.assertIn("svc/a ready 3\n", f.read())

        p.epctl("weight", "svc/a", "0")
        self.assertEqual([fetch_name(addr) for _ in range(8)], ["b"] * 8)
        p.epctl("weight", "svc/*", "1")  # back to the config weight: no override left
        self.assertEqual(collections.Counter(fetch_name(addr) for _ in range(8)), {"a": 4, "b": 4})
        with open(os.path.join(p.run_dir, "server-state")) as f:
            self.assertEqual([l for l in f.read().splitlines() if not l.startswith("#")], [])

    def test_service_wildcard(self):
        a, b, svc, addr = self.two_servers()
        p = self.proxy([svc])
        r = p.epctl("drain", "svc/*")
        self.assertEqual(r.stdout, "svc/* draining (2 servers: a, b)\n")
        self.assertEqual({s["admin"] for s in servers(p).values()}, {"drain"})
        self.assertEqual(fetch_name(addr), "")  # no usable server: closed at once
        p.epctl("ready", "svc/*")
        self.assertEqual(fetch_name(addr), "a")

    def test_unwritable_state_file_is_reported_but_the_change_applies(self):
        a, b, svc, addr = self.two_servers()
        state_file = os.path.join(self.tmp, "missing-dir", "server-state")
        p = self.proxy([svc], state_file=state_file)
        r = p.epctl("drain", "svc/a")
        self.assertEqual(r.stdout, "svc/a draining\nwarning: the change is live but was not saved, it will not "
                                   "survive a restart: cannot create temporary file for %s: No such file or "
                                   "directory\n" % state_file)
        self.assertEqual(servers(p)["a"]["admin"], "drain")
        self.assertIn("cannot save the server state: ", p.log())

    def test_admin_state_survives_restart(self):
        a, b, c = self.backend("a"), self.backend("b"), self.backend("c")
        svc, addr = self.service([a, b, c])
        p = self.proxy([svc])
        p.epctl("drain", "svc/a")
        p.epctl("maint", "svc/c")
        p.epctl("weight", "svc/b", "5")
        state_file = os.path.join(p.run_dir, "server-state")
        with open(state_file) as f:
            lines = [l for l in f.read().splitlines() if not l.startswith("#")]
        self.assertEqual(sorted(lines), ["svc/a drain -", "svc/b ready 5", "svc/c maint -"])
        p.stop()
        self.assertFalse(os.path.exists(os.path.join(p.run_dir, "easyproxy.sock")))

        p2 = harness.Proxy(self, p.config, p.run_dir)
        self.procs.append(p2)
        p2.wait_ready(self.workers)
        s = servers(p2)
        self.assertEqual({n: (x["admin"], x["weight"]) for n, x in s.items()},
                         {"a": ("drain", 1), "b": ("ready", 5), "c": ("maint", 1)})
        self.assertEqual([fetch_name(addr) for _ in range(5)], ["b"] * 5)
        self.assertIn("svc/a restored from %s: drain" % state_file, p2.log())


class EpctlErrorTest(harness.ProxyTestCase):
    def test_unknown_server_and_service(self):
        a = self.backend("a")
        b = self.backend("b")
        svc, _ = self.service([a, b])
        p = self.proxy([svc])
        r = p.epctl("drain", "svc/app9", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "epctl: no such server: svc/app9 (servers of svc: a, b)\n")
        r = p.epctl("maint", "nope/a", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "epctl: no such service: nope (services: svc)\n")
        r = p.epctl("weight", "svc/a", "300", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("weight must be between 0 and 256 (got 300)", r.stderr)
        self.assertEqual({s["admin"] for s in servers(p).values()}, {"ready"})

    def test_daemon_not_running_exits_2_naming_the_socket(self):
        run_dir = os.path.join(self.tmp, "nothing-here")
        os.mkdir(run_dir)
        r = harness.run_tool([EPCTL, "-r", run_dir, "status"], check=False)
        self.assertEqual(r.returncode, 2)
        sock = os.path.join(run_dir, "easyproxy.sock")
        self.assertEqual(r.stderr, "epctl: cannot connect to %s: No such file or directory\n" % sock)

        # And after a stop: the socket is gone with the daemon.
        svc, _ = self.service([self.backend("a")])
        p = self.proxy([svc])
        self.assertEqual(p.epctl("stop").stdout, "stopping\n")
        self.assertEqual(p.wait(10), 0)
        r = p.epctl("status", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot connect to %s" % os.path.join(p.run_dir, "easyproxy.sock"), r.stderr)

    def test_status(self):
        svc, _ = self.service([self.backend("a")])
        p = self.proxy([svc])
        out = p.epctl("status").stdout.splitlines()
        self.assertTrue(out[0].startswith("easyproxy "), out)
        self.assertIn("master pid %d" % p.pid, out)
        self.assertIn("config %s" % p.config_path, out)
        self.assertEqual(sum(1 for l in out if l.startswith("worker ")), self.workers)


class ControlSocketTest(harness.ProxyTestCase):
    def test_garbage_gets_err_and_the_daemon_keeps_serving(self):
        a = self.backend("a")
        svc, addr = self.service([a])
        p = self.proxy([svc])
        self.assertEqual(answers(control(p, b"\x00\x01\x02\xff\xfe\n")), ["ERR binary data\n"])
        self.assertEqual(answers(control(p, b"frobnicate\n")), ['ERR unknown command "frobnicate"\n'])
        self.assertEqual(answers(control(p, b"drain\n")),
                         ["ERR missing SERVICE/SERVER (usage: drain SERVICE/SERVER)\n"])
        self.assertEqual(answers(control(p, b"\n")), ["ERR empty command\n"])
        # Several commands in one write, CRLF endings; a last line without
        # "\n" is refused, not run.
        got = answers(control(p, b"drain svc/a\r\nbogus\nready svc/a"))
        self.assertEqual(got, ["OK svc/a draining\n", 'ERR unknown command "bogus"\n',
                               'ERR incomplete line, not run: "ready svc/a" has no line break\n'])
        self.assertEqual(servers(p)["a"]["admin"], "drain")
        self.assertEqual(answers(control(p, b"ready svc/a\n")), ["OK svc/a ready\n"])
        # An oversized line: refused and the connection closed, what follows is not read.
        got = control(p, b"status " + b"x" * 5000 + b"\nstatus\n")
        self.assertEqual(got, "ERR line too long (at most 1024 bytes)\n\n")
        # A line without end that never stops: cut off, not buffered forever.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(os.path.join(p.run_dir, "easyproxy.sock"))
        with s:
            try:
                for _ in range(64):
                    s.sendall(b"y" * 4096)
            except (BrokenPipeError, ConnectionResetError):
                pass
            data = b""
            try:   # keeps what arrived before a reset
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
            self.assertTrue(data.startswith(b"ERR line too long"), data)
        self.assertTrue(p.alive())
        self.assertEqual(p.epctl("status").returncode, 0)
        self.assertEqual(fetch_name(addr), "a")

    def test_a_line_cut_off_before_its_line_break_is_not_run(self):
        svc, addr = self.service([self.backend("a")])
        p = self.proxy([svc])
        refused = 'incomplete line, not run: "weight svc/a 25" has no line break'
        # Half of "weight svc/a 250", then the client shuts its side: told, nothing run.
        self.assertEqual(answers(control(p, b"weight svc/a 25")), ["ERR %s\n" % refused])
        # A client that dies in the middle of the line: nobody to tell, the log says it.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(p.run_dir, "easyproxy.sock"))
        s.sendall(b"weight svc/a 25")
        s.close()
        line = "control socket: uid %d (pid %d) ended its input: %s" % (os.getuid(), os.getpid(), refused)
        wait_until(lambda: p.log().count(line) == 2, 5, what="both fragments in the log")
        a = servers(p)["a"]
        self.assertEqual((a["weight"], a["config_weight"]), (1, 1))
        self.assertNotIn("weight set", p.log())
        self.assertEqual(fetch_name(addr), "a")

    def read_answers(self, s, count, chunk=65536, pause=0.0, timeout=20):
        """Reads from s until `count` answers came; returns their texts."""
        data = b""
        deadline = time.monotonic() + timeout
        while data.count(b"\n\n") < count:
            self.assertLess(time.monotonic(), deadline, "%d answers of %d after %d s" %
                            (data.count(b"\n\n"), count, timeout))
            try:
                part = s.recv(chunk)
            except socket.timeout:
                continue
            self.assertTrue(part, "closed after %d answers of %d" % (data.count(b"\n\n"), count))
            data += part
            if pause:
                time.sleep(pause)  # a slow reader, not synchronisation
        return answers(data.decode())

    def test_pipelined_commands_get_one_answer_each_in_order(self):
        svc, _ = self.service([self.backend("a")])
        p = self.proxy([svc])
        # Mostly status (long answers: more than the 64 KiB the daemon
        # queues for a client), and refused weights whose answers name their line.
        lines = [b"weight svc/a %d\n" % (1000 + i) if i % 20 == 19 else b"status\n" for i in range(1000)]
        self.assertGreater(len(p.epctl("status").stdout) * 950, 2 * 64 * 1024)
        for chunk, pause in ((65536, 0.0), (1024, 0.002)):  # a fast reader, then a slow one
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(1)
            s.connect(os.path.join(p.run_dir, "easyproxy.sock"))
            with s:
                s.sendall(b"".join(lines))
                got = self.read_answers(s, 1000, chunk, pause)
                self.assertEqual(len(got), 1000)
                for i, text in enumerate(got):
                    if i % 20 == 19:
                        self.assertEqual(text, "ERR weight must be between 0 and 256 (got %d)\n" % (1000 + i))
                    else:
                        self.assertTrue(text.startswith("OK easyproxy "), (i, text[:80]))
                s.setblocking(False)
                self.assertRaises(BlockingIOError, s.recv, 1)  # nothing more than one answer a line
        self.assertTrue(p.alive())

    def test_silent_clients_do_not_lock_epctl_out(self):
        svc, _ = self.service([self.backend("a")])
        p = self.proxy([svc])
        path = os.path.join(p.run_dir, "easyproxy.sock")
        silent = []
        t_connect = time.monotonic()
        for _ in range(64):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)  # blocking: waits while the listen backlog is full
            s.settimeout(15)
            silent.append(s)
            self.addCleanup(s.close)
        t0 = time.monotonic()
        r = p.epctl("status", check=False)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertLess(elapsed, 2.0)
        sys.stderr.write("epctl status past 64 silent clients: %.3f s\n" % elapsed)
        # Each newcomer took the slot of the oldest silent client: the first
        # 33 (64 + epctl - 32 slots) were told why and closed.
        for s in silent[:33]:
            self.assertEqual(s.recv(1000), b"ERR closed after 0 s idle to make room for another client "
                                           b"(32 control clients connected)\n\n")
            self.assertEqual(s.recv(1000), b"")
        self.assertEqual(p.log().count("control socket: closed a client of uid %d (pid %d) silent for 0 s "
                                       "to make room for a new one" % (os.getuid(), os.getpid())), 33)
        # The others keep their slots until the idle limit (10 s).
        for s in silent[33:]:
            self.assertEqual(s.recv(100), b"")
        self.assertGreater(time.monotonic() - t_connect, 9.0)
        self.assertEqual(p.epctl("status").returncode, 0)

    def test_busy_only_when_every_client_awaits_answers(self):
        svc, _ = self.service([self.backend("a")])
        p = self.proxy([svc])
        path = os.path.join(p.run_dir, "easyproxy.sock")
        # 32 clients pipeline more than the daemon can queue for them and
        # read nothing: each has answers waiting, none can give up its slot.
        greedy = []
        for _ in range(32):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.sendall(b"status\n" * 3000)
            greedy.append(s)
            self.addCleanup(s.close)
        # No wait needed: the master accepts in arrival order, so it holds
        # all 32 by the time it accepts this one.
        extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        extra.connect(path)
        extra.settimeout(5)
        with extra:
            self.assertEqual(extra.recv(1000), b"ERR busy: 32 control clients already connected\n\n")
            self.assertEqual(extra.recv(1000), b"")
        for s in greedy:
            s.close()
        wait_until(lambda: p.epctl("status", check=False).returncode == 0, 5, what="epctl to get through")
        self.assertTrue(p.alive())

    def test_socket_mode_and_peer_credentials(self):
        if os.getuid() != 0:
            self.skipTest("needs root to act as another user")
        a = self.backend("a")
        svc, _ = self.service([a])
        p = self.proxy([svc])
        path = os.path.join(p.run_dir, "easyproxy.sock")
        st = os.stat(path)
        self.assertEqual(oct(st.st_mode & 0o777), "0o660")
        # Let another user reach the socket (as an operator may for monitoring).
        for d in (self.tmp, p.run_dir):
            os.chmod(d, 0o711)
        os.chmod(path, 0o666)
        group = __import__("grp").getgrgid(st.st_gid).gr_name

        def as_user(groups, data):
            code = ("import os, socket, sys\n"
                    "os.setgroups(%r); os.setgid(65534); os.setuid(65534)\n"
                    "s = socket.socket(socket.AF_UNIX); s.connect(%r); s.sendall(%r); s.shutdown(socket.SHUT_WR)\n"
                    "out = b''\n"
                    "while True:\n"
                    "    c = s.recv(4096)\n"
                    "    if not c: break\n"
                    "    out += c\n"
                    "sys.stdout.write(out.decode())\n") % (groups, path, data)
            r = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=20)
            self.assertEqual(r.returncode, 0, r.stderr)
            return answers(r.stdout)

        got = as_user([], b"status\ndrain svc/a\n")
        self.assertTrue(got[0].startswith("OK easyproxy"), got)
        self.assertEqual(got[1], "ERR permission denied: uid 65534 is neither root nor in group %s\n" % group)
        self.assertEqual(servers(p)["a"]["admin"], "ready")
        # A member of the socket's group (a supplementary group) may change state.
        got = as_user([st.st_gid], b"drain svc/a\n")
        self.assertEqual(got, ["OK svc/a draining\n"])
        self.assertEqual(servers(p)["a"]["admin"], "drain")
        self.assertIn("svc/a set to drain by uid 65534", p.log())


def parse_table(text):
    """The table after epstat's summary line and blank line."""
    summary, _, table = text.partition("\n\n")
    assert summary.startswith("master pid "), summary
    lines = table.splitlines()
    head = re.split(r"\s{2,}", lines[0].strip())
    return [dict(zip(head, re.split(r"\s{2,}", l.strip()))) for l in lines[1:]]


def parse_prometheus(text):
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        assert m, line
        labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


class EpstatTest(harness.ProxyTestCase):
    def test_every_format_matches_the_traffic(self):
        e = self.backend("e", mode="echo")
        svc, addr = self.service([e], health_check={"type": "tcp", "interval": "200ms", "timeout": "100ms"})
        p = self.proxy([svc])
        sizes = [1000, 2000, 3000]
        for n in sizes:
            with connect(addr) as s:
                s.sendall(b"z" * n)
                s.shutdown(socket.SHUT_WR)
                self.assertEqual(len(harness.recv_to_eof(s)), n)
        total = sum(sizes)
        # Counters land when each connection is released.
        wait_until(lambda: servers(p)["e"]["active"] == 0 and servers(p)["e"]["bytes_out"] == total, 5, 0.05,
                   "the last connection's counters")
        held = connect(addr)
        self.addCleanup(held.close)
        held.sendall(b"12345")
        self.assertEqual(held.recv(5), b"12345")
        # With relay = "sockmap" (EP_RELAY) the kernel's bytes reach the
        # counters at the worker's next housekeeping pass (every 250 ms).
        wait_until(lambda: servers(p)["e"]["bytes_out"] == total + 5, 5, 0.05, "the held connection's counters")

        j = servers(p)["e"]
        self.assertEqual((j["total"], j["active"], j["bytes_in"], j["bytes_out"], j["failures"]),
                         (4, 1, total + 5, total + 5, 0))
        self.assertEqual((j["admin"], j["health"], j["last_check"]), ("ready", "up", "ok"))

        rows = list(csv.reader(io.StringIO(p.epstat("-o", "csv", "servers").stdout)))
        head = [h.lstrip("# ") for h in rows[0]]
        c = dict(zip(head, rows[1]))
        self.assertEqual((c["service"], c["server"], c["address"], c["admin"], c["health"], c["state"]),
                         ("svc", "e", e.addr, "ready", "up", "up"))
        self.assertEqual((c["total"], c["active"], c["bytes_in"], c["bytes_out"], c["last_check"]),
                         ("4", "1", str(total + 5), str(total + 5), "ok"))

        t = parse_table(p.epstat("-o", "table", "servers").stdout)
        self.assertEqual(len(t), 1)
        self.assertEqual((t[0]["SERVICE"], t[0]["SERVER"], t[0]["ADMIN"], t[0]["HEALTH"], t[0]["TOTAL"],
                          t[0]["ACTIVE"], t[0]["IN"], t[0]["OUT"]),
                         ("svc", "e", "ready", "up", "4", "1", "5.9 KiB", "5.9 KiB"))
        self.assertTrue(t[0]["LAST CHECK"].startswith("ok ("), t[0])

        prom = parse_prometheus(p.epstat("-o", "prometheus").stdout)
        lab = (("server", "e"), ("service", "svc"))
        self.assertEqual(prom[("easyproxy_server_connections_total", lab)], 4)
        self.assertEqual(prom[("easyproxy_server_active_connections", lab)], 1)
        self.assertEqual(prom[("easyproxy_server_bytes_in_total", lab)], total + 5)
        self.assertEqual(prom[("easyproxy_server_bytes_out_total", lab)], total + 5)
        self.assertEqual(prom[("easyproxy_server_state", tuple(sorted(lab + (("state", "up"),))))], 1)
        self.assertEqual(prom[("easyproxy_service_connections_total", (("service", "svc"),))], 4)

        services = json.loads(p.epstat("-o", "json", "services").stdout)["services"]
        self.assertEqual((services[0]["accepted"], services[0]["active"], services[0]["connections"]), (4, 1, 4))
        workers = json.loads(p.epstat("-o", "json", "workers").stdout)["workers"]
        self.assertEqual(len(workers), self.workers)
        self.assertEqual(sum(w["accepted"] for w in workers), 4)
        sessions = json.loads(p.epstat("-o", "json", "sessions").stdout)["sessions"]
        self.assertEqual([(x["service"], x["server"], x["bytes_in"], x["bytes_out"]) for x in sessions],
                         [("svc", "e", 5, 5)])
        self.assertEqual(sessions[0]["client"], "%s:%d" % held.getsockname())


if __name__ == "__main__":
    harness.main()
