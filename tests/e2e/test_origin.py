"""A browser page must not be a weapon (issue 12, section 4): a POST whose
Origin names another origin than the node's own is refused with 403 and a
JSON error and changes nothing, unless --allow-origin admits that origin
(command line or config file); same-origin and Origin-less clients work.
The read-only GET routes may be read from any origin (CORS `*`, preflight
answered); POST answers grant nothing."""
import http.client
import json
import os
import tempfile
import unittest

from harness import Node, call, free_port
from sse import Stream

READ_ROUTES = ("/chain", "/events", "/blocks", "/status", "/transactions/pending")
POSTS = (("/transactions/new", {"data": "from a page"}),
         ("/mine", {}),
         ("/nodes/register", {"nodes": ["127.0.0.1:9"]}),
         ("/nodes/unregister", {"nodes": ["127.0.0.1:8"]}),
         ("/nodes/consensus", {}),
         ("/action/evil", {}))


def request(node, method, path, body=None, headers=None):
    """One request on its own connection; returns (status, headers, body).
    A Host header in `headers` replaces the default one."""
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
    try:
        data = None if body is None else json.dumps(body)
        hdrs = dict(headers or {})
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        res = conn.getresponse()
        raw = res.read()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, raw
    finally:
        conn.close()


def state(node):
    """Everything a POST could change, as the API reports it."""
    return (call(node.url, "GET", "/chain")[1],
            call(node.url, "GET", "/transactions/pending")[1],
            call(node.url, "GET", "/status")[1]["total_nodes"])


class OriginChecks(unittest.TestCase):
    def prepare(self, node):
        """A node where every POST would change something: a block to pop,
        a transaction to mine, a peer to unregister."""
        call(node.url, "POST", "/transactions/new", {"data": "mined"})
        call(node.url, "POST", "/mine")
        call(node.url, "POST", "/transactions/new", {"data": "pending"})
        call(node.url, "POST", "/nodes/register", {"nodes": ["127.0.0.1:8"]})

    def assertRefused(self, node, origin, host=None):
        for path, body in POSTS:
            headers = {"Origin": origin}
            if host:
                headers["Host"] = host
            status, hdrs, raw = request(node, "POST", path, body, headers)
            self.assertEqual(status, 403, "%s from %r" % (path, origin))
            self.assertTrue(hdrs.get("content-type", "").startswith("application/json"))
            self.assertIsInstance(json.loads(raw).get("error"), str)
            self.assertNotIn("access-control-allow-origin", hdrs)

    def assertAdmitted(self, node, origin, host=None):
        headers = {"Origin": origin} if origin is not None else {}
        if host:
            headers["Host"] = host
        status, hdrs, raw = request(node, "POST", "/transactions/new",
                                    {"data": "admitted %r" % origin}, headers)
        self.assertEqual(status, 201, "Origin %r, Host %r: %s" % (origin, host, raw))
        self.assertEqual(json.loads(raw), {"transaction": {"data": "admitted %r" % origin}})
        self.assertNotIn("access-control-allow-origin", hdrs)

    def test_foreign_origins_are_refused_and_change_nothing(self):
        with Node() as node:
            self.prepare(node)
            before = state(node)
            port, other = node.port, free_port()
            for origin in ("http://127.0.0.1:%d" % other,   # another port
                           "http://evil.example",           # another host
                           "http://evil.example:%d" % port,
                           "http://localhost:%d" % port,    # Host says 127.0.0.1
                           "http://127.0.0.1",              # port 80
                           "https://127.0.0.1:%d" % port,   # another scheme
                           "null",                          # sandboxed pages, files
                           "garbage",
                           "http://127.0.0.1:%d.evil.example" % port,
                           "http://127.0.0.1:%d@evil.example" % port,
                           "http://127.0.0.1:%d/path" % port):
                self.assertRefused(node, origin)
            self.assertEqual(state(node), before)

    def test_same_origin_and_origin_less_requests_work(self):
        with Node() as node:
            port = node.port
            self.assertAdmitted(node, None)
            self.assertAdmitted(node, "http://127.0.0.1:%d" % port)
            # The origin is the Host the browser used, by name too.
            self.assertAdmitted(node, "http://localhost:%d" % port, host="localhost:%d" % port)
            self.assertRefused(node, "http://127.0.0.1:%d" % port, host="localhost:%d" % port)
            # Every state-changing route, from the node's own page.
            for path, body in POSTS:
                status, _, raw = request(node, "POST", path, body,
                                         {"Origin": "http://127.0.0.1:%d" % port})
                self.assertIn(status, (200, 201), "%s: %s" % (path, raw))

    def test_allow_origin_admits_exactly_the_origins_given(self):
        conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
        conf.write("# pages allowed to drive this node\n"
                   "allow-origin = http://from-config.example:8000\n")
        conf.close()
        try:
            with Node("--config", conf.name,
                      "--allow-origin", "http://localhost:3000",
                      "--allow-origin=https://teacher.example") as node:
                self.prepare(node)
                for origin in ("http://localhost:3000", "https://teacher.example",
                               "http://from-config.example:8000",
                               "http://127.0.0.1:%d" % node.port):
                    self.assertAdmitted(node, origin)
                before = state(node)
                for origin in ("http://localhost:3001", "https://localhost:3000",
                               "http://teacher.example", "https://teacher.example:8443",
                               "http://from-config.example", "http://localhost:3000.evil",
                               "null"):
                    self.assertRefused(node, origin)
                self.assertEqual(state(node), before)
            with Node("--config", conf.name) as node:  # the config file alone
                self.assertAdmitted(node, "http://from-config.example:8000")
                self.assertRefused(node, "http://localhost:3000")
        finally:
            os.unlink(conf.name)

    def test_read_routes_are_readable_from_any_origin(self):
        with Node() as node:
            foreign = {"Origin": "http://elsewhere.example:1234"}
            for path in READ_ROUTES:
                if path == "/events":
                    s = Stream(node.address, headers=foreign)
                    status, hdrs = s.status, s.headers
                    self.assertEqual(s.next(10).name, "snapshot")
                    s.close()
                else:
                    status, hdrs, raw = request(node, "GET", path, headers=foreign)
                    json.loads(raw)
                self.assertEqual(status, 200, path)
                self.assertEqual(hdrs.get("access-control-allow-origin"), "*", path)
                # Without an Origin, the same.
                if path != "/events":
                    self.assertEqual(request(node, "GET", path)[1].get(
                        "access-control-allow-origin"), "*", path)

    def test_preflight_is_answered_for_read_routes_only(self):
        with Node() as node:
            for path in READ_ROUTES:
                status, hdrs, _ = request(node, "OPTIONS", path, headers={
                    "Origin": "http://elsewhere.example",
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "last-event-id"})
                self.assertIn(status, (200, 204), path)
                self.assertEqual(hdrs.get("access-control-allow-origin"), "*", path)
                methods = [m.strip() for m in
                           hdrs.get("access-control-allow-methods", "").split(",")]
                self.assertIn("GET", methods, path)
                allowed = hdrs.get("access-control-allow-headers", "").lower()
                self.assertIn("last-event-id", allowed, path)
            # A preflight for a cross-origin POST is not granted.
            before = state(node)
            for path, _ in POSTS:
                status, hdrs, _ = request(node, "OPTIONS", path, headers={
                    "Origin": "http://elsewhere.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type"})
                self.assertNotIn("access-control-allow-origin", hdrs, path)
                self.assertNotIn(status, (200, 201), path)
            self.assertEqual(state(node), before)


if __name__ == "__main__":
    unittest.main()
