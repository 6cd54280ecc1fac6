#!/usr/bin/env python3
"""HTTP/1.1 origin server for the HTTP-mode integration tests: it logs exactly
what it receives, so a test can assert the head the proxy forwarded, and it
numbers its accepted connections and answers `X-Connection: <n>` on every
response, so reuse of a server connection shows (the nginx-tests trick).

Keep-alive by default; --close closes after every response, --idle-close S
closes a connection left idle S seconds between requests (without a word, as
servers with a short keep-alive timeout do), --drop reads and logs each request
and closes without answering (a server that fails mid-exchange). What it answers
depends on the request path:
  /fixed/N          N bytes of a fixed pattern, Content-Length
  /chunked/N        the same N bytes, chunked (64 KiB chunks)
  /digest           "<bytes> <sha256>\\n" of the request body (any framing)
  /sse?n=&interval=&framing=close|chunked
                    text/event-stream, "data: i\\n\\n" every interval seconds;
                    logs "SSE <conn> <i> <monotonic time>" as each is written
  /slow?delay=S     waits S seconds before the head (a silent server)
  /close            answers with Connection: close, then closes
  /status/NNN       that status (no body for 1xx, 204, 304)
  /frame/KIND       response framings: cl26 chunked chunked0 cl0 304 304cl100
                    seethis (chunked "SEE-THIS"); head26 (CL 26, a body only
                    to non-HEAD), head26extra (26 body bytes even to HEAD)
  /bad/KIND         invalid answers: garbage ("HELLO\\r\\n\\r\\n"), two-cl,
                    extra (CL 2 then "abEXTRA"), short (CL 100, 50 bytes,
                    close), 101 (101 to a plain request)
  /ws               WebSocket (RFC 6455) echo; logs "WS <conn> <opcode> <len>"
  anything else     200 with "<name>\\n"
Log lines on stdout: "READY host:port", "CONN <n> <peer>", "REQ <json>" (conn,
head as received, method, target, version, headers, body_len, body_sha,
body_raw: the first 4 KiB of the body bytes as framed on the wire),
"CLOSE <n>".

--aiohttp serves /sse alone (same query, chunked) from an aiohttp application
instead: an event stream written by a server framework others wrote.

As a module it offers Origin, the harness Process that runs this script.
"""
import argparse
import base64
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
RAW_KEEP = 4096


