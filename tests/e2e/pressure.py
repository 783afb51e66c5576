"""Watching a node under attack, for the hardening tests and the `hostile`
benchmark: its peak resident memory, a bystander client's latencies, and
the attacks that are no peer (connections parked on consensus, heavy
bodies)."""
import json
import socket
import threading
import time

from harness import Client


def _status_kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pid):
    return _status_kib(pid, "VmRSS")


class RssSampler:
    """Peak resident memory of process `pid` from now on: VmRSS sampled every
    `interval` seconds, and the kernel's own high-water mark (VmHWM, reset
    at the start through clear_refs where allowed), whichever is higher."""

    def __init__(self, pid, interval=0.005):
        self.pid, self.interval = pid, interval
        self.start_kib = rss_kib(pid)
        self.sampled_peak = self.start_kib
        self.hwm_reset = False
        try:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
            self.hwm_reset = True
        except OSError:
            pass
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.wait(self.interval):
            self.sampled_peak = max(self.sampled_peak, rss_kib(self.pid))

    def stop(self):
        """Stops sampling; returns the peak in KiB."""
        self.stopped.set()
        self.thread.join(5)
        return self.peak_kib()

    def peak_kib(self):
        peak = self.sampled_peak
        if self.hwm_reset:
            peak = max(peak, _status_kib(self.pid, "VmHWM"))
        return peak


def timed_consensus(url, timeout=120):
    """(status, body, seconds) of one POST /nodes/consensus."""
    start = time.monotonic()
    c = Client(url, timeout=timeout)
    try:
        status, body, _ = c.request("POST", "/nodes/consensus", {})
    finally:
        c.close()
    return status, body, time.monotonic() - start


def concurrent_consensus(url, n, timeout=120):
    """n POST /nodes/consensus at once; [(status, body, seconds)] in order."""
    results = [None] * n
    go = threading.Barrier(n)

    def one(i):
        go.wait()
        try:
            results[i] = timed_consensus(url, timeout)
        except OSError as e:
            results[i] = (None, repr(e), None)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 10)
    return results


class Bystander:
    """One keep-alive client alternating GET /chain and POST
    /transactions/new until stopped; records every latency, every failure
    (timeouts included) and the data of every acknowledged transaction."""

    def __init__(self, url, tag, timeout=10.0, pause=0.01):
        self.url, self.tag, self.timeout, self.pause = url, tag, timeout, pause
        self.latency = {"GET /chain": [], "POST /transactions/new": []}
        self.failures = []
        self.acked = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        client = Client(self.url, timeout=self.timeout)
        n = 0
        while not self.stopped.is_set():
            n += 1
            for kind in self.latency:
                data = "%s %d" % (self.tag, n)
                start = time.monotonic()
                try:
                    if kind == "GET /chain":
                        status, body, _ = client.request("GET", "/chain")
                        ok = status == 200 and "chain" in body
                    else:
                        status, body, _ = client.request(
                            "POST", "/transactions/new", {"data": data})
                        ok = status == 201
                        if ok:
                            self.acked.append(data)
                except (OSError, ValueError) as e:
                    status, ok = repr(e), False
                    client.close()
                    client = Client(self.url, timeout=self.timeout)
                took = time.monotonic() - start
                if ok:
                    self.latency[kind].append(took)
                else:
                    self.failures.append((kind, status, took))
            self.stopped.wait(self.pause)
        client.close()

    def stop(self):
        self.stopped.set()
        self.thread.join(self.timeout * 3)
        return self

    def percentiles(self, kind):
        """(p50, p99, count) in milliseconds."""
        xs = sorted(self.latency[kind])
        if not xs:
            return (float("nan"), float("nan"), 0)
        return (xs[len(xs) // 2] * 1000, xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1000,
                len(xs))


# -- attacks that are no peer ------------------------------------------------------

def read_response(reader):
    """(status, headers, body bytes) of one HTTP/1.1 response."""
    line = reader.readline()
    if not line:
        raise EOFError
    status = int(line.split()[1])
    headers = {}
    while True:
        header = reader.readline()
        if not header:
            raise EOFError
        if header in (b"\r\n", b"\n"):
            break
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = reader.read(length)
    if len(body) < length:
        raise EOFError
    return status, headers, body


class ParkedConsensus:
    """`conns` connections, each pipelining `depth` POST /nodes/consensus
    and reading the answers, reconnecting whenever the node closes one,
    until stopped. Records every answer's status and body."""

    def __init__(self, port, conns, depth=4):
        self.port, self.depth = port, depth
        self.answers = []      # (status, parsed body or raw bytes)
        self.connects = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True)
                        for _ in range(conns)]
        for t in self.threads:
            t.start()

    def _run(self):
        request = (b"POST /nodes/consensus HTTP/1.1\r\nHost: node\r\n"
                   b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        while not self.stopped.is_set():
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            except OSError:
                self.stopped.wait(0.05)
                continue
            with self.lock:
                self.connects += 1
            sock.settimeout(0.5)
            reader = sock.makefile("rb")
            try:
                sock.sendall(request * self.depth)
                while not self.stopped.is_set():
                    try:
                        status, _, body = read_response(reader)
                    except socket.timeout:
                        continue
                    try:
                        parsed = json.loads(body)
                    except ValueError:
                        parsed = body
                    with self.lock:
                        self.answers.append((status, parsed))
                    sock.sendall(request)  # keep `depth` in flight
            except (OSError, EOFError, ValueError):
                pass
            finally:
                reader.close()
                sock.close()

    def stop(self):
        self.stopped.set()
        for t in self.threads:
            t.join(10)


class HeavyBodies:
    """`clients` connections posting bodies of about `size` bytes made of {}
    objects, as fast as the node answers, until stopped. The bodies are
    refused after they are read (no data), so the mempool stays as it was:
    only the reading costs."""

    def __init__(self, port, clients, size=1000 * 1000):
        self.port = port
        inner = b", ".join([b"{}"] * ((size - 20) // 4))
        body = b'{"junk": [' + inner + b"]}"
        self.request = (b"POST /transactions/new HTTP/1.1\r\nHost: node\r\n"
                        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                        % len(body)) + body
        self.statuses = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True)
                        for _ in range(clients)]
        for t in self.threads:
            t.start()

    def _run(self):
        while not self.stopped.is_set():
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            except OSError:
                self.stopped.wait(0.05)
                continue
            reader = sock.makefile("rb")
            try:
                while not self.stopped.is_set():
                    sock.sendall(self.request)
                    status, headers, _ = read_response(reader)
                    with self.lock:
                        self.statuses[status] = self.statuses.get(status, 0) + 1
                    if headers.get("connection", "").lower() == "close":
                        break
            except (OSError, EOFError, ValueError):
                pass
            finally:
                reader.close()
                sock.close()

    def stop(self):
        self.stopped.set()
        for t in self.threads:
            t.join(30)
