#!/usr/bin/env python3
"""TLS termination, easyproxy beside HAProxy (issue 13): both on loopback with
the same certificate (ECDSA P-256, then RSA 2048) and 2 workers each (HAProxy:
nbthread 2), in front of the same servers. For each, the proxy's own
CPU-seconds (utime + stime of all its processes, from /proc) are measured
around four loads:

  full       full handshakes (openssl s_time -new, 2 clients), per CPU-second
  resumed    resumed handshakes (s_time -reuse, TLS 1.2 tickets), per CPU-second
  bulk       CPU-seconds per GiB sent to a TLS client (tcp mode, 3 x 1 GiB down)
  keepalive  HTTPS requests on keep-alive connections (wrk, 2 threads, 20
             connections), per CPU-second

Higher is better except bulk. Usage (from the build tree):
  tests/bench/tls.sh [--seconds N] [--only ecdsa|rsa]
"""
import argparse
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLK = os.sysconf("SC_CLK_TCK")
GIB = 1 << 30


def free_port(ip="127.0.0.1"):
    s = socket.socket()
    s.bind((ip, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def tree_cpu(root):
    """CPU-seconds of `root` and its children (alive ones, from /proc)."""
    total = 0
    pids = [root]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == root:
                    pids.append(int(entry))
            except OSError:
                pass
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / CLK


def wait_port(port, timeout=10, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit("exited with %s:\n%s" % (proc.returncode, open(log).read() if log else ""))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nothing listens on %d" % port)


def bulk_server(port):
    """A tcp server that sends 1 GiB to each client, then closes."""
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port))
    l.listen(16)
    block = b"\0" * (1 << 20)

    def serve(c):
        try:
            for _ in range(GIB // len(block)):
                c.sendall(block)
        except OSError:
            pass
        c.close()
    while True:
        c, _ = l.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def run(argv, seconds):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds + 60).stdout.decode(
        errors="replace")


def s_time(port, mode, seconds, clients=2):
    """Connections completed by `clients` s_time runs at once."""
    argv = ["openssl", "s_time", "-connect", "127.0.0.1:%d" % port, mode, "-time", str(seconds)]
    if mode == "-reuse":
        argv.append("-tls1_2")
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(clients)]
    total = 0
    for p in procs:
        out = p.communicate(timeout=seconds + 60)[0].decode(errors="replace")
        m = re.findall(r"(\d+) connections in [\d.]+s", out)
        if not m:
            raise SystemExit("s_time said:\n" + out)
        total += int(m[-1])
    return total


def bulk(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    got = 0
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="bench.test") as s:
        buf = bytearray(1 << 20)
        while True:
            n = s.recv_into(buf)
            if not n:
                break
            got += n
    return got


def wrk(port, seconds):
    out = run(["wrk", "-t2", "-c20", "-d%ds" % seconds, "https://127.0.0.1:%d/" % port], seconds)
    m = re.search(r"(\d+) requests in", out)
    if not m:
        raise SystemExit("wrk said:\n" + out)
    return int(m.group(1))


