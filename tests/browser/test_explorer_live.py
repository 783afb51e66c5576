"""The explorer follows the network live: blocks mined on this node and on a
registered node appear without a reload, a Python reference node is polled
through this node (and only while the page is visible), a natively linked
node is read from its own stream, and data from the network is shown as
text, never run."""
import unittest

from browser import Browser, post
from harness import Node, RefNode, block_hash, get_chain


class Live(unittest.TestCase):
    def assert_hashes(self, page, node, chain):
        """Every block of `node` on the page carries Python's hash of that block."""
        shown = page.blocks(node)
        self.assertTrue(shown, "no block of %s on the page" % node)
        for (_, index), b in shown.items():
            self.assertEqual(b["hash"], block_hash(chain[index - 1]),
                             "block %d of %s" % (index, node))

    def test_blocks_of_this_node_and_of_a_registered_node_appear_live(self):
        with Node() as n1, Node() as n2, Browser() as page:
            page.open(n1)
            me = n1.address
            page.wait_for("the genesis block", lambda: page.block(me, 1))
            self.assert_hashes(page, me, get_chain(n1.url))

            # Mined on this node: shown from its stream.
            self.assertEqual(post(n1, "/transactions/new", {"data": "Hello, Node 1!"})[0], 201)
            page.wait_for("the pending transaction", lambda: "Hello, Node 1!" in page.js(
                "return document.getElementById('pending-list').textContent"))
            self.assertEqual(page.by_id("pending-count").text, "1")
            self.assertEqual(post(n1, "/mine")[0], 201)
            b = page.wait_for("block 2 of this node", lambda: page.block(me, 2))
            self.assertIn("Hello, Node 1!", b["text"])
            self.assertFalse(b["diverged"])
            self.assert_hashes(page, me, get_chain(n1.url))
            page.wait_for("the pending list to empty", lambda: page.by_id("pending-count").text == "0")

            # Mined on a node this node registered: shown from that node's stream.
            self.assertEqual(post(n1, "/nodes/register", {"nodes": [n2.address]})[0], 201)
            page.wait_for("a row for node 2", lambda: n2.address in page.rows())
            post(n2, "/transactions/new", {"data": "Hello, Node 2!"})
            post(n2, "/mine")
            b = page.wait_for("block 2 of node 2", lambda: page.block(n2.address, 2), timeout=5)
            self.assertIn("Hello, Node 2!", b["text"])
            # Each node mined its own genesis block: nothing in common.
            self.assertTrue(b["diverged"])
            self.assertTrue(page.block(n2.address, 1)["diverged"])
            self.assert_hashes(page, n2.address, get_chain(n2.url))
            row = page.wait_for("node 2's relation", lambda: page.rows()[n2.address]
                                if page.rows()[n2.address]["relation"] == "unrelated" else None)
            self.assertEqual(row["status"], "live")

            # Node 2 mines on: shown without touching the page.
            post(n2, "/transactions/new", {"data": "again on node 2"})
            post(n2, "/mine")
            b = page.wait_for("block 3 of node 2", lambda: page.block(n2.address, 3), timeout=5)
            self.assertIn("again on node 2", b["text"])
            self.assertTrue(page.not_reloaded())
            self.assertEqual(page.script_errors(), [])
            page.screenshot("live")

    def test_data_from_the_network_is_text(self):
        hostile = [
            "<img src=x onerror=\"window.__pwned=1\">",
            "<script>window.__pwned=2</script>",
            "\u202eevil\u202c right-to-left override",
            {"__proto__": {"polluted": 1}, "html": "<b>bold</b>"},
            "x" * 100000,
        ]
        with Node() as n1, Browser() as page:
            page.open(n1)
            for data in hostile:
                self.assertEqual(post(n1, "/transactions/new", {"data": data})[0], 201)
            self.assertEqual(post(n1, "/mine")[0], 201)
            b = page.wait_for("the block", lambda: page.block(n1.address, 2))
            self.assertIn("<img src=x", b["text"])
            self.assertIn("+2 more", b["text"])  # three shown, the rest counted
            self.assertIsNone(page.js("return window.__pwned ?? null"))
            self.assertIsNone(page.js("return ({}).polluted ?? null"))
            self.assertEqual(page.js(
                "return document.querySelectorAll('#grid img, #grid script, #grid b').length"), 0)
            # Long data is shortened in the block, not laid out in full.
            longest = page.js("return Math.max(...Array.from(document.querySelectorAll("
                              "'#grid .b-txs li'), e => e.textContent.length))")
            self.assertLess(longest, 100)
            self.assertEqual(page.script_errors(), [])

    def test_python_node_is_polled_through_this_node_only_while_visible(self):
        with Node() as n1, RefNode() as ref, Browser() as page:
            page.open(n1)
            post(n1, "/nodes/register", {"nodes": [ref.address]})
            # Awkward data: the page hashes the Python node's newest block
            # itself, as Python does (123.0 stays a float, é is escaped).
            for data in ["caf\u00e9 \U0001f600", 123.0, {"b": [1e16, None], "a": -0.0}]:
                post(ref, "/transactions/new", {"data": data})
                post(ref, "/mine")
            chain = get_chain(ref.url)
            page.wait_for("the Python node's tip", lambda: (
                page.block(ref.address, 4) or {}).get("hash") == block_hash(chain[3]))
            self.assert_hashes(page, ref.address, chain)
            row = page.rows()[ref.address]
            self.assertEqual(row["status"], "polled")
            self.assertTrue(all(b["diverged"] for b in page.blocks(ref.address).values()))

            # Evil on the Python node: its row says so.
            post(ref, "/action/evil")
            row = page.wait_for("the pop to show", lambda: page.rows()[ref.address]
                                if page.rows()[ref.address]["highlight"] == "popped" else None)
            self.assertIn("popped", row["label"])
            page.wait_for("block 4 to go", lambda: page.block(ref.address, 4) is None)

            # Hidden page: no polling at all; shown again: polling resumes.
            polls = "return performance.getEntriesByType('resource')" \
                    ".filter(e => e.name.includes('/nodes/peer-chain')).length"
            page.js("""
                Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
                Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
                document.dispatchEvent(new Event('visibilitychange'));""")
            import time
            time.sleep(1.5)  # a poll already under way may still finish
            before = page.js(polls)
            time.sleep(3)
            self.assertEqual(page.js(polls), before)
            post(ref, "/transactions/new", {"data": "while hidden"})
            post(ref, "/mine")
            page.js("""
                delete document.hidden; delete document.visibilityState;
                document.dispatchEvent(new Event('visibilitychange'));""")
            b = page.wait_for("the block mined while hidden", lambda: page.block(ref.address, 4))
            self.assertIn("while hidden", b["text"])
            self.assertEqual(page.script_errors(), [])

    def test_native_peer_is_read_from_its_own_stream(self):
        with Node("--caf-port", "0") as n1, Node("--caf-port", "0") as n3, Browser() as page:
            page.open(n1)
            self.assertEqual(post(n1, "/nodes/register", {"nodes": [n3.caf_address]})[0], 201)
            post(n3, "/transactions/new", {"data": "over a native link"})
            post(n3, "/mine")
            b = page.wait_for("block 2 of the native peer", lambda: page.block(n3.caf_address, 2))
            self.assertIn("over a native link", b["text"])
            self.assertEqual(b["hash"], block_hash(get_chain(n3.url)[1]))
            self.assertEqual(page.rows()[n3.caf_address]["status"], "live")
            link = page.wait_for("the link state", lambda: page.js(
                "const p = document.querySelector('#peer-list [data-link]');"
                "return p && p.dataset.link"))
            self.assertIn(link, ("up", "down"))
            self.assertEqual(page.script_errors(), [])


if __name__ == "__main__":
    unittest.main()
