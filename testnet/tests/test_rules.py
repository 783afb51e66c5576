"""The nftables, iptables and tc text the runner loads in the switch
namespace; with root and nft present, nft itself checks the syntax."""
import os
import shutil
import subprocess
import unittest

from dlt_testnet import rules, topology


class RuleTextTest(unittest.TestCase):
    def test_loss_threshold(self):
        self.assertEqual(rules.loss_threshold(1.0), 10000)
        self.assertEqual(rules.loss_threshold(0.01), 100)
        self.assertEqual(rules.loss_threshold(0), 0)
        self.assertIn("numgen random mod 1000000 < 10000", rules.base_ruleset(1.0))
        self.assertNotIn("numgen", rules.base_ruleset(0))

    def test_partition_rules_cut_between_groups_only(self):
        text = rules.partition_update([[0, 1, 2], [3, 4, 7], [5, 6]])
        lines = text.splitlines()
        self.assertEqual(lines[0], "flush chain ip dlt_testnet partition")
        self.assertEqual(len(lines), 4)     # one drop rule per group
        a = topology.address
        self.assertIn("ip saddr { %s-%s } ip daddr != { %s-%s }"
                      % (a(0), a(2), a(0), a(2)), lines[1])
        self.assertIn("{ %s-%s, %s }" % (a(3), a(4), a(7)), lines[2])
        self.assertTrue(all(line.endswith("drop") for line in lines[1:]))

    def test_heal_and_single_group_only_flush(self):
        self.assertEqual(rules.partition_update([]),
                         "flush chain ip dlt_testnet partition\n")
        self.assertEqual(rules.partition_update([[0, 1, 2]]),
                         "flush chain ip dlt_testnet partition\n")

    def test_disconnect(self):
        self.assertEqual(rules.disconnect_update([]),
                         "flush set ip dlt_testnet disconnected\n")
        text = rules.disconnect_update([3, 4, 9])
        self.assertIn("add element ip dlt_testnet disconnected { %s-%s, %s }"
                      % (topology.address(3), topology.address(4),
                         topology.address(9)), text)

    def test_nfqueue_and_netem(self):
        self.assertIn("-A FORWARD -j NFQUEUE --queue-num 0", rules.nfqueue_rules())
        self.assertNotIn("bypass", rules.nfqueue_rules())
        tc = rules.netem_batch(["p0", "p1"], 50, 10, "normal")
        self.assertEqual(tc.splitlines()[1],
                         "qdisc add dev p1 root netem limit 100000 delay 50ms 10ms "
                         "distribution normal")

    def test_counters(self):
        data = {"nftables": [{"metainfo": {}},
                             {"counter": {"family": "ip", "name": "lost",
                                          "table": "dlt_testnet", "packets": 7}},
                             {"counter": {"name": "x", "table": "other", "packets": 1}}]}
        self.assertEqual(rules.parse_counters(data), {"lost": 7})


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("nft"),
                     "nft -c needs root and nftables")
class NftAcceptsTest(unittest.TestCase):
    def test_nft_checks_the_syntax(self):
        text = (rules.base_ruleset(1.5)
                + rules.partition_update([[0, 1, 2], [3, 5], [4]])
                + rules.disconnect_update([1, 2, 8]))
        r = subprocess.run(["nft", "-c", "-f", "-"], input=text, text=True,
                           capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr + "\n" + text)


if __name__ == "__main__":
    unittest.main()
