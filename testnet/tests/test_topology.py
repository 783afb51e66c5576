"""Peer graphs, addresses, miners and partition groups."""
import ipaddress
import unittest

from dlt_testnet import topology


class AddressTest(unittest.TestCase):
    def test_benchmarking_range(self):
        net = ipaddress.ip_network("198.18.0.0/15")
        addrs = [topology.address(i) for i in (0, 1, 254, 255, 256, 5000)]
        self.assertEqual(addrs[0], "198.18.1.1")
        self.assertEqual(len(set(addrs)), len(addrs))
        for a in addrs + [topology.SWITCH_ADDRESS]:
            self.assertIn(ipaddress.ip_address(a), net)
            self.assertNotEqual(ipaddress.ip_address(a), net.broadcast_address)
        self.assertNotIn(topology.SWITCH_ADDRESS, addrs)
        self.assertEqual(topology.index_of(topology.address(777)), 777)
        with self.assertRaises(ValueError):
            topology.address(topology.MAX_NODES)


class GraphTest(unittest.TestCase):
    def degrees(self, adj):
        return [len(a) for a in adj]

    def symmetric(self, adj):
        return all(i in adj[j] and i != j for i, a in enumerate(adj) for j in a)

    def test_full(self):
        adj = topology.graph(6, "full", 0, 1)
        self.assertEqual(self.degrees(adj), [5] * 6)
        self.assertTrue(self.symmetric(adj))

    def test_ring(self):
        adj = topology.graph(5, "ring", 0, 1)
        self.assertEqual(adj[0], [1, 4])
        self.assertEqual(adj[2], [1, 3])
        self.assertEqual(topology.graph(2, "ring", 0, 1), [[1], [0]])
        self.assertEqual(topology.graph(1, "ring", 0, 1), [[]])

    def test_random_is_connected_near_the_degree_and_repeatable(self):
        for n, d in ((12, 3), (40, 4), (200, 4), (201, 8), (5, 4)):
            adj = topology.graph(n, "random", d, 7)
            self.assertTrue(topology.is_connected(adj), (n, d))
            self.assertTrue(self.symmetric(adj), (n, d))
            degs = self.degrees(adj)
            self.assertGreaterEqual(min(degs), min(2, n - 1))
            self.assertLessEqual(max(degs), d + 1, (n, d))
            # Almost everyone reaches the wanted degree.
            self.assertGreaterEqual(sum(1 for x in degs if x >= min(d, n - 1)),
                                    n - 2, (n, d, degs))
            self.assertEqual(adj, topology.graph(n, "random", d, 7))
        self.assertNotEqual(topology.graph(40, "random", 4, 1),
                            topology.graph(40, "random", 4, 2))

    def test_paths(self):
        adj = topology.graph(10, "ring", 0, 1)
        self.assertEqual(topology.shortest_path(adj, 0, 3), [0, 1, 2, 3])
        self.assertEqual(topology.shortest_path(adj, 0, 8), [0, 9, 8])
        self.assertEqual(topology.shortest_path(adj, 4, 4), [4])
        self.assertEqual(topology.distances(adj, 0)[5], 5)
        self.assertIsNone(topology.shortest_path([[1], [0], []], 0, 2))


class MinersAndGroupsTest(unittest.TestCase):
    def test_miners_spread(self):
        self.assertEqual(topology.pick_miners(40, 4), [0, 10, 20, 30])
        self.assertEqual(topology.pick_miners(12, 3), [0, 4, 8])
        self.assertEqual(topology.pick_miners(3, 3), [0, 1, 2])
        self.assertEqual(topology.pick_miners(3, 0), [])
        self.assertEqual(topology.pick_miners(9, 2, [5, 1]), [5, 1])

    def test_groups(self):
        self.assertEqual(topology.expand_groups([[0, 1], [2, 3]], 4),
                         [[0, 1], [2, 3]])
        # Nodes no group names form one more group.
        self.assertEqual(topology.expand_groups([[1, 2]], 5), [[1, 2], [0, 3, 4]])
        self.assertEqual(topology.group_of([[1, 2], [0, 3]]), {1: 0, 2: 0, 0: 1, 3: 1})

    def test_index_ranges(self):
        self.assertEqual(topology.index_ranges([5, 0, 1, 2, 7, 6, 9]),
                         [(0, 2), (5, 7), (9, 9)])
        self.assertEqual(topology.index_ranges([]), [])


if __name__ == "__main__":
    unittest.main()
