"""global.watch (DESIGN.md §8): the master reloads by itself, with no signal
sent, once an edit of the config file or of a file it @includes has settled;
a broken edit is refused with FILE:LINE and the old config keeps serving; a
file replaced by a rename is seen; with watch off nothing happens. Open
connections live through a watch reload like through any other."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import connect, fetch_name, read_line, render_config, wait_until  # noqa: E402

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
        edited = time.monotonic()
        self.write(p.config_path, render_config(self.to_b(p)))
        self.wait_serving(addr, "b", 5)
        took = time.monotonic() - edited
        self.assertLess(took, APPLIED_WITHIN_S)
        self.assertIn("config changed (%s), reloading" % p.config_path, p.log())
        self.assertEqual(generation(p), 2)
        self.assertEqual([fetch_name(addr) for _ in range(4)], ["b"] * 4)
        held.sendall(b"still here\n")
        self.assertEqual(read_line(held), "still here")
        held.close()
        sys.stdout.write("edit applied in %.3f s\n" % took)

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
        self.write(tmp, render_config(self.to_b(p)))
        edited = time.monotonic()
        os.replace(tmp, p.config_path)
        self.wait_serving(addr, "b", 5)
        self.assertLess(time.monotonic() - edited, APPLIED_WITHIN_S)
        self.assertEqual(generation(p), 2)

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
        self.assertEqual(fetch_name(addr), "b")
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


if __name__ == "__main__":
    harness.main()
