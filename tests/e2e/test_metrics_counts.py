"""GET /metrics counts exactly (issue 13): after a known sequence of
requests (also concurrent ones), refusals, mines, consensus rounds with
good, slow, garbage, dead and oversized peers, a reorg of known depth and
evil pops, every counter equals what was done and every gauge equals what
the API reports. promtool accepts the output after traffic of every kind,
and bad scrapes do not disturb the node."""
import http.client
import socket
import threading
import time
import unittest

from fake_peers import FakePeer
from harness import Node
from metrics_checks import Tally, extend, promtool_problems
from sse import Stream

class MetricsCount(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.close()

    def peer(self, *args, **kw):
        p = FakePeer(*args, **kw)
        self.peers.append(p)
        return p

    # -- checks ---------------------------------------------------------------------

    def assertRequests(self, t, m):
        """dlt_http_requests_total equals the tally, series by series; the
        metrics route is answered after rendering, so the scrape that
        reads it is not counted in it yet."""
        got = {}
        for labels, v in m.series("dlt_http_requests_total").items():
            d = dict(labels)
            got[(d["route"], d["method"], d["code"])] = int(v)
        want = dict(t.counts)
        scrapes = want.pop(("metrics", "GET", "200"), 0)
        seen = got.pop(("metrics", "GET", "200"), 0)
        self.assertIn(seen, (scrapes - 1, scrapes), "metrics scrapes counted")
        self.assertEqual({k: v for k, v in got.items() if v}, want)

    def assertGauges(self, t, m, connections=None, streams=0):
        chain = t.get("/chain")["chain"]
        pending = t.get("/transactions/pending")["pending"]
        status = t.get("/status")
        m = t.scrape()
        native = [p for p in status["total_nodes"] if p.startswith("caf://")]
        self.assertEqual(m.value("dlt_chain_height"), len(chain))
        self.assertEqual(m.value("dlt_chain_height"), status["height"])
        self.assertEqual(m.value("dlt_mempool_transactions"), pending)
        self.assertEqual(m.value("dlt_peers", kind="native"), len(native))
        self.assertEqual(m.value("dlt_peers", kind="http"),
                         len(status["total_nodes"]) - len(native))
        self.assertEqual(m.value("dlt_native_peers_linked"),
                         sum(v == "up" for v in status["links"].values()))
        self.assertEqual(m.value("dlt_event_streams"), streams)
        if connections is not None:
            self.assertEqual(m.value("dlt_http_connections"), connections)
        self.assertEqual(m.value("dlt_build_info", version=status["version"].split()[-1]), 1)
        return m

    def assertHistograms(self, m):
        """Buckets cumulative, +Inf == _count, and no observation longer
        than the process has lived (durations) -- whatever the traffic."""
        uptime = time.time() - m.value("process_start_time_seconds") + 1
        for name, kind in m.types.items():
            if kind != "histogram":
                continue
            series = {}
            for (n, labels), v in m.samples.items():
                if n == name + "_bucket":
                    rest = frozenset(x for x in labels if x[0] != "le")
                    le = dict(labels)["le"]
                    series.setdefault(rest, []).append(
                        (float("inf") if le == "+Inf" else float(le), v))
            for rest, buckets in series.items():
                buckets.sort()
                counts = [v for _, v in buckets]
                self.assertEqual(counts, sorted(counts), "%s%s" % (name, set(rest)))
                labels = dict(rest)
                count = m.value(name + "_count", **labels)
                total = m.value(name + "_sum", **labels)
                self.assertEqual(counts[-1], count, name)
                if name.endswith("_seconds"):
                    self.assertLessEqual(total, count * uptime,
                                         "%s%s: %s s over %d observations in %.0f s of uptime"
                                         % (name, labels, total, count, uptime))

    def assertPromtool(self, m):
        problems = promtool_problems(m.text)
        self.assertEqual(problems, "", "promtool check metrics:\n" + problems)

    # -- the sequence -------------------------------------------------------------

    def test_counters_are_exact_after_a_known_sequence(self):
        node_args = ("--caf-port", "0", "--max-pending", "64", "--max-body-bytes", "16384",
                     "--max-block-bytes", "4096", "--peer-timeout-ms", "1000",
                     "--max-peer-response-bytes", "20000", "--requeue-orphans", "true")
        with Node(*node_args) as node:
            t = Tally(node)
            m = t.scrape()
            for name in ("dlt_transactions_received_total", "dlt_blocks_mined_total",
                         "dlt_chain_reorgs_total", "dlt_chain_pops_total"):
                self.assertEqual(m.value(name), 0, name)
            self.assertGauges(t, m, connections=1)

            # Refusals first: they count only in dlt_http_requests_total.
            for raw in ('{"x": 1}', '{"data": 1', "not json", "[1, 2]"):
                self.assertEqual(t.request("POST", "/transactions/new", raw=raw)[0], 400)
            self.assertEqual(t.post("/transactions/new", {"data": "y" * 5000})[0], 413)

            # 20 one after the other, then 40 from 4 concurrent clients,
            # then 16 more from 8 clients at once against --max-pending 64.
            accepted = 0
            for i in range(20):
                self.assertEqual(t.post("/transactions/new", {"data": "one %d" % i})[0], 201)
                accepted += 1
            answers = []

            def client(k, n):
                c = t.fork()
                try:
                    for i in range(n):
                        answers.append(c.post("/transactions/new", {"data": "c%d-%d" % (k, i)})[0])
                finally:
                    c.close()

            for threads, n in ((4, 10), (8, 2)):
                workers = [threading.Thread(target=client, args=(k, n)) for k in range(threads)]
                for w in workers:
                    w.start()
                for w in workers:
                    w.join()
            self.assertEqual(answers.count(201), 44)
            self.assertEqual(answers.count(503), 12)
            accepted += 44
            m = t.scrape()
            self.assertEqual(m.value("dlt_transactions_received_total"), accepted)
            self.assertEqual(m.value("dlt_mempool_transactions"), 64)
            self.assertRequests(t, m)
            self.assertPromtool(m)

            # Mines: two blocks (an empty mine is no block).
            self.assertIsNotNone(t.post("/mine")[1]["new_block"])
            self.assertIsNone(t.post("/mine")[1]["new_block"])
            for i in range(3):
                t.post("/transactions/new", {"data": "own %d" % i})
            accepted += 3
            self.assertEqual(len(t.post("/mine")[1]["new_block"]["transactions"]), 3)
            m = self.assertGauges(t, None)
            self.assertEqual(m.value("dlt_blocks_mined_total"), 2)
            chain = t.get("/chain")["chain"]
            self.assertEqual(len(chain), 3)

            # Round 1: a good peer whose chain extends ours by two blocks:
            # replaced, but no reorg (nothing dropped).
            good = self.peer({"chain": extend(chain, 2, "ext"), "is_valid": True})
            self.assertEqual(t.post("/nodes/register", {"nodes": [good.address]})[0], 201)
            self.assertEqual(t.post("/nodes/consensus")[1]["status"], "Chain replaced")
            t.post("/nodes/unregister", {"nodes": [good.address]})

            # Round 2: slow, garbage, dead, oversized and failing peers.
            bad = [self.peer({"chain": extend(chain, 6, "slow"), "is_valid": True}, delay=4),
                   self.peer(b"this is not json"),
                   self.peer(mode="dead"),
                   self.peer({"chain": extend(chain, 300, "x" * 100), "is_valid": True}),
                   self.peer({"chain": extend(chain, 6, "err")}, status=500)]
            t.post("/nodes/register", {"nodes": [p.address for p in bad]})
            self.assertEqual(t.post("/nodes/consensus")[1]["status"],
                             "Chain not replaced - master")
            t.post("/nodes/unregister", {"nodes": [p.address for p in bad]})
            m = t.scrape()
            # The slow peer did not answer by the deadline: a timeout, and
            # a round that hit the deadline, whichever timer fires first.
            fetches = {dict(k)["result"]: int(v) for k, v in m.series("dlt_peer_fetches_total").items()}
            fetches["(rounds at deadline)"] = int(m.value("dlt_consensus_rounds_at_deadline_total"))
            self.assertEqual(fetches, {"ok": 1, "timeout": 1, "invalid": 1, "unreachable": 1,
                                       "too_large": 1, "http_error": 1, "other": 0,
                                       "(rounds at deadline)": 1})

            # Round 3: a reorg three blocks deep (our block 3, mined here,
            # and the two adopted ones), four new blocks; block 3's three
            # transactions are requeued -- not received again.
            chain = t.get("/chain")["chain"]
            self.assertEqual(len(chain), 5)
            fork = self.peer({"chain": extend(chain[:2], 4, "fork"), "is_valid": True})
            t.post("/nodes/register", {"nodes": [fork.address]})
            self.assertEqual(t.post("/nodes/consensus")[1]["status"], "Chain replaced")
            # Round 4: the same peer again, not longer: kept, fetched fine.
            self.assertEqual(t.post("/nodes/consensus")[1]["status"],
                             "Chain not replaced - master")
            t.post("/nodes/unregister", {"nodes": [fork.address]})
            self.assertEqual(t.get("/transactions/pending")["pending"], 3)

            # Two evil pops: not reorgs.
            for _ in range(2):
                self.assertEqual(t.post("/action/evil")[1]["status"], "Snap done!")

            # Unknown routes and methods.
            self.assertEqual(t.request("GET", "/nope")[0], 404)
            self.assertEqual(t.request("GET", "/chain/../nope?x=1")[0], 404)
            self.assertEqual(t.request("POST", "/nope/deeper", {})[0], 404)
            self.assertEqual(t.request("BREW", "/chain")[0], 405)
            self.assertEqual(t.request("DELETE", "/mine")[0], 405)
            self.assertEqual(t.request("PUT", "/transactions/new", {"data": 1})[0], 405)
            self.assertEqual(t.request("GET", "/blocks?from=zero")[0], 400)
            self.assertEqual(t.request("HEAD", "/chain")[0], 200)

            m = self.assertGauges(t, None)
            self.assertEqual(m.value("dlt_transactions_received_total"), accepted)
            self.assertEqual(m.value("dlt_blocks_mined_total"), 2)
            self.assertEqual(m.value("dlt_blocks_received_total", via="consensus"), 2 + 4)
            self.assertEqual(m.value("dlt_blocks_received_total", via="gossip"), 0)
            self.assertEqual(m.value("dlt_chain_reorgs_total"), 1)
            self.assertEqual(m.value("dlt_chain_reorg_depth_blocks_count"), 1)
            self.assertEqual(m.value("dlt_chain_reorg_depth_blocks_sum"), 3)
            self.assertEqual(m.value("dlt_chain_reorg_depth_blocks_bucket", le="2"), 0)
            self.assertEqual(m.value("dlt_chain_reorg_depth_blocks_bucket", le="3"), 1)
            self.assertEqual(m.value("dlt_chain_pops_total"), 2)
            self.assertEqual(m.value("dlt_chain_height"), 4)
            self.assertEqual(m.value("dlt_consensus_rounds_total", outcome="replaced"), 2)
            self.assertEqual(m.value("dlt_consensus_rounds_total", outcome="kept"), 2)
            self.assertEqual(m.value("dlt_consensus_round_duration_seconds_count"), 4)
            self.assertEqual(m.value("dlt_peer_fetches_total", result="ok"), 3)
            self.assertGreater(m.value("dlt_storage_commit_duration_seconds_count"), 0)
            self.assertRequests(t, m)
            self.assertHistograms(m)
            self.assertPromtool(m)

            # Peers of both kinds, a native link, streams and connections.
            with Node("--caf-port", "0") as other:
                t.post("/nodes/register", {"nodes": [other.caf_address, "127.0.0.1:9"]})
                deadline = time.monotonic() + 20
                while t.get("/status")["links"].get(other.caf_address) != "up":
                    self.assertLess(time.monotonic(), deadline, "no native link")
                    time.sleep(0.1)
                streams = [Stream(node.address) for _ in range(2)]
                for s in streams:
                    self.assertEqual(s.next(10).name, "snapshot")
                    t.count("/events", "GET", 200)
                idle = [t.fork() for _ in range(3)]
                for c in idle:
                    c.get("/status")
                time.sleep(0.3)  # the node has seen every open and close
                m = self.assertGauges(t, None, connections=1 + 2 + 3, streams=2)
                self.assertEqual(m.value("dlt_native_peers_linked"), 1)
                self.assertEqual(m.value("dlt_peers", kind="native"), 1)
                self.assertEqual(m.value("dlt_peers", kind="http"), 1)
                for c in idle:
                    c.close()
                for s in streams:
                    s.close()
                deadline = time.monotonic() + 10
                while True:
                    m = t.scrape()
                    if (m.value("dlt_event_streams"), m.value("dlt_http_connections")) == (0, 1):
                        break
                    self.assertLess(time.monotonic(), deadline, "connections did not close")
                    time.sleep(0.1)
                other.stop()
                deadline = time.monotonic() + 20
                while t.get("/status")["links"].get(other.caf_address) != "down":
                    self.assertLess(time.monotonic(), deadline, "link still up")
                    time.sleep(0.1)
                m = self.assertGauges(t, None, connections=1)
                self.assertEqual(m.value("dlt_native_peers_linked"), 0)
                self.assertRequests(t, m)
                self.assertPromtool(m)
            t.close()

    def test_early_refusals_count_under_their_route(self):
        # Refused before the request is complete (a body over
        # --max-body-bytes, a header over --max-header-bytes): the route and
        # method are known from the request line.
        with Node("--max-body-bytes", "1024", "--max-header-bytes", "2048") as node:
            t = Tally(node)
            self.assertEqual(t.post("/transactions/new", {"data": "z" * 4000})[0], 413)
            status, _ = t.request("GET", "/chain", headers={"X-Big": "h" * 4000})
            self.assertEqual(status, 431)
            self.assertRequests(t, t.scrape())
            t.close()

    def test_early_refusals_take_moments_not_the_uptime(self):
        # Whatever is refused, and however early, its duration is the time
        # it took: never longer than the node has been running.
        with Node("--max-body-bytes", "1024", "--max-header-bytes", "2048") as node:
            time.sleep(1.0)
            t = Tally(node)
            t.post("/transactions/new", {"data": "z" * 4000})
            t.request("GET", "/chain", headers={"X-Big": "h" * 4000})
            s = socket.create_connection(("127.0.0.1", node.port), 10)
            s.sendall(b"GET /chain HTTP/1.1\r\nHost x\r\n\r\n")  # no colon
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 400"))
            s.close()
            m = t.scrape()
            self.assertHistograms(m)
            self.assertPromtool(m)
            t.close()

    def test_bad_scrapes_do_not_disturb_the_node(self):
        with Node() as node:
            t = Tally(node)
            # HEAD: the headers of GET, no body.
            conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
            conn.request("HEAD", "/metrics")
            res = conn.getresponse()
            self.assertEqual((res.status, res.read()), (200, b""))
            self.assertGreater(int(res.getheader("Content-Length")), 1000)
            conn.close()
            t.count("/metrics", "HEAD", 200)
            # Query strings and the Accept header Prometheus sends.
            plain = t.scrape()
            for target in ("/metrics?x=1", "/metrics?name[]=dlt_chain_height&debug=%00",
                           "/metrics?" + "a=b&" * 500):
                self.assertEqual(set(t.scrape(target).types), set(plain.types), target)
            t.conn.request("GET", "/metrics", headers={
                "Accept": "application/openmetrics-text;version=1.0.0,"
                          "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"})
            res = t.conn.getresponse()
            text = res.read().decode()
            t.count("/metrics", "GET", res.status)
            self.assertTrue(res.getheader("Content-Type").startswith("text/plain; version=0.0.4"))
            self.assertEqual(promtool_problems(text), "")

            # A scraper reading one byte every 100 ms, while others scrape
            # and post transactions.
            slow = socket.socket()
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            slow.connect(("127.0.0.1", node.port))
            slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            stop = threading.Event()
            got = []

            def drip():
                while not stop.is_set():
                    b = slow.recv(1)
                    if not b:
                        break
                    got.append(b)
                    time.sleep(0.1)

            dripper = threading.Thread(target=drip)
            dripper.start()
            errors, posted = [], [0]

            def busy(k):
                c = t.fork()
                try:
                    for i in range(25):
                        if c.post("/transactions/new", {"data": "busy %d %d" % (k, i)})[0] == 201:
                            posted[0] += 1
                        c.scrape()
                except Exception as x:  # noqa: BLE001
                    errors.append(repr(x))
                finally:
                    c.close()

            workers = [threading.Thread(target=busy, args=(k,)) for k in range(4)]
            for w in workers:
                w.start()
            for w in workers:
                w.join(60)
            # Long enough for the dripping reader to see the status line (a
            # byte every 100 ms), however fast the workers were.
            until = time.monotonic() + 5
            while len(b"".join(got)) < 12 and time.monotonic() < until:
                time.sleep(0.1)
            stop.set()
            slow.close()
            dripper.join(5)
            self.assertEqual(errors, [])
            self.assertTrue(b"".join(got).startswith(b"HTTP/1.1 200"), b"".join(got))
            t.count("/metrics", "GET", 200)  # the slow scrape was answered
            deadline = time.monotonic() + 10
            while True:
                m = t.scrape()
                if m.value("dlt_http_connections") == 1:
                    break
                self.assertLess(time.monotonic(), deadline, "the slow scraper's connection stayed")
                time.sleep(0.1)
            self.assertEqual(m.value("dlt_transactions_received_total"), posted[0])
            self.assertEqual(posted[0], 100)
            self.assertRequests(t, m)
            self.assertPromtool(m)
            t.close()

    def test_metrics_can_be_turned_off(self):
        with Node("--metrics", "false") as node:
            t = Tally(node)
            status, body = t.request("GET", "/metrics")
            self.assertEqual(status, 404)
            self.assertIsInstance(body.get("error"), str)
            self.assertEqual(t.post("/transactions/new", {"data": 1})[0], 201)
            t.close()


if __name__ == "__main__":
    unittest.main()
