"""A VRRP pair for real: two easyproxy machines share one virtual address
through keepalived, configured by the files in conf/examples/keepalived/.

The test builds a small network of its own from network namespaces (root
only): a switch namespace with a bridge, two load balancers (keepalived and
easyproxy each), one namespace with the servers and one with the client, all
on 192.0.2.0/24 (TEST-NET-1) and linked to nothing else. It kills the active
easyproxy and checks that the address moves, that new connections succeed
within 5 s, and that each client keeps its server (both nodes run Maglev on
the same config). The client's sockets are made in its namespace by
switching the test thread there (setns) while each one is created.
"""
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import fetch_name, wait_until  # noqa: E402

EXAMPLES = os.path.join(harness.TOP_SRCDIR, "conf", "examples", "keepalived")
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
IP = shutil.which("ip") or "/usr/sbin/ip"   # iproute2
VIP = "192.0.2.100"                      # the address in the example configs
PORT = 8080
LB_ADDRS = {"lb1": "192.0.2.1", "lb2": "192.0.2.2"}
SERVERS = {"s1": "192.0.2.21", "s2": "192.0.2.22", "s3": "192.0.2.23"}
SERVER_PORT = 9000
CLIENTS = ["192.0.2.%d" % n for n in range(51, 63)]
FAILOVER_LIMIT_S = 5.0
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


def ip(*args, check=True):
    r = subprocess.run([IP] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=10)
    if check and r.returncode != 0:
        raise AssertionError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def setns(fd, what):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns into %s: %s" % (what, os.strerror(err)))


