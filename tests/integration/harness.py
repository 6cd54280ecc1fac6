"""Integration-test harness: starts the real easyproxy and backend processes on
loopback and cleans them up by PID.

Every test process takes its own 127.x.y.z addresses (from its pid) and lets the
kernel choose free ports, so test files run in parallel without colliding.
Every wait is bounded (wait_until); every process a test starts is ended by
PID in tearDown. EP_POLLER=poll|epoll sets global.poller in every config, so
the suite runs on either event backend; EP_RELAY=sockmap sets relay = "sockmap"
(from the first byte) on every tcp service without TLS, so it runs again with
the kernel relaying. Each test file ends with harness.main(), which prints
"RESULT: passed=N failed=M skipped=K" for .ci/run to add up.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

TOP_BUILDDIR = os.environ.get("top_builddir", os.getcwd())
TOP_SRCDIR = os.environ.get("top_srcdir", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EASYPROXY = os.path.join(TOP_BUILDDIR, "easyproxy")
EPSTAT = os.path.join(TOP_BUILDDIR, "epstat")
EPCTL = os.path.join(TOP_BUILDDIR, "epctl")
BACKEND = os.path.join(os.path.dirname(os.path.abspath(__file__)), "backend.py")
TEST_TIMEOUT_S = int(os.environ.get("EP_TEST_TIMEOUT", "180"))

_ip_counter = [0]


def new_ip():
    """A loopback address no other test process uses (second octet from pid)."""
    _ip_counter[0] += 1
    n = _ip_counter[0]
    pid = os.getpid()
    return "127.%d.%d.%d" % (10 + pid % 240, (pid // 240) % 250 + 1, n % 250 + 1)


def pid_gone(pid):
    """True once `pid` has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def free_port(ip):
    s = socket.socket()
    s.bind((ip, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(cond, timeout=10.0, interval=0.02, what="condition"):
    """Polls cond() until it returns a truthy value; fails the test after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


def blackhole(ip):
    """A listener whose accept queue is full: further SYNs are dropped, so a
    connect to it hangs until the connector's timeout."""
    l = socket.socket()
    l.bind((ip, 0))
    l.listen(0)
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(l.getsockname())
        except BlockingIOError:
            pass
        fillers.append(s)
    wait_until(lambda: accept_queue_length(l) >= 1, 5, 0.01, "the blackhole's accept queue to fill")
    return l, fillers, "%s:%d" % l.getsockname()


def accept_queue_length(listener):
    """Connections waiting in an IPv4 listener's accept queue (the rx_queue
    column that /proc/net/tcp shows for a listening socket)."""
    ip, port = listener.getsockname()[:2]
    local = "%s:%04X" % ("".join("%02X" % int(b) for b in reversed(ip.split("."))), port)
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == local and fields[3] == "0A":  # TCP_LISTEN
                return int(fields[4].split(":")[1], 16)
    return 0


def connect(addr, timeout=5.0, source=None):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    return s


def read_line(sock, timeout=5.0):
    sock.settimeout(timeout)
    buf = b""
    while not buf.endswith(b"\n"):
        data = sock.recv(1)
        if not data:
            break
        buf += data
    return buf.decode().strip()


def recv_to_eof(sock):
    """Everything the peer sends until it closes its side."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def fetch_name(addr, timeout=5.0, source=None):
    """Connects, reads the backend's name line, closes. '' if closed at once."""
    with connect(addr, timeout, source) as s:
        return read_line(s, timeout)


def to_libconfig(value, indent=""):
    """Renders Python dicts/lists/scalars as libconfig text."""
    inner = indent + "  "
    if isinstance(value, dict):
        body = "".join("%s%s = %s;\n" % (inner, k, to_libconfig(v, inner)) for k, v in value.items())
        return "{\n%s%s}" % (body, indent)
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], dict):
            return "(\n%s\n%s)" % (",\n".join(inner + to_libconfig(v, inner) for v in value), indent)
        return "[ %s ]" % ", ".join(to_libconfig(v, inner) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


class Process:
    """A child process whose stdout lines are collected by a reader thread."""

    def __init__(self, argv, env=None, stderr_path=None):
        self.argv = argv
        self.lines = []
        self._lock = threading.Lock()
        self.stderr_path = stderr_path
        stderr = open(stderr_path, "ab") if stderr_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, env=env,
                                     start_new_session=True)
        if stderr_path:
            stderr.close()
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            with self._lock:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def output(self):
        with self._lock:
            return list(self.lines)

    def count(self, prefix):
        return sum(1 for l in self.output() if l.startswith(prefix))

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if self.wait(3) is None:
                os.kill(self.pid, signal.SIGKILL)
                self.wait(3)


