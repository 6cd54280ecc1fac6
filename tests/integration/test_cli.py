"""Command-line behaviour of easyproxy, epstat and epctl that needs no running
daemon: `easyproxy -t` on good and bad files, versions, usage errors."""
import glob
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import EASYPROXY, EPCTL, EPSTAT, TOP_SRCDIR, run_tool  # noqa: E402


class ConfigTest(harness.ProxyTestCase):
    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_shipped_configs_are_valid(self):
        files = [os.path.join(TOP_SRCDIR, "conf", "easyproxy.conf"), os.path.join(TOP_SRCDIR, "conf", "demo.conf")]
        files += sorted(glob.glob(os.path.join(TOP_SRCDIR, "conf", "examples", "*.conf")))
        for path in files:
            r = run_tool([EASYPROXY, "-t", "-c", path], check=False)
            self.assertEqual(r.returncode, 0, r.stderr)
            # a gateway's route table follows the verdict
            valid = "%s: configuration is valid\n" % path
            if path.endswith("gateway.conf"):
                self.assertTrue(r.stdout.startswith(valid + "entry point edge: "), r.stdout)
            else:
                self.assertEqual(r.stdout, valid)
            self.assertEqual(r.stderr, "")

    def test_invalid_config_names_file_line_and_key(self):
        path = self.write("bad.conf", 'services = (\n  {\n    name = "web";\n    listen = "127.0.0.1:8080";\n'
                                      '    servers = ( { name = "a"; address = "127.0.0.1:9000"; weight = 300; } );\n'
                                      '  }\n);\n')
        r = run_tool([EASYPROXY, "-t", "-c", path], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, "%s:5: services[0].servers[0].weight: must be between 0 and 256 (got 300)\n" % path)

    def test_every_problem_is_reported(self):
        path = self.write("two.conf", 'global = { workers = -1; };\nservices = (\n  { name = "a/b"; listen = "1.2.3.4:99999";\n'
                                      '    servers = ( { name = "s"; address = "127.0.0.1:1"; } ); }\n);\n')
        r = run_tool([EASYPROXY, "-t", "-c", path], check=False)
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.strip().split("\n")
        self.assertEqual(len(lines), 3, r.stderr)
        self.assertTrue(lines[0].startswith("%s:1: global.workers: " % path), lines[0])
        self.assertTrue(lines[1].startswith("%s:3: services[0].name: " % path), lines[1])
        self.assertTrue(lines[2].startswith("%s:3: services[0].listen" % path), lines[2])

    GATEWAY = ('services = (\n'
               '  { name = "edge"; mode = "http"; listen = "127.0.0.1:%d"; routes = (\n'
               '    { path_prefix = "/"; service = "web"; },\n'
               '    { host = "API.example.com"; path_prefix = "/v1/"; service = "%s"; middlewares = [ "strip" ]; }\n'
               '  ); },\n'
               '  { name = "api"; mode = "http"; servers = ( { name = "a"; address = "127.0.0.1:9001"; } ); },\n'
               '  { name = "web"; mode = "http"; servers = ( { name = "a"; address = "127.0.0.1:9002"; } ); }\n'
               ');\n'
               'middlewares = ( { name = "strip"; type = "strip_prefix"; prefix = "/v1"; } );\n')

    def test_route_table_in_match_order(self):
        port = harness.free_port("127.0.0.1")
        path = self.write("gw.conf", self.GATEWAY % (port, "api"))
        r = run_tool([EASYPROXY, "-t", path], check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertEqual(r.stdout.split("\n"), [
            "%s: configuration is valid" % path,
            "entry point edge: 127.0.0.1:%d, 2 routes in match order" % port,
            "  route 1 (line 4): host=api.example.com path_prefix=/v1/ -> api [strip]",
            "  route 2 (line 3): path_prefix=/ -> web",
            "middleware strip (line 9): strip_prefix /v1",
            ""])

    def test_route_to_an_unknown_service_and_an_unused_pool(self):
        path = self.write("gw.conf", self.GATEWAY % (harness.free_port("127.0.0.1"), "apj"))
        r = run_tool([EASYPROXY, "-t", path], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, '%s:4: services[0].routes[1].service: unknown service "apj"\n' % path)
        # the same file with the route dropped: valid, and the pool it named is idle
        text = self.GATEWAY % (harness.free_port("127.0.0.1"), "api")
        self.write("gw.conf", text.replace('"web"; },\n    { host = "API.example.com"; path_prefix = "/v1/"; '
                                           'service = "api"; middlewares = [ "strip" ]; }', '"web"; }\n'))
        r = run_tool([EASYPROXY, "-t", path], check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, '%s:6: warning: services[1]: pool "api" has no listen and no route names it: '
                                   'it serves nothing\n' % path)

    def test_syntax_error_gives_line(self):
        path = self.write("syntax.conf", 'global = {\n  workers = 2;\n  run_dir = ;\n};\n')
        r = run_tool([EASYPROXY, "-t", "-c", path], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "%s:3: syntax error\n" % path)

    def test_file_without_services_names_line_1(self):
        for text in ("", "# not written yet\n"):
            path = self.write("empty.conf", text)
            r = run_tool([EASYPROXY, "-t", "-c", path], check=False)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stdout, "")
            self.assertEqual(r.stderr, '%s:1: missing required key "services"\n' % path)

    def test_integer_past_32_bits_is_refused_as_written(self):
        path = self.write("big.conf", 'global = {\n  workers = 4294967298;\n};\n'
                                      'services = ( { name = "web"; listen = "127.0.0.1:8080";\n'
                                      '  idle_timeout = 99999999999;\n'
                                      '  servers = ( { name = "a"; address = "127.0.0.1:9000"; } ); } );\n')
        r = run_tool([EASYPROXY, "-t", "-c", path], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "%s:2: global.workers: must be between 0 and 64 (got 4294967298)\n"
                                   "%s:5: services[0].idle_timeout: must be between 1ms and 576h (got 99999999999)\n"
                                   % (path, path))

    def test_include_of_a_directory_is_an_error_not_an_exit(self):
        os.mkdir(os.path.join(self.tmp, "conf.d"))
        path = self.write("inc.conf", 'services = ( { name = "web"; listen = "127.0.0.1:8080";\n'
                                      '  servers = ( { name = "a"; address = "127.0.0.1:9000"; } ); } );\n'
                                      '@include "conf.d"\n')
        r = run_tool([EASYPROXY, "-t", "-c", path], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, '%s:3: cannot include "conf.d": Is a directory\n' % path)

    def test_missing_file(self):
        path = os.path.join(self.tmp, "nope.conf")
        r = run_tool([EASYPROXY, "-t", "-c", path], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(path, r.stderr)
        self.assertIn("No such file or directory", r.stderr)

    def test_test_mode_binds_nothing(self):
        port = harness.free_port("127.0.0.1")
        path = self.write("ok.conf", 'services = ( { name = "web"; listen = "127.0.0.1:%d";\n'
                                     '  servers = ( { name = "a"; address = "127.0.0.1:9"; } ); } );\n' % port)
        r = run_tool([EASYPROXY, "-t", "-c", path], check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        # the port is still free: nothing was bound
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", port))
        s.close()


class ToolsTest(unittest.TestCase):
    def test_versions(self):
        for tool, name in ((EASYPROXY, "easyproxy"), (EPSTAT, "epstat"), (EPCTL, "epctl")):
            r = run_tool([tool, "--version"], check=False)
            self.assertEqual(r.returncode, 0)
            self.assertEqual(r.stdout.strip(), "%s (easyproxy) 0.1.0" % name)

    def test_help(self):
        for tool in (EASYPROXY, EPSTAT, EPCTL):
            r = run_tool([tool, "--help"], check=False)
            self.assertEqual(r.returncode, 0)
            self.assertIn("Usage", r.stdout)

    def test_usage_errors_exit_1(self):
        for argv in ([EASYPROXY, "--bogus"], [EPSTAT, "-o", "xml"], [EPCTL, "frobnicate"], [EPCTL, "drain", "web"]):
            r = run_tool(argv, check=False)
            self.assertEqual(r.returncode, 1, "%s: %s" % (argv, r.stderr))
            self.assertNotEqual(r.stderr, "")


if __name__ == "__main__":
    harness.main()
