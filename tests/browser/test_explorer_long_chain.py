"""A 10,000-block chain does not freeze the page: only the blocks in view
exist in it, older ones are loaded when they scroll into view, and a fork
far from the blocks the page holds is still found and marked. Chromium's own
counters are printed; no timing is asserted (figures belong in bench/)."""
import sys
import time
import unittest

from browser import Browser, Keys, post
from fake_peers import FakePeer, make_chain
from harness import Node, block_hash, call, get_chain
from selenium.webdriver.common.action_chains import ActionChains

LENGTH = 10000
FORK = 5000


def branch(chain, keep, length, tag):
    """chain's first `keep` blocks, then blocks of its own up to `length`."""
    out = list(chain[:keep])
    for i in range(keep + 1, length + 1):
        out.append({"index": i, "previous_hash": block_hash(out[-1]),
                    "timestamp": out[-1]["timestamp"] + 0.5,
                    "transactions": [{"data": "%s block %d" % (tag, i)}]})
    return out


class LongChain(unittest.TestCase):
    def test_ten_thousand_blocks(self):
        chain = make_chain(LENGTH, tag="long")
        # Node 2's chain leaves node 1's after block 5,000, far from both
        # tips: the page must search for the fork point.
        other_chain = branch(chain, FORK, LENGTH + 1, "other")
        peers = [FakePeer({"chain": c, "is_valid": True}) for c in (chain, other_chain)]
        try:
            with Node() as n1, Node() as n2, Browser() as page:
                for node, peer in ((n1, peers[0]), (n2, peers[1])):
                    call(node.url, "POST", "/nodes/register", {"nodes": [peer.address]})
                    status, body = call(node.url, "POST", "/nodes/consensus", {})
                    self.assertEqual(body["status"], "Chain replaced")
                    call(node.url, "POST", "/nodes/unregister", {"nodes": [peer.address]})
                post(n1, "/nodes/register", {"nodes": [n2.address]})

                started = time.monotonic()
                page.open(n1)
                me, other = n1.address, n2.address
                page.wait_for("the tip", lambda: page.block(me, LENGTH))
                shown_after = time.monotonic() - started
                self.assertEqual(page.block(me, LENGTH)["hash"], block_hash(chain[-1]))
                row = page.wait_for("the fork to be found", lambda: page.rows()[other]
                                    if page.rows()[other]["fork"] is not None else None)
                self.assertEqual(row["fork"], FORK)
                self.assertEqual(row["relation"], "forked")
                b = page.wait_for("node 2's tip", lambda: page.block(other, LENGTH + 1))
                self.assertTrue(b["diverged"])
                self.assertTrue(page.block(other, LENGTH)["diverged"])
                self.assertIn("other block", b["text"])
                page.screenshot("long-chain")

                # Only what is in view exists in the page.
                in_page = page.js("return document.querySelectorAll('#grid .block').length")
                self.assertLess(in_page, 100)

                # Genesis by keyboard: loaded on demand, hashes right.
                page.by_id("grid").click()
                ActionChains(page.driver).send_keys(Keys.HOME).perform()
                page.wait_for("block 1 of both rows",
                              lambda: page.block(me, 1) and page.block(other, 1))
                for i in (1, 2, 3):
                    self.assertEqual(page.block(me, i)["hash"], block_hash(chain[i - 1]))
                    self.assertFalse(page.block(other, i)["diverged"])

                # The fork point, marked where it is.
                box = page.by_id("goto-index")
                box.send_keys(str(FORK), Keys.ENTER)
                b = page.wait_for("node 2's fork point", lambda: page.block(other, FORK))
                self.assertTrue(b["fork"])
                self.assertFalse(b["diverged"])
                b = page.wait_for("node 2's first other block", lambda: page.block(other, FORK + 1))
                self.assertTrue(b["diverged"])
                self.assertEqual(b["hash"], block_hash(other_chain[FORK]))
                page.screenshot("long-chain-fork")

                # Jumping around the chain.
                for target in (5000, 1234, 9876, 77):
                    box = page.by_id("goto-index")
                    box.clear()
                    box.send_keys(str(target), Keys.ENTER)
                    b = page.wait_for("block %d" % target, lambda: page.block(me, target))
                    self.assertEqual(b["hash"], block_hash(chain[target - 1]))
                # Scrolling straight through: the page keeps up.
                for k in range(40):
                    page.js("const g = document.getElementById('grid');"
                            "g.scrollLeft = g.scrollWidth * arguments[0]", (k * 37 % 100) / 100)
                    time.sleep(0.05)
                page.wait_for("a block in view after scrolling",
                              lambda: page.js("return document.querySelectorAll("
                                              "'#grid .block[data-node]').length") > 0)
                in_page = page.js("return document.querySelectorAll('#grid .block').length")
                self.assertLess(in_page, 100)

                # The stream still delivers: a block on top shows at once.
                post(n1, "/transactions/new", {"data": "on top of ten thousand"})
                post(n1, "/mine")
                page.js("document.getElementById('grid').focus()")
                ActionChains(page.driver).send_keys(Keys.END).perform()
                b = page.wait_for("block 10,001", lambda: page.block(me, LENGTH + 1))
                self.assertIn("on top of ten thousand", b["text"])
                self.assertEqual(b["hash"], block_hash(get_chain(n1.url)[-1]))

                m = page.metrics()
                print("long chain: tip shown %.2f s after opening; script %.2f s, layout %.2f s, "
                      "style %.2f s, tasks %.2f s in all; JS heap %.1f MB; %d DOM nodes" % (
                          shown_after, m["ScriptDuration"], m["LayoutDuration"],
                          m["RecalcStyleDuration"], m["TaskDuration"],
                          m["JSHeapUsedSize"] / 1e6, m["Nodes"]), file=sys.stderr)
                self.assertEqual(page.script_errors(), [])
        finally:
            for peer in peers:
                peer.close()


if __name__ == "__main__":
    unittest.main()
