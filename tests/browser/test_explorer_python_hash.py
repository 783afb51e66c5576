"""The page hashes a Python reference node's newest block itself (such a node
sends no hashes). Its serializer must reproduce Python's
json.dumps(sort_keys=True) byte for byte: checked here against Python over
the same cases as the node's own serializer (tests/fixtures), and its
SHA-256 against hashlib, also where browsers have no crypto.subtle."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

from browser import Browser, HERE
from harness import Node

CHECK_JS = """
const [cases, done] = [arguments[0], arguments[arguments.length - 1]];
import('/static/py_hash.js').then((m) => {
  const wrong = [];
  let checked = 0;
  for (const [text, expected] of cases) {
    let value;
    try {
      value = m.parseKeepingNumbers(text);
    } catch {
      continue;  // NaN and Infinity: Python reads them, JSON does not
    }
    checked++;
    const got = m.pythonJson(value);
    if (got !== expected) wrong.push([text, expected, got]);
  }
  done({checked, wrong: wrong.slice(0, 20), wrongCount: wrong.length});
}, (e) => done({error: String(e)}));
"""

SHA_JS = """
const [texts, done] = [arguments[0], arguments[arguments.length - 1]];
import('/static/py_hash.js').then((m) => done(texts.map(
  (t) => m.sha256Hex(new TextEncoder().encode(t)))), (e) => done({error: String(e)}));
"""


def _is_utf8(hex_text):
    try:
        bytes.fromhex(hex_text).decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


class PythonHash(unittest.TestCase):
    def test_serializer_matches_python(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "cases.jsonl")
            subprocess.run([sys.executable, os.path.join(HERE, "..", "fixtures", "gen_canonical_cases.py"), out],
                           check=True)
            with open(out) as f:
                cases = [json.loads(line) for line in f]
        # Inputs are hex (they may hold any bytes); the page reads text.
        accepted = [(bytes.fromhex(c[1]).decode("utf-8"), c[2]) for c in cases
                    if c[0] == "accept" and _is_utf8(c[1])]
        self.assertGreater(len(accepted), 1000)
        with Node() as n1, Browser() as page:
            page.driver.get(n1.url + "/")
            page.driver.set_script_timeout(120)
            result = page.driver.execute_async_script(CHECK_JS, accepted)
            self.assertNotIn("error", result)
            self.assertEqual(result["wrongCount"], 0, result["wrong"])
            # Only Python's own extensions (NaN, Infinity) may be skipped.
            self.assertGreater(result["checked"], len(accepted) * 0.95)

    def test_sha256_matches_hashlib(self):
        texts = ["", "abc", "a" * 55, "a" * 56, "a" * 64, "x" * 1000,
                 '{"index": 1, "previous_hash": "0", "timestamp": 1560174309.2023711, '
                 '"transactions": [{"data": "The Times 03/Jan/2009 Chancellor on brink of '
                 'second bailout for banks"}]}']
        with Node() as n1, Browser() as page:
            page.driver.get(n1.url + "/")
            got = page.driver.execute_async_script(SHA_JS, texts)
            self.assertEqual(got, [hashlib.sha256(t.encode()).hexdigest() for t in texts])
            # The notebook's genesis block of node 1 (API.md's test vector).
            self.assertEqual(got[-1], "fb59fa77488f083417deed0bd1804b82971d24d9155696ebf8b0f2be72715d58")


if __name__ == "__main__":
    unittest.main()
