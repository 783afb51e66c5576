"""The command line and the process lifecycle: flags, config file, errors,
clean shutdown on SIGINT/SIGTERM."""
import os
import signal
import subprocess
import tempfile
import unittest

from harness import NODE_BINARY, Node, Process, call, free_port


def run(*args):
    return subprocess.run([NODE_BINARY, *args], capture_output=True, text=True, timeout=30)


class CommandLine(unittest.TestCase):
    def test_help_and_version(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for flag in ("--port", "--host", "--peer-timeout-ms", "--config", "--version"):
            self.assertIn(flag, r.stdout)
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^dlt-node \d+\.\d+\.\d+")

    def test_bad_options_exit_non_zero_with_a_clear_error(self):
        for args, text in [(["--bogus"], "unknown option '--bogus'"),
                           (["--port", "x"], "whole number"),
                           (["--port", "99999"], "between"),
                           (["--port"], "needs a value"),
                           (["--config", "/nonexistent.conf"], "cannot read")]:
            with self.subTest(args=args):
                r = run(*args)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(text, r.stderr)

    def test_port_forms_and_config_file(self):
        port = free_port()
        with Process([NODE_BINARY, "--port=%d" % port], "cli") as p:
            self.assertEqual(p.port, port)
            self.assertEqual(call(p.url, "GET", "/chain")[0], 200)
        port = free_port()
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write("# test\nport = %d\npeer-timeout-ms = 1234\n" % port)
        try:
            with Process([NODE_BINARY, "--config", f.name], "cli") as p:
                self.assertEqual(p.port, port)
                self.assertIn("peer timeout 1234 ms", p.log_text())
            # The command line wins over the file.
            other = free_port()
            with Process([NODE_BINARY, "--config", f.name, "--port", str(other)], "cli") as p:
                self.assertEqual(p.port, other)
        finally:
            os.unlink(f.name)

    def test_port_in_use_is_a_clear_error(self):
        with Node() as node:
            r = run("--port", str(node.port))
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot listen", r.stderr)

    def test_sigterm_and_sigint_shut_down_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(sig=sig):
                node = Node()
                try:
                    call(node.url, "POST", "/transactions/new", {"data": 1})
                    self.assertEqual(node.stop(sig, timeout=10), 0)
                    self.assertIn("stopped", node.log_text())
                finally:
                    node.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