class Backend(Process):
    def __init__(self, ip, mode="name", name="backend", stderr_path=None, port=None, **opts):
        """port: a fixed port (to restart a server on the same address); by
        default one the kernel chooses."""
        self.ip = ip
        self.port = port or free_port(ip)
        self.addr = "%s:%d" % (ip, self.port)
        self.name = name
        argv = [sys.executable, "-u", BACKEND, "--listen", self.addr, "--mode", mode, "--name", name]
        for k, v in opts.items():
            argv.append("--%s=%s" % (k, v))   # "=" so a value may start with "-"
        super().__init__(argv, stderr_path=stderr_path)
        wait_until(lambda: any(l.startswith("READY") for l in self.output()) or not self.alive(),
                   10, what="backend %s to listen" % name)
        if not self.alive():
            raise AssertionError("backend %s failed to start" % name)

    def connections(self):
        return self.count("CONN ")


class Proxy(Process):
    """easyproxy -f on a generated config, in its own run_dir."""

    def __init__(self, env, config, run_dir, prefix=()):
        self.env = env
        self.config = config
        self.run_dir = run_dir
        self.config_path = os.path.join(run_dir, "easyproxy.conf")
        with open(self.config_path, "w") as f:
            f.write(render_config(config))
        self.log_path = os.path.join(run_dir, "easyproxy.log")
        super().__init__(list(prefix) + [EASYPROXY, "-f", "-c", self.config_path], stderr_path=self.log_path)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def worker_pids(self):
        """PIDs of this master's children (from /proc), alive and not zombies."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid and fields[0] != "Z":
                pids.append(int(entry))
        return sorted(pids)

    def worker_of(self, client_sock):
        """PID of the worker that holds the proxy side of `client_sock`."""
        import ipaddress
        cip, cport = client_sock.getsockname()[:2]
        pip, pport = client_sock.getpeername()[:2]

        def hexaddr(ip, port):
            return "%08X:%04X" % (int.from_bytes(ipaddress.IPv4Address(ip).packed, "little"), port)
        want_local, want_remote = hexaddr(pip, pport), hexaddr(cip, cport)
        inode = None
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1] == want_local and fields[2] == want_remote:
                    inode = fields[9]
        if inode is None:
            return None
        target = "socket:[%s]" % inode
        for pid in self.worker_pids():
            try:
                for fd in os.listdir("/proc/%d/fd" % pid):
                    if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == target:
                        return pid
            except OSError:
                continue
        return None

    def epstat(self, *args, check=True):
        return run_tool([EPSTAT, "-r", self.run_dir] + list(args), check)

    def epctl(self, *args, check=True):
        return run_tool([EPCTL, "-r", self.run_dir] + list(args), check)

    def wait_ready(self, workers):
        """Listeners are bound before the workers fork, so the proxy serves once
        its workers run (no probe connection: it would skew balancing counts)."""
        def ready():
            if not self.alive():
                raise AssertionError("easyproxy exited with %s:\n%s" % (self.proc.returncode, self.log()))
            return len(self.worker_pids()) >= workers and os.path.exists(os.path.join(self.run_dir, "easyproxy.pid"))
        wait_until(ready, 15, what="easyproxy to serve")


def failing_in_workers(test, functions, errno_name):
    """A `prefix` for ProxyTestCase.proxy() that preloads a library making each
    of `functions` ((name, params, args) in C, returning int) fail with
    `errno_name` in processes forked by easyproxy (its workers), never in the
    master. Skips the test where no C compiler is found."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        test.skipTest("needs a C compiler to build the fault-injection library")
    source = ["#define _GNU_SOURCE", "#include <dlfcn.h>", "#include <errno.h>", "#include <unistd.h>",
              "static pid_t loader;",
              "__attribute__((constructor)) static void remember(void) { loader = getpid(); }"]
    for name, params, args in functions:
        source += ["int %s(%s) {" % (name, params),
                   "    if (getpid() != loader) { errno = %s; return -1; }" % errno_name,
                   '    return ((int (*)(%s))dlsym(RTLD_NEXT, "%s"))(%s);' % (params, name, args),
                   "}"]
    path = tempfile.mkdtemp(prefix="fault-", dir=test.tmp)
    with open(os.path.join(path, "fault.c"), "w") as f:
        f.write("\n".join(source) + "\n")
    run_tool([compiler, "-shared", "-fPIC", "-o", os.path.join(path, "fault.so"), os.path.join(path, "fault.c"), "-ldl"])
    # ASan wants to be the first library loaded; here it is not.
    asan = "verify_asan_link_order=0:" + os.environ.get("ASAN_OPTIONS", "")
    return ("env", "LD_PRELOAD=" + os.path.join(path, "fault.so"), "ASAN_OPTIONS=" + asan)


