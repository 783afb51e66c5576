"""Tip tracking: the SSE parser, reading the tip off a /chain body, and the
monitor against fake nodes that stream events (plain and chunked) or only
answer /chain (the fallback)."""
import asyncio
import json
import queue
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dlt_testnet import httpc, monitor
from dlt_testnet.monitor import block_hash
from tests.test_analysis import make_chain


class SseParserTest(unittest.TestCase):
    def test_events_across_feeds(self):
        p = httpc.SseParser()
        self.assertEqual(p.feed(b": keep-alive\n\nid: 1\nevent: blo"), [])
        out = p.feed(b"ck\ndata: {\"a\": 1}\n\nid: 2\r\nevent: chain\r\n"
                     b"data: x\r\ndata: y\r\n\r\ndata:z\n\n")
        self.assertEqual(out, [("1", "block", '{"a": 1}'), ("2", "chain", "x\ny"),
                               (None, "message", "z")])
        self.assertEqual(p.last_id, "2")


class TipOfChainTest(unittest.TestCase):
    def test_dlt_and_reference_bodies(self):
        chain = make_chain([["a", '{"index": 99, "x": 1}'], ["b"]])
        for body in (json.dumps({"chain": chain, "is_valid": True}, sort_keys=True),
                     '{"chain": %s, "is_valid": true}' % json.dumps(chain, sort_keys=True)):
            h, tip, block = monitor.tip_of_chain_body(body.encode())
            self.assertEqual((h, tip), (3, block_hash(chain[-1])))
            self.assertEqual(block, chain[-1])

    def test_consensus_answer(self):
        chain = make_chain([["a"], ["b"]])
        body = json.dumps({"chain": chain, "status": "Chain replaced"}, sort_keys=True)
        self.assertEqual(monitor.tip_of_chain_body(body)[:2],
                         (3, block_hash(chain[-1])))

    def test_block_shaped_transaction_data(self):
        chain = make_chain([["a"]])
        chain.append({"index": 3, "previous_hash": block_hash(chain[-1]),
                      "timestamp": 5.0, "transactions": [
                          {"data": {"index": 1, "previous_hash": "0",
                                    "timestamp": 1.0, "transactions": []}}]})
        body = json.dumps({"chain": chain, "is_valid": True}, sort_keys=True)
        h, tip, _ = monitor.tip_of_chain_body(body)
        # The data decodes to a block-shaped object too, but it is not
        # where the chain's list ends: the tip is the block around it.
        self.assertEqual(h, 3)
        self.assertEqual(tip, block_hash(chain[-1]))


class FakeNode:
    """Serves /chain (GET, HEAD) and, unless events=None, /events with the
    contract's framing; push() sends an event to every open stream."""

    def __init__(self, chain, events="plain"):
        self.chain = chain
        self.streams = []
        self.next_id = 1
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _chain(self, head):
                body = json.dumps({"chain": fake.chain, "is_valid": True},
                                  sort_keys=True).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def do_HEAD(self):
                self._chain(True)

            def do_GET(self):
                if self.path == "/chain":
                    return self._chain(False)
                if self.path != "/events" or events is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                if events == "chunked":
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                q = queue.Queue()
                fake.streams.append(q)
                tip = fake.chain[-1]
                q.put(("snapshot", {"height": len(fake.chain),
                                    "tip": block_hash(tip),
                                    "blocks": fake.chain[-20:]}))
                while True:
                    item = q.get()
                    if item is None:
                        break
                    name, data = item
                    text = ("id: %d\nevent: %s\ndata: %s\n\n"
                            % (fake.next_id, name, json.dumps(data))).encode()
                    fake.next_id += 1
                    if events == "chunked":
                        text = b"%x\r\n%s\r\n" % (len(text), text)
                    self.wfile.write(text)
                    self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def push(self, name, data):
        for q in self.streams:
            q.put((name, data))

    def close(self):
        for q in self.streams:
            q.put(None)
        self.server.shutdown()
        self.server.server_close()


