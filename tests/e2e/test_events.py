"""GET /events on real nodes: every event of the contract (README, issue 12)
with its fields and types, in the order the node went through its states,
each one's state already visible through the REST API when it arrives;
snapshots, resuming with Last-Event-ID, coalesced transaction events, and
the keep-alive comment. Two nodes linked over HTTP replay the notebook;
two natively linked nodes with push gossip show gossiped blocks."""
import threading
import time
import unittest

from event_checks import (BLOCK_KEYS, STATUS_TEXTS, NodeView, Observed, check_fields,
                          need)
from harness import Client, Node, block_hash, call
from sse import Stream, Watcher

def post(node, path, body=None, **kw):
    return call(node.url, "POST", path, {} if body is None else body, **kw)


class EventsOverHttpPeers(unittest.TestCase):
    def assertIds(self, events):
        ids = [e.id for e in events]
        self.assertTrue(all(b > a for a, b in zip(ids, ids[1:])),
                        "ids do not increase: %s" % ids)

    def test_notebook_flow_emits_every_event_in_order(self):
        with Node() as n1, Node() as n2:
            o1, o2 = Observed(n1), Observed(n2)
            try:
                self.notebook(n1, n2, o1, o2)
            finally:
                o1.close()
                o2.close()
            self.assertEqual(o1.errors() + o2.errors(), [])
            for o in (o1, o2):
                self.assertEqual(o.watcher.events[0].name, "snapshot")
                self.assertIds(o.watcher.events)

    def notebook(self, n1, n2, o1, o2):
        p1, p2 = "localhost:%d" % n1.port, "localhost:%d" % n2.port
        for o, node in ((o1, n1), (o2, n2)):
            snap = o.step(["snapshot"])[0].data
            self.assertEqual((snap["height"], snap["pending"], snap["peers"],
                              snap["links"], snap["http"]), (1, 0, [], {}, {}))

        # Register each other: one peers event each.
        self.assertEqual(post(n1, "/nodes/register", {"nodes": ["http://" + p2]})[0], 201)
        peers = o1.step(["peers"])[0].data
        self.assertEqual((peers["total_nodes"], peers["links"], peers["http"]), ([p2], {}, {}))
        self.assertEqual(post(n2, "/nodes/register", {"nodes": ["http://" + p1]})[0], 201)
        self.assertEqual(o2.step(["peers"])[0].data["total_nodes"], [p1])

        # One transaction each, mine: tx, then the block, then tx (mined).
        for node, o, text in ((n1, o1, "Hello, Node 1!"), (n2, o2, "Hello, Node 2!")):
            self.assertEqual(post(node, "/transactions/new", {"data": text})[0], 201)
            tx = o.step(["tx"])[0].data
            self.assertEqual((tx["pending"], tx["added"], tx["transactions"]),
                             (1, 1, [{"data": text}]))
            status, body = post(node, "/mine")
            self.assertEqual(status, 201)
            block, mined = o.step(["block", "tx"])
            self.assertBlockIs(block, body["new_block"], "mined")
            self.assertEqual((mined.data["pending"], mined.data["added"]), (0, 0))
        o1.step([])
        o2.step([])  # nothing crossed over: peers are HTTP, nothing is pushed

        # Node 1: two transactions (one or two coalesced tx events), block 3.
        for text in ("Hello, Node 1!", "Hello, Node 2!"):
            post(n1, "/transactions/new", {"data": text})
        txs = o1.drain()
        self.assertTrue(txs and all(e.name == "tx" for e in txs), txs)
        self.assertEqual(sum(e.data["added"] for e in txs), 2)
        self.assertEqual(txs[-1].data["pending"], 2)
        self.assertEqual([t for e in txs for t in e.data["transactions"]],
                         [{"data": "Hello, Node 1!"}, {"data": "Hello, Node 2!"}])
        status, body = post(n1, "/mine")
        block3 = body["new_block"]
        self.assertBlockIs(o1.step(["block", "tx"])[0], block3, "mined")
        master = call(n1.url, "GET", "/chain")[1]["chain"]

        # Consensus on node 1: kept; only a consensus event.
        self.assertEqual(post(n1, "/nodes/consensus")[1]["status"], STATUS_TEXTS[1])
        c = o1.step(["consensus"])[0].data
        self.assertEqual((c["replaced"], c["asked"], c["answered"]), (False, 1, 1))
        self.assertEqual([s["peer"] for s in c["skipped"]], [p2])  # not longer

        # Consensus on node 2: node 1's chain replaces both of its blocks
        # (another genesis): chain before that round's consensus.
        self.assertEqual(post(n2, "/nodes/consensus")[1]["status"], STATUS_TEXTS[0])
        chain_ev, cons = o2.step(["chain", "consensus"])
        self.assertEqual(chain_ev.data, {
            "height": 3, "tip": block_hash(master[-1]), "fork_index": 0,
            "dropped": 2, "added": 3, "peer": p1})
        self.assertEqual((cons.data["replaced"], cons.data["status"], cons.data["asked"],
                          cons.data["answered"], cons.data["skipped"]),
                         (True, STATUS_TEXTS[0], 1, 1, []))

        # Evil on node 2 pops block 3.
        status, body = post(n2, "/action/evil")
        self.assertEqual(body["status"], "Snap done!")
        self.assertEqual(o2.step(["pop"])[0].data, {
            "height": 2, "tip": block_hash(master[1]), "index": 3,
            "hash": block_hash(block3)})

        # Node 2 mines two evil blocks.
        evil = []
        for index in (3, 4):
            post(n2, "/transactions/new", {"data": "Evil transaction"})
            o2.step(["tx"])
            body = post(n2, "/mine")[1]
            evil.append(body["new_block"])
            block = o2.step(["block", "tx"])[0]
            self.assertBlockIs(block, body["new_block"], "mined")
            self.assertEqual(block.data["index"], index)

        # Consensus on node 1: the evil chain wins from block 2 on.
        self.assertEqual(post(n1, "/nodes/consensus")[1]["status"], STATUS_TEXTS[0])
        chain_ev, cons = o1.step(["chain", "consensus"])
        self.assertEqual(chain_ev.data, {
            "height": 4, "tip": block_hash(evil[-1]), "fork_index": 2,
            "dropped": 1, "added": 2, "peer": p2})
        self.assertTrue(cons.data["replaced"])
        o2.step([])

        # Unregister: a peers event with the peer gone.
        status, body = post(n1, "/nodes/unregister", {"nodes": [p2]})
        self.assertEqual((status, body), (200, {"removed": [p2], "total_nodes": []}))
        self.assertEqual(o1.step(["peers"])[0].data["total_nodes"], [])

        # A new stream's snapshot: the state now, its id the latest event's.
        late = Stream(n1.address)
        try:
            self.assertEqual(late.status, 200)
            self.assertEqual(late.headers.get("content-type"), "text/event-stream")
            snap = late.next(10)
            self.assertEqual(snap.name, "snapshot")
            check_fields(snap)
            self.assertEqual(snap.id, o1.watcher.events[-1].id)
            chain = call(n1.url, "GET", "/chain")[1]["chain"]
            self.assertEqual((snap.data["height"], snap.data["tip"], snap.data["pending"],
                              snap.data["peers"], snap.data["blocks"]),
                             (4, block_hash(evil[-1]), 0, [], chain))
        finally:
            late.close()

    def assertBlockIs(self, event, block, origin):
        self.assertEqual({k: event.data[k] for k in BLOCK_KEYS}, block)
        self.assertEqual(event.data["hash"], block_hash(block))
        self.assertEqual(event.data["origin"], origin)

    def test_resume_replays_missed_events_else_a_snapshot(self):
        with Node() as node:
            live = Observed(node)
            try:
                live.step(["snapshot"])
                b = Stream(node.address)
                first = b.next(10)
                self.assertEqual(first.name, "snapshot")
                post(node, "/transactions/new", {"data": "seen"})
                live.step(["tx"])
                post(node, "/mine")
                live.step(["block", "tx"])
                seen = b.until(lambda e: e.name == "tx" and e.data["pending"] == 0)
                last = seen[-1].id
                b.close()
                # Missed while away: peers, tx, block, tx, pop, peers.
                post(node, "/nodes/register", {"nodes": ["127.0.0.1:9"]})
                post(node, "/transactions/new", {"data": "missed"})
                live.step(["peers", "tx"])
                post(node, "/mine")
                live.step(["block", "tx"])
                post(node, "/action/evil")
                post(node, "/nodes/unregister", {"nodes": ["127.0.0.1:9"]})
                live.step(["pop", "peers"])
                missed = [e for e in live.watcher.events if e.id > last]
                self.assertEqual(len(missed), 6)
                want = [(e.id, e.name, e.raw) for e in missed]

                for how in ({"headers": {"Last-Event-ID": str(last)}},
                            {"path": "/events?last_event_id=%d" % last}):
                    r = Stream(node.address, **how)
                    try:
                        got = [r.next(10) for _ in missed]
                        self.assertEqual([(e.id, e.name, e.raw) for e in got if e], want,
                                         "resumed with %r" % how)
                        self.assertIsNone(r.next(0.5), "more than the missed events")
                    finally:
                        r.close()

                # Resuming at the latest id: no snapshot, no replay, then
                # the next event as it happens.
                r = Stream(node.address, headers={"Last-Event-ID": str(missed[-1].id)})
                try:
                    self.assertIsNone(r.next(0.5))
                    post(node, "/transactions/new", {"data": "after"})
                    e = r.next(10)
                    self.assertEqual((e.name, e.id), ("tx", missed[-1].id + 1))
                finally:
                    r.close()
                live.step(["tx"])
                latest = live.watcher.events[-1].id

                # Stale, unknown (ahead of the node) or malformed ids: a
                # fresh snapshot, its id the latest event's.
                for bad in ("1", str(first.id - 5000), str(latest + 1000),
                            "abc", "-3", "99999999999999999999999"):
                    r = Stream(node.address, headers={"Last-Event-ID": bad})
                    try:
                        e = r.next(10)
                        self.assertEqual((e.name, e.id), ("snapshot", latest),
                                         "Last-Event-ID: %s" % bad)
                        self.assertIsNone(r.next(0.3))
                    finally:
                        r.close()
                self.assertEqual(live.errors(), [])
            finally:
                live.close()

    def test_transaction_events_are_coalesced_under_a_burst(self):
        threads, per_thread = 8, 60
        total = threads * per_thread
        with Node() as node:
            view = NodeView(node)
            errors = []

            def seen(e):
                check_fields(e)
                if e.name == "tx":  # during the burst: only more pending
                    d = e.data
                    pending = view.get("/transactions/pending?limit=1000")
                    need(pending["pending"] >= d["pending"], "%r: pending %d"
                         % (e, pending["pending"]))
                    for tx in d["transactions"]:
                        need(tx in pending["transactions"], "%r: %r not pending" % (e, tx))

            w = Watcher(Stream(node.address), seen)
            try:
                w.wait("snapshot")

                def burst(k):
                    c = Client(node.url)
                    try:
                        for i in range(per_thread):
                            status, _, _ = c.request("POST", "/transactions/new",
                                                     {"data": "burst %d %d" % (k, i)})
                            if status != 201:
                                errors.append(status)
                    finally:
                        c.close()

                started = time.monotonic()
                workers = [threading.Thread(target=burst, args=(k,)) for k in range(threads)]
                for t in workers:
                    t.start()
                for t in workers:
                    t.join()
                self.assertEqual(errors, [])
                w.wait(lambda e: e.name == "tx" and e.data["pending"] == total, timeout=30)
                w.settle(0.5)
                txs = [e for e in w.since(1)]
                self.assertTrue(all(e.name == "tx" for e in txs), txs)
                took = txs[-1].at - started
                self.assertEqual(sum(e.data["added"] for e in txs), total)
                self.assertEqual([e.data["mined"] for e in txs], [0] * len(txs))
                pendings = [e.data["pending"] for e in txs]
                self.assertEqual(pendings, sorted(pendings))
                # At most one event per 100 ms (plus the first): so never
                # more than ~10 a second, however fast transactions come.
                print("\n  %d transactions in %.2f s -> %d tx events (%.1f/s)"
                      % (total, took, len(txs), len(txs) / took))
                self.assertLessEqual(len(txs), took / 0.1 + 2)
                self.assertLess(len(txs), total)
                # The last event lists the last transactions queued.
                queued = view.get("/transactions/pending?limit=1000")["transactions"]
                last = txs[-1].data["transactions"]
                self.assertEqual(len(last), min(20, txs[-1].data["added"]))
                self.assertEqual(last, queued[len(queued) - len(last):])
                self.assertEqual(w.errors, [])
            finally:
                w.stop()
                view.close()

    def test_an_idle_stream_gets_a_keep_alive_comment(self):
        # The contract: a comment every 15 s, so that proxies with idle
        # timeouts of 30 s keep the stream. The bound below leaves a loaded
        # machine 7 s of slack past the interval; it is not a benchmark.
        with Node() as node:
            s = Stream(node.address)
            try:
                self.assertEqual(s.headers.get("cache-control"), "no-cache")
                self.assertEqual(s.next(10).name, "snapshot")
                written = time.monotonic()  # the last event written
                while not s.comments and time.monotonic() - written < 22:
                    self.assertEqual(s.poll(0.5), [], "an idle node sent events")
                    self.assertFalse(s.closed, "the idle stream was closed")
                self.assertIn("keep-alive", s.comments,
                              "no comment within 22 s of the last event")
                # The stream goes on after the comment.
                post(node, "/transactions/new", {"data": "still here"})
                self.assertEqual(s.next(10).name, "tx")
            finally:
                s.close()


