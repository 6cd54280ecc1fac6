"""Faults of the proxy's own environment: a descriptor shortage is not blamed
on a healthy server, a second instance cannot share a listen address, a hung
worker is killed by the watchdog and replaced, a server on probation after
fail_timeout goes down again at its first failure, and the counters that show
splice() and the poll() cold set at work."""
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import connect, fetch_name, free_port, new_ip, pid_gone, read_line, recv_to_eof, wait_until  # noqa: E402


def epstat_json(proxy, view):
    return json.loads(proxy.epstat("-o", "json", view).stdout)


def servers(proxy):
    return {s["server"]: s for s in epstat_json(proxy, "servers")["servers"]}


def try_fetch(addr, timeout):
    """The backend's name through the proxy, or '' when closed or too slow."""
    try:
        return fetch_name(addr, timeout)
    except OSError:
        return ""


class LocalShortageTest(harness.ProxyTestCase):
    def test_fd_shortage_is_counted_as_local_not_against_the_server(self):
        if os.environ.get("EP_SANITIZERS"):
            self.skipTest("with no descriptor left, the sanitizers' runtime cannot open the pipe it checks "
                          "memory with and reports false errors")
        a = self.backend("a")
        svc, addr = self.service([a], retries=2, passive={"max_fails": 3, "fail_timeout": "10s"})
        p = self.proxy([svc], workers=2)
        # Each worker may open only a few more descriptors than it holds now:
        # room for four relayed connections, then socket() toward the server
        # fails with EMFILE.
        for pid in p.worker_pids():
            limit = len(os.listdir("/proc/%d/fd" % pid)) + 9
            subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:%d" % (limit, limit)], check=True)
        clients = []
        try:
            for _ in range(30):
                s = connect(addr)
                s.settimeout(0.5)
                clients.append(s)
            served = 0
            for s in clients:
                try:
                    served += s.recv(16) == b"a\n"
                except OSError:
                    pass
            self.assertGreater(served, 0)
            self.assertLess(served, 30)
            wait_until(lambda: epstat_json(p, "services")["services"][0]["local_errors"] > 0, 5,
                       what="local errors to be counted")
        finally:
            for s in clients:
                s.close()
        # The clients left: the server was never blamed, so it serves at once.
        wait_until(lambda: sum(w["active"] for w in epstat_json(p, "workers")["workers"]) == 0, 5,
                   what="the workers to close the clients' connections")
        self.assertEqual([try_fetch(addr, 2) for _ in range(6)], ["a"] * 6)
        s = servers(p)["a"]
        self.assertEqual((s["failures"], s["passive_down"], s["state"]), (0, False, "up"))
        log = p.log()
        self.assertNotIn("is DOWN", log)
        self.assertIn("svc/a: cannot open a connection: Too many open files (a local shortage of the proxy", log)
        workers = epstat_json(p, "workers")["workers"]
        self.assertGreater(sum(w["local_errors"] for w in workers), 0)


class SecondInstanceTest(harness.ProxyTestCase):
    def test_second_instance_on_the_same_address_fails_and_names_it(self):
        a = self.backend("a")
        svc, addr = self.service([a])
        first = self.proxy([svc])
        second = self.proxy([dict(svc)], wait=False)  # its own run_dir, same listen address
        self.assertEqual(second.wait(10), 1)
        self.assertIn("service svc: listen %s: address already in use by another process" % addr, second.log())
        # The first instance keeps every client.
        self.assertEqual([fetch_name(addr) for _ in range(8)], ["a"] * 8)
        self.assertEqual(len(first.worker_pids()), 2)

    def test_reload_keeps_its_own_addresses_and_more_workers_share_them(self):
        a = self.backend("a")
        svc, addr = self.service([a])
        p = self.proxy([svc], workers=2)
        p.config["global"]["workers"] = 3
        with open(p.config_path, "w") as f:
            f.write(harness.render_config(p.config))
        r = p.epctl("reload")
        self.assertIn("reloaded, generation 2", r.stdout)
        wait_until(lambda: len(p.worker_pids()) == 3, 10, what="3 workers of generation 2")
        self.assertEqual([fetch_name(addr) for _ in range(6)], ["a"] * 6)


