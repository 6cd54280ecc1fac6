"""global.watch (DESIGN.md §8): the master reloads by itself, with no signal
sent, once an edit of the config file or of a file it @includes has settled;
a broken edit is refused with FILE:LINE and the old config keeps serving; a
file replaced by a rename is seen; with watch off nothing happens. Open
connections live through a watch reload like through any other."""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import connect, fetch_name, read_line, render_config, wait_until  # noqa: E402
from test_gateway import GatewayCase, curl  # noqa: E402

APPLIED_WITHIN_S = 2.0


def generation(proxy):
    return max(w["generation"] for w in json.loads(proxy.epstat("-o", "json", "workers").stdout)["workers"])


class WatchTest(harness.ProxyTestCase):
    def start(self, watch=True):
        """A plain tcp service sending to server a, with server b ready for the
        edits; returns (proxy, service address)."""
        self.a, self.b = self.backend("a"), self.backend("b")
        svc, addr = self.service([self.a])
        p = self.proxy([svc], watch=watch)
        self.assertEqual(fetch_name(addr), "a")
        return p, addr

    def to_b(self, proxy):
        """The proxy's config with svc sending to b instead of a."""
        cfg = json.loads(json.dumps(proxy.config))
        cfg["services"][0]["servers"] = [{"name": "b", "address": self.b.addr}]
        return cfg

    def write(self, path, text):
        with open(path, "w") as f:
            f.write(text)

    def wait_serving(self, addr, name, timeout):
        """Seconds until a new connection reaches `name` (bounded by timeout)."""
        start = time.monotonic()
        wait_until(lambda: fetch_name(addr) == name, timeout, 0.02, "connections to reach %s" % name)
        return time.monotonic() - start

    def test_edit_is_applied_within_two_seconds_without_a_signal(self):
        p, addr = self.start()
        held = connect(addr)   # a connection open across the watch reload
        self.assertEqual(read_line(held), "a")
        errors, done, served = [], threading.Event(), {"a": 0, "b": 0}

        def steady():   # new connections one after another all along
            while not done.is_set():
                try:
                    name = fetch_name(addr)
                    served[name] += 1
                except (OSError, KeyError) as e:
                    errors.append(repr(e))
        loop = threading.Thread(target=steady, daemon=True)
        loop.start()
        edited = time.monotonic()
        self.write(p.config_path, render_config(self.to_b(p)))
        wait_until(lambda: served["b"] > 0, 5, 0.01, "connections to reach b")
        took = time.monotonic() - edited
        wait_until(lambda: served["b"] > 20 or errors, 10, 0.01, "more connections after the reload")
        done.set()
        loop.join(10)
        self.assertEqual(errors, [])
        self.assertLess(took, APPLIED_WITHIN_S)
        self.assertIn("config changed (%s), reloading" % p.config_path, p.log())
        self.assertEqual(generation(p), 2)
        self.assertEqual([fetch_name(addr) for _ in range(4)], ["b"] * 4)
        held.sendall(b"still here\n")
        self.assertEqual(read_line(held), "still here")
        held.close()
        sys.stdout.write("edit applied in %.3f s; %d connections before, %d after, none failed\n"
                         % (took, served["a"], served["b"]))

    def test_broken_edit_is_refused_and_a_later_good_one_applied(self):
        p, addr = self.start()
        good = render_config(self.to_b(p))
        broken = good + "broken = ;\n"
        line = good.count("\n") + 1
        self.write(p.config_path, broken)
        wait_until(lambda: "reload: %s:%d:" % (p.config_path, line) in p.log(), 5, what="the refusal in the log")
        self.assertIn("config changed (%s), reloading" % p.config_path, p.log())
        self.assertEqual(generation(p), 1)
        self.assertEqual([fetch_name(addr) for _ in range(4)], ["a"] * 4)
        edited = time.monotonic()
        self.write(p.config_path, good)
        self.wait_serving(addr, "b", 5)
        self.assertLess(time.monotonic() - edited, APPLIED_WITHIN_S)
        self.assertEqual(generation(p), 2)

    def test_file_replaced_by_rename(self):
        p, addr = self.start()
        tmp = p.config_path + ".tmp"
        for i, name in enumerate(["b", "a"]):   # twice: the watch outlives the file it saw first
            cfg = self.to_b(p) if name == "b" else p.config
            self.write(tmp, render_config(cfg))
            edited = time.monotonic()
            os.replace(tmp, p.config_path)
            self.wait_serving(addr, name, 5)
            self.assertLess(time.monotonic() - edited, APPLIED_WITHIN_S)
            self.assertEqual(generation(p), 2 + i)

    def test_constant_writes_still_reload(self):
        """A file rewritten every 100 ms never goes quiet for 300 ms: it is
        reloaded anyway, 2 s after the first write."""
        p, addr = self.start()
        text = render_config(self.to_b(p))
        stop = threading.Event()

        def writer():
            while not stop.is_set():
                self.write(p.config_path, text)
                stop.wait(0.1)   # the writer's pace, not a synchronisation
        t = threading.Thread(target=writer, daemon=True)
        first = time.monotonic()
        t.start()
        try:
            wait_until(lambda: generation(p) == 2, 5, what="a reload while the file keeps changing")
            took = time.monotonic() - first
        finally:
            stop.set()
            t.join(5)
        self.assertGreater(took, 1.0)
        self.assertLess(took, APPLIED_WITHIN_S + 1)
        self.assertEqual(fetch_name(addr), "b")
        sys.stdout.write("reloaded %.3f s after the first of constant writes\n" % took)

    def test_edit_of_an_included_file(self):
        p, addr = self.start()
        # The services move to a file of their own, @included by the main one
        # (an edit of the main file, so a watch reload: the include is then
        # one of the files watched).
        cfg = p.config
        pool = os.path.join(p.run_dir, "services.inc")
        self.write(pool, render_config({"services": cfg["services"]}))
        self.write(p.config_path, render_config({"global": cfg["global"]}) + '@include "services.inc"\n')
        wait_until(lambda: generation(p) == 2, 5, what="the watch reload of the main file")
        self.assertIn("reloaded %s: generation 2 serving" % p.config_path, p.log())
        edited = time.monotonic()
        self.write(pool, render_config({"services": self.to_b(p)["services"]}))
        self.wait_serving(addr, "b", 5)
        self.assertLess(time.monotonic() - edited, APPLIED_WITHIN_S)
        self.assertIn("config changed (%s), reloading" % pool, p.log())
        self.assertEqual(generation(p), 3)

    def test_watch_turned_on_and_off_by_a_reload(self):
        p, addr = self.start(watch=False)
        cfg = self.to_b(p)
        self.write(p.config_path, render_config(cfg))
        # Nothing watches: for 3 s the old config keeps serving.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            self.assertEqual(fetch_name(addr), "a")
            time.sleep(0.1)
        self.assertEqual(generation(p), 1)
        self.assertNotIn("config changed", p.log())
        # Turned on by a reload: the next edit is seen.
        cfg["global"]["watch"] = True
        self.write(p.config_path, render_config(cfg))
        self.assertIn("reloaded", p.epctl("reload").stdout)
        # The old generation's workers may take a connection or two while
        # they stop accepting.
        self.wait_serving(addr, "b", 5)
        cfg["services"][0]["servers"] = [{"name": "a", "address": self.a.addr}]
        self.write(p.config_path, render_config(cfg))
        self.wait_serving(addr, "a", 5)
        self.assertEqual(generation(p), 3)
        # Turned off by that edit (a watch reload): later edits wait again.
        cfg["global"]["watch"] = False
        self.write(p.config_path, render_config(cfg))
        wait_until(lambda: generation(p) == 4, 5, what="the edit turning watch off")
        cfg["services"][0]["servers"] = [{"name": "b", "address": self.b.addr}]
        self.write(p.config_path, render_config(cfg))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            self.assertEqual(fetch_name(addr), "a")
            time.sleep(0.1)
        self.assertEqual(generation(p), 4)


