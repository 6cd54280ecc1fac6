#!/usr/bin/env python3
"""`make run`: starts the three demo backends of conf/demo.conf (each answers
with its own name, then echoes), then easyproxy in the foreground. Ctrl-C stops
easyproxy (gracefully, SIGINT) and the backends it started, by PID."""
import argparse
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BACKEND = os.path.join(HERE, "..", "tests", "integration", "backend.py")
DEMO_BACKENDS = [("app1", "127.0.0.1:9001"), ("app2", "127.0.0.1:9002"), ("app3", "127.0.0.1:9003")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--easyproxy", required=True)
    ap.add_argument("--config", required=True)
    args = ap.parse_args()

    backends = []
    for name, addr in DEMO_BACKENDS:
        p = subprocess.Popen([sys.executable, "-u", BACKEND, "--listen", addr, "--name", name],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        backends.append(p)
    time.sleep(0.3)
    for p, (name, addr) in zip(backends, DEMO_BACKENDS):
        if p.poll() is not None:
            print("run-demo: backend %s could not listen on %s: %s" % (name, addr, p.stderr.read().decode().strip()))
    print("run-demo: demo backends app1..app3 on 127.0.0.1:9001-9003")
    print("run-demo: try  nc 127.0.0.1 8080  (or: python3 -c \"import socket; "
          "print(socket.create_connection(('127.0.0.1', 8080)).recv(64))\")")
    print("run-demo: stats: ./epstat -r /tmp/easyproxy-demo   control: ./epctl -r /tmp/easyproxy-demo status")
    print("run-demo: Ctrl-C stops everything")
    sys.stdout.flush()
    proxy = subprocess.Popen([args.easyproxy, "-f", "-c", args.config])
    code = 0
    try:
        code = proxy.wait()
    except KeyboardInterrupt:
        proxy.send_signal(signal.SIGINT)
        try:
            code = proxy.wait(10)
        except subprocess.TimeoutExpired:
            proxy.kill()
            code = proxy.wait()
    finally:
        for p in backends:
            if p.poll() is None:
                p.terminate()
                p.wait(5)
    sys.exit(code)


if __name__ == "__main__":
    main()
