"""Process lifecycle: a killed worker is replaced without touching the other
workers' connections, graceful and fast stops, the master's death takes its
workers along, and a second master cannot steal a run_dir."""
import os
import re
import shutil
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import EASYPROXY, connect, fetch_name, read_line, run_tool, wait_until  # noqa: E402


def echo_ok(sock, token):
    sock.sendall(token + b"\n")
    return read_line(sock, 5) == token.decode()


def pid_gone(pid):
    """True once `pid` has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class WorkerCrashTest(harness.ProxyTestCase):
    def test_kill_9_worker_others_keep_flowing_and_it_is_replaced(self):
        b = self.backend("a")
        svc, addr = self.service([b])
        p = self.proxy([svc], workers=2)
        before = p.worker_pids()
        self.assertEqual(len(before), 2)
        # open connections until both workers hold some
        conns, owners = [], {}
        deadline = time.monotonic() + 10
        while len(set(owners.values())) < 2 and time.monotonic() < deadline:
            s = connect(addr)
            self.assertEqual(read_line(s), "a")
            conns.append(s)
            owners[s] = wait_until(lambda: p.worker_of(s), 5, what="the connection's worker")
        self.assertEqual(len(set(owners.values())), 2, "connections did not spread over both workers")
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: pid_gone(victim), 5, what="the killed worker to die")
        for i, s in enumerate(conns):
            if owners[s] == victim:
                s.settimeout(5)
                try:
                    data = s.recv(10)
                except ConnectionResetError:
                    data = b""
                self.assertEqual(data, b"", "a connection of the killed worker is still open")
            else:
                self.assertTrue(echo_ok(s, b"still-here-%d" % i))
        after = wait_until(lambda: len(p.worker_pids()) == 2 and p.worker_pids(), 5, what="a replacement worker")
        self.assertNotIn(victim, after)
        self.assertIn(before[1], after)
        self.assertIn("was killed by signal 9", p.log())
        self.assertEqual(fetch_name(addr), "a")
        # the killed worker's connections no longer count as active
        import json
        wait_until(lambda: json.loads(p.epstat("-o", "json", "servers").stdout)["servers"][0]["active"] ==
                   sum(1 for s in conns if owners[s] != victim), 5, what="active count to be corrected")
        for s in conns:
            s.close()


    def test_crash_loop_backs_off_and_logs_why(self):
        b = self.backend("a")
        svc, addr = self.service([b])
        p = self.proxy([svc], workers=2)
        survivor = p.worker_pids()[1]
        victims = []
        for _ in range(4):   # kill each replacement as soon as it appears: a worker "crashing" at start
            current = wait_until(lambda: [w for w in p.worker_pids() if w != survivor and w not in victims],
                                 5, what="a replacement worker")[0]
            os.kill(current, signal.SIGKILL)
            victims.append(current)
            wait_until(lambda: pid_gone(current), 5, what="the killed worker to die")
        log = wait_until(lambda: "next start in 400 ms" in p.log() and p.log(), 5, what="growing backoff")
        self.assertIn("was killed by signal 9 (Killed); respawning", log)
        self.assertIn("keeps dying; next start in 100 ms", log)
        self.assertIn("keeps dying; next start in 200 ms", log)
        wait_until(lambda: len(p.worker_pids()) == 2, 5, what="the worker to come back after its backoff")
        self.assertIn(survivor, p.worker_pids())
        self.assertEqual(fetch_name(addr), "a")

    def test_worker_without_event_backend_exits_and_says_why(self):
        """The workers get no descriptor for epoll or the poll backend's pipes."""
        svc, _ = self.service([self.backend("a")])
        no_fds = harness.failing_in_workers(self, [("epoll_create1", "int flags", "flags"),
                                                   ("pipe2", "int fds[2], int flags", "fds, flags")], "EMFILE")
        p = self.proxy([svc], workers=2, wait=False, prefix=no_fds)
        reason = "pipe2" if os.environ.get("EP_POLLER") == "poll" else "epoll_create1"
        expected = [r"worker 0 error: cannot start: %s: Too many open files\n" % reason,
                    r"worker 0 \(pid \d+\) exited with status 1; respawning\n",
                    r"worker 0 keeps dying; next start in 100 ms\n"]
        wait_until(lambda: all(re.search(e, p.log()) for e in expected), 10, what="worker 0 to fail and back off")
        self.assertTrue(p.alive())