class WatchdogTest(harness.ProxyTestCase):
    def test_stopped_worker_is_killed_and_its_queue_served_by_the_replacement(self):
        a = self.backend("a")
        svc, addr = self.service([a])
        p = self.proxy([svc], workers=2, watchdog_timeout="2s")
        victim, survivor = p.worker_pids()
        os.kill(victim, signal.SIGSTOP)
        stopped_at = time.monotonic()
        try:
            # Clients that arrive during the stall: the kernel queues about half
            # of them on the stopped worker's socket. None may be lost.
            results = []

            def client():
                results.append(try_fetch(addr, 10))
            threads = [threading.Thread(target=client) for _ in range(16)]
            for t in threads:
                t.start()
            wait_until(lambda: pid_gone(victim), 6, 0.05, "the watchdog to kill the stopped worker")
            killed_after = time.monotonic() - stopped_at
            for t in threads:
                t.join(15)
        finally:
            if not pid_gone(victim):
                os.kill(victim, signal.SIGCONT)
        # The last stamp came up to half a second before the stop (an idle
        # loop turns twice a second), so the kill comes 1.5 to 3 s after it.
        self.assertGreaterEqual(killed_after, 1.4)
        self.assertEqual(results, ["a"] * 16)
        wait_until(lambda: len(p.worker_pids()) == 2 and victim not in p.worker_pids(), 5,
                   what="a replacement worker")
        self.assertIn(survivor, p.worker_pids())
        self.assertRegex(p.log(), r"worker \d \(pid %d\) has not run its event loop for \d+ ms "
                                  r"\(watchdog_timeout 2000 ms\); killing it" % victim)
        self.assertEqual(epstat_json(p, "workers")["master"]["watchdog_kills"], 1)
        self.assertEqual([try_fetch(addr, 2) for _ in range(8)], ["a"] * 8)

    def test_new_connections_avoid_a_stalled_worker_long_before_the_watchdog(self):
        a = self.backend("a")
        svc, addr = self.service([a])
        p = self.proxy([svc], workers=2, watchdog_timeout="10s")
        victim = p.worker_pids()[0]
        victim_set = next(w["slot"] for w in epstat_json(p, "workers")["workers"] if w["pid"] == victim)
        os.kill(victim, signal.SIGSTOP)
        try:
            wait_until(lambda: "worker %d is not running its event loop; new connections go to the other workers"
                       % victim_set in p.log(), 3, 0.05, "the master to notice the stall")
            # Every new client is served at once by the other worker.
            self.assertEqual([try_fetch(addr, 1) for _ in range(30)], ["a"] * 30)
        finally:
            if not pid_gone(victim):
                os.kill(victim, signal.SIGCONT)
        wait_until(lambda: "worker %d is running its event loop again" % victim_set in p.log(), 3, 0.05,
                   "the master to see the worker turning again")
        self.assertEqual(p.worker_pids()[0] if victim in p.worker_pids() else None, victim)  # not killed
        before = {w["pid"]: w["accepted"] for w in epstat_json(p, "workers")["workers"]}
        self.assertEqual([try_fetch(addr, 2) for _ in range(40)], ["a"] * 40)
        after = {w["pid"]: w["accepted"] for w in epstat_json(p, "workers")["workers"]}
        self.assertGreater(after[victim], before[victim], "the recovered worker gets new clients again")
        self.assertEqual(epstat_json(p, "workers")["master"]["watchdog_kills"], 0)

    def test_busy_and_idle_workers_are_left_alone(self):
        b = self.backend("echo", mode="echo")
        svc, addr = self.service([b])
        p = self.proxy([svc], workers=2, watchdog_timeout="2s")
        pids = p.worker_pids()
        # 3 s of steady traffic on one worker, the other idle throughout.
        deadline = time.monotonic() + 3
        with connect(addr) as s:
            n = 0
            while time.monotonic() < deadline:
                s.sendall(b"x" * 65536)
                got = 0
                while got < 65536:
                    got += len(s.recv(65536))
                n += 1
        self.assertGreater(n, 10)
        self.assertEqual(p.worker_pids(), pids)
        self.assertEqual(epstat_json(p, "workers")["master"]["watchdog_kills"], 0)
        self.assertNotIn("watchdog", p.log())


