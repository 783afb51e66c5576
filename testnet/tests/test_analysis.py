"""From recorded tips, blocks and chains to figures and a verdict."""
import time
import unittest

from dlt_testnet import analysis
from dlt_testnet.monitor import block_hash


def make_chain(txs_per_block, genesis_ts=1.0):
    chain = [{"index": 1, "previous_hash": "0", "timestamp": genesis_ts,
              "transactions": [{"data": "genesis"}]}]
    for k, txs in enumerate(txs_per_block, 2):
        chain.append({"index": k, "previous_hash": block_hash(chain[-1]),
                      "timestamp": genesis_ts + k,
                      "transactions": [{"data": d} for d in txs]})
    return chain


class PercentileTest(unittest.TestCase):
    def test_nearest_rank(self):
        p = analysis.percentiles(list(range(1, 101)))
        self.assertEqual((p["p50"], p["p90"], p["p99"], p["max"], p["samples"]),
                         (50, 90, 99, 100, 100))
        self.assertEqual(analysis.percentiles([7.0])["p99"], 7.0)
        self.assertIsNone(analysis.percentiles([])["p50"])


class HeldTest(unittest.TestCase):
    # a <- b <- c ; b <- x (a fork)
    blocks = {"a": (1, None), "b": (2, "a"), "c": (3, "b"), "x": (3, "b")}

    def test_first_time_each_block_was_held(self):
        held = analysis.held_times([(1.0, 1, "a"), (2.0, 3, "x"), (5.0, 3, "c")],
                                   self.blocks)
        self.assertEqual(held, {"a": 1.0, "b": 2.0, "x": 2.0, "c": 5.0})

    def test_unknown_parents_stop_the_walk(self):
        held = analysis.held_times([(1.0, 9, "zz")], self.blocks)
        self.assertEqual(held, {"zz": 1.0})

    def test_propagation(self):
        mined = {"b": (10.0, 0), "c": (20.0, 1), "x": (20.0, 2)}
        held = [{"b": 10.0, "c": 20.5},           # node 0 mined b
                {"b": 10.2, "c": 20.0},           # node 1 mined c
                {"b": 10.4},                      # never got c
                {"b": 10.1, "c": 20.3}]
        samples, missing = analysis.propagation_samples(
            mined, {"a", "b", "c"}, held, {}, (0, 100))
        self.assertEqual(sorted(round(s) for s in samples),
                         [100, 200, 300, 400, 500])
        self.assertEqual(missing, 1)
        # The window and the skip rule leave pairs out.
        samples, _ = analysis.propagation_samples(
            mined, {"b", "c"}, held, {}, (15, 100))
        self.assertEqual(len(samples), 2)
        samples, _ = analysis.propagation_samples(
            mined, {"b", "c"}, held, {}, (0, 100), skip=lambda h, x: x == 3)
        self.assertEqual(len(samples), 3)


class AgreementTest(unittest.TestCase):
    def test_first_agreement(self):
        h = [[(0, 1, "a"), (5, 2, "b")],
             [(0, 1, "a"), (3, 2, "c"), (7, 2, "b")],
             [(0, 1, "a"), (6, 2, "b")]]
        self.assertEqual(analysis.first_agreement(h, 0), 0)   # all on a at 0
        self.assertEqual(analysis.first_agreement(h, 1), 1)   # still all on a
        self.assertEqual(analysis.first_agreement(h, 4), 7)
        self.assertIsNone(analysis.first_agreement(h + [[]], 4))

    def test_caught_up(self):
        final = [(10.0, "b"), (20.0, "c"), (30.0, "d")]
        held = [{"b": 11, "c": 26, "d": 31}, {"b": 12, "c": 21, "d": 30.5}, {}]
        # At 25 the newest acknowledged final block is c: node 0 got it at 26.
        self.assertEqual(analysis.caught_up([0, 1], 25.0, final, held), 26)
        self.assertEqual(analysis.caught_up([1], 25.0, final, held), 25.0)
        self.assertIsNone(analysis.caught_up([2], 25.0, final, held))
        self.assertEqual(analysis.caught_up([2], 5.0, final, held), 5.0)


class VerifyTest(unittest.TestCase):
    def test_valid_and_complete(self):
        chain = make_chain([["t1", "t2"], ["t3"]])
        v = analysis.verify({0: chain, 1: [dict(b) for b in chain]},
                            ["t1", "t2", "t3"], [], ["u1"])
        self.assertTrue(v["valid"], v["problem"])
        self.assertTrue(v["same_chain"])
        self.assertEqual((v["distinct_tips"], v["blocks"], v["lost_tx"],
                          v["duplicated_tx"], v["uncertain_in_chain"]),
                         (1, 3, 0, 0, 0))
        self.assertEqual(v["hashes"][-1], block_hash(chain[-1]))

    def test_lost_duplicated_and_forked(self):
        chain = make_chain([["t1"], ["t1", "t3"]])
        other = make_chain([["t1"]], genesis_ts=time.time())
        v = analysis.verify({0: chain, 1: chain, 2: other, 3: "connection refused"},
                            ["t1", "t2", "t3"], ["s1"], [])
        self.assertEqual(v["distinct_tips"], 3)
        self.assertEqual(v["lost_tx"], 1)
        self.assertEqual(v["lost_examples"], ["t2"])
        self.assertEqual(v["duplicated_tx"], 1)
        self.assertEqual(v["settle_lost_tx"], 1)
        self.assertFalse(v["same_chain"])
        self.assertEqual(v["differing_nodes"], [2])
        self.assertIn("3", v["unreachable"])

    def test_broken_links_are_found(self):
        chain = make_chain([["t1"], ["t2"]])
        chain[1]["transactions"].append({"data": "forged"})
        self.assertIn("previous_hash is not the hash of block 2",
                      analysis.chain_problem(chain))
        chain = make_chain([["t1"]])
        chain[1]["index"] = 5
        self.assertIn("index", analysis.chain_problem(chain))
        self.assertIsNotNone(analysis.chain_problem([]))


if __name__ == "__main__":
    unittest.main()