class Stub:
    def __init__(self, port, kind="dlt"):
        self.addr, self.port, self.kind, self.state = "127.0.0.1", port, kind, "up"


class MonitorTest(unittest.TestCase):
    def run_monitor(self, fake, kind, actions):
        async def go():
            loop = asyncio.get_running_loop()
            mon = monitor.Monitor([Stub(fake.port, kind)], loop.time, 0.05)
            mon.start()
            try:
                for action, wait_for in actions:
                    action()
                    for _ in range(100):
                        if wait_for(mon):
                            break
                        await asyncio.sleep(0.05)
                    self.assertTrue(wait_for(mon), mon.current)
            finally:
                await mon.stop()
            return mon
        return asyncio.run(go())

    def grow(self, fake, data):
        block = {"index": len(fake.chain) + 1,
                 "previous_hash": block_hash(fake.chain[-1]),
                 "timestamp": 100.0 + len(fake.chain),
                 "transactions": [{"data": data}]}
        fake.chain = fake.chain + [block]
        return block

    def test_events(self):
        for framing in ("plain", "chunked"):
            fake = FakeNode(make_chain([["a"]]), events=framing)
            try:
                first = block_hash(fake.chain[-1])
                state = {}

                def add_block():
                    b = self.grow(fake, "b")
                    state["b"] = block_hash(b)
                    fake.push("tx", {"pending": 1, "added": 1, "transactions": []})
                    fake.push("block", {"index": b["index"], "hash": state["b"],
                                        "previous_hash": b["previous_hash"],
                                        "origin": "gossip", "height": 3,
                                        "tip": state["b"]})

                def adopt():
                    fake.push("chain", {"height": 9, "tip": "f" * 64,
                                        "fork_index": 2, "dropped": 1, "added": 7})
                mon = self.run_monitor(fake, "dlt", [
                    (lambda: None, lambda m: m.current[0] == (2, first)),
                    (add_block, lambda m: m.current[0] == (3, state["b"])),
                    (adopt, lambda m: m.current[0] == (9, "f" * 64))])
                self.assertEqual(mon.source[0], "events", framing)
                self.assertEqual([h[2] for h in mon.history[0]],
                                 [first, state["b"], "f" * 64])
                self.assertTrue(mon.descends(state["b"], first))
                self.assertGreaterEqual(mon.events[0], 4)
            finally:
                fake.close()

    def test_fallback_polls_when_there_are_no_events(self):
        for kind in ("dlt", "ref"):
            fake = FakeNode(make_chain([["a"]]), events=None)
            try:
                state = {}

                def add():
                    state["b"] = block_hash(self.grow(fake, "b"))
                mon = self.run_monitor(fake, kind, [
                    (lambda: None, lambda m: m.current[0] is not None),
                    (add, lambda m: m.current[0] == (3, state["b"]))])
                self.assertEqual(mon.source[0], "poll")
                self.assertIn(state["b"], mon.blocks)
                self.assertEqual(mon.summary()["method"],
                                 "poll" if kind == "dlt" else "mixed")
            finally:
                fake.close()


class HttpClientTest(unittest.TestCase):
    def test_keep_alive_and_errors(self):
        fake = FakeNode(make_chain([["a"]]), events=None)

        async def go():
            c = httpc.Connection("127.0.0.1", fake.port)
            r1 = await c.request("GET", "/chain")
            r2 = await c.request("HEAD", "/chain")
            r3 = await c.request("GET", "/nope")
            c.close()
            with self.assertRaises(httpc.HttpError) as e:
                await httpc.request("127.0.0.1", 1, "GET", "/chain", timeout=2)
            self.assertFalse(e.exception.sent)
            return r1, r2, r3
        try:
            r1, r2, r3 = asyncio.run(go())
        finally:
            fake.close()
        self.assertEqual(r1.status, 200)
        self.assertEqual(r1.json()["chain"][0]["index"], 1)
        self.assertEqual((r2.status, r2.body), (200, b""))
        self.assertEqual(r3.status, 404)


if __name__ == "__main__":
    unittest.main()
