"""Manifest reading: the issue's example is accepted as written, defaults
are filled in, and every mistake is refused with where and why."""
import os
import subprocess
import tempfile
import unittest

from dlt_testnet import manifest

EXAMPLE = """
[network]
nodes = 40
reference_nodes = 0
link = "native"
topology = "random"
degree = 4
gossip = "push"
sync_interval_s = 2
latency_ms = 50
jitter_ms = 10
loss_percent = 1.0
node_args = ["--requeue-orphans"]

[load]
duration_s = 60
tx_per_s = 200
miners = 4
mine_interval_s = 1.0

[[perturb]]
at_s = 10
kind = "partition"
groups = [[0, 19], [20, 39]]

[[perturb]]
at_s = 5
kind = "kill"
nodes = [3, 7]
"""


def refused(text):
    try:
        manifest.loads(text, "m.toml")
    except manifest.ManifestError as e:
        return str(e)
    raise AssertionError("accepted:\n" + text)


class ExampleTest(unittest.TestCase):
    def test_issue_example(self):
        m = manifest.loads(EXAMPLE)
        self.assertEqual(m.network.nodes, 40)
        self.assertEqual(m.network.total, 40)
        self.assertEqual(m.network.node_args, ["--requeue-orphans"])
        self.assertEqual(m.load.miners, 4)
        self.assertEqual(m.warnings, [])
        # Sorted by time; numbers keep the manifest order.
        self.assertEqual([(p.kind, p.number) for p in m.perturb],
                         [("kill", 2), ("partition", 1)])
        self.assertEqual(m.perturb[1].groups, [[0, 19], [20, 39]])
        self.assertEqual(m.perturb[0].nodes, [3, 7])

    def test_defaults(self):
        m = manifest.loads("[network]\nnodes = 3\n")
        self.assertEqual(m.network.link, "native")
        self.assertEqual(m.network.latency_ms, 0.0)
        self.assertEqual(m.load.duration_s, 30.0)
        self.assertEqual(m.perturb, [])

    def test_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write(EXAMPLE)
        try:
            m = manifest.load(f.name)
            self.assertEqual(m.name, os.path.basename(f.name)[:-5])
        finally:
            os.unlink(f.name)
        with self.assertRaisesRegex(manifest.ManifestError, "no such file"):
            manifest.load(f.name)

    def test_reference_nodes_are_indexed_after_dlt_nodes(self):
        m = manifest.loads("[network]\nnodes = 3\nreference_nodes = 2\n"
                           "[load]\nduration_s = 5\n"
                           "[[perturb]]\nat_s = 1\nkind = \"pause\"\nnodes = [4]\n")
        self.assertEqual(m.network.total, 5)
        self.assertEqual(m.perturb[0].nodes, [4])
        self.assertIn("node", refused("[network]\nnodes = 3\nreference_nodes = 2\n"
                                      "[[perturb]]\nat_s = 1\nkind = \"pause\"\n"
                                      "nodes = [5]\n"))


