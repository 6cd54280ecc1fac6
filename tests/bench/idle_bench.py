#!/usr/bin/env python3
"""Idle-connection benchmark (a measurement, not a test): holds N idle
connections through easyproxy and reports
  - RSS of all easyproxy processes and RSS per idle connection,
  - that the relay still serves while they are held,
  - first-response latency of clients idle for --idle seconds vs. an active
    client (p50/p99 of round trips), the cost an idle connection pays to wake.
Backends run in this process (one selector loop), so 9000 connections are cheap.

  python3 tests/bench/idle_bench.py --easyproxy ./easyproxy --idle-conns 9000 --poller epoll
"""
import argparse
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import render_config  # noqa: E402


def echo_server(host):
    """An echo backend on a selector loop; returns its address."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, 0))
    srv.listen(4096)
    srv.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ)

    def loop():
        while True:
            for key, _ in sel.select():
                if key.fileobj is srv:
                    while True:
                        try:
                            c, _ = srv.accept()
                        except BlockingIOError:
                            break
                        c.setblocking(False)
                        sel.register(c, selectors.EVENT_READ)
                else:
                    c = key.fileobj
                    try:
                        data = c.recv(65536)
                    except OSError:
                        data = b""
                    if data:
                        c.send(data)
                    else:
                        sel.unregister(c)
                        c.close()
    threading.Thread(target=loop, daemon=True).start()
    return "%s:%d" % srv.getsockname()


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except OSError:
                pass
    return out


def rtt(sock):
    t0 = time.perf_counter()
    sock.sendall(b"x" * 64)
    got = 0
    while got < 64:
        got += len(sock.recv(64 - got))
    return (time.perf_counter() - t0) * 1000.0


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--easyproxy", required=True)
    ap.add_argument("--idle-conns", type=int, default=9000)
    ap.add_argument("--idle", type=float, default=10.0, help="seconds the woken clients stay idle")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--poller", default="auto")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    backend = echo_server("127.0.0.2")
    tmp = tempfile.mkdtemp(prefix="ep-idle-")
    listen = "127.0.0.1:%d" % (19300 + os.getpid() % 500)
    cfg = {"global": {"workers": args.workers, "run_dir": tmp, "state_file": tmp + "/state",
                      "max_connections": 9500, "poller": args.poller,
                      "log": {"level": "warning", "target": "stderr"}},
           "services": [{"name": "idle", "listen": [listen], "idle_timeout": "1h",
                         "servers": [{"name": "echo", "address": backend}]}]}
    path = os.path.join(tmp, "easyproxy.conf")
    with open(path, "w") as f:
        f.write(render_config(cfg))
    proxy = subprocess.Popen([args.easyproxy, "-f", "-c", path])
    try:
        deadline = time.monotonic() + 10
        while len(children(proxy.pid)) < args.workers and time.monotonic() < deadline:
            time.sleep(0.05)
        pids = [proxy.pid] + children(proxy.pid)
        host, port = listen.rsplit(":", 1)
        base = rss_kib(pids)

        idle = []
        sources = ["127.0.%d.%d" % (200 + i // 250, i % 250 + 1) for i in range(40)]
        for i in range(args.idle_conns):
            s = socket.create_connection((host, int(port)), timeout=10, source_address=(sources[i % 40], 0))
            idle.append(s)
        time.sleep(1.0)
        held = rss_kib(pids)
        print("poller %s, %d workers" % (args.poller, args.workers))
        print("idle connections held: %d" % len(idle))
        print("proxy RSS: %d KiB before, %d KiB with them: %.2f KiB per idle connection"
              % (base, held, (held - base) / max(1, len(idle))))

        active = socket.create_connection((host, int(port)), timeout=10)
        rtt(active)
        hot = [rtt(active) for _ in range(args.samples)]
        print("relay serves while they are held: %d round trips, p50 %.3f ms, p99 %.3f ms"
              % (len(hot), pct(hot, 50), pct(hot, 99)))

        woken_socks = idle[:args.samples]
        time.sleep(args.idle)
        woken = []
        for s in woken_socks:
            woken.append(rtt(s))
            rtt(active)   # keep the active client active between wakes
        print("first round trip after %.0f s idle: p50 %.3f ms, p99 %.3f ms (active p99 %.3f ms): "
              "p99 delay %+.3f ms" % (args.idle, pct(woken, 50), pct(woken, 99), pct(hot, 99),
                                      pct(woken, 99) - pct(hot, 99)))
        for s in idle:
            s.close()
        active.close()
    finally:
        proxy.terminate()
        proxy.wait(10)


if __name__ == "__main__":
    main()
