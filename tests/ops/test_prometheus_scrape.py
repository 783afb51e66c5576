"""A real Prometheus (Debian's `prometheus`) scraping three real dlt-nodes
with the shipped scrape configuration and alerting rules: every target is
up, PromQL returns each node's height as GET /chain shows it, and every
alerting rule evaluates without error on real data.

Environment: DLT_NODE (the dlt-node binary). Exit status 77 (skipped)
without the prometheus binary."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
FILES = os.path.join(SOURCE, "packaging", "prometheus")
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))
import harness  # noqa: E402

PROMETHEUS = shutil.which("prometheus")


def scrape_config(targets):
    """The shipped local config, aimed at `targets` and scraping every
    second (so the test does not wait 5 s per round)."""
    with open(os.path.join(FILES, "dlt-node-local.yml")) as f:
        config = f.read()
    listed = "['127.0.0.1:8081', '127.0.0.1:8082', '127.0.0.1:8083']"
    assert listed in config
    config = config.replace(listed, json.dumps(targets))
    config = re.sub(r"(scrape|evaluation)_interval: 5s", r"\1_interval: 1s",
                    config)
    return config


class Prometheus:
    """A Prometheus server on a free loopback port, stopped by PID."""

    def __init__(self, config_dir):
        self.port = harness.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(config_dir, "prometheus.log"), "w+")
        self.proc = subprocess.Popen(
            [PROMETHEUS,
             "--config.file=" + os.path.join(config_dir, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(config_dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_until(lambda: self.get("/-/ready", raw=True), 60,
                        "prometheus did not become ready")

    def get(self, path, raw=False):
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as res:
                body = res.read()
        except OSError:
            return None
        return body if raw else json.loads(body)

    def query(self, promql):
        out = self.get("/api/v1/query?query=" + urllib.parse.quote(promql))
        if not out or out.get("status") != "success":
            return None
        return out["data"]["result"]

    def wait_until(self, check, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            if self.proc.poll() is not None:
                break
            time.sleep(0.25)
        raise AssertionError(what + "; prometheus log:\n" + self.log_text())

    def log_text(self):
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Scrape(unittest.TestCase):
    def test_prometheus_scrapes_three_nodes(self):
        tmp = tempfile.mkdtemp(prefix="dlt-prometheus-")
        try:
            with harness.Node("--ephemeral") as a, \
                    harness.Node("--ephemeral") as b, \
                    harness.Node("--ephemeral") as c:
                nodes = [a, b, c]
                # Different heights: 1, 2 and 3 blocks.
                for i, node in enumerate(nodes):
                    for _ in range(i):
                        harness.call(node.url, "POST", "/transactions/new",
                                     {"data": "tx"})
                        self.assertEqual(
                            harness.call(node.url, "POST", "/mine")[0], 201)
                heights = {n.address: len(harness.get_chain(n.url))
                           for n in nodes}
                self.assertEqual(sorted(heights.values()), [1, 2, 3])

                with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
                    f.write(scrape_config([n.address for n in nodes]))
                shutil.copy(os.path.join(FILES, "dlt-node-alerts.yml"), tmp)
                prom = Prometheus(tmp)
                try:
                    self.check(prom, heights)
                finally:
                    prom.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def check(self, prom, heights):
        def all_up():
            targets = prom.get("/api/v1/targets")
            if not targets:
                return None
            active = targets["data"]["activeTargets"]
            up = {t["labels"]["instance"] for t in active
                  if t["health"] == "up"}
            return up == set(heights) and active
        try:
            active = prom.wait_until(all_up, 60, "not every target is up")
        except AssertionError as e:
            targets = prom.get("/api/v1/targets") or {}
            errors = [(t["labels"]["instance"], t["health"], t["lastError"])
                      for t in targets.get("data", {}).get("activeTargets",
                                                            [])]
            raise AssertionError("%s\ntargets: %s" % (e, errors))
        for t in active:
            self.assertEqual(t["labels"]["job"], "dlt-node")
            self.assertEqual(t["scrapeUrl"],
                             "http://%s/metrics" % t["labels"]["instance"])
            self.assertEqual(t["lastError"], "")

        def heights_seen():
            result = prom.query("dlt_chain_height")
            if not result:
                return None
            seen = {r["metric"]["instance"]: int(float(r["value"][1]))
                    for r in result}
            return seen if seen == heights else None
        prom.wait_until(heights_seen, 30,
                        "dlt_chain_height is not each node's height %s"
                        % heights)
        up = prom.query('up{job="dlt-node"}')
        self.assertEqual({r["metric"]["instance"]: r["value"][1] for r in up},
                         {address: "1" for address in heights})

        # The shipped rules, evaluated on real series: no rule errors.
        def rules_evaluated():
            rules = prom.get("/api/v1/rules")
            if not rules:
                return None
            all_rules = [r for g in rules["data"]["groups"]
                         for r in g["rules"]]
            if len(all_rules) == 0:
                return None
            if any(r.get("lastEvaluation", "").startswith("0001")
                   for r in all_rules):
                return None  # not evaluated yet
            return all_rules
        rules = prom.wait_until(rules_evaluated, 30, "rules not evaluated")
        for r in rules:
            self.assertEqual(r["health"], "ok", r)
        self.assertEqual(
            prom.query('ALERTS{alertname="DltNodeDown"}'), [])


class Exposition(unittest.TestCase):
    """GET /metrics of a real node after traffic of every kind: promtool
    accepts it (also its lint: names, units, help texts)."""

    def test_promtool_accepts_the_node_after_traffic(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool not found")
        with harness.Node("--ephemeral") as peer, \
                harness.Node("--ephemeral", "--peer-timeout-ms", "500",
                             "--max-body-bytes", "4096") as node:
            call = harness.call
            self.assertEqual(call(node.url, "POST", "/transactions/new",
                                  {"data": "tx"})[0], 201)
            self.assertEqual(call(node.url, "POST", "/transactions/new",
                                  {"no": "data"})[0], 400)
            self.assertEqual(call(node.url, "POST", "/mine")[0], 201)
            call(peer.url, "POST", "/mine")
            call(peer.url, "POST", "/mine")
            dead = "127.0.0.1:%d" % harness.free_port()
            self.assertEqual(call(node.url, "POST", "/nodes/register",
                                  {"nodes": [peer.address, dead,
                                             "not an address"]})[0], 201)
            self.assertEqual(call(node.url, "POST", "/nodes/consensus")[0],
                             200)
            self.assertEqual(call(node.url, "POST", "/action/evil")[0], 200)
            self.assertEqual(call(node.url, "GET", "/no/such/route")[0], 404)
            self.assertEqual(call(node.url, "DELETE", "/chain")[0], 405)
            self.assertEqual(call(node.url, "POST", "/transactions/new",
                                  {"data": "x" * 8192})[0], 413)
            call(node.url, "HEAD", "/chain")

            # A query string changes nothing.
            with urllib.request.urlopen(node.url + "/metrics?x=%22",
                                        timeout=10) as res:
                self.assertEqual(res.status, 200)
                self.assertTrue(res.headers["Content-Type"].startswith(
                    "text/plain; version=0.0.4"))
                text = res.read().decode()
            out = subprocess.run([promtool, "check", "metrics"], input=text,
                                 capture_output=True, text=True)
            self.assertEqual((out.returncode, out.stdout + out.stderr),
                             (0, ""), text[-3000:])
            for family in ("dlt_chain_height", "dlt_http_requests_total",
                           "dlt_peer_fetches_total", "process_open_fds"):
                self.assertIn("\n# TYPE %s " % family, text)


if __name__ == "__main__":
    if not PROMETHEUS:
        print("skipped: prometheus not found (Debian package prometheus)")
        sys.exit(77)
    unittest.main()
