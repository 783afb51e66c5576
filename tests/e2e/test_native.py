"""Native linking over CAF remote actors: real dlt-node processes publishing
their native actor (--caf-port), registered as caf://host:port; consensus
through actor messages with incremental sync, push gossip, re-linking after a
restart, and mixed networks with HTTP peers and the Python reference
protocol."""
import os
import shutil
import signal
import tempfile
import time
import unittest

from fake_peers import FakePeer, make_chain
from harness import Node, Process, RefNode, assert_links, call, free_port, get_chain


def native(*args, **kw):
    return Node("--caf-port", "0", *args, **kw)


def mine(url, data):
    call(url, "POST", "/transactions/new", {"data": data})
    status, body = call(url, "POST", "/mine")
    assert status == 201, (status, body)
    return body["new_block"]


def register(url, *addresses):
    status, body = call(url, "POST", "/nodes/register", {"nodes": list(addresses)})
    assert status == 201, (status, body)
    return body


def consensus(url):
    status, body = call(url, "POST", "/nodes/consensus")
    assert status == 200, (status, body)
    return body


def wait_for(predicate, timeout=10.0):
    """Polls until predicate() is true; returns the seconds it took or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.02)
    return None


class Native(unittest.TestCase):
    def test_caf_peers_reach_one_chain_through_caf(self):
        with native() as a, native() as b, native() as c:
            for i in range(3):
                mine(b.url, "b%d" % i)
            for i in range(5):
                mine(c.url, "c%d" % i)
            body = register(a.url, b.caf_address, c.caf_address)
            self.assertEqual(body["total_nodes"], [b.caf_address, c.caf_address])
            out = consensus(a.url)
            self.assertEqual(out["status"], "Chain replaced")
            self.assertEqual(get_chain(a.url), get_chain(c.url))
            self.assertIn("longest valid chain: 6 blocks from " + c.caf_address,
                          a.log_text())
            register(b.url, a.caf_address)
            self.assertEqual(consensus(b.url)["status"], "Chain replaced")
            chains = [get_chain(n.url) for n in (a, b, c)]
            self.assertEqual(chains[0], chains[1])
            self.assertEqual(chains[1], chains[2])
            assert_links(self, chains[0])
            # Nothing longer anywhere: not replaced, and nothing moved.
            self.assertEqual(consensus(a.url)["status"], "Chain not replaced - master")

    def test_bad_caf_addresses_are_refused(self):
        with native() as a:
            body = register(a.url, "caf://127.0.0.1", "caf://x:0", "caf://a b:1")
            self.assertEqual(len(body["invalid_nodes"]), 3)

    def test_a_dead_caf_peer_costs_no_more_than_its_deadline(self):
        dead = "caf://127.0.0.1:%d" % free_port()  # nothing listens there
        with native("--peer-timeout-ms", "1500") as a, native() as b:
            mine(b.url, "x")
            register(a.url, dead, b.caf_address)
            start = time.monotonic()
            out = consensus(a.url)
            took = time.monotonic() - start
            self.assertEqual(out["status"], "Chain replaced")
            self.assertLess(took, 10)  # generous: the deadline is 1.5 s
            self.assertIn("skipped " + dead, a.log_text())

    def test_a_frozen_linked_peer_costs_no_more_than_its_deadline(self):
        with native("--peer-timeout-ms", "1500") as a, native() as frozen, \
                native() as b:
            mine(b.url, "x")
            register(a.url, frozen.caf_address, b.caf_address)
            self.assertIsNotNone(wait_for(
                lambda: a.log_text().count("linked to") == 2))
            os.kill(frozen.proc.pid, signal.SIGSTOP)  # linked, then silent
            try:
                start = time.monotonic()
                out = consensus(a.url)
                self.assertLess(time.monotonic() - start, 10)  # deadline 1.5 s
                self.assertEqual(out["status"], "Chain replaced")
                self.assertEqual(get_chain(a.url), get_chain(b.url))
                # Heartbeats notice the silence; the link goes down.
                self.assertIsNotNone(wait_for(
                    lambda: "lost " + frozen.caf_address in a.log_text(), timeout=30))
            finally:
                os.kill(frozen.proc.pid, signal.SIGCONT)
            # Back: linked again.
            self.assertIsNotNone(wait_for(
                lambda: a.log_text().count("linked to " + frozen.caf_address) >= 2,
                timeout=30))

    def test_catching_up_moves_only_the_new_blocks(self):
        long_chain = make_chain(3000, tag="shared")
        peer = FakePeer({"chain": long_chain, "length": len(long_chain)})
        try:
            with native() as a, native() as b:
                register(a.url, peer.address)
                consensus(a.url)
                register(b.url, a.caf_address)
                consensus(b.url)  # the whole history, over CAF
                self.assertIn("3000 blocks from %s" % a.caf_address, b.log_text())
                mine(a.url, "one more")
                self.assertEqual(consensus(b.url)["status"], "Chain replaced")
                self.assertIn("3001 blocks from %s (1 sent after block 3000)"
                              % a.caf_address, b.log_text())
                self.assertEqual(get_chain(a.url), get_chain(b.url))
        finally:
            peer.close()

    def test_a_fork_is_resolved_from_the_fork_point(self):
        with native() as a, native() as b:
            for i in range(30):
                mine(a.url, "shared %d" % i)
            register(b.url, a.caf_address)
            consensus(b.url)
            # Both go their own ways for a while; b's branch is longer.
            for i in range(3):
                mine(a.url, "a %d" % i)
            for i in range(5):
                mine(b.url, "b %d" % i)
            register(a.url, b.caf_address)
            self.assertEqual(consensus(a.url)["status"], "Chain replaced")
            self.assertEqual(get_chain(a.url), get_chain(b.url))
            self.assertIn("36 blocks from %s (" % b.caf_address, a.log_text())
            assert_links(self, get_chain(a.url))

    def test_push_gossip_spreads_blocks_unasked_and_dies_out(self):
        with native("--gossip", "push") as a, native("--gossip", "push") as b, \
                native("--gossip", "push") as c:
            # A cycle: a -> b -> c -> a.
            register(a.url, b.caf_address)
            register(b.url, c.caf_address)
            register(c.url, a.caf_address)
            time.sleep(0.5)  # links come up
            block = mine(a.url, "pushed")
            for n in (b, c):
                took = wait_for(lambda: get_chain(n.url)[-1] == block)
                self.assertIsNotNone(took, "the block did not reach " + n.url)
            for i in range(5):
                block = mine([a, b, c][i % 3].url, "round %d" % i)
                for n in (a, b, c):
                    self.assertIsNotNone(wait_for(lambda: get_chain(n.url)[-1] == block))
            # Once everyone holds the tip nothing more happens: no echo.
            time.sleep(1.0)
            before = [get_chain(n.url) for n in (a, b, c)]
            logs = [n.log_text() for n in (a, b, c)]
            time.sleep(1.0)
            self.assertEqual(before, [get_chain(n.url) for n in (a, b, c)])
            self.assertEqual(logs, [n.log_text() for n in (a, b, c)])
            self.assertEqual(before[0], before[1])
            self.assertEqual(before[1], before[2])

    def test_push_reaches_peers_whichever_side_registered(self):
        with native("--gossip", "push") as a, native() as b, native() as c:
            register(b.url, a.caf_address)  # b linked to a; a knows nothing
            register(a.url, c.caf_address)  # a linked to c
            self.assertIsNotNone(wait_for(lambda: "linked to" in b.log_text()
                                          and "linked to" in a.log_text()))
            time.sleep(0.3)  # b's hello reaches a
            block = mine(a.url, "to both")
            for n in (b, c):
                self.assertIsNotNone(wait_for(lambda: get_chain(n.url)[-1] == block),
                                     "not pushed to " + n.url)

    def test_without_push_nothing_is_announced(self):
        with native() as a, native() as b:
            register(a.url, b.caf_address)
            mine(a.url, "quiet")
            time.sleep(1.0)
            self.assertEqual(len(get_chain(b.url)), 1)

    def test_sync_interval_pulls_unasked(self):
        with native() as a, native("--sync-interval", "1") as b:
            register(b.url, a.caf_address)
            block = mine(a.url, "pulled")
            self.assertIsNotNone(wait_for(lambda: get_chain(b.url)[-1] == block))

    def test_a_killed_peer_is_linked_again_when_it_comes_back(self):
        data_dir = tempfile.mkdtemp(prefix="dlt-native-")
        port = free_port()
        try:
            with native("--gossip", "push") as a:
                b = Node("--caf-port", str(port), "--data-dir", data_dir)
                register(a.url, b.caf_address)
                mine(b.url, "before")
                self.assertEqual(consensus(a.url)["status"], "Chain replaced")
                b.kill()
                Process.__exit__(b, None, None, None)
                self.assertIsNotNone(wait_for(lambda: "lost " + b.caf_address in a.log_text()))
                b = Node("--caf-port", str(port), "--data-dir", data_dir)
                try:
                    mine(b.url, "after")
                    relinked = wait_for(lambda: a.log_text().count(
                        "linked to " + b.caf_address) >= 2, timeout=30)
                    self.assertIsNotNone(relinked, a.log_text())
                    self.assertEqual(consensus(a.url)["status"], "Chain replaced")
                    self.assertEqual(get_chain(a.url), get_chain(b.url))
                    # And a's pushes reach it again, unasked.
                    block = mine(a.url, "pushed after the restart")
                    self.assertIsNotNone(
                        wait_for(lambda: get_chain(b.url)[-1] == block))
                finally:
                    b.__exit__(None, None, None)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)

    def test_mixed_network_converges(self):
        with native() as a, native() as b, RefNode() as ref:
            for i in range(4):
                mine(ref.url, "ref %d" % i)
            mine(b.url, "b")
            register(a.url, b.caf_address, ref.address)  # CAF and HTTP peers
            self.assertEqual(consensus(a.url)["status"], "Chain replaced")
            self.assertEqual(get_chain(a.url), get_chain(ref.url))
            register(b.url, a.caf_address)
            self.assertEqual(consensus(b.url)["status"], "Chain replaced")
            mine(b.url, "b again")
            self.assertEqual(consensus(a.url)["status"], "Chain replaced")
            register(ref.url, a.address)  # the Python protocol pulls over HTTP
            self.assertEqual(consensus(ref.url)["status"], "Chain replaced")
            chains = [get_chain(n.url) for n in (a, b, ref)]
            self.assertEqual(chains[0], chains[1])
            self.assertEqual(chains[1], chains[2])
            assert_links(self, chains[0])


if __name__ == "__main__":
    unittest.main()
