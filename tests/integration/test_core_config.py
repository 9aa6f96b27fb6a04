"""The command line: -t, -V, -s, and config errors with FILE:LINE."""
import os
import subprocess
import tempfile
import unittest

from harness import GANNET, GannetTest, free_port, main, wait_for


def run(*args):
    return subprocess.run([GANNET, *args], capture_output=True, text=True, timeout=30)


class ConfigCliTest(GannetTest):
    def write(self, text, name="gannet.conf"):
        d = tempfile.mkdtemp(prefix="gannet-conf-")
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_t_success(self):
        path = self.write(f"worker_processes auto;\nmail {{ server {{ listen 127.0.0.1:{free_port()}; protocol echo; }} }}\n")
        r = run("-c", path, "-t")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"configuration file {path} test is successful", r.stderr)

    def test_t_errors_name_file_and_line(self):
        cases = [
            ("worker_processes 2;\n\nfoo bar;\n", 'unknown directive "foo"', 3),
            ("mail {\n  listen 127.0.0.1:25;\n}\n", '"listen" directive is not allowed here', 2),
            ("worker_processes 1 2;\n", 'invalid number of arguments in "worker_processes"', 1),
            ("worker_shutdown_timeout 5x;\n", 'invalid value "5x"', 1),
            ("mail {\n server {\n  listen 127.0.0.1:2525;\n  protocol echo;\n }\n server {\n  listen 127.0.0.1:2525;\n  protocol echo;\n }\n}\n",
             "duplicate listen 127.0.0.1:2525", 7),
            ("mail {\n server {\n  listen 127.0.0.1:2525 ssl;\n  protocol echo;\n }\n}\n", 'no "ssl_certificate"', 2),
            ("mail {\n server { protocol echo; }\n}\n", 'no "listen"', 2),
            ("error_log x.log loud;\n", 'invalid value "loud"', 1),
            ("mail {\n", "unexpected end of file", 2),
            ("user nosuchuser_gannet;\n", 'getpwnam("nosuchuser_gannet") failed', 1),
            ("mail {\n  filters testfilter nosuch;\n}\n", '"nosuch" is not a filter module', 2),
            ("mail {\n  filters echo;\n}\n", '"echo" is not a filter module', 2),
            ("mail {\n\n  filters testfilter testfilter;\n}\n", '"testfilter" is named twice', 3),
        ]
        for text, message, line in cases:
            with self.subTest(message=message):
                path = self.write(text)
                r = run("-c", path, "-t")
                self.assertEqual(r.returncode, 1)
                self.assertIn(message, r.stderr)
                self.assertIn(f"in {path}:{line}\n", r.stderr)
                self.assertIn("test failed", r.stderr)

    def test_include_error_names_included_file(self):
        path = self.write("include conf.d/*.conf;\n")
        os.mkdir(os.path.join(os.path.dirname(path), "conf.d"))
        inc = os.path.join(os.path.dirname(path), "conf.d", "a.conf")
        with open(inc, "w") as f:
            f.write("# first\nworker_processes nope;\n")
        r = run("-c", path, "-t")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"in {inc}:2", r.stderr)

    def test_V_prints_versions(self):
        r = run("-V")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"gannet/\d+\.\d+\.\d+")
        self.assertRegex(r.stdout, r"libuv 1\.\d+\.\d+")
        self.assertIn("BoringSSL", r.stdout)
        self.assertIn("LMDB 0.9", r.stdout)

    def test_load_module_with_wrong_abi_is_refused(self):
        modules = os.environ.get("GANNET_TEST_MODULES")
        if not modules:
            self.skipTest("GANNET_TEST_MODULES not set")
        path = self.write(f"\nload_module {modules}/mod_badabi.so;\n")
        r = run("-c", path, "-t")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"has ABI version \d+, expected \d+ in " + path + ":2")

    def test_s_signals_the_running_master(self):
        port = free_port()
        g = self.gannet(f"mail {{ server {{ listen 127.0.0.1:{port}; protocol echo; }} }}\n")
        r = run("-c", g.conf, "-s", "reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: "generation 1" in g.log(), what="reload through -s")
        r = run("-c", g.conf, "-s", "stop")
        self.assertEqual(r.returncode, 0, r.stderr)
        g.proc.wait(10)
        self.assertEqual(run("-c", g.conf, "-s", "bogus").returncode, 1)


if __name__ == "__main__":
    main()
