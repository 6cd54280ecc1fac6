"""Balancing through the real daemon with several workers: every worker must
decide as one process would (shared state in shared memory)."""
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import connect, fetch_name, new_ip, read_line, wait_until  # noqa: E402


class RoundRobinTest(harness.ProxyTestCase):
    def test_two_equal_servers_four_workers_15_15(self):
        a, b = self.backend("a"), self.backend("b")
        svc, addr = self.service([a, b])
        self.proxy([svc], workers=4)
        counts = collections.Counter(fetch_name(addr) for _ in range(30))
        self.assertEqual(counts, {"a": 15, "b": 15})

    def test_smooth_weighted_sequence(self):
        a, b, c = self.backend("a"), self.backend("b"), self.backend("c")
        servers = [{"name": "a", "address": a.addr, "weight": 5},
                   {"name": "b", "address": b.addr, "weight": 1},
                   {"name": "c", "address": c.addr, "weight": 1}]
        svc, addr = self.service(servers)
        self.proxy([svc], workers=2)
        sequence = "".join(fetch_name(addr) for _ in range(14))
        self.assertEqual(sequence, "aabacaa" * 2)

    def test_weights_1_2_give_10_20(self):
        a, b = self.backend("a"), self.backend("b")
        svc, addr = self.service([{"name": "a", "address": a.addr, "weight": 1},
                                  {"name": "b", "address": b.addr, "weight": 2}])
        self.proxy([svc])
        counts = collections.Counter(fetch_name(addr) for _ in range(30))
        self.assertEqual(counts, {"a": 10, "b": 20})


def wait_idle(proxy):
    """Waits until the proxy has processed every close (active counts at 0):
    load-aware algorithms must see the same state a test expects."""
    import json
    def idle():
        servers = json.loads(proxy.epstat("-o", "json", "servers").stdout)["servers"]
        return all(s["active"] == 0 for s in servers)
    wait_until(idle, 5, what="active connections to drop to 0")


def fetch_settled(proxy, addr, held=0):
    import json
    name = fetch_name(addr)
    def settled():
        servers = json.loads(proxy.epstat("-o", "json", "servers").stdout)["servers"]
        return sum(s["active"] for s in servers) == held
    wait_until(settled, 5, what="the closed connection to be released")
    return name


class LoadAwareTest(harness.ProxyTestCase):
    def test_leastconn_idle_alternates_and_avoids_busy_server(self):
        a, b = self.backend("a"), self.backend("b")
        svc, addr = self.service([a, b], balance="leastconn")
        p = self.proxy([svc])
        counts = collections.Counter(fetch_settled(p, addr) for _ in range(10))
        self.assertEqual(counts, {"a": 5, "b": 5})
        held = connect(addr)
        try:
            busy = read_line(held)
            other = "b" if busy == "a" else "a"
            names = [fetch_settled(p, addr, held=1) for _ in range(10)]
            self.assertEqual(names, [other] * 10)
        finally:
            held.close()

    def test_p2c_avoids_busy_server(self):
        a, b = self.backend("a"), self.backend("b")
        svc, addr = self.service([a, b], balance="p2c")
        p = self.proxy([svc])
        held = connect(addr)
        try:
            busy = read_line(held)
            other = "b" if busy == "a" else "a"
            self.assertEqual([fetch_settled(p, addr, held=1) for _ in range(10)], [other] * 10)
        finally:
            held.close()

    def test_random_spreads_by_weight(self):
        a, b = self.backend("a"), self.backend("b")
        svc, addr = self.service([a, b], balance="random")
        self.proxy([svc])
        counts = collections.Counter(fetch_name(addr) for _ in range(400))
        # binomial(400, 0.5): sd 10; 5 sd either side never fails by chance in practice
        self.assertGreater(counts["a"], 150)
        self.assertGreater(counts["b"], 150)
        self.assertEqual(counts["a"] + counts["b"], 400)


class HashingTest(harness.ProxyTestCase):
    CLIENTS = 1000

    def mapping(self, addr, clients):
        return {ip: fetch_name(addr, source=ip) for ip in clients}

    def check_consistent_hashing(self, balance):
        backends = [self.backend("s%d" % i) for i in range(5)]
        svc, addr = self.service(backends, balance=balance)
        svc2, addr2 = self.service(backends, balance=balance, name="twin")
        self.proxy([svc], workers=2)
        self.proxy([svc2], workers=3)   # a separate instance, same servers
        clients = ["127.250.%d.%d" % (i // 200 + 1, i % 200 + 1) for i in range(self.CLIENTS)]
        first = self.mapping(addr, clients)
        # same client, same server, over time and across instances
        self.assertEqual(self.mapping(addr, clients[:100]), {c: first[c] for c in clients[:100]})
        self.assertEqual(self.mapping(addr2, clients), first)
        counts = collections.Counter(first.values())
        self.assertEqual(set(counts), {"s0", "s1", "s2", "s3", "s4"})
        for n in counts.values():
            self.assertGreater(n, self.CLIENTS / 5 * 0.6)
        # a third instance without s2: its clients move, few others do
        svc3, addr3 = self.service([b for b in backends if b.name != "s2"], balance=balance, name="less")
        self.proxy([svc3])
        after = self.mapping(addr3, clients)
        moved_others = [c for c in clients if first[c] != "s2" and after[c] != first[c]]
        self.assertTrue(all(after[c] != "s2" for c in clients))
        self.assertLess(len(moved_others), self.CLIENTS * 0.03, "too many clients of other servers moved")

    def test_source_is_stable_and_consistent(self):
        self.check_consistent_hashing("source")

    def test_maglev_is_stable_and_consistent(self):
        self.check_consistent_hashing("maglev")


class BackupTest(harness.ProxyTestCase):
    def test_backup_only_when_primaries_unusable(self):
        primary, spare = self.backend("primary"), self.backend("spare")
        servers = [{"name": "primary", "address": primary.addr},
                   {"name": "spare", "address": spare.addr, "backup": True}]
        svc, addr = self.service(servers, passive={"max_fails": 1, "fail_timeout": "60s"})
        self.proxy([svc])
        self.assertEqual([fetch_name(addr) for _ in range(10)], ["primary"] * 10)
        primary.stop()
        # the first connection fails over to the backup (retry), then the
        # primary is marked down and every connection goes to the backup
        self.assertEqual([fetch_name(addr) for _ in range(10)], ["spare"] * 10)


if __name__ == "__main__":
    harness.main()
