"""The notebook's story on the page of node 1, with the page's own controls
for node 1 (as a teacher would click) and the REST API for node 2: two
unrelated chains, consensus replacing node 2's, evil popping node 2's last
block, node 2's longer evil chain forking from node 1's, and consensus
making node 1 adopt it. Every step must show: answers, rows, diverged
blocks, the fork point, the highlights."""
import json
import unittest

from browser import Browser, Keys, post
from harness import Node, block_hash, get_chain


class NotebookStory(unittest.TestCase):
    def type_into(self, page, element_id, text):
        box = page.by_id(element_id)
        box.clear()
        box.send_keys(text)
        return box

    def send_tx(self, page, data):
        box = self.type_into(page, "tx-data", data)
        answer = page.answer_to("POST /transactions/new", lambda: box.send_keys(Keys.ENTER))
        self.assertIn("201", answer["head"])
        self.assertEqual(json.loads(answer["body"]), {"transaction": {"data": data}})

    def click(self, page, element_id, request):
        return page.answer_to(request, page.by_id(element_id).click)

    def enter(self, page, element_id, text, request):
        box = self.type_into(page, element_id, text)
        return page.answer_to(request, lambda: box.send_keys(Keys.ENTER))

    def wait_highlight(self, page, key, kind):
        return page.wait_for("%s highlighted as %s" % (key, kind), lambda: page.rows()[key]
                             if page.rows()[key]["highlight"] == kind else None)

    def assert_same_chain(self, page, n1, n2):
        """Node 2's row shows node 1's blocks, none marked."""
        chain = get_chain(n1.url)

        def settled():
            shown = page.blocks(n2.address)
            return len(shown) == len(chain) and not any(
                b["diverged"] or b["ahead"] or b["fork"] for b in shown.values())
        page.wait_for("node 2's row to match node 1", settled)
        for (_, index), b in page.blocks(n2.address).items():
            self.assertEqual(b["hash"], block_hash(chain[index - 1]))
        self.assertEqual(page.rows()[n2.address]["relation"], "same")

    def test_the_notebook_on_the_page(self):
        with Node() as n1, Node() as n2, Browser() as page:
            page.open(n1)
            me, other = n1.address, n2.address

            # Register the nodes between each other (node 1 through the page).
            answer = self.enter(page, "register-nodes", other, "POST /nodes/register")
            self.assertIn("201", answer["head"])
            self.assertEqual(json.loads(answer["body"]), {"total_nodes": [other]})
            page.wait_for("node 2's row", lambda: other in page.rows())
            page.wait_for("node 2 in the peers panel", lambda: page.js(
                "return document.querySelector('#peer-list [data-peer]')?.dataset.peer") == other)
            self.assertEqual(post(n2, "/nodes/register", {"nodes": [me]})[0], 201)

            # One transaction each, mine.
            self.send_tx(page, "Hello, Node 1!")
            self.assertEqual(page.wait_for("the pending count", lambda: page.by_id(
                "pending-count").text == "1" and "1"), "1")
            answer = self.click(page, "mine-btn", "POST /mine")
            self.assertIn("201", answer["head"])
            mined = json.loads(answer["body"])["new_block"]
            self.assertEqual(mined["transactions"], [{"data": "Hello, Node 1!"}])
            post(n2, "/transactions/new", {"data": "Hello, Node 2!"})
            post(n2, "/mine")
            page.wait_for("block 2 of both nodes",
                          lambda: page.block(me, 2) and page.block(other, 2))
            # Two genesis blocks: the chains share nothing.
            page.wait_for("node 2's blocks marked as different", lambda: all(
                b["diverged"] for b in page.blocks(other).values()))
            self.assertEqual(page.rows()[other]["relation"], "unrelated")

            # A master chain on node 1.
            self.send_tx(page, "Hello, Node 1!")
            self.send_tx(page, "Hello, Node 2!")
            self.click(page, "mine-btn", "POST /mine")
            b = page.wait_for("block 3 of node 1", lambda: page.block(me, 3))
            self.assertIn("Hello, Node 1!", b["text"])
            self.assertIn("Hello, Node 2!", b["text"])

            # Consensus on node 1: nothing longer anywhere.
            answer = self.click(page, "consensus-btn", "POST /nodes/consensus")
            self.assertIn("200", answer["head"])
            self.assertIn('"status": "Chain not replaced - master"', answer["body"])
            # Consensus on node 2: node 1's chain replaces node 2's, genesis included.
            self.assertEqual(post(n2, "/nodes/consensus")[1]["status"], "Chain replaced")
            row = self.wait_highlight(page, other, "replaced")
            self.assertIn("replaced", row["label"])
            self.assert_same_chain(page, n1, n2)
            page.screenshot("consensus")

            # Evil on node 2: its last block goes.
            self.assertEqual(post(n2, "/action/evil")[1]["status"], "Snap done!")
            self.wait_highlight(page, other, "popped")
            page.wait_for("block 3 of node 2 to go", lambda: page.block(other, 3) is None)
            self.assertEqual(page.rows()[other]["relation"], "behind")

            # Two evil blocks on node 2: a fork after block 2.
            for _ in range(2):
                post(n2, "/transactions/new", {"data": "Evil transaction"})
                post(n2, "/mine")
            page.wait_for("the fork", lambda: page.rows()[other]["fork"] == 2)
            shown = page.wait_for("node 2's evil blocks", lambda: page.blocks(other)
                                  if len(page.blocks(other)) == 4 else None)
            self.assertFalse(shown[(other, 1)]["diverged"])
            self.assertTrue(shown[(other, 2)]["fork"])
            self.assertFalse(shown[(other, 2)]["diverged"])
            for i in (3, 4):
                self.assertTrue(shown[(other, i)]["diverged"], i)
                self.assertIn("Evil transaction", shown[(other, i)]["text"])
            self.assertEqual(page.rows()[other]["relation"], "forked")
            self.assertEqual(len(page.js(
                "return Array.from(document.querySelectorAll('#grid [data-fork-point]'))")), 1)
            page.screenshot("fork")

            # Consensus on node 1: the longer evil chain wins.
            answer = self.click(page, "consensus-btn", "POST /nodes/consensus")
            self.assertIn('"status": "Chain replaced"', answer["body"])
            row = self.wait_highlight(page, me, "replaced")
            self.assertIn(other, row["label"])
            page.wait_for("node 1's block 4", lambda: page.block(me, 4))
            self.assertIn("Evil transaction", page.block(me, 3)["text"])
            self.assert_same_chain(page, n1, n2)
            self.assertEqual(get_chain(n1.url), get_chain(n2.url))
            page.full_screenshot("evil-wins")

            # Evil through the page: node 1 pops; node 2 is now ahead of it.
            answer = self.click(page, "evil-btn", "POST /action/evil")
            self.assertIn('"status": "Snap done!"', answer["body"])
            self.wait_highlight(page, me, "popped")
            b = page.wait_for("node 2's block 4 ahead", lambda: (
                page.block(other, 4) or {}).get("ahead"))
            self.assertTrue(b)
            self.assertEqual(page.rows()[other]["relation"], "ahead")
            self.assertTrue(page.not_reloaded())
            self.assertEqual(page.script_errors(), [])

    def test_controls_show_every_answer(self):
        with Node() as n1, Browser() as page:
            page.open(n1)
            # Mine with nothing pending: the API's answer, shown as it is.
            answer = self.click(page, "mine-btn", "POST /mine")
            self.assertEqual((answer["state"], json.loads(answer["body"])),
                             ("ok", {"is_valid": True, "new_block": None}))
            # Evil on a genesis-only chain.
            answer = self.click(page, "evil-btn", "POST /action/evil")
            self.assertEqual(json.loads(answer["body"]), {"element": None, "status": "Nothing to do..."})
            # JSON data, sent as JSON.
            page.by_id("tx-json").click()
            answer = self.enter(page, "tx-data", '{"amount": 2.5, "to": ["a", "b"]}',
                                "POST /transactions/new")
            self.assertEqual(json.loads(answer["body"]),
                             {"transaction": {"data": {"amount": 2.5, "to": ["a", "b"]}}})
            # Not JSON: refused on the page, nothing sent.
            self.type_into(page, "tx-data", "{not json").send_keys(Keys.ENTER)
            def refusal():
                a = page.answer()
                return a if "not JSON" in a["head"] else None
            answer = page.wait_for("the refusal", refusal)
            self.assertEqual(answer["state"], "error")
            status, body = post(n1, "/mine")
            self.assertEqual(body["new_block"]["transactions"],
                             [{"data": {"amount": 2.5, "to": ["a", "b"]}}])
            # A bad registration: the node's 400, shown.
            answer = self.enter(page, "register-nodes", " , ", "POST /nodes/register")
            self.assertEqual(answer["state"], "error")
            self.assertIn("400", answer["head"])
            self.assertEqual(json.loads(answer["body"]), {"error": "Missing list of nodes"})
            # A consensus answer with a long chain is shortened for display.
            for i in range(8):
                post(n1, "/transactions/new", {"data": i})
                post(n1, "/mine")
            answer = self.click(page, "consensus-btn", "POST /nodes/consensus")
            self.assertIn("more blocks (10 in all)", answer["body"])
            self.assertEqual(page.script_errors(), [])


if __name__ == "__main__":
    unittest.main()
