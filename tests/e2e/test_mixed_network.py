"""A mixed network: dlt-node and our stdlib Python implementation of the
reference node adopt each other's chains, with awkward transaction data, so
block hashes must agree byte for byte in both directions."""
import unittest

from harness import Client, Node, RefNode, assert_links, get_chain

AWKWARD = [
    "caf\u00e9 \u4e2d\u6587 \U0001f600 \u2028",
    "quotes \" backslash \\ slash / controls \x00\x01\x1f\x7f \b\f\n\r\t",
    1560174309.2023711, -0.0, 1e-05, 1e16, 123.0, 0.1, 5e-324,
    1.7976931348623157e308, 2.5e-7, 9007199254740993,
    9223372036854775807, -9223372036854775808, 18446744073709551615,
    {"z": [1, {"b": None, "a": True}], "A": "upper", "\u00e9": "acute", "": 0},
    [[], {}, [[]], "", False],
    {"nested": {"deeper": {"deepest": [1.5, "\U0010ffff"]}}},
    None, True, "",
]


class MixedNetwork(unittest.TestCase):
    def exchange(self, c, path, payload=None):
        status, body, _ = c.request("POST", path, payload if payload is not None else {})
        return status, body

    def test_each_side_adopts_the_others_chain(self):
        with Node() as ours, RefNode() as ref:
            co, cr = Client(ours.url), Client(ref.url)
            self.assertEqual(self.exchange(co, "/nodes/register", {"nodes": [ref.url]})[0], 201)
            self.assertEqual(self.exchange(cr, "/nodes/register", {"nodes": [ours.url]})[0], 201)

            # Python mines awkward data; our node adopts Python's chain.
            for data in AWKWARD:
                status, body = self.exchange(cr, "/transactions/new", {"data": data})
                self.assertEqual(status, 201)
                self.exchange(cr, "/mine")
            for data in AWKWARD[:5]:
                self.exchange(cr, "/transactions/new", {"data": data})
            self.exchange(cr, "/mine")
            ref_chain = get_chain(ref.url)
            status, body = self.exchange(co, "/nodes/consensus")
            self.assertEqual(status, 200)
            self.assertEqual(body["status"], "Chain replaced")
            self.assertEqual(body["chain"], ref_chain)
            self.assertEqual(get_chain(ours.url), ref_chain)

            # Our node mines awkward data on top; Python adopts our chain,
            # which it validates with its own json.dumps.
            for data in reversed(AWKWARD):
                self.assertEqual(self.exchange(co, "/transactions/new", {"data": data}),
                                 (201, {"transaction": {"data": data}}))
                status, body = self.exchange(co, "/mine")
                self.assertEqual(status, 201)
            ours_chain = get_chain(ours.url)
            assert_links(self, ours_chain)
            self.assertEqual(len(ours_chain), len(ref_chain) + len(AWKWARD))
            status, body = self.exchange(cr, "/nodes/consensus")
            self.assertEqual(status, 200)
            self.assertEqual(body["status"], "Chain replaced")
            self.assertEqual(get_chain(ref.url), ours_chain)

            # And back: nothing longer anywhere now.
            status, body = self.exchange(co, "/nodes/consensus")
            self.assertEqual(body["status"], "Chain not replaced - master")
            co.close()
            cr.close()

    def test_python_node_mining_on_our_history_is_adopted(self):
        """Python extends a chain that our node mined: its previous_hash is
        Python's hash of our block, which our node must accept."""
        with Node() as ours, RefNode() as ref:
            co, cr = Client(ours.url), Client(ref.url)
            self.exchange(cr, "/nodes/register", {"nodes": [ours.address]})
            self.exchange(co, "/nodes/register", {"nodes": [ref.address]})
            for data in AWKWARD[:8]:
                self.exchange(co, "/transactions/new", {"data": data})
                self.exchange(co, "/mine")
            self.assertEqual(self.exchange(cr, "/nodes/consensus")[1]["status"], "Chain replaced")
            self.exchange(cr, "/transactions/new", {"data": AWKWARD[8:]})
            self.exchange(cr, "/mine")
            status, body = self.exchange(co, "/nodes/consensus")
            self.assertEqual(body["status"], "Chain replaced")
            self.assertEqual(get_chain(ours.url), get_chain(ref.url))
            assert_links(self, get_chain(ours.url))
            co.close()
            cr.close()


if __name__ == "__main__":
    unittest.main()