@contextlib.contextmanager
def in_netns(name):
    """Runs the block with this thread in network namespace `name`; sockets
    made there stay in it."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(os.path.join("/run/netns", name), os.O_RDONLY)
    try:
        setns(target, name)
        try:
            yield
        finally:
            setns(home, "the test's own namespace")
    finally:
        os.close(target)
        os.close(home)


def render(template, replacements):
    """The example file with each (old, new) replaced; every `old` must be
    there, so an edit of the example cannot silently escape the test."""
    with open(template) as f:
        text = f.read()
    for old, new in replacements:
        if old not in text:
            raise AssertionError("%s no longer contains %r" % (template, old))
        text = text.replace(old, new)
    return text


class Keepalived(harness.Process):
    """keepalived in the foreground; it forks one VRRP child. Its log (with
    --log-console) is what it writes to stderr."""

    def __init__(self, argv, conf, stderr_path):
        super().__init__(argv, stderr_path=stderr_path)
        self.conf = conf
        self.vrrp_pid = None

    def wait_started(self, vrrp_pidfile):
        wait_until(lambda: self.read_pid(vrrp_pidfile) or not self.alive(), 15,
                   what="keepalived's VRRP child")
        if not self.alive():
            raise AssertionError("keepalived exited with %s:\n%s" % (self.proc.returncode, self.log()))
        self.vrrp_pid = self.read_pid(vrrp_pidfile)

    @staticmethod
    def read_pid(path):
        try:
            with open(path) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def log(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def kill_vrrp_child(self):
        """Ends the VRRP child if its parent could not (a crash): by PID, once
        its command line shows it is ours (our config path)."""
        if self.vrrp_pid is None:
            return
        try:
            with open("/proc/%d/cmdline" % self.vrrp_pid, "rb") as f:
                if self.conf.encode() in f.read():
                    os.kill(self.vrrp_pid, signal.SIGKILL)
        except OSError:
            pass


class VrrpPairTest(harness.ProxyTestCase):
    def setUp(self):
        # Checked before the harness's setUp: a skip there would leave its temp dir.
        if os.geteuid() != 0:
            self.skipTest("network namespaces need root (CI runs this test as root)")
        if not os.access(KEEPALIVED, os.X_OK):
            self.skipTest("keepalived is not installed (Debian package keepalived)")
        self.ns = {role: "ep%d-%s" % (os.getpid(), role) for role in ("sw", "lb1", "lb2", "srv", "cl")}
        r = ip("netns", "add", self.ns["sw"], check=False)
        if r.returncode != 0:
            self.delete_namespaces()   # in case ip got half way
            self.skipTest("network namespaces are not allowed here (ip netns add: %s)" % r.stderr.strip())
        self.addCleanup(self.delete_namespaces)   # runs after tearDown has ended the processes
        self.keepaliveds = {}
        self.passed = False
        super().setUp()

    def delete_namespaces(self):
        for name in self.ns.values():
            if os.path.exists(os.path.join("/run/netns", name)):
                ip("netns", "del", name, check=False)

    def tearDown(self):
        try:
            if not self.passed:
                for node, k in self.keepaliveds.items():
                    sys.stderr.write("---- keepalived %s ----\n%s\n" % (node, k.log()))
            for k in self.keepaliveds.values():
                k.stop()   # SIGTERM: keepalived ends its VRRP child and drops the address
                k.kill_vrrp_child()
        finally:
            super().tearDown()

    # ---- the network ---------------------------------------------------------

    def build_network(self):
        """A bridge in the switch namespace, one veth into each other namespace
        (seen there as eth0), addresses from 192.0.2.0/24."""
        for role, name in self.ns.items():
            if role != "sw":
                ip("netns", "add", name)
        sw = self.ns["sw"]
        ip("-n", sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        ip("-n", sw, "link", "set", "br0", "up")
        addrs = {"lb1": [LB_ADDRS["lb1"]], "lb2": [LB_ADDRS["lb2"]],
                 "srv": list(SERVERS.values()), "cl": CLIENTS}
        for role, local in addrs.items():
            ns = self.ns[role]
            ip("-n", sw, "link", "add", role, "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("-n", sw, "link", "set", role, "master", "br0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", "eth0", "up")
            for a in local:
                ip("-n", ns, "addr", "add", a + "/24", "dev", "eth0")
        # easyproxy listens on the virtual address on both machines, also
        # where keepalived has not put it (yet)
        for node in LB_ADDRS:
            with in_netns(self.ns[node]):
                with open("/proc/sys/net/ipv4/ip_nonlocal_bind", "w") as f:
                    f.write("1\n")

    def holders(self):
        """The load balancers that have the virtual address on eth0."""
        held = []
        for node in LB_ADDRS:
            out = ip("-n", self.ns[node], "-o", "-4", "addr", "show", "dev", "eth0").stdout
            if " %s/" % VIP in out:
                held.append(node)
        return held

    def sole_holder(self):
        held = self.holders()
        return held[0] if len(held) == 1 else None

    # ---- the processes --------------------------------------------------------

    def server(self, name, addr):
        argv = [IP, "netns", "exec", self.ns["srv"], sys.executable, "-u", harness.BACKEND,
                "--listen", "%s:%d" % (addr, SERVER_PORT), "--mode", "name", "--name", name]
        p = harness.Process(argv, stderr_path=os.path.join(self.tmp, "server-%s.log" % name))
        self.procs.append(p)
        wait_until(lambda: p.count("READY") or not p.alive(), 10, what="server %s to listen" % name)
        self.assertTrue(p.alive(), "server %s failed to start" % name)

    def easyproxy(self, node):
        servers = [{"name": n, "address": "%s:%d" % (a, SERVER_PORT)} for n, a in SERVERS.items()]
        svc, _ = self.service(servers, name="web", balance="maglev", listen="%s:%d" % (VIP, PORT))
        return self.proxy([svc], workers=2, prefix=(IP, "netns", "exec", self.ns[node]))

    def keepalived(self, node, run_dir):
        """keepalived in the foreground on the example config for `node`, with
        the check script pointed at the built epctl and this node's run_dir."""
        d = os.path.join(self.tmp, "keepalived-" + node)
        os.mkdir(d, 0o700)
        script = os.path.join(d, "check_easyproxy")
        with open(script, "w") as f:
            f.write(render(os.path.join(EXAMPLES, "check_easyproxy"),
                           [("/usr/bin/epctl", harness.EPCTL)]))
        os.chmod(script, 0o755)
        conf = os.path.join(d, "keepalived.conf")
        with open(conf, "w") as f:
            f.write(render(os.path.join(EXAMPLES, node + ".conf"), [
                # the example runs the check as the daemon's user, which a
                # build machine may not have
                ("script_user easyproxy", "script_user root"),
                ('script "/etc/keepalived/check_easyproxy /run/easyproxy"',
                 'script "%s %s"' % (script, run_dir)),
            ]))
        # keepalived starts even on a config with mistakes, dropping what it
        # cannot use (the check, when script_user is unknown); --config-test
        # exits non-zero on them
        check = subprocess.run([IP, "netns", "exec", self.ns[node], KEEPALIVED, "--config-test",
                                "--use-file", conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=30)
        self.assertEqual(check.returncode, 0, "keepalived --config-test on %s.conf: %s" % (node, check.stdout))
        argv = [IP, "netns", "exec", self.ns[node], KEEPALIVED,
                "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp",
                "--use-file", conf, "--pid", os.path.join(d, "keepalived.pid"),
                "--vrrp_pid", os.path.join(d, "vrrp.pid")]
        k = Keepalived(argv, conf, os.path.join(d, "keepalived.log"))
        self.procs.append(k)
        self.keepaliveds[node] = k
        k.wait_started(os.path.join(d, "vrrp.pid"))
        return k

    def names(self):
        """The server each client address gets through the virtual address."""
        with in_netns(self.ns["cl"]):
            return {src: fetch_name("%s:%d" % (VIP, PORT), timeout=2, source=src) for src in CLIENTS}

    def try_once(self, src):
        """One connection through the virtual address: the server's name, or
        None while nothing answers there."""
        try:
            with in_netns(self.ns["cl"]):
                return fetch_name("%s:%d" % (VIP, PORT), timeout=0.5, source=src) or None
        except OSError:
            return None

    # ---- the test -----------------------------------------------------------

    def test_failover_moves_the_address_and_keeps_each_client_on_its_server(self):
        self.build_network()
        for name, addr in SERVERS.items():
            self.server(name, addr)
        proxies = {node: self.easyproxy(node) for node in LB_ADDRS}
        for node, p in proxies.items():
            self.keepalived(node, p.run_dir)

        active = wait_until(lambda: self.sole_holder(), 20, interval=0.1,
                            what="one load balancer to hold %s" % VIP)
        standby = [n for n in LB_ADDRS if n != active][0]
        before = self.names()
        self.assertTrue(set(before.values()) <= set(SERVERS), before)
        self.assertGreaterEqual(len(set(before.values())), 2,
                                "the clients should spread over servers: %s" % before)

        victim = proxies[active]
        workers = victim.worker_pids()
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass   # already ended by its parent-death signal

        first = wait_until(lambda: self.try_once(CLIENTS[0]), 10, interval=0.05,
                           what="a connection through %s after the kill" % VIP)
        failover_s = time.monotonic() - killed_at
        print("failover: first connection through %s %.2f s after kill -9 of %s's easyproxy"
              % (VIP, failover_s, active))
        self.assertLessEqual(failover_s, FAILOVER_LIMIT_S)
        self.assertEqual(self.holders(), [standby])
        self.assertEqual(first, before[CLIENTS[0]])
        self.assertEqual(self.names(), before)   # Maglev: same server on the other machine
        self.assertTrue(proxies[standby].alive())

        self.passed = True


if __name__ == "__main__":
    harness.main()
