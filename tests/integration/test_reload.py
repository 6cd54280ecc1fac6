"""Zero-downtime reload (SIGHUP and `epctl reload`): no refused or reset
connection while reloading under load, long transfers finish intact, an
invalid file keeps the old config, state and counters carry over, and old
generations are gone by shutdown_timeout."""
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from backend import read_to_eof  # noqa: E402
from harness import connect, fetch_name, read_line, render_config, wait_until  # noqa: E402


def servers(proxy):
    return {s["server"]: s for s in json.loads(proxy.epstat("-o", "json", "servers").stdout)["servers"]}


def workers(proxy):
    return json.loads(proxy.epstat("-o", "json", "workers").stdout)["workers"]


class ReloadTest(harness.ProxyTestCase):
    def rewrite(self, proxy, config):
        proxy.config = config
        with open(proxy.config_path, "w") as f:
            f.write(render_config(config))

    def generation(self, proxy):
        return max(w["generation"] for w in workers(proxy))

    def test_reload_under_load_loses_nothing(self):
        a, b, echo = self.backend("a"), self.backend("b"), self.backend("echo", mode="echo")
        svc, addr = self.service([a, b])
        bulk, bulk_addr = self.service([echo], name="bulk")
        p = self.proxy([svc, bulk], shutdown_timeout="20s")
        errors, done, counts = [], threading.Event(), {"ok": 0}

        def steady():   # one new connection after another for the whole test
            while not done.is_set():
                try:
                    name = fetch_name(addr, timeout=5)
                    if name not in ("a", "b", "c"):
                        errors.append("unexpected reply %r" % name)
                    counts["ok"] += 1
                except OSError as e:
                    errors.append("connection failed: %s" % e)

        def transfer(i, results):
            data = hashlib.sha256(b"%d" % i).digest() * 32768 * 8  # 8 MiB
            with connect(bulk_addr, timeout=30) as s:

                def send():
                    for off in range(0, len(data), 65536):
                        s.sendall(data[off:off + 65536])
                        time.sleep(0.002)   # spread the transfer over the reloads
                    s.shutdown(socket.SHUT_WR)
                t = threading.Thread(target=send, daemon=True)
                t.start()
                total, digest = read_to_eof(s)
                t.join(30)
            results[i] = (total == len(data), digest == hashlib.sha256(data).hexdigest())

        loop = threading.Thread(target=steady, daemon=True)
        loop.start()
        results = {}
        transfers = [threading.Thread(target=transfer, args=(i, results), daemon=True) for i in range(3)]
        for t in transfers:
            t.start()
        c = self.backend("c")
        base = p.config
        for i in range(20):
            cfg = json.loads(json.dumps(base))
            servers_ = cfg["services"][0]["servers"]
            if i % 2:
                servers_[0]["weight"] = 1 + i
            if i >= 10:
                servers_.append({"name": "c", "address": c.addr})
            if i == 15:
                r = self.write_invalid(p)
                self.assertEqual(r.returncode, 1)
                continue
            self.rewrite(p, cfg)
            r = p.epctl("reload", check=False)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("reloaded, generation", r.stdout)
            # Clients get through between two reloads (not only before and after
            # all of them): two more complete, so one began after this reload.
            served = counts["ok"]
            wait_until(lambda: counts["ok"] > served + 1 or errors, 10, 0.01, "connections after reload %d" % i)
        for t in transfers:
            t.join(60)
        done.set()
        loop.join(10)
        self.assertEqual(errors, [])
        self.assertGreater(counts["ok"], 20)
        self.assertEqual(results, {0: (True, True), 1: (True, True), 2: (True, True)})
        self.assertIn("c", servers(p))

    def write_invalid(self, proxy):
        with open(proxy.config_path, "a") as f:
            f.write("bogus_key = 1;\n")
        lines = open(proxy.config_path).read().count("\n")
        r = proxy.epctl("reload", check=False)
        self.assertIn("%s:%d: bogus_key: unknown key" % (proxy.config_path, lines), r.stdout + r.stderr)
        return r

    def test_invalid_reload_keeps_serving_old_config(self):
        a = self.backend("a")
        svc, addr = self.service([a])
        p = self.proxy([svc])
        gen = self.generation(p)
        r = self.write_invalid(p)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.generation(p), gen)
        self.assertEqual(fetch_name(addr), "a")
        self.assertIn("configuration is invalid, keeping the running one", r.stdout + r.stderr)

    def test_sighup_reload_adds_server(self):
        a, b = self.backend("a"), self.backend("b")
        svc, addr = self.service([a])
        p = self.proxy([svc])
        cfg = json.loads(json.dumps(p.config))
        cfg["services"][0]["servers"].append({"name": "b", "address": b.addr})
        self.rewrite(p, cfg)
        p.signal(signal.SIGHUP)
        wait_until(lambda: "b" in servers(p), 5, what="server b to appear")
        wait_until(lambda: len([w for w in workers(p) if w["generation"] == 2]) == 2, 5, what="generation 2")
        names = sorted(fetch_name(addr) for _ in range(10))
        self.assertEqual(names, ["a"] * 5 + ["b"] * 5)

    def test_drain_and_counters_survive_reload(self):
        a, b = self.backend("a"), self.backend("b")
        svc, addr = self.service([a, b])
        p = self.proxy([svc])
        for _ in range(6):
            fetch_name(addr)
        self.assertEqual(servers(p)["a"]["total"], 3)
        p.epctl("drain", "svc/a")
        p.epctl("weight", "svc/b", "7")
        self.rewrite(p, p.config)
        r = p.epctl("reload")
        self.assertIn("no changes", r.stdout)
        st = servers(p)
        self.assertEqual(st["a"]["admin"], "drain")
        self.assertEqual(st["a"]["total"], 3)
        self.assertEqual(st["b"]["weight"], 7)
        self.assertEqual([fetch_name(addr) for _ in range(4)], ["b"] * 4)

    def test_old_generation_gone_after_shutdown_timeout(self):
        a = self.backend("a")
        svc, addr = self.service([a])
        p = self.proxy([svc], shutdown_timeout="1s")
        held = connect(addr)
        self.assertEqual(read_line(held), "a")
        old = set(p.worker_pids())
        p.epctl("reload")
        # both generations are visible while the old one drains
        gens = {w["generation"] for w in workers(p)}
        self.assertEqual(gens, {1, 2})
        held.settimeout(10)
        t0 = time.monotonic()
        self.assertEqual(held.recv(10), b"")   # closed at the deadline
        self.assertLess(time.monotonic() - t0, 5)
        wait_until(lambda: not (old & set(p.worker_pids())), 5, what="old workers to exit")
        wait_until(lambda: {w["generation"] for w in workers(p)} == {2}, 5, what="only generation 2")
        self.assertEqual(fetch_name(addr), "a")

    def test_reload_changes_worker_count(self):
        a = self.backend("a")
        svc, addr = self.service([a])
        p = self.proxy([svc], workers=2)
        for count, generation in ((3, 2), (1, 3)):
            cfg = json.loads(json.dumps(p.config))
            cfg["global"]["workers"] = count
            self.rewrite(p, cfg)
            r = p.epctl("reload")
            self.assertIn("reloaded, generation %d" % generation, r.stdout)
            wait_until(lambda: len(p.worker_pids()) == count and
                       {w["generation"] for w in workers(p)} == {generation}, 10,
                       what="%d workers of generation %d" % (count, generation))
            self.assertEqual([fetch_name(addr) for _ in range(20)], ["a"] * 20)

    def test_ten_reloads_in_a_second(self):
        """Back-to-back reloads are all accepted: the shared memory has room
        for 8 x workers + 8 worker slots, and ten reloads of an idle proxy with
        2 workers need at most 2 + 10 x 2 = 22 of its 24 even if no old worker
        had exited yet (Master::reload refuses only when slots run out).
        Half come by SIGHUP, half by epctl; each is answered before the next."""
        a = self.backend("a")
        svc, addr = self.service([a])
        p = self.proxy([svc])
        self.assertEqual(self.generation(p), 1)
        for generation in range(2, 12):
            if generation % 2:
                r = p.epctl("reload", check=False)
                self.assertEqual((r.returncode, r.stdout.splitlines()[:1]),
                                 (0, ["reloaded, generation %d" % generation]), r.stdout + r.stderr)
            else:
                p.signal(signal.SIGHUP)
                line = "reloaded %s: generation %d serving" % (p.config_path, generation)
                wait_until(lambda: line in p.log() or " error: reload: " in p.log(), 10, 0.01,
                           "SIGHUP reload to generation %d" % generation)
                self.assertNotIn(" error: reload: ", p.log())
        wait_until(lambda: {w["generation"] for w in workers(p)} == {11} and len(p.worker_pids()) == 2, 10,
                   what="only the 2 workers of generation 11")
        self.assertEqual(fetch_name(addr), "a")
        self.assertTrue(p.alive())


if __name__ == "__main__":
    harness.main()