class EventsOverNativeLinks(unittest.TestCase):
    def test_linked_nodes_report_links_gossip_and_reorgs(self):
        args = ("--caf-port", "0", "--gossip", "push")
        with Node(*args) as n1, Node(*args) as n2:
            o1, o2 = Observed(n1), Observed(n2)
            try:
                self.flow(n1, n2, o1, o2)
            finally:
                o1.close()
                o2.close()
            self.assertEqual(o1.errors() + o2.errors(), [])

    def flow(self, n1, n2, o1, o2):
        for o in (o1, o2):
            o.step(["snapshot"])
        self.assertEqual(post(n2, "/nodes/register", {"nodes": [n1.caf_address]})[0], 201)
        self.assertEqual(post(n1, "/nodes/register", {"nodes": [n2.caf_address]})[0], 201)
        # Registered, then linked, then the HTTP address learnt: peers
        # events until the link is up and the address known.
        for o, other in ((o1, n2), (o2, n1)):
            o.watcher.wait(lambda e: e.name == "peers"
                           and e.data["links"].get(other.caf_address) == "up"
                           and e.data["http"].get(other.caf_address) == other.address)
            got = o.drain()
            self.assertTrue(got and all(e.name == "peers" for e in got), got)
            self.assertEqual(got[0].data["total_nodes"], [other.caf_address])

        # Node 1 mines block 2. Node 2 (its own genesis) syncs from the
        # announcer: the chain event names it as listed in total_nodes.
        # Each event is checked against the API as it comes: the next change
        # waits for it.
        post(n1, "/transactions/new", {"data": "over caf"})
        o1.step(["tx"])
        body = post(n1, "/mine")[1]
        o1.step(["block", "tx"])
        chain_ev, cons = o2.step(["chain", "consensus"])
        self.assertEqual(chain_ev.data, {
            "height": 2, "tip": block_hash(body["new_block"]), "fork_index": 0,
            "dropped": 1, "added": 2, "peer": n1.caf_address})
        self.assertTrue(cons.data["replaced"])

        # Block 3 extends node 2's tip: a block event of origin gossip.
        post(n1, "/transactions/new", {"data": "pushed"})
        o1.step(["tx"])
        body = post(n1, "/mine")[1]
        mined = o1.step(["block", "tx"])[0]
        self.assertEqual(mined.data["origin"], "mined")
        gossip = o2.step(["block"])[0]
        self.assertEqual(gossip.data["origin"], "gossip")
        self.assertEqual(gossip.raw.replace('"gossip"', '"mined"'), mined.raw)

        # Evil on node 1, then two new blocks: node 2 reorganizes from
        # block 2 on (dropping one block, adding two).
        post(n1, "/action/evil")
        self.assertEqual(o1.step(["pop"])[0].data["index"], 3)
        for text in ("fork 3", "fork 4"):
            post(n1, "/transactions/new", {"data": text})
            o1.step(["tx"])
            body = post(n1, "/mine")[1]
            o1.step(["block", "tx"])
        got = o2.drain(quiet=1.0)
        # Block 3' is announced at node 2's height: at most a kept round.
        names = [e.name for e in got]
        self.assertIn(names, (["chain", "consensus"],
                              ["consensus", "chain", "consensus"]), got)
        self.assertFalse(got[0].data.get("replaced", False))
        chain_ev = got[-2]
        self.assertEqual(chain_ev.data, {
            "height": 4, "tip": block_hash(body["new_block"]), "fork_index": 2,
            "dropped": 1, "added": 2, "peer": n1.caf_address})
        self.assertTrue(got[-1].data["replaced"])

        # Node 2 goes away: node 1 reports the link down.
        n2.stop()
        o1.watcher.wait(lambda e: e.name == "peers"
                        and e.data["links"].get(n2.caf_address) == "down", timeout=30)


if __name__ == "__main__":
    unittest.main()
