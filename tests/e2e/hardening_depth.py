"""Issue 10, item 1: one depth rule wherever a value goes. A transaction
nested at the request bound is accepted, mined, kept across restarts and
adopted by other dlt-nodes over HTTP and native links; one level more is
refused; a ledger an older build wrote with a 511-level transaction starts;
what a Python node serves, and peers' chains up to the carried bound, are
adopted and kept."""
import hashlib
import json
import os
import signal
import sqlite3
import unittest

from harness import Node, RefNode
from hostile_peers import (GENESIS, HostilePeer, answer_text, chain_texts, fixed,
                           nested)
from ledger_checks import (DataDir, chain_bytes, height, raw_call, restart, serves, start,
                           stop_cleanly)

REQUEST_BOUND = 512    # levels of data a client may send
CARRIED_BOUND = 1000   # levels of data accepted from peers and the ledger


def tx_body(levels):
    return '{"data": %s}' % nested(levels)


def canonical(value):
    return json.dumps(value, sort_keys=True)


def write_old_ledger(path, blocks, pending=(), own=()):
    """A ledger as an older build wrote it (format 1, the tables of
    storage/ledger_store.cpp): `blocks` and `pending` as canonical texts."""
    db = sqlite3.connect(os.path.join(path, "ledger.sqlite"))
    db.executescript("""
        CREATE TABLE blocks (idx INTEGER PRIMARY KEY, hash TEXT NOT NULL, json TEXT NOT NULL);
        CREATE TABLE own_blocks (hash TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE pending (seq INTEGER PRIMARY KEY, json TEXT NOT NULL);
        CREATE TABLE peers (pos INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE);
        PRAGMA user_version=1;""")
    for i, text in enumerate(blocks):
        db.execute("INSERT INTO blocks VALUES (?, ?, ?)",
                   (i + 1, hashlib.sha256(text.encode()).hexdigest(), text))
    for i, text in enumerate(pending):
        db.execute("INSERT INTO pending VALUES (?, ?)", (i + 1, text))
    for h in own:
        db.execute("INSERT INTO own_blocks VALUES (?)", (h,))
    db.commit()
    db.close()


