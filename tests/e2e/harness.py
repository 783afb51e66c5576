"""Shared helpers for the end-to-end tests: real dlt-node processes on free
loopback ports, stopped by PID, and a small HTTP client (stdlib only)."""
import hashlib
import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_BINARY = os.path.abspath(os.environ.get("DLT_NODE") or os.path.join(
    HERE, "..", "..", "build", "dlt-node"))
REF_NODE = os.path.join(HERE, "ref_node.py")


def block_hash(block):
    """The oracle: Python's own json.dumps, as the reference node hashes."""
    return hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()


def assert_links(testcase, chain):
    """Every block links to the one before by Python's hash; indexes run 1.."""
    testcase.assertGreaterEqual(len(chain), 1)
    testcase.assertEqual(chain[0]["previous_hash"], "0")
    for i, block in enumerate(chain):
        testcase.assertEqual(block["index"], i + 1)
        if i > 0:
            testcase.assertEqual(block["previous_hash"], block_hash(chain[i - 1]))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A server process that prints 'listening on http://HOST:PORT' first."""

    def __init__(self, argv, name, cwd=None):
        self.log = tempfile.NamedTemporaryFile(
            prefix=name + "-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, cwd=cwd)
        self.port = self._wait_for_port(timeout=30)
        self.address = "127.0.0.1:%d" % self.port
        self.url = "http://" + self.address

    def _wait_for_port(self, timeout):
        deadline = time.monotonic() + timeout
        self.caf_address = None  # "caf://host:port" with --caf-port
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if "linking natively on caf://" in line:
                    self.caf_address = line.strip().rsplit(" ", 1)[1]
                    # The listening line follows at once (and may already
                    # sit in our buffer, where select() cannot see it).
                    line = self.proc.stdout.readline()
                if "listening on http://" in line:
                    return int(line.strip().rsplit(":", 1)[1])
            if self.proc.poll() is not None:
                break
        self.kill()
        raise RuntimeError("server did not start: " + self.log_text())

    def log_text(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stops by PID; returns the exit code."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.proc.stdout.close()
        self.log.close()
        os.unlink(self.log.name)


class Node(Process):
    """A dlt-node on a free port. Unless the arguments say otherwise
    (--data-dir, --ephemeral), it stores its ledger in a fresh temporary
    directory, removed when the node is left: durable, as users run it."""

    def __init__(self, *args, port=0):
        self.own_dir = None
        if not any(a.startswith(("--data-dir", "--ephemeral")) for a in args):
            self.own_dir = tempfile.mkdtemp(prefix="dlt-node-data-")
            args = ("--data-dir", self.own_dir) + args
        try:
            super().__init__([NODE_BINARY, "--port", str(port), *args],
                             "dlt-node")
        except BaseException:
            self._remove_dir()
            raise

    def _remove_dir(self):
        if self.own_dir:
            shutil.rmtree(self.own_dir, ignore_errors=True)

    def __exit__(self, exc_type, *rest):
        rc = self.stop()
        log = self.log_text()
        super().__exit__(exc_type, *rest)
        self._remove_dir()
        # A node must survive whatever the test did and shut down cleanly on
        # SIGTERM; under sanitizers a report also makes the exit status non-zero.
        if exc_type is None and rc != 0:
            raise AssertionError("dlt-node exited with status %s; log:\n%s"
                                 % (rc, log[-4000:]))


class RefNode(Process):
    """Our stdlib reimplementation of the Python reference node."""

    def __init__(self, *args):
        super().__init__([sys.executable, REF_NODE, "--port", "0", *args],
                         "ref-node")


class Client:
    """Keep-alive HTTP client to one server."""

    def __init__(self, url, timeout=60):
        host, port = url.replace("http://", "").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def request(self, method, path, body=None, headers=None):
        """Returns (status, parsed JSON body or None, headers)."""
        hdrs = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        self.conn.request(method, path, body=body, headers=hdrs)
        res = self.conn.getresponse()
        raw = res.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return res.status, parsed, res

    def close(self):
        self.conn.close()


def call(url, method, path, body=None, headers=None, timeout=60):
    client = Client(url, timeout)
    try:
        return client.request(method, path, body, headers)[:2]
    finally:
        client.close()


def get_chain(url):
    status, body = call(url, "GET", "/chain")
    assert status == 200, status
    return body["chain"]
