"""CPack's .deb: installs to /usr and /etc, depends on exactly the Debian
packages of the libraries its binaries link (dpkg-shlibdeps), marks the
config file as a conffile, and carries a unit that names /usr/bin/dlt-node.

Environment: DLT_BUILD_DIR (the build tree), DLT_CPACK (cpack to use).
Exit status 77 (skipped) without cpack or dpkg's tools."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.path.abspath(os.environ.get("DLT_BUILD_DIR")
                        or os.path.join(SOURCE, "build"))
CPACK = os.environ.get("DLT_CPACK") or shutil.which("cpack")
TOOLS = ["dpkg-deb", "dpkg-shlibdeps", "dpkg", "ldd"]


def run(*argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, check=True,
                          **kw).stdout


def owning_package(library):
    """The Debian package that ships `library` (merged /usr: try both)."""
    candidates = [library, os.path.realpath(library)]
    for path in list(candidates):
        if path.startswith("/usr/"):
            candidates.append(path[4:])
        else:
            candidates.append("/usr" + path)
    for path in candidates:
        out = subprocess.run(["dpkg", "-S", path], capture_output=True,
                             text=True)
        if out.returncode == 0:
            return out.stdout.split(":")[0].strip()
    raise AssertionError("no package ships " + library)


class Deb(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="dlt-deb-")
        out = subprocess.run(
            [CPACK, "-G", "DEB", "--config",
             os.path.join(BUILD, "CPackConfig.cmake"), "-B", cls.tmp],
            capture_output=True, text=True, cwd=BUILD)
        if out.returncode != 0:
            raise AssertionError("cpack failed:\n" + out.stdout + out.stderr)
        debs = glob.glob(os.path.join(cls.tmp, "*.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]
        cls.root = os.path.join(cls.tmp, "root")
        run("dpkg-deb", "-x", cls.deb, cls.root)
        cls.control = os.path.join(cls.tmp, "control")
        run("dpkg-deb", "-e", cls.deb, cls.control)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def field(self, name):
        return run("dpkg-deb", "-f", self.deb, name).strip()

    def test_identity(self):
        self.assertEqual(self.field("Package"), "dlt-node")
        self.assertEqual(self.field("Architecture"),
                         run("dpkg", "--print-architecture").strip())
        self.assertRegex(self.field("Version"), r"^\d+\.\d+\.\d+")
        self.assertTrue(os.path.basename(self.deb).startswith("dlt-node_"))

    def test_contents(self):
        listing = run("dpkg-deb", "-c", self.deb)
        paths = {line.split()[-1] for line in listing.splitlines()}
        for path in ["./usr/bin/dlt-node", "./usr/bin/dlt-load", "./usr/bin/dlt-node-make-certs",
                     "./etc/dlt-node/dlt-node.conf",
                     "./usr/share/dlt-node/prometheus/dlt-node-local.yml",
                     "./usr/share/dlt-node/prometheus/dlt-node-alerts.yml",
                     "./usr/share/doc/dlt-node/README.md"]:
            self.assertIn(path, paths)
        units = [p for p in paths if p.endswith("/dlt-node@.service")]
        self.assertEqual(len(units), 1, units)
        self.assertRegex(units[0], r"^\./(usr/)?lib/systemd/system/")
        for path in paths:
            self.assertFalse(path.startswith(("./usr/local", "./usr/etc")),
                             path)
            self.assertNotIn(BUILD, path)

    def test_unit_names_system_paths(self):
        unit = glob.glob(os.path.join(self.root, "*lib", "systemd", "system",
                                      "dlt-node@.service"))
        unit += glob.glob(os.path.join(self.root, "usr", "lib", "systemd",
                                       "system", "dlt-node@.service"))
        self.assertEqual(len(unit), 1)
        with open(unit[0]) as f:
            text = f.read()
        self.assertIn("\nExecStart=/usr/bin/dlt-node --config "
                      "/etc/dlt-node/dlt-node.conf --port %i ", text)
        self.assertIn("\nEnvironmentFile=-/etc/dlt-node/%i.env\n", text)
        self.assertNotIn(self.tmp, text)
        self.assertNotIn("_CPack_Packages", text)

    def test_conffiles_and_scripts(self):
        with open(os.path.join(self.control, "conffiles")) as f:
            self.assertEqual(f.read().split(), ["/etc/dlt-node/dlt-node.conf"])
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(self.control, script)
            self.assertTrue(os.access(path, os.X_OK), script)
            out = subprocess.run(["sh", "-n", path], capture_output=True,
                                 text=True)
            self.assertEqual(out.returncode, 0, out.stderr)

    def test_depends_on_the_runtime_libraries(self):
        depends = self.field("Depends")
        entries = [d.strip() for d in depends.split(",")]
        names = {re.match(r"[a-z0-9.+-]+", d).group(0) for d in entries}
        # Every shared library the binaries load comes from a package in
        # Depends, with a minimal version (from the libraries' symbols).
        for binary in ("dlt-node", "dlt-load"):
            ldd = run("ldd", os.path.join(self.root, "usr", "bin", binary))
            for line in ldd.splitlines():
                m = re.search(r"=> (/\S+)", line)
                if not m:
                    continue  # vdso, the loader
                package = owning_package(m.group(1))
                self.assertIn(package, names, "%s needs %s (%s)"
                              % (binary, package, m.group(1)))
        for entry in entries:
            self.assertRegex(entry, r"\(>= [^)]+\)$", entry)
            # Runtime libraries only: no -dev packages, no build tools.
            self.assertFalse(entry.split()[0].endswith("-dev"), entry)
        self.assertIn("libcaf-core0.17", names)
        self.assertIn("libsqlite3-0", names)

    def test_packaged_binary_runs(self):
        out = subprocess.run(
            [os.path.join(self.root, "usr", "bin", "dlt-node"), "--version"],
            capture_output=True, text=True, cwd=self.tmp)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith("dlt-node "), out.stdout)
        # Stripped, as Debian ships binaries.
        file_out = subprocess.run(
            ["readelf", "-S", os.path.join(self.root, "usr", "bin",
                                           "dlt-node")],
            capture_output=True, text=True)
        if file_out.returncode == 0:
            self.assertNotIn(".debug_info", file_out.stdout)


if __name__ == "__main__":
    missing = [t for t in TOOLS if not shutil.which(t)]
    if not CPACK:
        missing.append("cpack")
    if missing:
        print("skipped: not found: " + ", ".join(missing)
              + " (Debian packages cmake, dpkg-dev)")
        sys.exit(77)
    unittest.main()