class DepthRule(unittest.TestCase):
    def adopt(self, node, peer_address):
        """Registers `peer_address` with `node` and runs consensus: the
        node must replace its chain."""
        status, raw, _ = raw_call(node.port, "POST", "/nodes/register",
                                  {"nodes": [peer_address]})
        self.assertEqual(status, 201, raw)
        status, raw, _ = raw_call(node.port, "POST", "/nodes/consensus", {})
        self.assertEqual(status, 200)
        self.assertTrue(raw.endswith(b'"status": "Chain replaced"}'),
                        raw[-200:] + node.log_text()[-2000:].encode())

    def test_request_bound_is_accepted_mined_kept_and_spread(self):
        with DataDir() as d, DataDir() as d_http:
            node = start(self, "--data-dir", d, "--caf-port", "0")
            status, raw, _ = raw_call(node.port, "POST", "/transactions/new",
                                      tx_body(REQUEST_BOUND + 1))
            self.assertEqual(status, 400)
            error = json.loads(raw)["error"]
            self.assertIn("nested deeper", error)
            self.assertIn(str(REQUEST_BOUND), error)
            status, raw, _ = raw_call(node.port, "POST", "/transactions/new",
                                      tx_body(REQUEST_BOUND))
            self.assertEqual(status, 201, raw[:300])
            self.assertEqual(raw, b'{"transaction": %s}' % tx_body(REQUEST_BOUND).encode())
            status, raw, _ = raw_call(node.port, "POST", "/mine", {})
            self.assertEqual(status, 201, raw[:300])
            self.assertIn(tx_body(REQUEST_BOUND).encode(), raw)
            mined = chain_bytes(node.port)
            self.assertEqual(height(node.port), 2)
            # Restarts, cleanly and not: the ledger is the node's own.
            node = restart(self, node, d, "--caf-port", "0")
            node = restart(self, node, d, "--caf-port", "0", sig=signal.SIGKILL)
            self.assertEqual(chain_bytes(node.port), mined)
            # Another dlt-node adopts it over HTTP, and keeps it.
            other = start(self, "--data-dir", d_http)
            self.adopt(other, node.address)
            self.assertEqual(chain_bytes(other.port), mined)
            other = restart(self, other, d_http)
            stop_cleanly(self, other)
            # ... and a third over a native link.
            with Node() as native:
                self.adopt(native, node.caf_address)
                self.assertEqual(chain_bytes(native.port), mined)
            serves(self, node, "after the deep block")
            stop_cleanly(self, node)

    def test_ledger_of_an_older_build_with_511_levels_starts(self):
        genesis = {"index": 1, "previous_hash": "0", "timestamp": 1700000000.5,
                   "transactions": [{"data": GENESIS}]}
        g_text = canonical(genesis)
        deep = json.loads(nested(511))
        block = {"index": 2,
                 "previous_hash": hashlib.sha256(g_text.encode()).hexdigest(),
                 "timestamp": 1700000001.25, "transactions": [{"data": deep}]}
        b_text = canonical(block)
        pending = canonical({"data": deep})
        with DataDir() as d:
            write_old_ledger(d, [g_text, b_text], [pending],
                             [hashlib.sha256(b_text.encode()).hexdigest()])
            node = start(self, "--data-dir", d)
            self.assertEqual(chain_bytes(node.port),
                             b'{"chain": [%s, %s], "is_valid": true}'
                             % (g_text.encode(), b_text.encode()))
            status, raw, _ = raw_call(node.port, "GET", "/transactions/pending")
            self.assertEqual(json.loads(raw)["transactions"], [{"data": deep}])
            # The pending 511-level transaction is mined like any other.
            status, raw, _ = raw_call(node.port, "POST", "/mine", {})
            self.assertEqual(status, 201, raw[:300])
            self.assertEqual(json.loads(raw)["new_block"]["transactions"],
                             [{"data": deep}])
            node = restart(self, node, d)
            self.assertEqual(height(node.port), 3)
            stop_cleanly(self, node)

    def test_a_python_nodes_deeper_values_are_adopted_and_kept(self):
        levels = 900
        with RefNode() as ref, DataDir() as d:
            status, raw, _ = raw_call(ref.port, "POST", "/transactions/new", tx_body(levels))
            self.assertEqual(status, 201)
            status, raw, _ = raw_call(ref.port, "POST", "/mine", {})
            self.assertEqual(status, 201)
            theirs = chain_bytes(ref.port)  # json.dumps(sort_keys=True), as the reference
            node = start(self, "--data-dir", d, "--caf-port", "0")
            self.adopt(node, ref.address)
            served = chain_bytes(node.port)
            self.assertEqual(served, theirs)
            node = restart(self, node, d, "--caf-port", "0")
            with Node() as http_peer, Node() as native_peer:
                self.adopt(http_peer, node.address)
                self.adopt(native_peer, node.caf_address)
                self.assertEqual(chain_bytes(http_peer.port), served)
                self.assertEqual(chain_bytes(native_peer.port), served)
            stop_cleanly(self, node)

    def test_peers_chains_up_to_the_carried_bound(self):
        """Data nested 1,000 levels (more than Python's json reads back) in a
        peer's chain is adopted, served byte for byte and kept across a
        restart; 1,001 levels is refused and the chain stays ours."""
        for levels, adopted in ((CARRIED_BOUND, True), (CARRIED_BOUND + 1, False)):
            with self.subTest(levels=levels), DataDir() as d:
                sent, canon = chain_texts(['"before"', nested(levels), '"after"'])
                node = start(self, "--data-dir", d)
                ours = chain_bytes(node.port)
                with HostilePeer(fixed(answer_text(sent))) as peer:
                    raw_call(node.port, "POST", "/nodes/register",
                             {"nodes": [peer.address]})
                    status, raw, _ = raw_call(node.port, "POST", "/nodes/consensus", {})
                self.assertEqual(status, 200)
                if adopted:
                    self.assertTrue(raw.endswith(b'"Chain replaced"}'), raw[-100:])
                    self.assertEqual(chain_bytes(node.port),
                                     answer_text(canon).encode())
                else:
                    self.assertTrue(raw.endswith(b'"Chain not replaced - master"}'))
                    self.assertEqual(chain_bytes(node.port), ours)
                    self.assertIn("nested deeper", node.log_text())
                node = restart(self, node, d)
                stop_cleanly(self, node)
