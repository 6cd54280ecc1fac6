"""TLS termination (DESIGN §9) with real clients: curl and openssl s_client
over TLS 1.2 and 1.3, SNI, the protocol floor, session resumption across
workers, bulk transfers both ways, a WebSocket over wss://, handshakes that
never finish, tcp mode in front of a plain server (half-closes included),
`easyproxy -t` on bad files, and reloads that swap a certificate (or refuse a
bad one).

Certificates are made at test time with the openssl command into the test's
temporary directory: a test CA, server certificates with SANs signed by it,
an expired one, one that expires soon, and keys that match nothing."""
import hashlib
import json
import os
import re
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import EASYPROXY, new_ip, wait_until  # noqa: E402
from backend import pattern as source_pattern  # noqa: E402
from http_origin import Origin, pattern_digest  # noqa: E402
from test_http import websocket_client  # noqa: E402

MIB = 1 << 20


def openssl(*args, stdin=None):
    r = subprocess.run(["openssl"] + list(args), input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    if r.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r


class Pki:
    """A test CA and certificates it signs, in `directory`."""

    def __init__(self, directory):
        self.dir = directory
        self.ca_key = self.path("ca.key")
        self.ca = self.path("ca.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                self.ca_key, "-out", self.ca, "-days", "30", "-subj", "/CN=easyproxy test CA")

    def path(self, name):
        return os.path.join(self.dir, name)

    def issue(self, name, sans, days=30, key="ec", start=None, ca=True):
        """A certificate for `sans` (DNS names) signed by the CA (or
        self-signed with ca=False); returns (cert, key) paths. `start`: an
        openssl -not_before date, to make an expired one."""
        key_path, csr, cert = self.path(name + ".key"), self.path(name + ".csr"), self.path(name + ".pem")
        newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key == "ec" else ["-newkey", "rsa:2048"]
        openssl("req", *newkey, "-nodes", "-keyout", key_path, "-out", csr, "-subj", "/CN=" + sans[0])
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=" + ",".join("DNS:" + s for s in sans) + "\n")
        if start:
            # `openssl ca` is the one command that takes explicit dates.
            db = self.path(name + ".db")
            open(db, "w").close()
            conf = self.path(name + ".cnf")
            with open(conf, "w") as f:
                f.write("[ca]\ndefault_ca=d\n[d]\ndatabase=%s\nnew_certs_dir=%s\nserial=%s\ndefault_md=sha256\n"
                        "policy=p\nunique_subject=no\n[p]\ncommonName=supplied\n" % (db, self.dir, self.path(name + ".srl")))
            with open(self.path(name + ".srl"), "w") as f:
                f.write("01\n")
            openssl("ca", "-batch", "-config", conf, "-cert", self.ca, "-keyfile", self.ca_key, "-in", csr, "-out",
                    cert, "-startdate", start, "-enddate", time.strftime("%Y%m%d%H%M%SZ",
                                                                           time.gmtime(time.time() + days * 86400)),
                    "-extfile", ext, "-notext")
        elif ca:
            openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial", "-out",
                    cert, "-days", str(days), "-extfile", ext)
        else:
            openssl("x509", "-req", "-in", csr, "-signkey", key_path, "-out", cert, "-days", str(days), "-extfile", ext)
        return cert, key_path


def s_client(addr, *args, data=b"", servername=None):
    """openssl s_client once; returns (exit code, stdout+stderr text)."""
    argv = ["openssl", "s_client", "-connect", addr]
    if servername:
        argv += ["-servername", servername]
    r = subprocess.run(argv + list(args), input=data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    return r.returncode, r.stdout.decode(errors="replace")


def subject_cn(text):
    m = re.search(r"^subject=.*?CN ?= ?([^,/\n]+)", text, re.M)
    return m.group(1).strip() if m else None


class TlsCase(harness.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(self.tmp)
        self.www = self.pki.issue("www", ["www.example.test", "example.test"])
        self.wild = self.pki.issue("wild", ["*.api.test"])

    def tls_group(self, certs=None, **keys):
        certs = certs or [self.www, self.wild]
        g = {"certificates": [{"cert": c, "key": k} for c, k in certs]}
        g.update(keys)
        return g

    def https_proxy(self, tls=None, workers=2, **svc_keys):
        self.origin = Origin(new_ip(), name="o1")
        self.procs.append(self.origin)
        svc, addr = self.service([{"name": "o1", "address": self.origin.addr}], mode="http",
                                 tls=tls or self.tls_group(), **svc_keys)
        self.addr = addr
        self.ip, self.port = addr.rsplit(":", 1)
        return self.proxy([svc], workers=workers)

    def curl(self, path, name="www.example.test", *extra):
        argv = ["curl", "-sS", "--cacert", self.pki.ca, "--resolve", "%s:%s:%s" % (name, self.port, self.ip),
                "https://%s:%s%s" % (name, self.port, path)] + list(extra)
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)

    def tls_stats(self, proxy, service="svc"):
        services = json.loads(proxy.epstat("-o", "json", "services").stdout)["services"]
        return [s for s in services if s["service"] == service][0]


class Termination(TlsCase):
    def test_curl_over_tls12_and_tls13(self):
        p = self.https_proxy()
        for version, flags in (("TLSv1.2", ["--tlsv1.2", "--tls-max", "1.2"]), ("TLSv1.3", ["--tlsv1.3"])):
            r = self.curl("/hello", "www.example.test", "-w", "\n%{http_code} %{ssl_verify_result}", "-v", *flags)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.decode(), "o1\n\n200 0")
            self.assertIn("SSL connection using " + version, r.stderr.decode())
            # curl offers h2 first: HTTP/2 is not built, so it is never chosen
            self.assertIn("ALPN: offers h2", r.stderr.decode())
            self.assertIn("ALPN: server accepted http/1.1", r.stderr.decode())
        reqs = self.origin.requests(2)
        for req in reqs:
            self.assertIn(["X-Forwarded-Proto", "https"], req["headers"])
        s = self.tls_stats(p)
        self.assertEqual((s["tls_handshakes"], s["tls_resumed"]), (2, 0))

    def test_sni_picks_the_certificate_by_its_own_names(self):
        self.https_proxy()
        cases = [("www.example.test", "www.example.test"), ("example.test", "www.example.test"),
                 ("v1.api.test", "*.api.test"), ("API.test", "www.example.test"),       # wildcard needs a label
                 ("a.b.api.test", "www.example.test"), ("unknown.test", "www.example.test")]
        for name, cn in cases:
            code, out = s_client(self.addr, "-CAfile", self.pki.ca, servername=name)
            self.assertEqual(code, 0, out)
            self.assertEqual(subject_cn(out), cn, name)
        code, out = s_client(self.addr, "-noservername")
        self.assertEqual(subject_cn(out), "www.example.test")   # no SNI: the first is the default

    def test_websocket_over_tls(self):
        """wss://: the upgrade and the frames after it go through the TLS
        stream both ways; the connection is gone after the close."""
        p = self.https_proxy()
        r = websocket_client(self.addr, "['hello', b'\\x00' * 70000]", cafile=self.pki.ca,
                             server_hostname="www.example.test")
        self.assertEqual((r.returncode, r.stdout), (0, "str 5 True\nbytes 70000 True\n"), r.stderr)
        # text, binary, close (code 1000), as the origin logged them
        frames = lambda: [l.split()[2:] for l in self.origin.output() if l.startswith("WS ")]
        wait_until(lambda: len(frames()) == 3, 5, what="3 frames logged")
        self.assertEqual(frames(), [["1", "5"], ["2", "70000"], ["8", "2"]])
        wait_until(lambda: self.tls_stats(p)["active"] == 0, 5, what="the connection gone after the close")
        self.assertEqual(self.tls_stats(p)["tls_handshakes"], 1)

    def test_tls11_refused_when_min_version_is_12(self):
        p = self.https_proxy(tls=self.tls_group(min_version="1.2"))
        code, out = s_client(self.addr, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", servername="www.example.test")
        self.assertNotEqual(code, 0)
        self.assertRegex(out, r"alert protocol version|unsupported protocol|no protocols available")
        wait_until(lambda: self.tls_stats(p)["tls_failures_protocol"] == 1, 5, what="a protocol failure counted")
        self.assertEqual(self.tls_stats(p)["tls_handshakes"], 0)
        # 1.3 only refuses 1.2
        p.stop()
        p = self.https_proxy(tls=self.tls_group(min_version="1.3"))
        self.assertNotEqual(self.curl("/", "www.example.test", "--tls-max", "1.2").returncode, 0)
        self.assertEqual(self.curl("/", "www.example.test").returncode, 0)

    def test_failures_are_counted_by_reason(self):
        p = self.https_proxy(tls=self.tls_group(ciphers="ECDHE-ECDSA-AES256-GCM-SHA384"))
        code, out = s_client(self.addr, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA", servername="www.example.test")
        self.assertNotEqual(code, 0)
        # a client that does not trust our CA says so with an alert
        os.makedirs(os.path.join(self.tmp, "other"))
        other_ca = Pki(os.path.join(self.tmp, "other"))
        code, out = s_client(self.addr, "-CAfile", other_ca.ca, "-verify_return_error", servername="www.example.test")
        self.assertNotEqual(code, 0)
        with socket.create_connection((self.ip, int(self.port)), timeout=5) as s:  # not TLS at all
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                s.recv(100)   # an alert, then the close (or a reset)
            except ConnectionResetError:
                pass
        want = {"tls_failures_no_shared_cipher": 1, "tls_failures_unknown_ca": 1, "tls_failures_protocol": 1,
                "tls_failures_timeout": 0, "tls_failures_other": 0, "tls_handshakes": 0}
        wait_until(lambda: {k: self.tls_stats(p)[k] for k in want} == want, 5, what="failures by reason")
        metrics = p.epstat("-o", "prometheus").stdout
        self.assertIn('easyproxy_service_tls_handshake_failures_total{service="svc",reason="unknown_ca"} 1', metrics)

    def new_session(self, flags):
        """A session (with its ticket) saved by s_client; returns the file."""
        sess = os.path.join(self.tmp, "sess-%s-%f.pem" % (flags[0], time.monotonic()))
        # TLS 1.3 sends the ticket after the handshake: keep the client open
        # until it arrived (s_client writes -sess_out on arrival).
        c = subprocess.Popen(["openssl", "s_client", "-connect", self.addr, "-servername", "www.example.test",
                              "-CAfile", self.pki.ca, "-sess_out", sess] + flags,
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: os.path.exists(sess) and os.path.getsize(sess) > 0, 10, what="a session ticket")
            time.sleep(0.2)  # the file is written whole before s_client reads on
        finally:
            c.stdin.close()
            c.wait(10)
        return sess

    def test_resumption_survives_a_reload(self):
        """The ticket keys live in the master, not in the SSL_CTXs a reload
        builds again: a client keeps resuming on the new generation."""
        p = self.https_proxy(workers=2)
        sessions = {f: self.new_session([f]) for f in ("-tls1_2", "-tls1_3")}
        self.assertIn("reloaded", p.epctl("reload").stdout)
        wait_until(lambda: len(p.worker_pids()) == 2, 10, what="the old generation to leave")
        for flag, sess in sessions.items():
            for attempt in range(4):
                code, out = s_client(self.addr, "-CAfile", self.pki.ca, "-sess_in", sess, flag,
                                     servername="www.example.test")
                self.assertIn("Reused, TLSv1.", out, "%s attempt %d after the reload" % (flag, attempt))

    def test_resumption_across_two_workers(self):
        p = self.https_proxy(workers=2)
        for flags in (["-tls1_2"], ["-tls1_3"]):
            sess = self.new_session(flags)
            before = {w["pid"]: w["accepted"] for w in json.loads(p.epstat("-o", "json", "workers").stdout)["workers"]}
            reused = 0
            for attempt in range(60):
                code, out = s_client(self.addr, "-CAfile", self.pki.ca, "-sess_in", sess, *flags,
                                     servername="www.example.test")
                self.assertEqual(code, 0, out)
                self.assertIn("Reused, TLSv1.", out, "attempt %d was a full handshake" % attempt)
                reused += 1
                after = {w["pid"]: w["accepted"] for w in json.loads(p.epstat("-o", "json", "workers").stdout)["workers"]}
                if attempt >= 5 and all(after[pid] > before.get(pid, 0) for pid in after):
                    break
            self.assertTrue(all(after[pid] > before.get(pid, 0) for pid in after),
                            "both workers resumed a session: %r -> %r" % (before, after))
        s = self.tls_stats(p)
        self.assertEqual(s["tls_handshakes"], 2 + s["tls_resumed"])
        self.assertGreaterEqual(s["tls_resumed"], 12)

    def test_256_mib_download_and_upload(self):
        self.https_proxy()
        n = 256 * MIB
        r = self.curl("/fixed/%d" % n, "www.example.test", "-o", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), n)
        self.assertEqual(hashlib.sha256(r.stdout).hexdigest(), pattern_digest(n))
        body = os.path.join(self.tmp, "upload.bin")
        h = hashlib.sha256()
        with open(body, "wb") as f:
            block = os.urandom(MIB)
            for i in range(256):
                chunk = hashlib.sha256(block + bytes([i])).digest() * (MIB // 32)
                f.write(chunk)
                h.update(chunk)
        r = self.curl("/digest", "www.example.test", "--data-binary", "@" + body, "-H", "Expect:")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode().split(), [str(n), h.hexdigest()])

    def test_unfinished_handshakes_do_not_stop_others(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1200:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        p = self.https_proxy(tls=self.tls_group(handshake_timeout="3s"), workers=2)
        idle = []
        hello = None
        try:
            for i in range(1000):
                s = socket.create_connection((self.ip, int(self.port)), timeout=5)
                if i % 2:  # half send a ClientHello's first bytes, half nothing
                    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
                idle.append(s)
            start = time.monotonic()
            for _ in range(5):
                r = self.curl("/x", "www.example.test")
                self.assertEqual((r.returncode, r.stdout), (0, b"o1\n"), r.stderr)
            self.assertLess(time.monotonic() - start, 3.0)
            # Each waits out its own handshake_timeout, then is counted and closed.
            wait_until(lambda: self.tls_stats(p)["tls_failures_timeout"] == 1000, 15, what="1000 handshake timeouts")
            hello = idle[0].recv(1)
        finally:
            for s in idle:
                s.close()
        self.assertEqual(hello, b"")  # closed by the proxy
        s = self.tls_stats(p)
        self.assertEqual((s["tls_handshakes"], s["active"]), (5, 0))


class Stats(TlsCase):
    def test_certificates_and_their_expiry(self):
        soon = self.pki.issue("soon", ["soon.test"], days=5)
        origin = Origin(new_ip(), name="o1")
        self.procs.append(origin)
        svc, addr = self.service([{"name": "o1", "address": origin.addr}], mode="http",
                                 tls=self.tls_group(certs=[self.www, soon]))
        sip = new_ip()
        stats_addr = "%s:%d" % (sip, harness.free_port(sip))
        p = self.proxy([svc], stats={"listen": stats_addr})
        def not_after(cert):
            out = openssl("x509", "-in", cert, "-noout", "-enddate").stdout.decode().strip().split("=", 1)[1]
            import calendar
            return calendar.timegm(time.strptime(out, "%b %d %H:%M:%S %Y GMT"))
        certs = json.loads(p.epstat("-o", "json", "certificates").stdout)["certificates"]
        self.assertEqual(certs, [
            {"service": "svc", "certificate": self.www[0], "names": "www.example.test,example.test",
             "not_after_unix": not_after(self.www[0])},
            {"service": "svc", "certificate": soon[0], "names": "soon.test", "not_after_unix": not_after(soon[0])}])
        import urllib.request
        metrics = urllib.request.urlopen("http://%s/metrics" % stats_addr, timeout=5).read().decode()
        self.assertIn('easyproxy_tls_certificate_expiry_timestamp_seconds{service="svc",cert="%s",names="soon.test"} %d'
                      % (soon[0], not_after(soon[0])), metrics)
        table = p.epstat("certificates").stdout
        self.assertRegex(table, r"svc\s+%s\s+soon\.test\s+\S+ \S+\s+[45]\b" % re.escape(soon[0]))
        status = p.epctl("status").stdout
        self.assertRegex(status, r"certificate svc %s \(soon\.test\) expires in [45] days" % re.escape(soon[0]))
        self.assertNotIn(self.www[0], status)  # 30 days left: not listed
        page = urllib.request.urlopen("http://%s/" % stats_addr, timeout=5).read().decode()
        self.assertIn('id="certificates"', page)


class TcpMode(TlsCase):
    def test_tls_front_for_a_plain_tcp_server(self):
        backend = self.backend(mode="echo")
        svc, addr = self.service([backend], mode="tcp", tls=self.tls_group())
        p = self.proxy([svc])
        ip, port = addr.rsplit(":", 1)
        ctx = ssl.create_default_context(cafile=self.pki.ca)
        payload = os.urandom(3 * MIB)
        step = 256 * 1024
        with socket.create_connection((ip, int(port)), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="www.example.test") as s:
                # One thread: an SSL object must not be read and written from
                # two at once. Each step is echoed whole before the next.
                got = bytearray()
                for off in range(0, len(payload), step):
                    s.sendall(payload[off:off + step])
                    while len(got) < min(len(payload), off + step):
                        chunk = s.recv(1 << 16)
                        if not chunk:
                            break
                        got += chunk
                self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(payload).hexdigest())
        self.assertEqual(self.tls_stats(p)["tls_handshakes"], 1)

    def test_half_close_passes_both_ways(self):
        """A TLS client's close_notify reaches a plain server as a FIN after
        exactly the bytes sent, and the answer still comes back; a server's
        FIN reaches the client as close_notify after exactly its bytes, and
        the client may still send."""
        n, m, k = 3 * MIB + 17, 2 * MIB + 5, 12345
        digest_backend = self.backend(name="digest", mode="digest")
        source_backend = self.backend(name="source", mode="source", bytes=m)
        svc_d, addr_d = self.service([digest_backend], name="d", mode="tcp", tls=self.tls_group())
        svc_s, addr_s = self.service([source_backend], name="s", mode="tcp", tls=self.tls_group())
        p = self.proxy([svc_d, svc_s])
        payload = os.urandom(n)
        s = self.tls_client(addr_d)
        try:
            s.sendall(payload)
            self.assertTrue(self.close_notify(s))
            answer = self.read_to_eof(s)
        finally:
            s.close()
        self.assertEqual(answer, b"%d %s\n" % (n, hashlib.sha256(payload).hexdigest().encode()))
        self.assertEqual(digest_backend.count("RECV %d " % n), 1)

        s = self.tls_client(addr_s)
        try:
            got = self.read_to_eof(s)       # the server's FIN, as close_notify
            s.sendall(b"k" * k)             # our direction is still open
            self.assertFalse(self.close_notify(s))
        finally:
            s.close()
        self.assertEqual((len(got), hashlib.sha256(got).hexdigest()),
                         (m, hashlib.sha256(b"".join(source_pattern(m))).hexdigest()))
        wait_until(lambda: source_backend.count("RECV %d %s" % (k, hashlib.sha256(b"k" * k).hexdigest())) == 1, 5,
                   what="the source server to read our bytes, then EOF")
        wait_until(lambda: (self.tls_stats(p, "d")["active"], self.tls_stats(p, "s")["active"]) == (0, 0), 5,
                   what="both connections gone")

    def tls_client(self, addr):
        ip, port = addr.rsplit(":", 1)
        ctx = ssl.create_default_context(cafile=self.pki.ca)
        return ctx.wrap_socket(socket.create_connection((ip, int(port)), timeout=10), server_hostname="www.example.test")

    @staticmethod
    def close_notify(s):
        """Closes our write side the TLS way: a close_notify, and reading goes
        on (RFC 8446 §6.1), as Go's CloseWrite does. Python's unwrap() sends
        it, then waits for the peer's (unless that came already); non-blocking,
        it returns at once. Returns whether the peer may still send."""
        s.setblocking(False)
        try:
            s.unwrap()
            return False
        except ssl.SSLWantReadError:
            s.settimeout(10)
            return True

    @staticmethod
    def read_to_eof(s):
        got = bytearray()
        while True:
            try:
                chunk = s.recv(1 << 16)
            except ssl.SSLZeroReturnError:   # close_notify after our own
                break
            if not chunk:
                break
            got += chunk
        return bytes(got)

    def test_tls_front_for_redis(self):
        server = shutil.which("redis-server")
        if not server:
            self.skipTest("needs redis-server (Debian package redis-server)")
        ip = new_ip()
        rport = harness.free_port(ip)
        redis = harness.Process([server, "--bind", ip, "--port", str(rport), "--save", "", "--appendonly", "no"])
        self.procs.append(redis)
        wait_until(lambda: self._can_connect(ip, rport), 10, what="redis to listen")
        svc, addr = self.service([{"name": "r1", "address": "%s:%d" % (ip, rport)}], mode="tcp",
                                 tls=self.tls_group())
        self.proxy([svc])
        pip, pport = addr.rsplit(":", 1)
        ctx = ssl.create_default_context(cafile=self.pki.ca)
        with ctx.wrap_socket(socket.create_connection((pip, int(pport)), timeout=10),
                             server_hostname="www.example.test") as s:
            value = "v" * 100000
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" %
                      (len(value), value.encode()))
            want = b"+OK\r\n$%d\r\n%s\r\n" % (len(value), value.encode())
            got = b""
            while len(got) < len(want):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            self.assertEqual(got, want)

    @staticmethod
    def _can_connect(ip, port):
        try:
            socket.create_connection((ip, port), timeout=1).close()
            return True
        except OSError:
            return False


TLS_ORIGIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls_origin.py")


class ToServers(TlsCase):
    def tls_origin(self, name, cert, *extra):
        ip = new_ip()
        addr = "%s:%d" % (ip, harness.free_port(ip))
        o = harness.Process([sys.executable, "-u", TLS_ORIGIN, "--listen", addr, "--cert", cert[0], "--key", cert[1],
                             "--name", name] + list(extra))
        self.procs.append(o)
        wait_until(lambda: any(l.startswith("READY") for l in o.output()) or not o.alive(), 10,
                   what="TLS origin %s" % name)
        o.addr = addr
        return o

    def test_verified_servers_and_an_untrusted_one(self):
        backend = self.pki.issue("backend", ["backend.test"])
        rogue = self.pki.issue("rogue", ["backend.test"], ca=False)  # self-signed: not from ca_file
        good = self.tls_origin("good", backend)
        bad = self.tls_origin("bad", rogue)
        svc, addr = self.service([{"name": "bad", "address": bad.addr}, {"name": "good", "address": good.addr}],
                                 mode="http", retries=2,
                                 server_tls={"verify": True, "ca_file": self.pki.ca, "sni": "backend.test"},
                                 passive={"max_fails": 0})
        p = self.proxy([svc])
        ip, port = addr.rsplit(":", 1)
        import http.client
        answers = []
        for _ in range(3):  # each client connection: two requests
            c = http.client.HTTPConnection(ip, int(port), timeout=10)
            for _ in range(2):
                c.request("GET", "/x")
                r = c.getresponse()
                answers.append((r.status, r.read().decode().split()[0]))
            c.close()
        self.assertEqual(answers, [(200, "good")] * 6)
        self.assertFalse(any(l.startswith("CONN") for l in bad.output()))  # no handshake ever finished
        servers = {s["server"]: s for s in json.loads(p.epstat("-o", "json", "servers").stdout)["servers"]}
        self.assertGreaterEqual(servers["bad"]["failures"], 1)
        self.assertEqual(servers["good"]["failures"], 0)
        svc_stats = self.tls_stats(p)
        self.assertEqual(svc_stats["tls_server_failures"], servers["bad"]["failures"])
        self.assertGreaterEqual(svc_stats["server_connections_reused"], 1)  # TLS connections kept alive
        self.assertIn("TLS handshake failed", p.log())

    def test_http_health_checks_go_over_tls(self):
        backend = self.pki.issue("backend", ["backend.test"])
        rogue = self.pki.issue("rogue", ["backend.test"], ca=False)
        good = self.tls_origin("good", backend)
        bad = self.tls_origin("bad", rogue)
        svc, _ = self.service([{"name": "bad", "address": bad.addr}, {"name": "good", "address": good.addr}],
                              mode="http", server_tls={"ca_file": self.pki.ca, "sni": "backend.test"},
                              health_check={"type": "http", "path": "/health", "interval": "300ms",
                                            "timeout": "300ms", "rise": 1, "fall": 1})
        p = self.proxy([svc])

        def servers():
            return {s["server"]: s for s in json.loads(p.epstat("-o", "json", "servers").stdout)["servers"]}
        wait_until(lambda: servers()["good"]["health"] == "up" and servers()["bad"]["health"] == "down", 10,
                   what="good up, bad down")
        self.assertEqual(servers()["bad"]["last_check"], "TLS handshake failed: unknown_ca")
        self.assertIn("/health", " ".join(l for l in good.output() if l.startswith("REQ")))

    def test_tcp_mode_to_a_tls_server_with_a_client_certificate(self):
        backend = self.pki.issue("backend", ["backend.test"])
        client = self.pki.issue("client", ["easyproxy.test"])
        echo = self.tls_origin("echo", backend, "--echo", "--client-ca", self.pki.ca)
        svc, addr = self.service([{"name": "e", "address": echo.addr}], mode="tcp",
                                 server_tls={"ca_file": self.pki.ca, "sni": "backend.test",
                                             "cert": client[0], "key": client[1]})
        self.proxy([svc], workers=1)
        ip, port = addr.rsplit(":", 1)
        for _ in range(3):
            payload = os.urandom(2 * MIB)
            with socket.create_connection((ip, int(port)), timeout=10) as s:
                sender = threading.Thread(target=s.sendall, args=(payload,))
                sender.start()
                got = bytearray()
                while len(got) < len(payload):
                    chunk = s.recv(1 << 16)
                    if not chunk:
                        break
                    got += chunk
                sender.join(10)
            self.assertEqual(hashlib.sha256(got).digest(), hashlib.sha256(payload).digest())
        # The worker kept the server's session: later connections resume it.
        conns = wait_until(lambda: (lambda c: c if len(c) == 3 else None)(
            [l for l in echo.output() if l.startswith("CONN")]), 5, what="3 connections logged")
        self.assertEqual([c.split()[2] for c in conns], ["reused=0", "reused=1", "reused=1"])


class ConfigCheck(TlsCase):
    def check(self, certs):
        path = os.path.join(self.tmp, "t.conf")
        lines = ['services = ( { name = "web"; listen = "127.0.0.1:1"; mode = "http";',
                 '  tls = { certificates = (']
        first = len(lines) + 1
        lines += ['    { cert = "%s"; key = "%s"; },' % (c, k) for c, k in certs]
        lines[-1] = lines[-1].rstrip(",")
        lines += ["  ); };", '  servers = ( { name = "a"; address = "127.0.0.1:2"; } ); } );']
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([EASYPROXY, "-t", "-c", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30, text=True)
        return r.returncode, r.stderr.splitlines(), path, first

    def test_each_bad_file_is_named_at_its_line(self):
        other_key = self.pki.issue("other", ["other.test"])[1]
        missing = os.path.join(self.tmp, "missing.pem")
        a_dir = os.path.join(self.tmp, "adir")
        os.mkdir(a_dir)
        not_cert = os.path.join(self.tmp, "notcert.pem")
        with open(not_cert, "w") as f:
            f.write("hello\n")
        www_cert, www_key = self.www
        code, err, path, first = self.check([(www_cert, www_key), (missing, www_key), (www_cert, a_dir),
                                             (not_cert, www_key), (www_cert, other_key)])
        self.assertEqual(code, 1)
        p = "services[0].tls.certificates"
        self.assertEqual(err, [
            "%s:%d: %s[1].cert: cannot read %s: No such file or directory" % (path, first + 1, p, missing),
            "%s:%d: %s[2].key: cannot read %s: Is a directory" % (path, first + 2, p, a_dir),
            "%s:%d: %s[3].cert: %s holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")"
            % (path, first + 3, p, not_cert),
            "%s:%d: %s[4].key: %s does not match the certificate %s" % (path, first + 4, p, other_key, www_cert),
        ])

    def test_expiry_warnings(self):
        soon = self.pki.issue("soon", ["soon.test"], days=5)
        expired = self.pki.issue("expired", ["old.test"], days=-2, start="20200101000000Z")
        code, err, path, first = self.check([self.www, soon, expired])
        self.assertEqual(code, 0, err)
        self.assertEqual(len(err), 2, err)
        self.assertRegex(err[0], r"^%s:%d: services\[0\]\.tls\.certificates\[1\]\.cert: warning: certificate %s "
                                 r"\(soon\.test\) expires in [45] days \(" % (re.escape(path), first + 1,
                                                                           re.escape(soon[0])))
        self.assertRegex(err[1], r"^%s:%d: services\[0\]\.tls\.certificates\[2\]\.cert: warning: certificate %s "
                                 r"\(old\.test\) expired on " % (re.escape(path), first + 2, re.escape(expired[0])))


class Reload(TlsCase):
    def served_cn(self):
        code, out = s_client(self.addr, "-CAfile", self.pki.ca, servername="www.example.test")
        return subject_cn(out)

    def test_reload_swaps_a_certificate_under_load(self):
        live_cert, live_key = self.pki.path("live.pem"), self.pki.path("live.key")
        shutil.copy(self.www[0], live_cert)
        shutil.copy(self.www[1], live_key)
        p = self.https_proxy(tls=self.tls_group(certs=[(live_cert, live_key)]))
        self.assertEqual(self.served_cn(), "www.example.test")
        renewed = self.pki.issue("renewed", ["www.example.test", "renewed.example.test"])
        failures, done, stop = [], [0], threading.Event()
        ctx = ssl.create_default_context(cafile=self.pki.ca)

        def load():
            while not stop.is_set():
                try:
                    with ctx.wrap_socket(socket.create_connection((self.ip, int(self.port)), timeout=5),
                                         server_hostname="www.example.test") as s:
                        s.sendall(b"GET / HTTP/1.1\r\nHost: www.example.test\r\nConnection: close\r\n\r\n")
                        data = b""
                        while True:
                            chunk = s.recv(4096)
                            if not chunk:
                                break
                            data += chunk
                        if not data.startswith(b"HTTP/1.1 200"):
                            failures.append(data[:100])
                        done[0] += 1
                except (OSError, ssl.SSLError) as e:
                    failures.append(repr(e))
        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: done[0] >= 20, 10, what="load running")
            shutil.copy(renewed[0], live_cert)
            shutil.copy(renewed[1], live_key)
            r = p.epctl("reload")
            self.assertIn("reloaded", r.stdout)
            count = done[0]
            wait_until(lambda: done[0] >= count + 50, 15, what="load after the reload")
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        self.assertEqual(failures, [])
        code, out = s_client(self.addr, "-CAfile", self.pki.ca, servername="renewed.example.test")
        self.assertIn("DNS:renewed.example.test", subprocess.run(
            ["openssl", "x509", "-noout", "-ext", "subjectAltName"], input=out.encode(), stdout=subprocess.PIPE,
            timeout=10).stdout.decode())

    def test_watch_reloads_a_renewed_certificate(self):
        """With global.watch, renewing the files is enough: no signal."""
        live_cert, live_key = self.pki.path("live.pem"), self.pki.path("live.key")
        shutil.copy(self.www[0], live_cert)
        shutil.copy(self.www[1], live_key)
        self.origin = Origin(new_ip(), name="o1")
        self.procs.append(self.origin)
        svc, self.addr = self.service([{"name": "o1", "address": self.origin.addr}], mode="http",
                                      tls=self.tls_group(certs=[(live_cert, live_key)]))
        self.ip, self.port = self.addr.rsplit(":", 1)
        p = self.proxy([svc], watch=True)
        renewed = self.pki.issue("renewed", ["www.example.test", "renewed.example.test"])
        # key first, then the certificate: the reload that sees both matching wins
        shutil.copy(renewed[1], live_key + ".new")
        shutil.copy(renewed[0], live_cert + ".new")
        os.rename(live_key + ".new", live_key)
        os.rename(live_cert + ".new", live_cert)

        def served_names():
            code, out = s_client(self.addr, "-CAfile", self.pki.ca, servername="www.example.test")
            return subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"], input=out.encode(),
                                  stdout=subprocess.PIPE, timeout=10).stdout.decode()
        wait_until(lambda: "renewed.example.test" in served_names(), 10, what="the renewed certificate served")

    def test_a_bad_new_certificate_keeps_the_old(self):
        live_cert, live_key = self.pki.path("live.pem"), self.pki.path("live.key")
        shutil.copy(self.www[0], live_cert)
        shutil.copy(self.www[1], live_key)
        p = self.https_proxy(tls=self.tls_group(certs=[(live_cert, live_key)]))
        other_key = self.pki.issue("other", ["other.test"])[1]
        shutil.copy(other_key, live_key)  # a key that does not match the certificate
        r = p.epctl("reload", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s does not match the certificate %s" % (live_key, live_cert), r.stdout + r.stderr)
        self.assertIn("does not match the certificate", p.log())
        self.assertEqual(self.curl("/", "www.example.test").stdout, b"o1\n")  # still the old one


if __name__ == "__main__":
    harness.main()