class WatchHtpasswdTest(GatewayCase):
    def test_edit_of_an_htpasswd_file(self):
        """An htpasswd file named by a basic_auth middleware is watched: a user
        added to it gets in, with no signal sent."""
        path = os.path.join(self.tmp, "htpasswd")
        users = []
        for user in ("alice", "bob"):
            hashed = subprocess.run(["openssl", "passwd", "-6", user + "-pw"], stdout=subprocess.PIPE, text=True,
                                    check=True).stdout.strip()
            users.append("%s:%s\n" % (user, hashed))
        self.write(path, users[0])
        o = self.origin("p")
        mws = [{"name": "admin", "type": "basic_auth", "htpasswd": path}]
        p, addr = self.gateway([{"service": "p", "middlewares": ["admin"]}], [self.pool("p", [o])], middlewares=mws,
                               watch=True)
        url = "http://%s/" % addr
        self.assertEqual([curl(url, "-u", u)[0] for u in ("alice:alice-pw", "bob:bob-pw")], [200, 401])
        edited = time.monotonic()
        self.write(path, users[0] + users[1])
        wait_until(lambda: curl(url, "-u", "bob:bob-pw")[0] == 200, 5, 0.02, "bob to get in")
        self.assertLess(time.monotonic() - edited, APPLIED_WITHIN_S)
        self.assertIn("config changed (%s), reloading" % path, p.log())
        self.assertEqual([curl(url, "-u", u)[0] for u in ("alice:alice-pw", "bob:bob-pw")], [200, 200])

    def write(self, path, text):
        with open(path, "w") as f:
            f.write(text)


if __name__ == "__main__":
    harness.main()
