"""Shared helpers for the browser tests: the explorer page (GET /) in headless
Chromium, driven by Selenium, against real dlt-node processes (tests/e2e's
harness starts them). Needs Debian's chromium, chromium-driver and
python3-selenium; when one is missing, the tests exit 77 (CTest: skipped)
saying which.

Screenshots go to $DLT_ARTIFACTS (CTest sets build/test-artifacts)."""
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

SKIP = 77
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = os.path.abspath(os.environ.get("DLT_ARTIFACTS") or os.path.join(
    HERE, "..", "..", "build", "test-artifacts"))

# A browser for tests: no sandbox (containers, root), nothing fetched from
# Google, a fresh profile each time.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


def require_browser():
    """Exits 77 with the reason when the browser stack is not installed."""
    missing = [what for what, ok in [
        ("chromium (apt-get install chromium)", os.access(CHROMIUM, os.X_OK)),
        ("chromedriver (apt-get install chromium-driver)", os.access(CHROMEDRIVER, os.X_OK)),
    ] if not ok]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium for %s (apt-get install python3-selenium)" % sys.executable)
    if missing:
        print("SKIPPED: browser tests need " + ", ".join(missing), file=sys.stderr)
        sys.exit(SKIP)


require_browser()

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

# What the page shows, read through the attributes users' scripts rely on.
BLOCKS_JS = """
return Array.from(document.querySelectorAll('#grid .block[data-node]'), e => ({
  node: e.dataset.node, index: Number(e.dataset.index), hash: e.dataset.hash || null,
  diverged: e.hasAttribute('data-diverged'), ahead: e.hasAttribute('data-ahead'),
  fork: e.hasAttribute('data-fork-point'), text: e.textContent}));
"""
ROWS_JS = """
return Array.from(document.querySelectorAll('#grid .chain-row'), r => ({
  key: r.dataset.row, self: r.hasAttribute('data-self'),
  highlight: r.dataset.highlight || null, relation: r.dataset.relation || null,
  fork: r.dataset.fork ? Number(r.dataset.fork) : null, status: r.dataset.status,
  label: r.querySelector('.row-label').textContent}));
"""


class Browser:
    """One headless Chromium with a fresh profile, removed on close()."""

    def __init__(self, width=1366, height=768, color_scheme=None):
        self.profile = tempfile.mkdtemp(prefix="dlt-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in CHROMIUM_ARGS + ["--user-data-dir=" + self.profile,
                                    "--window-size=%d,%d" % (width, height)]:
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        except BaseException:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        self.size(width, height)
        # Chromium's counters (see metrics()) count from here.
        self.driver.execute_cdp_cmd("Performance.enable", {})
        if color_scheme:
            self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
                "features": [{"name": "prefers-color-scheme", "value": color_scheme}]})
        self.console = []

    def size(self, width, height):
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def open(self, node):
        """The node's explorer, once its own stream is live."""
        self.driver.get(node.url + "/")
        # Marks this page load: a reload would lose it.
        self.js("window.__explorerTestLoad = 1")
        self.wait_for("the page's stream to be live", lambda: self.js(
            "return document.getElementById('conn').dataset.state") == "live")

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def not_reloaded(self):
        return self.js("return window.__explorerTestLoad === 1")

    def by_id(self, element_id):
        return self.driver.find_element(By.ID, element_id)

    def wait_for(self, what, predicate, timeout=15):
        """Polls predicate() until it returns something true; returns it."""
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            try:
                value = predicate()
                if value:
                    return value
            except AssertionError as e:
                last_error = e
            time.sleep(0.1)
        raise AssertionError("timed out after %ss waiting for %s%s\nrows: %s\nconsole: %s" % (
            timeout, what, "" if last_error is None else " (%s)" % last_error,
            self.rows(), self.console_lines()))

    def blocks(self, node=None):
        """{(node, index): block} of the block elements now in the page."""
        out = {}
        for b in self.js(BLOCKS_JS):
            if node is None or b["node"] == node:
                out[(b["node"], b["index"])] = b
        return out

    def block(self, node, index):
        return self.blocks(node).get((node, index))

    def rows(self):
        return {r["key"]: r for r in self.js(ROWS_JS)}

    def answer(self):
        # One read of all three: read one by one, a change of the page in
        # between can pair the state of one answer with the head of another.
        return self.js("""
            const a = document.getElementById('answer');
            return {state: a.getAttribute('data-state'),
                    head: document.getElementById('answer-head').innerText.trim(),
                    body: document.getElementById('answer-body').textContent};""")

    def answer_to(self, request, action):
        """Does action() (a click, a key) and returns the answer to `request`
        ("POST /mine") shown for it."""
        self.js("document.getElementById('answer-head').textContent = ''")
        action()
        return self.wait_answer(request)

    def wait_answer(self, request):
        """The answer to `request` ("POST /mine"), once it came."""
        def done():
            a = self.answer()
            return a if a["head"].startswith(request + " \u2192") or (
                a["state"] == "error" and a["head"].startswith(request)) else None
        return self.wait_for("the answer to " + request, done)

    def console_lines(self):
        try:
            self.console += self.driver.get_log("browser")
        except Exception:  # noqa: BLE001 - the browser may be gone
            pass
        return [e["message"] for e in self.console]

    def script_errors(self):
        """Uncaught errors of the page's own code (not failed requests: a
        Python node's missing CORS header is expected and logged by the
        browser, not by the page)."""
        self.console_lines()
        return [e["message"] for e in self.console
                if e["level"] == "SEVERE" and e.get("source") == "javascript"
                and "has been blocked by CORS policy" not in e["message"]]

    def screenshot(self, name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        path = os.path.join(ARTIFACTS, "explorer-%s.png" % name)
        self.driver.save_screenshot(path)
        print("screenshot: " + path, file=sys.stderr)
        return path

    def full_screenshot(self, name, width=1366):
        """The whole page, not just the viewport."""
        height = self.js("return document.documentElement.scrollHeight")
        self.size(width, height)
        try:
            return self.screenshot(name)
        finally:
            self.size(width, 768)

    def metrics(self):
        """Chromium's own counters: script, layout and task time in seconds."""
        return {m["name"]: m["value"] for m in
                self.driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}

    def close(self):
        try:
            self.driver.quit()  # ends chromedriver and its browser by PID
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def post(node, path, body=None):
    """A POST the notebook's way (no Origin header); returns (status, body)."""
    from harness import call
    return call(node.url, "POST", path, {} if body is None else body)
