"""Helpers for the /metrics tests: a client that tallies every request as
the node should count it (route, method, code), promtool, chains that
extend a node's own."""
import http.client
import json
import shutil
import subprocess
import threading

from harness import block_hash
from prom_text import Metrics

ROUTES = {"/chain": "chain", "/blocks": "blocks", "/events": "events",
          "/metrics": "metrics", "/": "explorer", "/status": "status",
          "/transactions/pending": "pending", "/nodes/peer-chain": "peer_chain",
          "/transactions/new": "transactions_new", "/mine": "mine",
          "/nodes/register": "register", "/nodes/unregister": "unregister",
          "/nodes/consensus": "consensus", "/action/evil": "evil"}
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def route_of(target):
    path = target.split("?", 1)[0]
    if path.startswith("/static/"):
        return "explorer"
    return ROUTES.get(path, "unknown")


class Tally:
    """Every request the test makes, counted as the node should count it:
    (route, method, code). One keep-alive connection per Tally."""

    def __init__(self, node, counts=None, lock=None):
        self.node = node
        self.counts = counts if counts is not None else {}
        self.lock = lock or threading.Lock()
        self.conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)

    def fork(self):
        """Another connection counting into the same tally."""
        return Tally(self.node, self.counts, self.lock)

    def count(self, target, method, status):
        key = (route_of(target), method if method in METHODS else "other", str(status))
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def request(self, method, target, body=None, raw=None, headers=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        hdrs = dict(headers or {})
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        self.conn.request(method, target, body=data, headers=hdrs)
        res = self.conn.getresponse()
        payload = res.read()
        self.count(target, method, res.status)
        if res.getheader("Connection", "").lower() == "close":
            self.conn.close()
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload
        return res.status, parsed

    def get(self, target):
        status, body = self.request("GET", target)
        assert status == 200, (target, status)
        return body

    def post(self, target, body=None):
        return self.request("POST", target, {} if body is None else body)

    def scrape(self, target="/metrics"):
        self.conn.request("GET", target)
        res = self.conn.getresponse()
        text = res.read().decode()
        self.count(target, "GET", res.status)
        assert res.status == 200, res.status
        assert res.getheader("Content-Type").startswith("text/plain; version=0.0.4"), \
            res.getheader("Content-Type")
        return Metrics(text)

    def close(self):
        self.conn.close()


def promtool_problems(text):
    """What `promtool check metrics` says about `text` ("" when accepted)."""
    out = subprocess.run([PROMTOOL, "check", "metrics"], input=text, text=True,
                         capture_output=True, timeout=60)
    return "" if out.returncode == 0 else (out.stdout + out.stderr)


def extend(chain, n, tag):
    """`chain` followed by n valid blocks."""
    chain = [dict(b) for b in chain]
    for _ in range(n):
        prev = chain[-1]
        chain.append({"index": prev["index"] + 1, "previous_hash": block_hash(prev),
                      "timestamp": prev["timestamp"] + 1.5,
                      "transactions": [{"data": "%s %d" % (tag, prev["index"] + 1)}]})
    return chain
