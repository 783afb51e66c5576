"""A 20,000-block chain (the reference dies near 970 blocks): adopted through
consensus, served by GET /chain, and adopted again by a second node."""
import unittest

from fake_peers import FakePeer, make_chain
from harness import Node, assert_links, call, get_chain

LENGTH = 20000


class LongChain(unittest.TestCase):
    def test_twenty_thousand_blocks(self):
        chain = make_chain(LENGTH, tag="long")
        peer = FakePeer({"chain": chain, "is_valid": True})
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
