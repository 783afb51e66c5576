"""Issue 10, item 5: state clients can make the node hold is bounded. A full
mempool (by count or by bytes) answers 503 JSON with Retry-After until a
mine frees room; a transaction no block could carry is refused with 413;
mines take bounded batches, and 300 transactions of 1 MB are mined over
many blocks, each within --max-block-bytes, none lost; the peer registry
evicts peers that keep failing, makes room for new ones by evicting the
peer failing longest, never evicts one that answers, and an operator can
remove peers with POST /nodes/unregister (stored; errors 4xx JSON)."""
import json
import unittest

from harness import Node
from ledger_checks import DataDir, height, raw_call, restart, start, stop_cleanly
from sse import Stream

MIB = 1 << 20


def post_tx(port, data, timeout=60):
    """(status, parsed answer or None, headers)."""
    status, raw, res = raw_call(port, "POST", "/transactions/new", {"data": data},
                                timeout=timeout)
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    return status, body, res


def mine(port):
    status, raw, _ = raw_call(port, "POST", "/mine", {})
    assert status == 201, (status, raw[:300])
    return json.loads(raw)["new_block"]


def status_of(port):
    return json.loads(raw_call(port, "GET", "/status")[1])


def blocks(port, first, count):
    status, raw, _ = raw_call(port, "GET", "/blocks?from=%d&count=%d" % (first, count))
    assert status == 200, status
    return json.loads(raw)["blocks"]