class RefusalTest(unittest.TestCase):
    def test_not_toml(self):
        self.assertIn("not valid TOML", refused("[network\nnodes = 3"))

    def test_missing_network(self):
        self.assertIn("[network] table is required", refused("[load]\n"))
        self.assertIn("'nodes' is required", refused("[network]\nlink = \"http\"\n"))

    def test_typo_gets_a_hint(self):
        msg = refused("[network]\nnodes = 3\nlatency = 50\n")
        self.assertIn("unknown key 'latency'", msg)
        self.assertIn("did you mean 'latency_ms'", msg)
        self.assertIn("m.toml: [network]", msg)

    def test_types_and_ranges(self):
        self.assertIn("whole number", refused("[network]\nnodes = 2.5\n"))
        self.assertIn("whole number", refused("[network]\nnodes = true\n"))
        self.assertIn("at least 1", refused("[network]\nnodes = 0\n"))
        self.assertIn("one of", refused("[network]\nnodes = 2\nlink = \"udp\"\n"))
        self.assertIn("one of", refused("[network]\nnodes = 2\ntopology = \"star\"\n"))
        self.assertIn("whole seconds",
                      refused("[network]\nnodes = 2\nsync_interval_s = 0.5\n"))
        self.assertIn("must not exceed latency",
                      refused("[network]\nnodes = 2\nlatency_ms = 5\njitter_ms = 6\n"))
        self.assertIn("100% loss",
                      refused("[network]\nnodes = 2\nloss_percent = 100\n"))
        self.assertIn("at most 100",
                      refused("[network]\nnodes = 2\nloss_percent = 101\n"))
        self.assertIn("greater than 0",
                      refused("[network]\nnodes = 2\n[load]\nduration_s = 0\n"))
        self.assertIn("at most 2", refused("[network]\nnodes = 2\n[load]\nminers = 3\n"))
        self.assertIn("only 4 other nodes",
                      refused("[network]\nnodes = 5\ndegree = 5\n"))

    def test_node_args(self):
        self.assertIn("list of strings",
                      refused("[network]\nnodes = 2\nnode_args = \"--x\"\n"))
        self.assertIn("set by the runner",
                      refused("[network]\nnodes = 2\nnode_args = [\"--port=1\"]\n"))
        self.assertIn("set by the runner",
                      refused("[network]\nnodes = 2\nnode_args = [\"--data-dir\", \"x\"]\n"))

    def test_tls(self):
        self.assertIn("for native links",
                      refused("[network]\nnodes = 2\nlink = \"http\"\ntls = true\n"))
        self.assertIn("use tls = true",
                      refused("[network]\nnodes = 2\nnode_args = [\"--caf-tls-ca=x\"]\n"))
        self.assertIn("true or false", refused("[network]\nnodes = 2\ntls = 1\n"))

    def test_tls_certificates_chain_to_the_run_ca(self):
        from dlt_testnet import certs
        with tempfile.TemporaryDirectory() as d:
            made = certs.make(d, 2)
            self.assertEqual(len(made), 2)
            for cert, key, ca in made:
                r = subprocess.run(["openssl", "verify", "-CAfile", ca, cert],
                                   capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(os.path.exists(key))
            self.assertNotEqual(open(made[0][0]).read(), open(made[1][0]).read())

    def test_perturbations(self):
        base = "[network]\nnodes = 4\n[load]\nduration_s = 20\n[[perturb]]\n"
        self.assertIn("needs at_s and kind", refused(base + "kind = \"heal\"\n"))
        self.assertIn("one of", refused(base + "at_s = 1\nkind = \"explode\"\n"))
        self.assertIn("at most 20", refused(base + "at_s = 21\nkind = \"heal\"\n"))
        self.assertIn("needs nodes", refused(base + "at_s = 1\nkind = \"kill\"\n"))
        self.assertIn("not groups",
                      refused(base + "at_s = 1\nkind = \"kill\"\ngroups = [[0, 1]]\n"))
        self.assertIn("non-empty list",
                      refused(base + "at_s = 1\nkind = \"kill\"\nnodes = []\n"))
        self.assertIn("at most 3",
                      refused(base + "at_s = 1\nkind = \"kill\"\nnodes = [4]\n"))
        self.assertIn("twice",
                      refused(base + "at_s = 1\nkind = \"kill\"\nnodes = [1, 1]\n"))
        self.assertIn("not nodes",
                      refused(base + "at_s = 1\nkind = \"partition\"\nnodes = [1]\n"))
        self.assertIn("groups",
                      refused(base + "at_s = 1\nkind = \"partition\"\n"))
        self.assertIn("last comes before first",
                      refused(base + "at_s = 1\nkind = \"partition\"\ngroups = [[2, 1]]\n"))
        self.assertIn("in two groups", refused(
            base + "at_s = 1\nkind = \"partition\"\ngroups = [[0, 2], [2, 3]]\n"))
        self.assertIn("cuts nothing", refused(
            base + "at_s = 1\nkind = \"partition\"\ngroups = [[0, 3]]\n"))
        self.assertIn("takes no nodes",
                      refused(base + "at_s = 1\nkind = \"heal\"\nnodes = [1]\n"))
        self.assertIn("[[perturb]] #1 (kill at 1s) nodes",
                      refused(base + "at_s = 1\nkind = \"kill\"\nnodes = [9]\n"))

    def test_one_group_with_the_rest(self):
        m = manifest.loads("[network]\nnodes = 4\n[[perturb]]\nat_s = 1\n"
                           "kind = \"partition\"\ngroups = [[0, 0]]\n")
        self.assertEqual(m.perturb[0].groups, [[0, 0]])

    def test_miner_nodes(self):
        m = manifest.loads("[network]\nnodes = 5\n[load]\nminer_nodes = [1, 3]\n")
        self.assertEqual(m.load.miners, 2)
        self.assertIn("says 3", refused("[network]\nnodes = 5\n[load]\nminers = 3\n"
                                        "miner_nodes = [1, 3]\n"))


class WarningTest(unittest.TestCase):
    def test_no_requeue_with_several_miners(self):
        m = manifest.loads("[network]\nnodes = 4\n[load]\nminers = 2\n")
        self.assertTrue(any("--requeue-orphans" in w for w in m.warnings))

    def test_no_op_perturbations(self):
        m = manifest.loads(
            "[network]\nnodes = 4\n[load]\nminers = 1\n"
            "[[perturb]]\nat_s = 1\nkind = \"resume\"\nnodes = [1]\n"
            "[[perturb]]\nat_s = 2\nkind = \"kill\"\nnodes = [2]\n"
            "[[perturb]]\nat_s = 3\nkind = \"pause\"\nnodes = [2]\n")
        self.assertTrue(any("node 1 is not paused" in w for w in m.warnings))
        self.assertTrue(any("node 2 is killed" in w for w in m.warnings))


if __name__ == "__main__":
    unittest.main()