def measure(pid, fn):
    before = tree_cpu(pid)
    result = fn()
    return result, tree_cpu(pid) - before


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--only", choices=["ecdsa", "rsa"])
    ap.add_argument("--builddir", default=os.getcwd())
    a = ap.parse_args()
    easyproxy = os.path.join(a.builddir, "easyproxy")
    haproxy = shutil.which("haproxy")
    if not haproxy:
        raise SystemExit("haproxy not found (Debian package haproxy)")
    tmp = tempfile.mkdtemp(prefix="tls-bench-")
    children = []
    try:
        # The servers: an HTTP origin (a HAProxy of its own answering 200) and
        # the bulk sender.
        origin_port, bulk_port = free_port(), free_port()
        with open(os.path.join(tmp, "origin.cfg"), "w") as f:
            f.write("global\n  nbthread 1\ndefaults\n  mode http\n  timeout client 60s\n  timeout server 60s\n"
                    "  timeout connect 5s\nfrontend o\n  bind 127.0.0.1:%d\n"
                    "  http-request return status 200 content-type text/plain string ok\n" % origin_port)
        children.append(subprocess.Popen([haproxy, "-f", os.path.join(tmp, "origin.cfg")]))
        threading.Thread(target=bulk_server, args=(bulk_port,), daemon=True).start()
        wait_port(origin_port)
        results = []
        for kind in ("ecdsa", "rsa"):
            if a.only and a.only != kind:
                continue
            key, cert = os.path.join(tmp, kind + ".key"), os.path.join(tmp, kind + ".pem")
            newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ecdsa" else ["-newkey", "rsa:2048"]
            subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                            "-subj", "/CN=bench.test", "-addext", "subjectAltName=DNS:bench.test"],
                           check=True, capture_output=True)
            combined = os.path.join(tmp, kind + ".combined.pem")
            with open(combined, "w") as f:
                f.write(open(cert).read() + open(key).read())
            for proxy in ("haproxy", "easyproxy"):
                http_port, tcp_port = free_port(), free_port()
                if proxy == "haproxy":
                    conf = os.path.join(tmp, "hap.cfg")
                    with open(conf, "w") as f:
                        f.write("global\n  nbthread 2\n  maxconn 4000\ndefaults\n  timeout client 60s\n"
                                "  timeout server 60s\n  timeout connect 5s\n"
                                "frontend h\n  mode http\n  bind 127.0.0.1:%d ssl crt %s alpn http/1.1\n"
                                "  default_backend hb\nbackend hb\n  mode http\n  http-reuse always\n"
                                "  server o 127.0.0.1:%d\n"
                                "frontend t\n  mode tcp\n  bind 127.0.0.1:%d ssl crt %s\n  default_backend tb\n"
                                "backend tb\n  mode tcp\n  server b 127.0.0.1:%d\n"
                                % (http_port, combined, origin_port, tcp_port, combined, bulk_port))
                    p = subprocess.Popen([haproxy, "-f", conf], stdout=subprocess.DEVNULL,
                                         stderr=open(os.path.join(tmp, "haproxy.log"), "ab"))
                else:
                    run_dir = os.path.join(tmp, "run-" + kind)
                    os.makedirs(run_dir, exist_ok=True)
                    conf = os.path.join(tmp, "ep.conf")
                    tls = 'tls = { certificates = ( { cert = "%s"; key = "%s"; } ); };' % (cert, key)
                    with open(conf, "w") as f:
                        f.write('global = { workers = 2; run_dir = "%s"; state_file = "%s/state"; '
                                'log = { level = "warning"; target = "stderr"; }; };\n'
                                'services = (\n'
                                '  { name = "h"; listen = "127.0.0.1:%d"; mode = "http"; %s\n'
                                '    servers = ( { name = "o"; address = "127.0.0.1:%d"; } ); },\n'
                                '  { name = "t"; listen = "127.0.0.1:%d"; mode = "tcp"; %s\n'
                                '    servers = ( { name = "b"; address = "127.0.0.1:%d"; } ); } );\n'
                                % (run_dir, run_dir, http_port, tls, origin_port, tcp_port, tls, bulk_port))
                    p = subprocess.Popen([easyproxy, "-f", "-c", conf], stdout=subprocess.DEVNULL,
                                         stderr=open(os.path.join(tmp, "easyproxy.log"), "ab"))
                try:
                    wait_port(http_port, proc=p, log=os.path.join(tmp, proxy + ".log"))
                    wait_port(tcp_port, proc=p, log=os.path.join(tmp, proxy + ".log"))
                    time.sleep(0.5)
                    full, cpu = measure(p.pid, lambda: s_time(http_port, "-new", a.seconds))
                    row = {"proxy": proxy, "cert": kind, "full/cpu-s": full / max(cpu, 1e-9)}
                    resumed, cpu = measure(p.pid, lambda: s_time(http_port, "-reuse", a.seconds))
                    row["resumed/cpu-s"] = resumed / max(cpu, 1e-9)
                    got, cpu = measure(p.pid, lambda: sum(bulk(tcp_port) for _ in range(3)))
                    row["cpu-s/GiB"] = cpu / (got / GIB)
                    reqs, cpu = measure(p.pid, lambda: wrk(http_port, a.seconds))
                    row["keepalive req/cpu-s"] = reqs / max(cpu, 1e-9)
                    results.append(row)
                    print("%-9s %-5s full %8.0f/cpu-s  resumed %8.0f/cpu-s  bulk %6.3f cpu-s/GiB  keep-alive %8.0f "
                          "req/cpu-s" % (proxy, kind, row["full/cpu-s"], row["resumed/cpu-s"], row["cpu-s/GiB"],
                                         row["keepalive req/cpu-s"]), flush=True)
                finally:
                    p.send_signal(signal.SIGTERM)
                    p.wait(10)
        print()
        for kind in ("ecdsa", "rsa"):
            rows = {r["proxy"]: r for r in results if r["cert"] == kind}
            if len(rows) != 2:
                continue
            h, e = rows["haproxy"], rows["easyproxy"]
            print("%s easyproxy / haproxy: full %.2fx  resumed %.2fx  bulk %.2fx (less CPU is >1)  keep-alive %.2fx"
                  % (kind, e["full/cpu-s"] / h["full/cpu-s"], e["resumed/cpu-s"] / h["resumed/cpu-s"],
                     h["cpu-s/GiB"] / e["cpu-s/GiB"], e["keepalive req/cpu-s"] / h["keepalive req/cpu-s"]))
    finally:
        for c in children:
            c.send_signal(signal.SIGTERM)
            c.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
