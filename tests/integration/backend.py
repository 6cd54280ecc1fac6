#!/usr/bin/env python3
"""Backend server for the integration tests and the `make run` demo.

One process listens on one address and behaves as --mode says:
  name    sends "<name>\\n" on connect, then echoes until EOF
  echo    echoes until EOF, then closes
  digest  reads until EOF, then replies "<bytes> <sha256>\\n" and closes
  source  sends --bytes bytes of a fixed pattern, shuts its write side, then
          reads until EOF and logs what it received
  http    answers every HTTP request with --status and the name as body
  banner  replies --banner to whatever it receives (send-expect checks)
  silent  accepts and never sends (blackhole-like server)
  late    stays quiet --delay seconds, then behaves as source (the server
          speaks first after a long silence)
It prints "READY host:port" once listening, then one line per event
("CONN peer", "RECV n sha", "CLOSE peer") on stdout so tests can count.
"""
import argparse
import hashlib
import os
import signal
import socket
import sys
import threading
import time


def log(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def read_to_eof(sock):
    """Reads until EOF; returns (byte count, sha256 hex) of what arrived."""
    h, total = hashlib.sha256(), 0
    while True:
        data = sock.recv(262144)
        if not data:
            return total, h.hexdigest()
        h.update(data)
        total += len(data)


def pattern(n):
    """n bytes of a fixed pattern, in 64 KiB chunks (what `source` sends)."""
    block = hashlib.sha256(b"easyproxy").digest() * 2048  # 64 KiB
    while n > 0:
        chunk = block[: min(n, len(block))]
        n -= len(chunk)
        yield chunk


def handle(conn, peer, args):
    try:
        if args.mode == "name":
            conn.sendall((args.name + "\n").encode())
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        elif args.mode == "echo":
            while True:
                data = conn.recv(262144)
                if not data:
                    break
                conn.sendall(data)
        elif args.mode == "digest":
            total, digest = read_to_eof(conn)
            log("RECV %d %s" % (total, digest))
            conn.sendall(("%d %s\n" % (total, digest)).encode())
        elif args.mode in ("source", "late"):
            if args.mode == "late":
                time.sleep(args.delay)
            for chunk in pattern(args.bytes):
                conn.sendall(chunk)
            conn.shutdown(socket.SHUT_WR)
            log("RECV %d %s" % read_to_eof(conn))
        elif args.mode == "http":
            buf = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                buf += data
                while b"\r\n\r\n" in buf:
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    line = head.split(b"\r\n", 1)[0].decode(errors="replace")
                    log("REQ " + line)
                    body = (args.name + "\n").encode()
                    conn.sendall(b"HTTP/1.1 %d Status\r\nContent-Length: %d\r\n\r\n%s"
                                 % (args.status, len(body), body))
        elif args.mode == "banner":
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(args.banner.encode())
        elif args.mode == "silent":
            while conn.recv(65536):
                pass
    except OSError:
        pass
    finally:
        conn.close()
        log("CLOSE %s:%d" % peer[:2])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True, help="host:port")
    p.add_argument("--mode", default="name")
    p.add_argument("--name", default="backend")
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--status", type=int, default=200)
    p.add_argument("--banner", default="+PONG\r\n")
    p.add_argument("--delay", type=float, default=0.0)
    args = p.parse_args()
    host, port = args.listen.rsplit(":", 1)
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(1024)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    log("READY %s:%d" % srv.getsockname()[:2])
    while True:
        conn, peer = srv.accept()
        log("CONN %s:%d" % peer[:2])
        threading.Thread(target=handle, args=(conn, peer, args), daemon=True).start()


if __name__ == "__main__":
    main()
