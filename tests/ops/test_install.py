"""`cmake --install` into a temporary prefix: the layout operators rely on,
binaries that run from anywhere, a config file that survives reinstalls, and
a systemd unit that systemd accepts and that sandboxes the node.

Environment: DLT_BUILD_DIR (the build tree), DLT_CMAKE (cmake to use)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))
import harness  # noqa: E402

BUILD = os.path.abspath(os.environ.get("DLT_BUILD_DIR")
                        or os.path.join(SOURCE, "build"))
CMAKE = os.environ.get("DLT_CMAKE") or "cmake"

PROMETHEUS_FILES = ["dlt-node-local.yml", "dlt-node-alerts.yml",
                    "dlt-node-alerts.test.yml",
                    "dlt-node-targets.example.json"]


def install(prefix):
    out = subprocess.run([CMAKE, "--install", BUILD, "--prefix", prefix],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError("cmake --install failed:\n" + out.stdout
                             + out.stderr)
    return out.stdout


def unit_settings(path):
    """{key: [values]} of a unit file (every assignment, in order)."""
    settings = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";", "[")):
                continue
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


class Installed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="dlt-install-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        install(cls.prefix)
        cls.unit = os.path.join(cls.prefix, "lib", "systemd", "system",
                                "dlt-node@.service")
        cls.conf = os.path.join(cls.prefix, "etc", "dlt-node",
                                "dlt-node.conf")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def test_layout(self):
        for name in ("dlt-node", "dlt-load"):
            binary = self.path("bin", name)
            self.assertTrue(os.path.isfile(binary), binary)
            self.assertTrue(os.access(binary, os.X_OK), binary)
        with open(self.conf) as f, \
                open(os.path.join(SOURCE, "config", "dlt-node.conf")) as g:
            self.assertEqual(f.read(), g.read())
        self.assertTrue(os.path.isfile(self.unit))
        for name in PROMETHEUS_FILES:
            self.assertTrue(os.path.isfile(
                self.path("share", "dlt-node", "prometheus", name)), name)
        self.assertTrue(os.path.isfile(
            self.path("share", "doc", "dlt-node", "README.md")))

    def test_unit_names_the_installed_files(self):
        s = unit_settings(self.unit)
        exec_start = s["ExecStart"][0].split()
        self.assertEqual(exec_start[0], self.path("bin", "dlt-node"))
        self.assertEqual(exec_start[exec_start.index("--config") + 1],
                         self.conf)
        self.assertEqual(exec_start[exec_start.index("--port") + 1], "%i")
        self.assertEqual(exec_start[exec_start.index("--data-dir") + 1],
                         "%S/dlt-node/%i")
        self.assertEqual(s["EnvironmentFile"],
                         ["-" + self.path("etc", "dlt-node", "%i.env")])
        # Nothing from the source or build tree leaks into the unit.
        with open(self.unit) as f:
            text = f.read()
        self.assertNotIn(SOURCE, text)
        self.assertNotIn("@DLT_", text)

    def test_unit_restarts_and_sandboxes(self):
        s = unit_settings(self.unit)
        expected = {
            "Restart": "on-failure",
            "StateDirectory": "dlt-node/%i",
            "DynamicUser": "yes",
            "ProtectSystem": "strict",
            "ProtectHome": "yes",
            "PrivateTmp": "yes",
            "PrivateDevices": "yes",
            "NoNewPrivileges": "yes",
            "CapabilityBoundingSet": "",
            "RestrictSUIDSGID": "yes",
            "MemoryDenyWriteExecute": "yes",
            "ProtectKernelTunables": "yes",
            "ProtectControlGroups": "yes",
            "SystemCallArchitectures": "native",
        }
        for key, value in expected.items():
            self.assertEqual(s.get(key), [value], key)
        self.assertEqual(s["RestartPreventExitStatus"], ["2"])
        self.assertIn("@system-service", s["SystemCallFilter"])

    def test_systemd_accepts_the_unit(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze not found (no systemd here): "
                          "the unit is not verified")
        # An instance as operators start it, and the template itself.
        instance = os.path.join(os.path.dirname(self.unit),
                                "dlt-node@8081.service")
        shutil.copy(self.unit, instance)
        try:
            for unit in (self.unit, instance):
                out = subprocess.run([analyze, "verify", unit],
                                     capture_output=True, text=True)
                # Warnings (unknown keys, bad values) count as failures too.
                self.assertEqual((out.returncode, out.stdout + out.stderr),
                                 (0, ""), unit)
        finally:
            os.unlink(instance)

    def test_no_runpath_into_the_build_tree(self):
        readelf = shutil.which("readelf")
        if not readelf:
            self.skipTest("readelf not found")
        for name in ("dlt-node", "dlt-load"):
            out = subprocess.run([readelf, "-d", self.path("bin", name)],
                                 capture_output=True, text=True, check=True)
            for line in out.stdout.splitlines():
                if "RPATH" in line or "RUNPATH" in line:
                    self.assertNotIn(BUILD, line)
                    self.assertNotIn(SOURCE, line)

    def test_installed_node_runs_from_anywhere(self):
        """From an unrelated directory, with the installed config file: it
        serves, stores where it is told, and stops cleanly on SIGTERM."""
        work = tempfile.mkdtemp(prefix="dlt-elsewhere-", dir=self.tmp)
        data = os.path.join(self.tmp, "var-lib-dlt-node")
        node = harness.Process(
            [self.path("bin", "dlt-node"), "--config", self.conf,
             "--port", "0", "--data-dir", data], "installed-node", cwd=work)
        with node:
            status, body = harness.call(node.url, "POST",
                                        "/transactions/new", {"data": "x"})
            self.assertEqual(status, 201)
            self.assertEqual(harness.get_chain(node.url)[0]["index"], 1)
            self.assertEqual(node.stop(signal.SIGTERM), 0)
        self.assertTrue(os.path.isfile(os.path.join(data, "ledger.sqlite")))
        self.assertEqual(os.listdir(work), [])

    def test_installed_dlt_load_finds_the_installed_node(self):
        """`dlt-load --spawn` as an operator runs it: from PATH, elsewhere."""
        work = tempfile.mkdtemp(prefix="dlt-elsewhere-", dir=self.tmp)
        env = dict(os.environ,
                   PATH=self.path("bin") + os.pathsep + os.environ["PATH"])
        out = subprocess.run(
            ["dlt-load", "--spawn", "1", "--ephemeral", "--duration", "1",
             "--clients", "2", "--mix", "tx=90,mine=10"],
            cwd=work, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("0 lost, 0 duplicated", out.stdout)

    def test_reinstall_keeps_an_edited_config(self):
        prefix = os.path.join(self.tmp, "again")
        install(prefix)
        conf = os.path.join(prefix, "etc", "dlt-node", "dlt-node.conf")
        with open(conf, "a") as f:
            f.write("peer-timeout-ms = 750  # the operator's\n")
        with open(conf) as f:
            edited = f.read()
        out = install(prefix)
        with open(conf) as f:
            self.assertEqual(f.read(), edited)
        self.assertIn("Keeping the existing", out)
        with open(conf + ".dist") as f, \
                open(os.path.join(SOURCE, "config", "dlt-node.conf")) as g:
            self.assertEqual(f.read(), g.read())
        # An unchanged config is simply installed again, nothing beside it.
        os.unlink(conf + ".dist")
        shutil.copy(os.path.join(SOURCE, "config", "dlt-node.conf"), conf)
        install(prefix)
        self.assertFalse(os.path.exists(conf + ".dist"))


if __name__ == "__main__":
    unittest.main()
