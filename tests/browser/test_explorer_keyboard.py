"""The explorer without a mouse: every control is reached with Tab, shows
where the focus is, has a label, and works with Enter or Space; the chains
scroll with Home and End. Light and dark follow the system and the toggle."""
import json
import unittest

from browser import Browser, Keys, post
from harness import Node
from selenium.webdriver.common.action_chains import ActionChains

# Every control, in the order Tab reaches them.
CONTROLS = ["theme-toggle", "size-toggle", "go-genesis", "goto-index", "go-tip", "grid",
            "tx-data", "tx-json", "mine-btn", "consensus-btn", "evil-btn",
            "register-nodes"]

ACTIVE_JS = "const a = document.activeElement; return a && (a.id || a.tagName + '.' + a.className)"
FOCUS_RING_JS = """const s = getComputedStyle(document.activeElement);
return {style: s.outlineStyle, width: parseFloat(s.outlineWidth)};"""


class Keyboard(unittest.TestCase):
    def tab_to(self, page, target, limit=60):
        """Presses Tab until `target` has the focus; returns what was passed."""
        seen = []
        for _ in range(limit):
            ActionChains(page.driver).send_keys(Keys.TAB).perform()
            active = page.js(ACTIVE_JS)
            seen.append(active)
            if active == target:
                return seen
        self.fail("Tab never reached %s; reached %s" % (target, seen))

    def assert_focus_visible(self, page):
        ring = page.js(FOCUS_RING_JS)
        self.assertNotEqual(ring["style"], "none", page.js(ACTIVE_JS))
        self.assertGreaterEqual(ring["width"], 2, page.js(ACTIVE_JS))

    def test_every_control_by_keyboard(self):
        with Node() as n1, Node() as n2, Browser() as page:
            page.open(n1)
            # Tab reaches every control in order, each with a visible focus ring.
            page.js("document.activeElement.blur()")
            seen = self.tab_to(page, CONTROLS[-1])
            order = [c for c in seen if c in CONTROLS]
            self.assertEqual(order, CONTROLS)
            self.assert_focus_visible(page)

            # Every input and button has a name a screen reader can say.
            unnamed = page.js("""return Array.from(document.querySelectorAll('input, button'))
                .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                             && !e.textContent.trim()).map(e => e.id);""")
            self.assertEqual(unnamed, [])

            # A transaction typed and sent with Enter.
            page.js("document.activeElement.blur()")
            self.tab_to(page, "tx-data")
            self.assert_focus_visible(page)
            answer = page.answer_to("POST /transactions/new", lambda: ActionChains(page.driver)
                                    .send_keys("typed at the keyboard", Keys.ENTER).perform())
            self.assertEqual(json.loads(answer["body"]), {"transaction": {"data": "typed at the keyboard"}})
            self.assertEqual(page.js(ACTIVE_JS), "tx-data")  # the focus stays for the next one

            # Mine with Space, consensus with Enter.
            self.tab_to(page, "mine-btn")
            self.assert_focus_visible(page)
            answer = page.answer_to("POST /mine", lambda: ActionChains(page.driver)
                                    .send_keys(Keys.SPACE).perform())
            self.assertIn("201", answer["head"])
            b = page.wait_for("the mined block", lambda: page.block(n1.address, 2))
            self.assertIn("typed at the keyboard", b["text"])
            self.tab_to(page, "consensus-btn")
            answer = page.answer_to("POST /nodes/consensus", lambda: ActionChains(page.driver)
                                    .send_keys(Keys.ENTER).perform())
            self.assertIn("Chain not replaced - master", answer["body"])

            # Register a node: typed, Enter.
            self.tab_to(page, "register-nodes")
            answer = page.answer_to("POST /nodes/register", lambda: ActionChains(page.driver)
                                    .send_keys(n2.address, Keys.ENTER).perform())
            self.assertEqual(json.loads(answer["body"]), {"total_nodes": [n2.address]})
            page.wait_for("node 2's row", lambda: page.block(n2.address, 1))

            # Evil with Enter.
            self.tab_to(page, "evil-btn")
            answer = page.answer_to("POST /action/evil", lambda: ActionChains(page.driver)
                                    .send_keys(Keys.ENTER).perform())
            self.assertIn("Snap done!", answer["body"])
            page.wait_for("block 2 to go", lambda: page.block(n1.address, 2) is None)
            page.screenshot("keyboard")
            self.assertEqual(page.script_errors(), [])

    def test_home_and_end_scroll_the_chains(self):
        with Node() as n1, Browser(width=900) as page:
            for i in range(30):
                post(n1, "/transactions/new", {"data": "block %d" % (i + 2)})
                post(n1, "/mine")
            page.open(n1)
            me = n1.address
            page.wait_for("the tip in view", lambda: page.block(me, 31))
            self.assertIsNone(page.block(me, 1))  # far left, not rendered
            page.by_id("grid").click()
            self.assertEqual(page.js(ACTIVE_JS), "grid")
            ActionChains(page.driver).send_keys(Keys.HOME).perform()
            page.wait_for("the genesis block", lambda: page.block(me, 1))
            page.wait_for("the tip to leave", lambda: page.block(me, 31) is None)
            ActionChains(page.driver).send_keys(Keys.END).perform()
            page.wait_for("the tip again", lambda: page.block(me, 31))
            # And a new block keeps the view at the tip.
            post(n1, "/transactions/new", {"data": "newest"})
            post(n1, "/mine")
            page.wait_for("the new tip in view", lambda: page.block(me, 32))

    def test_light_dark_and_the_toggle(self):
        background = "return getComputedStyle(document.body).backgroundColor"
        with Node() as n1:
            with Browser(color_scheme="dark") as page:
                page.open(n1)
                dark = page.js(background)
                page.screenshot("dark")
                # The toggle: auto -> light -> dark, remembered across a reload.
                page.by_id("theme-toggle").click()
                self.assertEqual(page.js("return document.documentElement.dataset.theme"), "light")
                light = page.js(background)
                self.assertNotEqual(light, dark)
                page.by_id("theme-toggle").click()
                self.assertEqual(page.js(background), dark)
                page.driver.refresh()
                self.assertEqual(page.js("return document.documentElement.dataset.theme"), "dark")
            with Browser(color_scheme="light") as page:
                page.open(n1)
                self.assertEqual(page.js(background), light)
                # Larger text for projectors.
                size = "return parseFloat(getComputedStyle(document.documentElement).fontSize)"
                before = page.js(size)
                page.by_id("size-toggle").click()
                self.assertGreater(page.js(size), before * 1.1)
                self.assertEqual(page.by_id("size-toggle").get_attribute("aria-pressed"), "true")


if __name__ == "__main__":
    unittest.main()
