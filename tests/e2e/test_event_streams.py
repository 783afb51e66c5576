"""GET /events under hostile or careless clients: a consumer that never
reads is dropped while the node's memory stays bounded and everyone else is
served; hundreds of clients vanishing at every stage leave no connection
behind; the stream limit answers 503; streams outlive the request timeouts
and end cleanly on SIGTERM."""
import os
import signal
import socket
import struct
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import Client, Node, call
from prom_text import Metrics
from sse import Stream, StreamClosed, Watcher


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS for %d" % pid)


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def scrape(node):
    c = Client(node.url)
    try:
        c.conn.request("GET", "/metrics")
        res = c.conn.getresponse()
        assert res.status == 200, res.status
        return Metrics(res.read().decode())
    finally:
        c.close()


def wait_gauges(tc, node, streams, connections, timeout=30):
    """Waits until dlt_event_streams and dlt_http_connections (counting
    the scrape's own connection) come back to the given values."""
    deadline = time.monotonic() + timeout
    while True:
        m = scrape(node)
        got = (m.value("dlt_event_streams"), m.value("dlt_http_connections"))
        if got == (streams, connections + 1):
            return
        if time.monotonic() > deadline:
            tc.fail("streams, connections = %s, want %s" % (got, (streams, connections + 1)))
        time.sleep(0.2)


