#!/usr/bin/env python3
"""A TLS server for the server_tls tests: HTTP/1.1 with keep-alive that
answers "<name> <connection number>\\n" to every request (so reuse of a
connection shows), or (--echo) a TLS echo server. --client-ca makes it
require a client certificate signed by that CA (mutual TLS).
Log lines: "READY host:port", "CONN <n> reused=0|1" (a resumed TLS session),
"REQ <n> <path>"."""
import argparse
import socket
import ssl
import threading


def serve_http(conn, n, name):
    data = b""
    while True:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, data = data.split(b"\r\n\r\n", 1)
        path = head.split(b" ")[1].decode()
        print("REQ %d %s" % (n, path), flush=True)
        body = ("%s %d\n" % (name, n)).encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def serve_echo(conn):
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return
        conn.sendall(chunk)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--name", default="tls")
    p.add_argument("--echo", action="store_true")
    p.add_argument("--client-ca")
    a = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(a.client_ca)
    host, port = a.listen.rsplit(":", 1)
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((host, int(port)))
    l.listen(128)
    print("READY %s" % a.listen, flush=True)
    count = 0
    while True:
        raw, _ = l.accept()
        count += 1

        def run(raw=raw, n=count):
            try:
                conn = ctx.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError) as e:
                print("FAIL %d %s" % (n, e), flush=True)
                raw.close()
                return
            print("CONN %d reused=%d" % (n, conn.session_reused), flush=True)
            try:
                serve_echo(conn) if a.echo else serve_http(conn, n, a.name)
            except (ssl.SSLError, OSError):
                pass
            finally:
                conn.close()
        threading.Thread(target=run, daemon=True).start()


if __name__ == "__main__":
    main()