def run_tool(argv, check=True):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, text=True)
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d: %s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
    return r


def with_forced_relay(config):
    """EP_RELAY=sockmap: every tcp service without TLS hands its connections
    to the kernel as soon as they are established."""
    if os.environ.get("EP_RELAY") != "sockmap" or not isinstance(config.get("services"), list):
        return config
    services = []
    for svc in config["services"]:
        if isinstance(svc, dict) and svc.get("mode", "tcp") == "tcp" and not {"tls", "server_tls", "relay"} & svc.keys():
            svc = dict(svc, relay="sockmap", sockmap_after=0)
        services.append(svc)
    return dict(config, services=services)


def render_config(config):
    config = with_forced_relay(config)
    return "".join("%s = %s;\n" % (k, to_libconfig(v)) for k, v in config.items())


class ProxyTestCase(unittest.TestCase):
    """Base class: a temp dir, helpers to start backends and easyproxy, and
    cleanup of every process by PID."""

    workers = 2

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ep-it-")
        self.procs = []
        signal.signal(signal.SIGALRM, self._timeout)
        signal.alarm(TEST_TIMEOUT_S)

    def _timeout(self, *_):
        raise AssertionError("test exceeded %d s" % TEST_TIMEOUT_S)

    def tearDown(self):
        signal.alarm(0)
        for p in reversed(self.procs):
            p.stop()
        failed = self._failed()
        for p in self.procs:
            if isinstance(p, Proxy) and (failed or os.environ.get("EP_SHOW_LOGS")):
                sys.stderr.write("---- easyproxy log (%s) ----\n%s\n" % (p.config_path, p.log()))
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _failed(self):
        """Whether the test body failed so far (its daemon logs are then shown).
        Python 3.11 reports each failure to the result as it happens and no
        longer keeps _Outcome.errors; older versions collect them there."""
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        if hasattr(outcome, "errors"):
            return any(err for _, err in outcome.errors if err)
        result = outcome.result
        reported = list(getattr(result, "failures", [])) + list(getattr(result, "errors", []))
        # a failed subTest is reported as the _SubTest, which names its test in test_case
        return any(getattr(test, "test_case", test) is self for test, _ in reported)

    def backend(self, name="backend", mode="name", ip=None, **opts):
        b = Backend(ip or new_ip(), mode=mode, name=name, **opts)
        self.procs.append(b)
        return b

    def service(self, servers, name="svc", balance="roundrobin", listen=None, **keys):
        """A service dict with one listen address and the given Backend list
        (or dicts). Returns (service_dict, listen_addr)."""
        addr = listen or "%s:%d" % (new_ip(), 0)
        if addr.endswith(":0"):
            ip = addr.rsplit(":", 1)[0]
            addr = "%s:%d" % (ip, free_port(ip))
        svc = {"name": name, "listen": [addr], "balance": balance}
        svc.update(keys)
        svc["servers"] = [s if isinstance(s, dict) else {"name": s.name, "address": s.addr} for s in servers]
        return svc, addr

    def proxy(self, services, workers=None, wait=True, prefix=(), middlewares=None, **global_keys):
        """easyproxy on `services` (and the top-level `middlewares` list of
        an entry point's routes, when given); global_keys go into `global`."""
        run_dir = tempfile.mkdtemp(prefix="run-", dir=self.tmp)
        if prefix:
            os.chmod(run_dir, 0o777)
        g = {"workers": workers or self.workers, "run_dir": run_dir,
             # EP_POLLER=poll|epoll runs the whole suite on one event backend
             **({"poller": os.environ["EP_POLLER"]} if os.environ.get("EP_POLLER") else {}),
             "state_file": os.path.join(run_dir, "server-state"),
             "log": {"level": "info", "target": "stderr"}}
        for k, v in global_keys.items():
            if isinstance(v, dict) and isinstance(g.get(k), dict):
                g[k].update(v)
            else:
                g[k] = v
        config = {"global": g, "services": services}
        if middlewares is not None:
            config["middlewares"] = middlewares
        p = Proxy(self, config, run_dir, prefix)
        self.procs.append(p)
        if wait:
            p.wait_ready(g["workers"])
        return p


def main():
    """Runs the calling module's tests and prints the RESULT line."""
    module = sys.modules["__main__"]
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(getattr(result, "unexpectedSuccesses", []))
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print("RESULT: passed=%d failed=%d skipped=%d" % (passed, failed, skipped))
    sys.exit(0 if failed == 0 else 1)