class PassiveProbationTest(harness.ProxyTestCase):
    def test_first_failure_after_fail_timeout_marks_down_again(self):
        dead_ip = new_ip()
        dead = {"name": "dead", "address": "%s:%d" % (dead_ip, free_port(dead_ip))}
        svc, addr = self.service([dead], retries=0, passive={"max_fails": 3, "fail_timeout": "1s"})
        p = self.proxy([svc])
        for _ in range(3):
            self.assertEqual(try_fetch(addr, 2), "")
        wait_until(lambda: servers(p)["dead"]["passive_down"], 2, what="3 failures to mark it down")
        wait_until(lambda: not servers(p)["dead"]["passive_down"], 3, 0.05, "fail_timeout to lift the mark")
        # On probation: one more failure is enough (nginx does the same).
        self.assertEqual(try_fetch(addr, 2), "")
        wait_until(lambda: servers(p)["dead"]["passive_down"], 2, 0.05, "one failure to mark it down again")
        self.assertEqual(servers(p)["dead"]["failures"], 4)
        self.assertEqual(p.log().count("svc/dead is DOWN"), 2)

    def test_success_after_fail_timeout_ends_probation(self):
        ip = new_ip()
        port = free_port(ip)
        svc, addr = self.service([{"name": "s", "address": "%s:%d" % (ip, port)}], retries=0,
                                 passive={"max_fails": 2, "fail_timeout": "1s"})
        p = self.proxy([svc])
        for _ in range(2):
            self.assertEqual(try_fetch(addr, 2), "")
        wait_until(lambda: servers(p)["s"]["passive_down"], 2, what="2 failures to mark it down")
        b = self.backend("s", ip=ip, port=port)
        wait_until(lambda: not servers(p)["s"]["passive_down"], 3, 0.05, "fail_timeout to lift the mark")
        self.assertEqual(try_fetch(addr, 2), "s")  # proof of life: probation over
        b.stop()
        # A mark is set before the failed client is closed, so it would be visible now.
        self.assertEqual(try_fetch(addr, 2), "")
        self.assertEqual(servers(p)["s"]["failures"], 3)
        self.assertFalse(servers(p)["s"]["passive_down"], "one failure after a success must not mark it down")


class CountersTest(harness.ProxyTestCase):
    def test_streaming_transfer_is_spliced(self):
        b = self.backend("src", mode="source", bytes=64 << 20)
        svc, addr = self.service([b], relay="worker")  # what the worker does with the bytes
        p = self.proxy([svc])
        with connect(addr, timeout=30) as s:
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(len(recv_to_eof(s)), 64 << 20)
        spliced = sum(w["bytes_spliced"] for w in epstat_json(p, "workers")["workers"])
        # All but the first few buffered reads go through the pipe.
        self.assertGreater(spliced, 60 << 20)
        self.assertLessEqual(spliced, 64 << 20)

    def test_quiet_connections_go_to_the_cold_set_and_come_back(self):
        b = self.backend("echo", mode="echo")
        # The worker must see the wake-up: with relay = "sockmap" the kernel would relay it.
        svc, addr = self.service([b], relay="worker")
        p = self.proxy([svc], workers=2, poller="poll")
        conns = [connect(addr) for _ in range(10)]
        try:
            for i, s in enumerate(conns):
                s.sendall(b"hello %d\n" % i)
                self.assertEqual(read_line(s), "hello %d" % i)

            def cold():
                return sum(w["cold_fds"] for w in epstat_json(p, "workers")["workers"])
            # Both sockets of each quiet connection (client and server) park,
            # and so does each worker's listener, quiet as well.
            wait_until(lambda: cold() == 22, 5, 0.1, "22 quiet fds in the cold set")
            conns[0].sendall(b"wake\n")
            self.assertEqual(read_line(conns[0]), "wake")
            wait_until(lambda: cold() < 22, 3, 0.05, "the woken connection to leave the cold set")
        finally:
            for s in conns:
                s.close()


if __name__ == "__main__":
    harness.main()
