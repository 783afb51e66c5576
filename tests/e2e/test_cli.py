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
                           (["--config", "/nonexistent.conf"], "cannot read"),
                           (["--gossip", "pull"], "expects off or push"),
                           (["--caf-port", "70000"], "between"),
                           (["--sync-interval", "-1"], "whole number")]:
            with self.subTest(args=args):
                r = run(*args)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(text, r.stderr)

    def test_port_forms_and_config_file(self):
        # In a scratch working directory: without --data-dir a node stores
        # its ledger in data/node-<port> there.
        with tempfile.TemporaryDirectory() as cwd:
            port = free_port()
            with Process([NODE_BINARY, "--port=%d" % port], "cli", cwd=cwd) as p:
                self.assertEqual(p.port, port)
                self.assertEqual(call(p.url, "GET", "/chain")[0], 200)
            self.assertTrue(os.path.isfile(
                os.path.join(cwd, "data", "node-%d" % port, "ledger.sqlite")))
            port = free_port()
            conf = os.path.join(cwd, "test.conf")
            with open(conf, "w") as f:
                f.write("# test\nport = %d\npeer-timeout-ms = 1234\nephemeral = true\n"
                        % port)
            with Process([NODE_BINARY, "--config", conf], "cli", cwd=cwd) as p:
                self.assertEqual(p.port, port)
                self.assertIn("peer timeout 1234 ms, ephemeral", p.log_text())
            self.assertFalse(os.path.exists(os.path.join(cwd, "data", "node-%d" % port)))
            # The command line wins over the file.
            other = free_port()
            with Process([NODE_BINARY, "--config", conf, "--port", str(other)], "cli",
                         cwd=cwd) as p:
                self.assertEqual(p.port, other)

    def test_port_in_use_is_a_clear_error(self):
        with Node() as node:
            r = run("--port", str(node.port))
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot listen", r.stderr)
        caf_port = free_port()
        with Node("--caf-port", str(caf_port)) as node:
            self.assertEqual(node.caf_address, "caf://127.0.0.1:%d" % caf_port)
            r = run("--port", "0", "--ephemeral", "--caf-port", str(caf_port))
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot publish", r.stderr)

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
