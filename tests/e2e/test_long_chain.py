"""A 20,000-block chain (the reference dies near 970 blocks): adopted through
consensus, served by GET /chain, and adopted again by a second node."""
import json
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fake_peers import make_chain
from harness import Node, assert_links, call, get_chain

LENGTH = 20000


class StaticChain:
    def __init__(self, body):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class LongChain(unittest.TestCase):
    def test_twenty_thousand_blocks(self):
        chain = make_chain(LENGTH, tag="long")
        peer = StaticChain(json.dumps({"chain": chain, "is_valid": True}).encode())
        try:
            with Node() as a, Node() as b:
                call(a.url, "POST", "/nodes/register", {"nodes": [peer.address]})
                status, body = call(a.url, "POST", "/nodes/consensus", {})
                self.assertEqual((status, body["status"]), (200, "Chain replaced"))
                self.assertEqual(len(body["chain"]), LENGTH)

                served = get_chain(a.url)
                self.assertEqual(served, chain)
                assert_links(self, served)

                # The next block mined on top links to Python's hash of block 20,000.
                call(a.url, "POST", "/transactions/new", {"data": "on top"})
                status, body = call(a.url, "POST", "/mine", {})
                self.assertEqual(body["new_block"]["index"], LENGTH + 1)

                call(b.url, "POST", "/nodes/register", {"nodes": [a.url]})
                status, body = call(b.url, "POST", "/nodes/consensus", {})
                self.assertEqual(body["status"], "Chain replaced")
                final = get_chain(b.url)
                self.assertEqual(len(final), LENGTH + 1)
                assert_links(self, final)
                self.assertEqual(final, get_chain(a.url))
        finally:
            peer.close()


if __name__ == "__main__":
    unittest.main()