class MempoolAndBlocks(unittest.TestCase):
    def assertFull(self, status, body, res):
        self.assertEqual(status, 503)
        self.assertEqual(list(body), ["error"])
        self.assertIn("full", body["error"])
        self.assertTrue(res.getheader("Retry-After"), "no Retry-After header")

    def test_a_full_mempool_by_count_refuses_until_a_mine(self):
        with DataDir() as d:
            node = start(self, "--data-dir", d, "--max-pending", "5")
            for i in range(5):
                self.assertEqual(post_tx(node.port, "tx %d" % i)[0], 201)
            self.assertFull(*post_tx(node.port, "one too many"))
            node = restart(self, node, d, "--max-pending", "5")
            self.assertFull(*post_tx(node.port, "still full after a restart"))
            block = mine(node.port)
            self.assertEqual([t["data"] for t in block["transactions"]],
                             ["tx %d" % i for i in range(5)])
            self.assertEqual(post_tx(node.port, "room again")[0], 201)
            self.assertEqual(status_of(node.port)["pending"], 1)
            stop_cleanly(self, node)

    def test_a_full_mempool_by_bytes_refuses_until_a_mine(self):
        data = "x" * 300  # {"data": "xxx..."}: 312 canonical bytes
        with DataDir() as d:
            node = start(self, "--data-dir", d, "--max-pending-bytes", "1200")
            for i in range(3):
                self.assertEqual(post_tx(node.port, data[:-1] + str(i))[0], 201)
            self.assertFull(*post_tx(node.port, data))
            # A small one still fits (the bound is bytes, not count).
            self.assertEqual(post_tx(node.port, "small")[0], 201)
            self.assertEqual(len(mine(node.port)["transactions"]), 4)
            self.assertEqual(post_tx(node.port, data)[0], 201)
            stop_cleanly(self, node)

    def test_a_transaction_no_block_can_carry_is_refused_with_413(self):
        with DataDir() as d:
            node = start(self, "--data-dir", d, "--max-block-bytes", "100000")
            status, body, _ = post_tx(node.port, "y" * 150000)
            self.assertEqual(status, 413)
            self.assertEqual(list(body), ["error"])
            self.assertIn("too large", body["error"].lower())
            # One that fits is mined, alone.
            self.assertEqual(post_tx(node.port, "z" * 90000)[0], 201)
            self.assertEqual(post_tx(node.port, "z" * 90001)[0], 201)
            self.assertEqual(len(mine(node.port)["transactions"]), 1)
            self.assertEqual(len(mine(node.port)["transactions"]), 1)
            self.assertIsNone(mine(node.port))
            stop_cleanly(self, node)

    def test_a_mine_takes_at_most_max_block_transactions(self):
        with Node("--max-block-transactions", "7") as node:
            for i in range(20):
                self.assertEqual(post_tx(node.port, i)[0], 201)
            sizes = [len(mine(node.port)["transactions"]) for _ in range(3)]
            self.assertEqual(sizes, [7, 7, 6])
            self.assertIsNone(mine(node.port))
            got = [t["data"] for b in blocks(node.port, 2, 3) for t in b["transactions"]]
            self.assertEqual(got, list(range(20)))

    def test_300_transactions_of_1_mb_with_default_settings(self):
        """The mempool holds 64 MiB by default: a client posts on a 503 only
        after a mine. Every acknowledged transaction ends up in exactly one
        block, in order, and every block stays within --max-block-bytes."""
        max_block = 4 * MIB
        with DataDir() as d:
            node = start(self, "--data-dir", d)
            acked, refusals = [], 0
            for i in range(300):
                data = "%04d " % i + "m" * (1000 * 1000 - 5)
                while True:
                    status, body, res = post_tx(node.port, data)
                    if status == 201:
                        acked.append(i)
                        break
                    self.assertFull(status, body, res)
                    refusals += 1
                    mine(node.port)
            while mine(node.port):
                pass
            self.assertGreater(refusals, 0, "the default mempool took 300 MB")
            n = height(node.port)
            self.assertGreater(n, 300 // 4)
            mined = []
            for first in range(2, n + 1, 8):
                for b in blocks(node.port, first, 8):
                    size = len(json.dumps(b, sort_keys=True))
                    self.assertLessEqual(size, max_block, "block %d" % b["index"])
                    mined += [int(t["data"][:4]) for t in b["transactions"]]
            self.assertEqual(mined, acked)
            node = restart(self, node, d)
            self.assertEqual(height(node.port), n)
            stop_cleanly(self, node)


JUNK = ["127.1.%d.%d:9" % (i // 250, 1 + i % 250) for i in range(1100)]


class PeerRegistry(unittest.TestCase):
    def register(self, node, nodes):
        status, raw, _ = raw_call(node.port, "POST", "/nodes/register", {"nodes": nodes})
        self.assertEqual(status, 201, raw[:300])
        return json.loads(raw)

    def consensus(self, node):
        status, raw, _ = raw_call(node.port, "POST", "/nodes/consensus", {})
        self.assertEqual(status, 200, raw[:300])
        return json.loads(raw)["status"]

    def test_junk_peers_are_evicted_and_a_real_one_works(self):
        args = ("--peer-max-failures", "2", "--peer-failing-for-s", "0",
                "--peer-timeout-ms", "2000")
        with DataDir() as d, Node() as real:
            for i in range(2):
                raw_call(real.port, "POST", "/transactions/new", {"data": "real %d" % i})
                raw_call(real.port, "POST", "/mine", {})
            node = start(self, "--data-dir", d, *args)
            # One request, 1,025 addresses: the registry holds 1,024; the
            # rest is refused (nothing is failing yet to make room).
            answer = self.register(node, JUNK[:1025])
            self.assertEqual(len(answer["total_nodes"]), 1024)
            self.assertEqual(answer["invalid_nodes"], [JUNK[1024]])
            node = restart(self, node, d, *args)  # stored
            stream = Stream(node.address)
            self.addCleanup(stream.close)
            self.assertEqual(len(stream.next().data["peers"]), 1024)
            # Full: a real peer is refused until junk fails.
            self.assertEqual(self.register(node, [real.address]).get("invalid_nodes"),
                             [real.address])
            self.assertEqual(self.consensus(node), "Chain not replaced - master")
            self.assertEqual(len(status_of(node.port)["total_nodes"]), 1024)
            self.consensus(node)  # the second failure in a row: evicted
            # Evictions are stored, then announced (after the round's answer).
            stream.until(lambda e: e.name == "peers" and not e.data["total_nodes"])
            self.assertEqual(status_of(node.port)["total_nodes"], [])
            self.assertIn("evicting", node.log_text())
            self.assertEqual(self.register(node, [real.address])["total_nodes"], [real.address])
            self.assertEqual(self.consensus(node), "Chain replaced")
            self.assertEqual(height(node.port), 3)
            node = restart(self, node, d, *args)
            self.assertEqual(status_of(node.port)["total_nodes"], [real.address])
            stop_cleanly(self, node)

    def test_a_full_registry_evicts_the_peer_failing_longest(self):
        args = ("--max-peers", "8", "--peer-max-failures", "100",
                "--peer-timeout-ms", "2000")
        old, newer, late = JUNK[:4], JUNK[4:8], JUNK[8:14]
        with Node() as real1, Node() as real2, Node(*args) as node:
            self.register(node, old)
            self.consensus(node)             # old: failing since round 1
            self.register(node, newer)
            self.consensus(node)             # newer: failing since round 2
            total = self.register(node, [real1.address])["total_nodes"]
            self.assertEqual(len(total), 8)
            self.assertIn(real1.address, total)
            gone = [p for p in old + newer if p not in total]
            self.assertEqual(len(gone), 1)
            self.assertIn(gone[0], old, "evicted a peer failing for less long")
            self.register(node, [real2.address])
            self.consensus(node)             # the real ones answer
            # Six more: the six failing peers make room; the answering
            # peers stay.
            total = self.register(node, late)["total_nodes"]
            self.assertEqual(sorted(total), sorted([real1.address, real2.address] + late))
            # Full of answering and not yet asked peers: nothing to evict.
            answer = self.register(node, [JUNK[20]])
            self.assertEqual(answer["invalid_nodes"], [JUNK[20]])
            self.assertEqual(sorted(answer["total_nodes"]), sorted(total))

    def test_unregister_removes_peers_for_good(self):
        with DataDir() as d:
            node = start(self, "--data-dir", d)
            self.register(node, ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"])
            status, raw, _ = raw_call(node.port, "POST", "/nodes/unregister",
                                      {"nodes": ["http://127.0.0.1:7001", "127.0.0.1:7003",
                                                 "127.0.0.1:9999"]})
            self.assertEqual(status, 200, raw)
            self.assertEqual(json.loads(raw), {"removed": ["127.0.0.1:7001", "127.0.0.1:7003"],
                                               "total_nodes": ["127.0.0.1:7002"]})
            node = restart(self, node, d)
            self.assertEqual(status_of(node.port)["total_nodes"], ["127.0.0.1:7002"])
            for body, code in [(b"not json", 400), (b"{}", 400), (b'{"nodes": []}', 400),
                               (b'{"nodes": null}', 400), (b'{"nodes": "127.0.0.1:7002"}', 400),
                               (b'{"nodes": [7002]}', 400), (b"[" * 600 + b"]" * 600, 400)]:
                with self.subTest(body=body[:40]):
                    status, raw, _ = raw_call(node.port, "POST", "/nodes/unregister", body)
                    self.assertEqual(status, code, raw)
                    self.assertEqual(list(json.loads(raw)), ["error"])
            status, raw, res = raw_call(node.port, "GET", "/nodes/unregister")
            self.assertEqual(status, 405)
            self.assertEqual(list(json.loads(raw)), ["error"])
            self.assertEqual(res.getheader("Allow"), "POST")
            self.assertEqual(status_of(node.port)["total_nodes"], ["127.0.0.1:7002"])
            stop_cleanly(self, node)
