"""The reference notebook session (shared/reference/network-notebook.txt),
replayed cell by cell against two real dlt-node processes: same shapes, same
statuses, same status codes, block hashes equal to Python's json.dumps."""
import unittest

from harness import Client, Node, assert_links, block_hash

GENESIS = "The Times 03/Jan/2009 Chancellor on brink of second bailout for banks"


class Shapes:
    """The reference test suite's schemas: exact key sets, value types."""

    @staticmethod
    def block(tc, b):
        tc.assertEqual(set(b), {"index", "previous_hash", "timestamp", "transactions"})
        tc.assertIsInstance(b["index"], int)
        tc.assertGreaterEqual(b["index"], 1)
        tc.assertIsInstance(b["timestamp"], float)
        tc.assertIsInstance(b["previous_hash"], str)
        tc.assertTrue(b["previous_hash"] == "0" or len(b["previous_hash"]) == 64)
        for tx in b["transactions"]:
            tc.assertEqual(set(tx), {"data"})

    @classmethod
    def chain(tc_cls, tc, body):
        tc.assertEqual(set(body), {"chain", "is_valid"})
        tc.assertIs(body["is_valid"], True)
        for b in body["chain"]:
            tc_cls.block(tc, b)
        assert_links(tc, body["chain"])


class NotebookSession(unittest.TestCase):
    def test_notebook_session(self):
        with Node() as n1, Node() as n2:
            c1, c2 = Client(n1.url), Client(n2.url)

            def post(c, path, payload):
                status, body, _ = c.request("POST", path, payload)
                return status, body

            def chain(c):
                status, body, _ = c.request("GET", "/chain", headers={})
                self.assertEqual(status, 200)
                Shapes.chain(self, body)
                return body["chain"]

            # In [10]-[11]: register the nodes with each other.
            self.assertEqual(post(c1, "/nodes/register", {"nodes": ["http://localhost:%d" % n2.port]}),
                             (201, {"total_nodes": ["localhost:%d" % n2.port]}))
            self.assertEqual(post(c2, "/nodes/register", {"nodes": ["http://localhost:%d" % n1.port]}),
                             (201, {"total_nodes": ["localhost:%d" % n1.port]}))

            # In [12]-[13]: each chain holds only its own genesis block.
            g1, g2 = chain(c1), chain(c2)
            for g in (g1, g2):
                self.assertEqual(len(g), 1)
                self.assertEqual(g[0]["previous_hash"], "0")
                self.assertEqual(g[0]["transactions"], [{"data": GENESIS}])
            self.assertNotEqual(block_hash(g1[0]), block_hash(g2[0]))

            # In [16]-[19]: one transaction each, mine.
            self.assertEqual(post(c1, "/transactions/new", {"data": "Hello, Node 1!"}),
                             (201, {"transaction": {"data": "Hello, Node 1!"}}))
            self.assertEqual(post(c2, "/transactions/new", {"data": "Hello, Node 2!"}),
                             (201, {"transaction": {"data": "Hello, Node 2!"}}))
            for c, g, text in ((c1, g1, "Hello, Node 1!"), (c2, g2, "Hello, Node 2!")):
                status, body = post(c, "/mine", {})
                self.assertEqual(status, 201)
                self.assertEqual(set(body), {"new_block", "is_valid"})
                self.assertIs(body["is_valid"], True)
                Shapes.block(self, body["new_block"])
                self.assertEqual(body["new_block"]["index"], 2)
                self.assertEqual(body["new_block"]["previous_hash"], block_hash(g[0]))
                self.assertEqual(body["new_block"]["transactions"], [{"data": text}])

            # In [20]-[21]
            self.assertEqual(len(chain(c1)), 2)
            self.assertEqual(len(chain(c2)), 2)

            # In [22]-[24]: node 1 mines block 3 with two transactions.
            post(c1, "/transactions/new", {"data": "Hello, Node 1!"})
            post(c1, "/transactions/new", {"data": "Hello, Node 2!"})
            status, body = post(c1, "/mine", {})
            self.assertEqual(status, 201)
            block3 = body["new_block"]
            self.assertEqual(block3["index"], 3)
            self.assertEqual(block3["transactions"],
                             [{"data": "Hello, Node 1!"}, {"data": "Hello, Node 2!"}])
            master = chain(c1)
            self.assertEqual(master[-1], block3)

            # In [27]: consensus on node 1: not replaced.
            status, body = post(c1, "/nodes/consensus", {})
            self.assertEqual(status, 200)
            self.assertEqual(set(body), {"status", "chain"})
            self.assertEqual(body, {"status": "Chain not replaced - master", "chain": master})

            # In [28]: consensus on node 2: replaced by node 1's chain, genesis included.
            status, body = post(c2, "/nodes/consensus", {})
            self.assertEqual((status, body), (200, {"status": "Chain replaced", "chain": master}))
            self.assertEqual(chain(c2), master)

            # In [29]-[30]: evil on node 2 pops block 3.
            status, body = post(c2, "/action/evil", {})
            self.assertEqual((status, body), (200, {"status": "Snap done!", "element": block3}))
            self.assertEqual(chain(c2), master[:2])

            # In [32]-[38]: node 2 mines two evil blocks.
            evil_blocks = []
            for index in (3, 4):
                self.assertEqual(post(c2, "/transactions/new", {"data": "Evil transaction"}),
                                 (201, {"transaction": {"data": "Evil transaction"}}))
                status, body = post(c2, "/mine", {})
                self.assertEqual(status, 201)
                b = body["new_block"]
                self.assertEqual(b["index"], index)
                self.assertEqual(b["transactions"], [{"data": "Evil transaction"}])
                evil_blocks.append(b)
            self.assertEqual(evil_blocks[0]["previous_hash"], block_hash(master[1]))
            self.assertEqual(evil_blocks[1]["previous_hash"], block_hash(evil_blocks[0]))
            evil_chain = chain(c2)
            self.assertEqual(evil_chain, master[:2] + evil_blocks)

            # In [39]-[41]: the longer evil chain wins on node 1.
            status, body = post(c1, "/nodes/consensus", {})
            self.assertEqual((status, body), (200, {"status": "Chain replaced", "chain": evil_chain}))
            self.assertEqual(chain(c1), evil_chain)
            self.assertEqual(chain(c2), evil_chain)

            # Evil on a genesis-only chain, and mine with nothing pending.
            with Node() as n3:
                c3 = Client(n3.url)
                self.assertEqual(post(c3, "/action/evil", {}),
                                 (200, {"status": "Nothing to do...", "element": None}))
                self.assertEqual(post(c3, "/mine", {}),
                                 (201, {"new_block": None, "is_valid": True}))
                c3.close()
            c1.close()
            c2.close()


if __name__ == "__main__":
    unittest.main()
