"""What the hardening tests check after every attack: the node stops
cleanly, starts again on its ledger, serves, and holds everything it
acknowledged. Chains are compared as the bytes the node serves, since
values nested deeper than Python's json can read back may be in them."""
import http.client
import json
import shutil
import signal
import tempfile

from harness import Node, Process


class DataDir:
    """A temporary data directory, removed on exit."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="dlt-harden-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def raw_call(port, method, path, body=None, timeout=120, headers=None):
    """(status, raw body bytes, headers): nothing parsed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None:
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=hdrs)
        res = conn.getresponse()
        return res.status, res.read(), res
    finally:
        conn.close()


def chain_bytes(port):
    """GET /chain as served, and how many blocks it holds (counted from
    GET /status, which needs no parsing of the blocks)."""
    status, raw, _ = raw_call(port, "GET", "/chain")
    assert status == 200, status
    return raw


def height(port):
    status, raw, _ = raw_call(port, "GET", "/status")
    assert status == 200, status
    return json.loads(raw)["height"]


def snapshot(port):
    """Everything a restart must keep: the chain's bytes, the pending
    transactions (as served) and the registered peers."""
    status, pending, _ = raw_call(port, "GET", "/transactions/pending?limit=1000")
    assert status == 200, status
    status, raw, _ = raw_call(port, "GET", "/status")
    assert status == 200, status
    return {"chain": chain_bytes(port), "pending": pending,
            "peers": json.loads(raw)["total_nodes"]}


def start(testcase, *args):
    """A dlt-node that is stopped by PID when the test ends, however it
    ends (a failing assertion included)."""
    node = Node(*args)
    testcase.addCleanup(reap, node)
    return node


def reap(node):
    """Kills `node` if it still runs and removes its log (idempotent)."""
    if node.log.closed:
        return
    node.kill()
    Process.__exit__(node, None, None, None)


def stop_cleanly(testcase, node, sig=signal.SIGTERM):
    """Stops `node` by PID; SIGTERM must end it with status 0."""
    if node.log.closed:
        return ""
    rc = node.stop(sig)
    log = node.log_text()
    Process.__exit__(node, None, None, None)
    if sig == signal.SIGTERM:
        testcase.assertEqual(rc, 0, "dlt-node did not stop cleanly; log:\n" + log[-3000:])
    return log


def restart(testcase, node, data_dir, *args, sig=signal.SIGTERM):
    """Stops `node` (SIGTERM: exit 0 required; SIGKILL: at once), starts a
    new one on `data_dir` with `args`, and checks that it serves exactly the
    chain, pending transactions and peers the old one had. Returns it."""
    before = snapshot(node.port)
    stop_cleanly(testcase, node, sig)
    fresh = start(testcase, "--data-dir", data_dir, *args)
    after = snapshot(fresh.port)
    testcase.assertEqual(after["chain"], before["chain"], "the chain changed across a restart")
    testcase.assertEqual(after["pending"], before["pending"],
                         "pending transactions changed across a restart")
    testcase.assertEqual(after["peers"], before["peers"], "peers changed across a restart")
    return fresh


def serves(testcase, node, tag):
    """The node takes a transaction and mines it."""
    status, raw, _ = raw_call(node.port, "POST", "/transactions/new", {"data": tag})
    testcase.assertEqual(status, 201, raw[:300])
    status, raw, _ = raw_call(node.port, "POST", "/mine", {})
    testcase.assertEqual(status, 201, raw[:300])
    testcase.assertIn(json.dumps(tag).encode(), raw)