def log(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def pattern(n):
    """n bytes of a fixed pattern, in 64 KiB blocks."""
    block = hashlib.sha256(b"easyproxy-http").digest() * 2048
    while n > 0:
        chunk = block[: min(n, len(block))]
        n -= len(chunk)
        yield chunk


def pattern_digest(n):
    h = hashlib.sha256()
    for chunk in pattern(n):
        h.update(chunk)
    return h.hexdigest()


class Closed(Exception):
    pass


class Reader:
    """Buffered reads on a socket that keep the first RAW_KEEP bytes of what a
    body consumed (the raw framing) when `raw` is a bytearray."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.raw = None

    def _fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise Closed()
        self.buf += data

    def _take(self, n):
        out, self.buf = self.buf[:n], self.buf[n:]
        if self.raw is not None and len(self.raw) < RAW_KEEP:
            self.raw += out[: RAW_KEEP - len(self.raw)]
        return out

    def until(self, mark, limit=1 << 20):
        while mark not in self.buf:
            if len(self.buf) > limit:
                raise Closed()
            self._fill()
        return self._take(self.buf.index(mark) + len(mark))

    def some(self, most):
        if not self.buf:
            self._fill()
        return self._take(min(most, len(self.buf)))

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        return self._take(n)


def parse_head(head):
    text = head.decode("latin-1")
    lines = text[:-4].split("\r\n")
    parts = lines[0].split(" ")
    method, target, version = (parts + ["", "", ""])[:3]
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append([name, value.strip(" \t")])
    return method, target, version, headers


def header(headers, name):
    """Values of a header, case-insensitive name."""
    return [v for n, v in headers if n.lower() == name.lower()]


def read_body(reader, headers):
    """Reads the request body (chunked or Content-Length); returns
    (bytes, sha256, raw framing prefix)."""
    if [v for v in header(headers, "Expect") if v.lower() == "100-continue"]:
        reader.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    reader.raw = bytearray()
    h, total = hashlib.sha256(), 0
    te = header(headers, "Transfer-Encoding")
    cl = header(headers, "Content-Length")
    if te and te[-1].lower().endswith("chunked"):
        while True:
            size_line = reader.until(b"\r\n", 4096)
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while reader.until(b"\r\n", 65536) != b"\r\n":
                    pass   # trailer fields
                break
            left = size
            while left:
                data = reader.some(left)
                h.update(data)
                total += len(data)
                left -= len(data)
            reader.exact(2)
    elif cl:
        left = int(cl[0])
        while left:
            data = reader.some(left)
            h.update(data)
            total += len(data)
            left -= len(data)
    raw = bytes(reader.raw)
    reader.raw = None
    return total, h.hexdigest(), raw


def response(status, reason, n, name, headers=(), body=b"", length=True):
    head = "HTTP/1.1 %d %s\r\nX-Connection: %d\r\nX-Origin: %s\r\n" % (status, reason, n, name)
    for k, v in headers:
        head += "%s: %s\r\n" % (k, v)
    if length:
        head += "Content-Length: %d\r\n" % len(body)
    return head.encode() + b"\r\n" + body


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


def websocket_echo(sock, reader, n):
    """Echoes data frames (unmasked) until a close frame or EOF."""
    while True:
        b0, b1 = reader.exact(2)
        opcode, length = b0 & 0x0F, b1 & 0x7F
        if length == 126:
            length = struct.unpack("!H", reader.exact(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", reader.exact(8))[0]
        mask = reader.exact(4) if b1 & 0x80 else b"\0\0\0\0"
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(reader.exact(length)))
        log("WS %d %d %d" % (n, opcode, length))
        if length < 126:
            frame = bytes([0x80 | opcode, length])
        elif length < 65536:
            frame = bytes([0x80 | opcode, 126]) + struct.pack("!H", length)
        else:
            frame = bytes([0x80 | opcode, 127]) + struct.pack("!Q", length)
        sock.sendall(frame + data)
        if opcode == 8:
            return


def serve(sock, reader, n, args, first):
    """Answers one request; returns False when the connection is to close."""
    if args.idle_close and not first:
        sock.settimeout(args.idle_close)
    try:
        head = reader.until(b"\r\n\r\n")
    except socket.timeout:
        return False
    sock.settimeout(None)
    method, target, version, headers = parse_head(head)
    body_len, body_sha, body_raw = read_body(reader, headers)
    log("REQ " + json.dumps({"conn": n, "head": head.decode("latin-1"), "method": method,
                             "target": target, "version": version, "headers": headers,
                             "body_len": body_len, "body_sha": body_sha,
                             "body_raw": body_raw.decode("latin-1")}))
    if args.drop:
        return False
    url = urlsplit(target)
    path, query = url.path, {k: v[-1] for k, v in parse_qs(url.query).items()}
    parts = path.strip("/").split("/")
    name = args.name
    keep = not args.close
    if parts[0] == "fixed":
        size = int(parts[1])
        sock.sendall(response(200, "OK", n, name, [("Content-Length", size)], length=False))
        if method != "HEAD":
            for data in pattern(size):
                sock.sendall(data)
    elif parts[0] == "chunked":
        sock.sendall(response(200, "OK", n, name, [("Transfer-Encoding", "chunked")], length=False))
        for data in pattern(int(parts[1])):
            sock.sendall(chunk(data))
        sock.sendall(b"0\r\n\r\n")
    elif parts[0] == "digest":
        sock.sendall(response(200, "OK", n, name, body=b"%d %s\n" % (body_len, body_sha.encode())))
    elif parts[0] == "sse":
        count, interval = int(query.get("n", "3")), float(query.get("interval", "0.5"))
        chunked = query.get("framing", "close") == "chunked"
        extra = [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache")]
        extra.append(("Transfer-Encoding", "chunked") if chunked else ("Connection", "close"))
        sock.sendall(response(200, "OK", n, name, extra, length=False))
        for i in range(1, count + 1):
            event = b"data: %d\n\n" % i
            sock.sendall(chunk(event) if chunked else event)
            log("SSE %d %d %.6f" % (n, i, time.monotonic()))
            if i < count:
                time.sleep(interval)
        if chunked:
            sock.sendall(b"0\r\n\r\n")
        else:
            keep = False
    elif parts[0] == "slow":
        time.sleep(float(query.get("delay", "1")))
        sock.sendall(response(200, "OK", n, name, body=(name + "\n").encode()))
    elif parts[0] == "close":
        sock.sendall(response(200, "OK", n, name, [("Connection", "close")], (name + "\n").encode()))
        keep = False
    elif parts[0] == "status":
        status = int(parts[1])
        if status < 200 or status in (204, 304):
            sock.sendall(response(status, "Status", n, name, length=False))
        else:
            sock.sendall(response(status, "Status", n, name, body=(name + "\n").encode()))
    elif parts[0] == "frame":
        body26 = b"abcdefghijklmnopqrstuvwxyz"
        kind = parts[1]
        if kind == "cl26":
            sock.sendall(response(200, "OK", n, name, body=body26))
        elif kind == "chunked":
            sock.sendall(response(200, "OK", n, name, [("Transfer-Encoding", "chunked")], length=False)
                         + chunk(body26[:10]) + chunk(body26[10:]) + b"0\r\n\r\n")
        elif kind == "chunked0":
            sock.sendall(response(200, "OK", n, name, [("Transfer-Encoding", "chunked")], length=False)
                         + b"0\r\n\r\n")
        elif kind == "seethis":
            sock.sendall(response(200, "OK", n, name, [("Transfer-Encoding", "chunked")], length=False)
                         + b"8\r\nSEE-THIS\r\n0\r\n\r\n")
        elif kind == "cl0":
            sock.sendall(response(200, "OK", n, name))
        elif kind == "304":
            sock.sendall(response(304, "Not Modified", n, name, length=False))
        elif kind == "304cl100":
            sock.sendall(response(304, "Not Modified", n, name, [("Content-Length", 100)], length=False))
        elif kind == "head26":
            sock.sendall(response(200, "OK", n, name, [("Content-Length", 26)], length=False)
                         + (b"" if method == "HEAD" else body26))
        elif kind == "head26extra":
            sock.sendall(response(200, "OK", n, name, [("Content-Length", 26)], length=False) + body26)
    elif parts[0] == "bad":
        kind = parts[1]
        if kind == "garbage":
            sock.sendall(b"HELLO\r\n\r\n")
        elif kind == "two-cl":
            sock.sendall(b"HTTP/1.1 200 OK\r\nX-Connection: %d\r\nContent-Length: 2\r\n"
                         b"Content-Length: 3\r\n\r\nabc" % n)
        elif kind == "extra":
            sock.sendall(response(200, "OK", n, name, [("Content-Length", 2)], length=False) + b"abEXTRA")
        elif kind == "short":
            sock.sendall(response(200, "OK", n, name, [("Content-Length", 100)], length=False) + b"x" * 50)
            keep = False
        elif kind == "101":
            sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nX-Connection: %d\r\n"
                         b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n" % n)
    elif parts[0] == "ws" and [v for v in header(headers, "Upgrade") if v.lower() == "websocket"]:
        key = header(headers, "Sec-WebSocket-Key")[0].encode()
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()
        sock.sendall(response(101, "Switching Protocols", n, name,
                              [("Connection", "Upgrade"), ("Upgrade", "websocket"),
                               ("Sec-WebSocket-Accept", accept)], length=False))
        websocket_echo(sock, reader, n)
        return False
    else:
        sock.sendall(response(200, "OK", n, name, body=(name + "\n").encode()))
    return keep


def handle(sock, peer, n, args):
    reader = Reader(sock)
    try:
        first = True
        while serve(sock, reader, n, args, first):
            first = False
    except (Closed, OSError, ValueError, IndexError):
        pass
    finally:
        sock.close()
        log("CLOSE %d" % n)


def run_aiohttp(host, port):
    import asyncio
    from aiohttp import web

    async def sse(request):
        count, interval = int(request.query.get("n", "3")), float(request.query.get("interval", "0.5"))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-cache"})
        await resp.prepare(request)
        for i in range(1, count + 1):
            await resp.write(b"data: %d\n\n" % i)
            log("SSE 0 %d %.6f" % (i, time.monotonic()))
            if i < count:
                await asyncio.sleep(interval)
        await resp.write_eof()
        return resp

    async def serve_forever():
        app = web.Application()
        app.router.add_get("/sse", sse)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        log("READY %s:%d" % (host, port))
        await asyncio.Event().wait()
    asyncio.run(serve_forever())


def python_with(module):
    """An interpreter that imports `module`: this one, else Debian's (where
    python3-aiohttp and python3-websockets are installed)."""
    import subprocess
    for py in (sys.executable, "/usr/bin/python3"):
        if subprocess.run([py, "-c", "import " + module], stderr=subprocess.DEVNULL).returncode == 0:
            return py
    raise AssertionError("no python3 here imports %s (apt-get install python3-%s)" % (module, module))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True, help="host:port")
    p.add_argument("--name", default="origin")
    p.add_argument("--close", action="store_true", help="close after every response")
    p.add_argument("--idle-close", type=float, default=0, help="close after S seconds idle")
    p.add_argument("--drop", action="store_true", help="close after reading each request, no answer")
    p.add_argument("--aiohttp", action="store_true", help="serve /sse from aiohttp")
    args = p.parse_args()
    host, port = args.listen.rsplit(":", 1)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if args.aiohttp:
        return run_aiohttp(host, int(port))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(1024)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    log("READY %s:%d" % srv.getsockname()[:2])
    n = 0
    while True:
        conn, peer = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        n += 1
        log("CONN %d %s:%d" % (n, peer[0], peer[1]))
        threading.Thread(target=handle, args=(conn, peer, n, args), daemon=True).start()


if __name__ == "__main__":
    main()
else:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import harness  # noqa: E402

    class Origin(harness.Process):
        """This script as a test's child process, on a fresh loopback address."""

        def __init__(self, ip, name="origin", close=False, port=None, aiohttp=False, idle_close=0, drop=False):
            self.ip, self.name = ip, name
            self.port = port or harness.free_port(ip)
            self.addr = "%s:%d" % (ip, self.port)
            py = python_with("aiohttp") if aiohttp else sys.executable
            argv = [py, "-u", os.path.abspath(__file__), "--listen", self.addr, "--name", name]
            if close:
                argv.append("--close")
            if aiohttp:
                argv.append("--aiohttp")
            if idle_close:
                argv.append("--idle-close=%s" % idle_close)
            if drop:
                argv.append("--drop")
            super().__init__(argv)
            harness.wait_until(lambda: any(l.startswith("READY") for l in self.output()) or not self.alive(),
                               10, what="origin %s to listen" % name)
            if not self.alive():
                raise AssertionError("origin %s failed to start" % name)

        def connections(self):
            return self.count("CONN ")

        def requests(self, count=0):
            """What the origin received, one dict per request, in order; once
            it has logged `count` (its log reaches us a moment after the
            response may have)."""
            def logged():
                return [json.loads(l[4:]) for l in self.output() if l.startswith("REQ ")]
            if count:
                harness.wait_until(lambda: len(logged()) >= count, 5,
                                   what="%d requests logged by origin %s" % (count, self.name))
            return logged()

        def sse_times(self, count):
            """{event number: monotonic time the origin wrote it}, once
            `count` events were logged (a later event of a number wins)."""
            lines = harness.wait_until(lambda: (lambda ls: ls if len(ls) >= count else None)(
                [l.split() for l in self.output() if l.startswith("SSE ")]), 5, what="%d SSE events logged" % count)
            return {int(f[2]): float(f[3]) for f in lines}