class SlowConsumers(unittest.TestCase):
    def test_a_reader_that_never_reads_is_dropped_and_memory_stays_bounded(self):
        cycles = 800
        big = "x" * 16000  # a block event carries up to 16 KiB of transactions
        with Node("--ephemeral") as node:
            pid = node.proc.pid
            normal = Watcher(Stream(node.address))
            normal.wait("snapshot")
            first_id = normal.events[0].id

            def pops():
                return sum(e.name == "pop" for e in normal.events)
            c = Client(node.url, timeout=30)

            def cycle(i):
                # A big transaction, a block carrying it, evil popping it:
                # many large events, while the chain itself stays small.
                for path, body, want in (("/transactions/new", {"data": big + str(i)}, 201),
                                         ("/mine", {}, 201), ("/action/evil", {}, 200)):
                    start = time.monotonic()
                    status, _, _ = c.request("POST", path, body)
                    self.assertEqual(status, want, path)
                    if path == "/transactions/new":
                        slowest[0] = max(slowest[0], time.monotonic() - start)

            slowest = [0.0]
            for i in range(20):  # warm up the allocator and the buffers
                cycle(i)
            normal.wait(lambda e: e.name == "pop" and pops() == 20)
            base = rss_mb(pid)

            slow = Stream(node.address, rcvbuf=4096)
            self.assertEqual(slow.status, 200)
            peak = [base]
            sampling = threading.Event()

            def sample():
                while not sampling.is_set():
                    peak[0] = max(peak[0], rss_mb(pid))
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample)
            sampler.start()
            try:
                for i in range(20, 20 + cycles):
                    cycle(i)
            finally:
                sampling.set()
                sampler.join()
            c.close()
            print("\n  RSS %.1f MB before, peak %.1f MB over %d cycles (%.0f MB of events); "
                  "slowest POST /transactions/new %.0f ms"
                  % (base, peak[0], cycles, cycles * 32.5 / 1024, slowest[0] * 1000))
            self.assertLess(peak[0] - base, 64, "RSS grew by %.1f MB" % (peak[0] - base))

            # The normal reader got every event, in order, without a gap.
            normal.wait(lambda e: e.name == "pop" and pops() == 20 + cycles, timeout=60)
            events = normal.events
            self.assertEqual(sum(e.name == "block" for e in events), 20 + cycles)
            ids = [e.id for e in events]
            self.assertEqual(ids, list(range(ids[0], ids[0] + len(ids))))
            self.assertFalse(normal.stream.closed)

            # The slow one was dropped: what it holds ends, long before the
            # last event.
            self.assertTrue(slow.read_to_end(60), "the slow stream is still open")
            got = [e for e in slow.events if e.id is not None]
            print("  the slow reader got %d of %d events before it was dropped"
                  % (len(got), len(events)))
            self.assertLess(len(got), len(events) // 2)
            slow.close()
            wait_gauges(self, node, streams=1, connections=1)

            # Resuming from the first id: long out of the buffer, a snapshot.
            # From a recent one: exactly the events after it.
            r = Stream(node.address, headers={"Last-Event-ID": str(first_id)})
            e = r.next(10)
            self.assertEqual((e.name, e.id), ("snapshot", events[-1].id))
            r.close()
            r = Stream(node.address, headers={"Last-Event-ID": str(events[-5].id)})
            got = [r.next(10) for _ in range(4)]
            self.assertEqual([(x.id, x.name, x.raw) for x in got],
                             [(x.id, x.name, x.raw) for x in events[-4:]])
            r.close()
            normal.stop()

    def test_big_transactions_keep_the_event_buffer_bounded(self):
        # Transactions as large as the default --max-body-bytes allows: the
        # replay buffer (bounded in bytes, README) and a stream that never
        # reads must not hold hundreds of megabytes of them.
        cycles, size = 200, 400 * 1000
        with Node("--ephemeral") as node:
            pid = node.proc.pid
            c = Client(node.url, timeout=60)
            for i in range(5):
                c.request("POST", "/transactions/new", {"data": "warm %d" % i})
                c.request("POST", "/mine", {})
            base = rss_mb(pid)
            slow = Stream(node.address, rcvbuf=4096)
            peak = base
            for i in range(cycles):
                for path, body, want in (("/transactions/new", {"data": "%d%s" % (i, "b" * size)}, 201),
                                         ("/mine", {}, 201), ("/action/evil", {}, 200)):
                    status, _, _ = c.request("POST", path, body)
                    self.assertEqual(status, want, path)
                if i % 10 == 0:
                    peak = max(peak, rss_mb(pid))
            peak = max(peak, rss_mb(pid))
            c.close()
            print("\n  RSS %.1f MB before, peak %.1f MB after %d transactions of %d KB"
                  % (base, peak, cycles, size // 1000))
            # Events carry at most 16 KiB of transactions (README), so these
            # 600 small events may still fit the stream's queue: whether it
            # was dropped is not the point here (see the test above), the
            # memory the node holds for it and for the replay buffer is.
            slow.close()
            self.assertLess(peak - base, 64, "RSS grew by %.1f MB" % (peak - base))

    def test_500_clients_vanishing_leave_the_node_serving(self):
        with Node() as node:
            pid = node.proc.pid
            normal = Watcher(Stream(node.address))
            normal.wait("snapshot")
            wait_gauges(self, node, streams=1, connections=1)
            fds = open_fds(pid)
            stop = threading.Event()

            def produce():  # events flow while clients come and go
                c = Client(node.url)
                i = 0
                while not stop.is_set():
                    c.request("POST", "/transactions/new", {"data": "churn %d" % i})
                    i += 1
                    if i % 20 == 0:
                        c.request("POST", "/mine", {})
                    time.sleep(0.005)
                c.close()

            def vanish(i):
                kind = i % 6
                host, port = node.address.split(":")
                if kind == 0:  # connects, says nothing, leaves
                    socket.create_connection((host, int(port)), 10).close()
                elif kind == 1:  # leaves mid-headers
                    s = socket.create_connection((host, int(port)), 10)
                    s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nAcc")
                    s.close()
                elif kind == 2:  # sends the request, resets before the answer
                    s = socket.create_connection((host, int(port)), 10)
                    s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
                else:
                    try:
                        st = Stream(node.address, timeout=20)
                    except (StreamClosed, OSError):
                        return "refused"
                    if st.status != 200:
                        st.close()
                        return "status %d" % st.status
                    e = st.next(20)
                    if kind == 3:  # after the snapshot, politely
                        st.close()
                    elif kind == 4:  # after the snapshot, with a reset
                        st.reset()
                    else:  # after some events, with a reset
                        st.poll(0.05)
                        st.reset()
                    if e is None or e.name != "snapshot":
                        return "no snapshot: %r" % e
                return "ok"

            producer = threading.Thread(target=produce)
            producer.start()
            try:
                with ThreadPoolExecutor(max_workers=32) as pool:
                    results = list(pool.map(vanish, range(500)))
            finally:
                stop.set()
                producer.join()
            self.assertEqual([r for r in results if r != "ok"], [])

            # Still serving: a write, its event on the stream that stayed.
            status, _ = call(node.url, "POST", "/transactions/new", {"data": "after"})
            self.assertEqual(status, 201)
            normal.wait(lambda e: e.name == "tx" and {"data": "after"} in e.data["transactions"])
            self.assertFalse(normal.stream.closed)
            wait_gauges(self, node, streams=1, connections=1)
            self.assertLessEqual(open_fds(pid), fds + 2)
            normal.stop()


class StreamLimits(unittest.TestCase):
    def test_the_stream_limit_answers_503_with_retry_after(self):
        with Node("--max-event-streams", "3") as node:
            streams = [Stream(node.address) for _ in range(3)]
            try:
                for s in streams:
                    self.assertEqual((s.status, s.next(10).name), (200, "snapshot"))
                over = Stream(node.address)
                self.assertEqual(over.status, 503)
                self.assertTrue(over.headers.get("retry-after", "").isdigit(), over.headers)
                self.assertTrue(over.headers.get("content-type", "").startswith("application/json"))
                self.assertIsInstance(over.json_body().get("error"), str)
                over.close()
                m = scrape(node)
                self.assertEqual(m.value("dlt_event_streams"), 3)
                # One leaves: there is room again.
                streams.pop().close()
                deadline = time.monotonic() + 15
                while True:
                    s = Stream(node.address)
                    if s.status == 200:
                        streams.append(s)
                        break
                    s.close()
                    self.assertLess(time.monotonic(), deadline, "no room after a stream left")
                    time.sleep(0.1)
                self.assertEqual(s.next(10).name, "snapshot")
            finally:
                for s in streams:
                    s.close()

    def test_streams_outlive_the_request_timeouts(self):
        with Node("--read-timeout-ms", "500", "--idle-timeout-ms", "500") as node:
            s = Stream(node.address)
            try:
                self.assertEqual(s.next(10).name, "snapshot")
                self.assertEqual(s.poll(3.0), [])  # six idle timeouts pass
                self.assertFalse(s.closed, "the stream was closed by a request timeout")
                call(node.url, "POST", "/transactions/new", {"data": "later"})
                self.assertEqual(s.next(10).name, "tx")
            finally:
                s.close()

    def test_streams_end_cleanly_on_sigterm(self):
        node = Node()
        with node:
            readers = [Stream(node.address) for _ in range(3)]
            for r in readers:
                self.assertEqual(r.next(10).name, "snapshot")
            call(node.url, "POST", "/transactions/new", {"data": "before the end"})
            for r in readers:
                self.assertEqual(r.next(10).name, "tx")
            stuck = Stream(node.address, rcvbuf=4096)  # never reads
            started = time.monotonic()
            os.kill(node.proc.pid, signal.SIGTERM)
            for r in readers:
                self.assertTrue(r.read_to_end(15), "a stream stayed open after SIGTERM")
                self.assertFalse(r.mid_event(), "a stream ended mid-event")
                self.assertEqual(r.events[-1].name, "tx")
            node.proc.wait(15)
            print("\n  exited %.2f s after SIGTERM" % (time.monotonic() - started))
            stuck.close()
            for r in readers:
                r.close()
        self.assertEqual(node.proc.returncode, 0)


if __name__ == "__main__":
    unittest.main()
