"""The Prometheus files operators get (packaging/prometheus): promtool
accepts the scrape configuration and the alerting rules, the rules' unit
tests pass, the rules use only metrics the node exposes, and the file_sd
example is what Prometheus reads.

Environment: DLT_METRICS_SAMPLE (dlt-metrics-sample, which prints every
family a node declares). Exit status 77 (skipped) without promtool."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
FILES = os.path.join(SOURCE, "packaging", "prometheus")
PROMTOOL = shutil.which("promtool")
SAMPLE = os.environ.get("DLT_METRICS_SAMPLE")


def promtool(*args, cwd=FILES):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True,
                          cwd=cwd)


class PrometheusFiles(unittest.TestCase):
    def assert_ok(self, out):
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)

    def test_rules_are_valid(self):
        out = promtool("check", "rules", "dlt-node-alerts.yml")
        self.assert_ok(out)
        self.assertIn("SUCCESS", out.stdout)

    def test_rules_unit_tests_pass(self):
        # Each alert: series that fire it when they should, and series that
        # must not (see dlt-node-alerts.test.yml).
        out = promtool("test", "rules", "dlt-node-alerts.test.yml")
        self.assert_ok(out)
        self.assertIn("SUCCESS", out.stdout)

    def test_every_alert_is_tested(self):
        with open(os.path.join(FILES, "dlt-node-alerts.yml")) as f:
            alerts = set(re.findall(r"^\s*- alert: (\w+)", f.read(), re.M))
        with open(os.path.join(FILES, "dlt-node-alerts.test.yml")) as f:
            text = f.read()
        tested = set(re.findall(r"alertname: (\w+)", text))
        fired = set()
        for block in re.split(r"\n      - eval_time: ", text):
            m = re.search(r"alertname: (\w+)\n\s+exp_alerts:\n\s+- ", block)
            if m:
                fired.add(m.group(1))
        self.assertEqual(alerts, tested)
        self.assertEqual(alerts, fired)

    def test_scrape_config_is_valid(self):
        out = promtool("check", "config", "dlt-node-local.yml")
        self.assert_ok(out)

    def test_file_sd_example(self):
        """The targets file format the scrape config's comment describes:
        a config using it (as its comment shows) is valid."""
        with open(os.path.join(FILES, "dlt-node-targets.example.json")) as f:
            groups = json.load(f)
        self.assertIsInstance(groups, list)
        for group in groups:
            self.assertEqual(set(group) - {"targets", "labels"}, set())
            for target in group["targets"]:
                self.assertRegex(target, r"^[\w.\-]+:\d+$")
        with open(os.path.join(FILES, "dlt-node-local.yml")) as f:
            local = f.read()
        # Uncomment the file_sd job, pointing it at the example.
        lines, enabled = [], False
        for line in local.splitlines():
            if line.strip() == "# - job_name: dlt-node-testnet":
                enabled = True
            if enabled and line.startswith("  # "):
                line = "  " + line[4:]
            lines.append(line)
        self.assertTrue(enabled)
        config = "\n".join(lines).replace(
            "'/var/lib/dlt-testnet/*/targets.json'",
            "'" + os.path.join(FILES, "dlt-node-targets.example.json") + "'")
        self.assertIn("file_sd_configs:\n", config)
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(os.path.join(FILES, "dlt-node-alerts.yml"), tmp)
            path = os.path.join(tmp, "prometheus.yml")
            with open(path, "w") as f:
                f.write(config)
            self.assert_ok(promtool("check", "config", path, cwd=tmp))

    def test_rules_use_metrics_the_node_exposes(self):
        if not SAMPLE:
            self.skipTest("DLT_METRICS_SAMPLE not set")
        exposition = subprocess.run([SAMPLE], capture_output=True, text=True,
                                    check=True).stdout
        series = set()
        labels = set()
        for line in exposition.splitlines():
            if line.startswith("#") or not line:
                continue
            m = re.match(r"([a-zA-Z_:][\w:]*)(\{([^}]*)\})?", line)
            series.add(m.group(1))
            for name in re.findall(r'(\w+)="', m.group(3) or ""):
                labels.add(name)
        with open(os.path.join(FILES, "dlt-node-alerts.yml")) as f:
            rules = f.read()
        exprs = "\n".join(
            re.findall(r"expr: (\|\n(?:\s{10,}.*\n)+|.*\n)", rules))
        used = set(re.findall(r"\b((?:dlt|process)_\w+)", exprs))
        self.assertTrue(used)
        for name in used:
            self.assertIn(name, series, "alerting rules use " + name)
        for name in re.findall(r"\b(\w+)\s*(?:=~|!=|=)\s*\"", exprs):
            if name not in ("job",):
                self.assertIn(name, labels, "alerting rules use label " + name)


if __name__ == "__main__":
    if not PROMTOOL:
        print("skipped: promtool not found (Debian package prometheus)")
        sys.exit(77)
    unittest.main()