class StopTest(harness.ProxyTestCase):
    def test_sigquit_lets_open_connection_finish(self):
        b = self.backend("a")
        svc, addr = self.service([b])
        p = self.proxy([svc], shutdown_timeout="20s")
        held = connect(addr)
        self.assertEqual(read_line(held), "a")
        p.signal(signal.SIGQUIT)
        # new clients are refused while the held one keeps working
        wait_until(lambda: fetch_refused(addr), 5, what="new connections to be refused")
        self.assertTrue(echo_ok(held, b"during-graceful-stop"))
        self.assertTrue(p.alive())
        held.close()
        self.assertEqual(p.wait(10), 0)
        self.assertFalse(os.path.exists(os.path.join(p.run_dir, "easyproxy.pid")))
        self.assertFalse(os.path.exists(os.path.join(p.run_dir, "easyproxy.sock")))

    def test_sigquit_closes_leftovers_at_shutdown_timeout(self):
        b = self.backend("a")
        svc, addr = self.service([b])
        p = self.proxy([svc], shutdown_timeout="1s")
        held = connect(addr)
        self.assertEqual(read_line(held), "a")
        t0 = time.monotonic()
        p.signal(signal.SIGQUIT)
        held.settimeout(10)
        self.assertEqual(held.recv(10), b"")
        self.assertEqual(p.wait(10), 0)
        elapsed = time.monotonic() - t0
        self.assertGreater(elapsed, 0.8)
        self.assertLess(elapsed, 5)

    def test_sigterm_stops_at_once(self):
        b = self.backend("a")
        svc, addr = self.service([b])
        p = self.proxy([svc], shutdown_timeout="30s")
        held = connect(addr)
        self.assertEqual(read_line(held), "a")
        workers = p.worker_pids()
        t0 = time.monotonic()
        p.signal(signal.SIGTERM)
        self.assertEqual(p.wait(5), 0)
        self.assertLess(time.monotonic() - t0, 3)
        held.settimeout(5)
        try:
            self.assertEqual(held.recv(10), b"")
        except ConnectionResetError:
            pass
        for w in workers:
            wait_until(lambda: pid_gone(w), 5, what="worker %d to exit" % w)

    def test_master_killed_takes_workers_along(self):
        b = self.backend("a")
        svc, addr = self.service([b])
        p = self.proxy([svc])
        workers = p.worker_pids()
        self.assertEqual(len(workers), 2)
        p.signal(signal.SIGKILL)
        p.wait(5)
        for w in workers:
            wait_until(lambda: pid_gone(w), 5, what="orphaned worker %d to die" % w)
        wait_until(lambda: fetch_refused(addr), 5, what="the port to be released")

    def test_second_master_on_same_run_dir_fails(self):
        b = self.backend("a")
        svc, addr = self.service([b])
        p = self.proxy([svc])
        r = run_tool([EASYPROXY, "-f", "-c", p.config_path], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("another easyproxy (pid %d) is already running with run_dir %s" % (p.pid, p.run_dir), r.stderr)
        self.assertEqual(fetch_name(addr), "a")  # the first one is untouched
        self.assertTrue(p.alive())


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


class PrivilegeTest(harness.ProxyTestCase):
    @unittest.skipUnless(os.geteuid() == 0, "privilege drop needs the tests to run as root")
    def test_drop_to_user_keeps_only_bind_capability_in_master(self):
        import grp
        import pwd
        nobody, nogroup = pwd.getpwnam("nobody"), grp.getgrnam("nogroup")
        os.chmod(self.tmp, 0o755)   # the master must still reach its run_dir after the switch
        b = self.backend("a")
        svc, addr = self.service([b])
        p = self.proxy([svc], user="nobody", group="nogroup")
        self.assertEqual(fetch_name(addr), "a")
        master = proc_status(p.pid)
        self.assertEqual(master["Uid"], [str(nobody.pw_uid)] * 4)
        self.assertEqual(master["Gid"], [str(nogroup.gr_gid)] * 4)
        self.assertEqual(master["Groups"], [str(nogroup.gr_gid)])
        self.assertEqual(int(master["CapEff"][0], 16), 1 << 10)   # CAP_NET_BIND_SERVICE only
        for w in p.worker_pids():
            st = proc_status(w)
            self.assertEqual(st["Uid"], [str(nobody.pw_uid)] * 4)
            self.assertEqual(int(st["CapEff"][0], 16), 0)
            self.assertEqual(int(st["CapPrm"][0], 16), 0)
        self.assertEqual(os.stat(os.path.join(p.run_dir, "easyproxy.pid")).st_uid, nobody.pw_uid)
        p.signal(signal.SIGTERM)
        self.assertEqual(p.wait(5), 0)
        self.assertFalse(os.path.exists(os.path.join(p.run_dir, "easyproxy.pid")))

    def test_unknown_user_is_a_clear_error(self):
        if os.geteuid() != 0:
            self.skipTest("user switching is only attempted as root")
        b = self.backend("a")
        svc, addr = self.service([b])
        p = self.proxy([svc], user="no-such-user-here", wait=False)
        self.assertEqual(p.wait(10), 1)
        self.assertIn('global.user: no such user "no-such-user-here"', p.log())

    def test_privileged_port_without_capability_fails_clearly(self):
        b = self.backend("a")
        svc, _ = self.service([b], listen="127.0.0.1:80")
        prefix = ()
        if os.geteuid() == 0:   # become an ordinary user without capabilities
            if not shutil.which("setpriv"):
                self.skipTest("setpriv (util-linux) is needed to start as an ordinary user")
            os.chmod(self.tmp, 0o777)
            prefix = ("setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--inh-caps=-all",
                      "--bounding-set=-all")
        p = self.proxy([svc], wait=False, prefix=prefix)
        self.assertEqual(p.wait(10), 1)
        self.assertIn("ports below 1024 need root or CAP_NET_BIND_SERVICE", p.log())


def fetch_refused(addr):
    try:
        with connect(addr, timeout=1) as s:
            s.settimeout(1)
            return s.recv(10) == b""
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    except socket.timeout:
        return False


if __name__ == "__main__":
    harness.main()
