#!/usr/bin/env python3
"""How many new connections a stalled worker costs: easyproxy with 2 workers in
front of one backend, a client opening a connection every --every-ms (each must
read the backend's name within --client-timeout s), one worker stopped with
SIGSTOP for --stall s. Prints how many connections were lost (closed or too
slow) and how late the slowest served one was, for each watchdog_timeout given.

    top_builddir=BUILD python3 tests/bench/stall_bench.py --watchdog 0 5s 2s
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402


def run(watchdog, args):
    tmp = tempfile.mkdtemp(prefix="ep-stall-")
    procs = []
    try:
        backend = harness.Backend(harness.new_ip(), name="a")
        procs.append(backend)
        ip = harness.new_ip()
        addr = "%s:%d" % (ip, harness.free_port(ip))
        run_dir = os.path.join(tmp, "run")
        os.mkdir(run_dir)
        config = {"global": {"workers": 2, "run_dir": run_dir, "state_file": os.path.join(run_dir, "state"),
                             "watchdog_timeout": watchdog, "log": {"level": "warning", "target": "stderr"}},
                  "services": [{"name": "svc", "listen": [addr], "servers": [{"name": "a", "address": backend.addr}]}]}
        proxy = harness.Proxy(None, config, run_dir)
        procs.append(proxy)
        proxy.wait_ready(2)
        victim = proxy.worker_pids()[0]

        results = []   # (start offset, seconds to the name or None)
        lock = threading.Lock()

        def client(start):
            t0 = time.monotonic()
            try:
                ok = harness.fetch_name(addr, args.client_timeout) == "a"
            except OSError:
                ok = False
            with lock:
                results.append((start, time.monotonic() - t0 if ok else None))

        threads = []
        t_start = time.monotonic()
        os.kill(victim, signal.SIGSTOP)
        while time.monotonic() - t_start < args.stall:
            t = threading.Thread(target=client, args=(time.monotonic() - t_start,), daemon=True)
            t.start()
            threads.append(t)
            time.sleep(args.every_ms / 1000.0)  # the load's pace, not synchronisation
        try:
            os.kill(victim, signal.SIGCONT)
        except ProcessLookupError:
            pass
        for t in threads:
            t.join(args.client_timeout + 5)
        lost = sum(1 for _, d in results if d is None)
        served = [d for _, d in results if d is not None]
        print("watchdog_timeout=%-4s connections=%d lost=%d (%.1f%%) slowest served=%.2fs" % (
            watchdog, len(results), lost, 100.0 * lost / max(1, len(results)), max(served) if served else 0))
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--watchdog", nargs="+", default=["0", "5s", "2s"])
    ap.add_argument("--stall", type=float, default=8.0)
    ap.add_argument("--every-ms", type=float, default=20.0)
    ap.add_argument("--client-timeout", type=float, default=1.0)
    args = ap.parse_args()
    for w in args.watchdog:
        run(int(w) if w.isdigit() else w, args)


if __name__ == "__main__":
    main()
