"""Bad input is normal input: every malformed request gets a 4xx JSON error,
the node stays up, and its ledger is untouched."""
import json
import re
import socket
import threading
import time
import unittest

from harness import Client, Node, call, get_chain


def raw_exchange(port, data, timeout=10):
    """Sends raw bytes, returns everything the node answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the node may refuse before reading everything
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def status_and_json(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(body) if body else None


class HostileInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node("--max-connections", "64", "--read-timeout-ms", "2000",
                        "--idle-timeout-ms", "3000")
        cls.url = cls.node.url
        c = Client(cls.url)
        c.request("POST", "/transactions/new", {"data": "before"})
        c.request("POST", "/mine", {})
        c.request("POST", "/transactions/new", {"data": "pending"})
        c.close()
        cls.chain_before = get_chain(cls.url)

    @classmethod
    def tearDownClass(cls):
        cls.node.__exit__(None, None, None)

    def tearDown(self):
        self.assertTrue(self.node.alive(), self.node.log_text()[-2000:])

    def assertError(self, status, body, code):
        self.assertEqual(status, code)
        self.assertIsInstance(body, dict)
        self.assertEqual(list(body), ["error"])
        self.assertIsInstance(body["error"], str)
        self.assertTrue(body["error"])

    def test_bad_transaction_bodies(self):
        cases = [
            (b"", "Missing values"), (b"{}", "Missing values"),
            (b"[]", "Missing values"), (b'["data"]', "Missing values"),
            (b"null", "Missing values"), (b"42", "Missing values"),
            (b'"data"', "Missing values"), (b'{"Data": 1}', "Missing values"),
            (b"{", None), (b"not json", None), (b'{"data": }', None),
            (b'{"data": NaN}', "NaN"), (b'{"data": Infinity}', "NaN"),
            (b'{"data": -Infinity}', "NaN"), (b'{"data": 1e999}', "double range"),
            (b'{"data": 123456789012345678901234567890}', "64-bit"),
            (b'{"data": "\xff\xfe"}', None), (b'{"data": "\\ud800"}', None),
            (b'{"data": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested"),
            (b'{"data": 1} trailing', None), (b"\x00\x01\x02", None),
        ]
        for body, message in cases:
            with self.subTest(body=body[:40]):
                status, parsed = call(self.url, "POST", "/transactions/new", body,
                                      {"Content-Type": "application/json"})
                self.assertError(status, parsed, 400)
                if message:
                    self.assertIn(message, parsed["error"])

    def test_bad_register_bodies(self):
        for body in [b"", b"{}", b'{"nodes": []}', b'{"nodes": null}', b"[]"]:
            with self.subTest(body=body):
                status, parsed = call(self.url, "POST", "/nodes/register", body)
                self.assertEqual(parsed, {"error": "Missing list of nodes"})
                self.assertEqual(status, 400)
        for body in [b'{"nodes": "localhost:1"}', b'{"nodes": {"a": 1}}',
                     b'{"nodes": [1, 2]}', b'{"nodes": [null]}', b'{"nodes": [["a"]]}',
                     b"{nodes}"]:
            with self.subTest(body=body):
                self.assertError(*call(self.url, "POST", "/nodes/register", body), 400)

    def test_malformed_bodies_on_endpoints_without_input(self):
        for path in ["/mine", "/nodes/consensus", "/action/evil"]:
            with self.subTest(path=path):
                self.assertError(*call(self.url, "POST", path, b"{oops"), 400)

    def test_unknown_routes_and_wrong_methods(self):
        for method, path in [("GET", "/static/nope.js"), ("GET", "/chain/"),
                             ("POST", "/chains"), ("GET", "/../../etc/passwd"),
                             ("GET", "/static/../../etc/passwd"),
                             ("GET", "/static/%2e%2e/x"), ("GET", "/" + "a" * 3000)]:
            with self.subTest(path=path[:30]):
                self.assertError(*call(self.url, method, path), 404)
        for method, path in [("POST", "/chain"), ("DELETE", "/chain"), ("GET", "/mine"),
                             ("PUT", "/transactions/new"), ("GET", "/action/evil"),
                             ("OPTIONS", "/nodes/register"), ("PATCH", "/nodes/consensus")]:
            with self.subTest(method=method, path=path):
                c = Client(self.url)
                status, body, res = c.request(method, path)
                c.close()
                self.assertError(status, body, 405)
                self.assertTrue(res.getheader("Allow"))

    def test_oversized_body_and_header(self):
        big = b'{"data": "' + b"x" * (2 << 20) + b'"}'
        status, body = status_and_json(raw_exchange(
            self.node.port,
            b"POST /transactions/new HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(big) + big))
        self.assertError(status, body, 413)
        chunked = b"".join(b"%x\r\n%s\r\n" % (65536, b"y" * 65536) for _ in range(20)) + b"0\r\n\r\n"
        status, body = status_and_json(raw_exchange(
            self.node.port,
            b"POST /transactions/new HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked))
        self.assertError(status, body, 413)
        status, body = status_and_json(raw_exchange(
            self.node.port, b"GET /chain HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 100000 + b"\r\n\r\n"))
        self.assertError(status, body, 431)

    def test_garbage_on_the_wire(self):
        for junk in [b"BLAH\r\n\r\n", b"GET\r\n\r\n", b"GET /chain HTTP/9.9\r\n\r\n",
                     b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 100,
                     b"POST /mine HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                     b"POST /mine HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
                     b"GET /chain HTTP/1.1\r\nBad Header Line\r\n\r\n"]:
            with self.subTest(junk=junk[:30]):
                answer = raw_exchange(self.node.port, junk)
                if answer:  # closing without an answer is fine; a 5xx is not
                    status, body = status_and_json(answer)
                    self.assertError(status, body, 400)

    def test_half_open_flood_does_not_starve_clients(self):
        """More half-open connections than --max-connections, each sending
        part of a header; a real client is still served promptly."""
        socks = []
        try:
            for _ in range(150):
                s = socket.create_connection(("127.0.0.1", self.node.port), timeout=5)
                s.sendall(b"GET /chain HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                socks.append(s)
            for _ in range(3):
                start = time.monotonic()
                status, body = call(self.url, "GET", "/chain", timeout=10)
                self.assertEqual(status, 200)
                self.assertLess(time.monotonic() - start, 2.0)
        finally:
            for s in socks:
                s.close()

    def test_pipelined_requests_are_answered_in_order(self):
        reqs = (b"GET /chain HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                b"POST /mine HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{bad}"
                b"GET /chain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = raw_exchange(self.node.port, reqs)
        statuses = [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]
        self.assertEqual(statuses, [200, 404, 400, 200])

    def test_requests_arriving_in_pieces_are_read_whole(self):
        """Headers and bodies cut anywhere, with pauses between the pieces:
        the node reads what is there, waits for the rest, answers once."""
        pieces = [b"GET /ch", b"ain HTTP/1.1\r\nHo", b"st: x\r\n", b"\r\n",
                  b"POST /mine HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\n",
                  b'{"data', b'": [1, ', b"2}",
                  b"GET /chain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]
        with socket.create_connection(("127.0.0.1", self.node.port), timeout=10) as s:
            for piece in pieces:
                s.sendall(piece)
                time.sleep(0.05)
            answer = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        statuses = [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]
        self.assertEqual(statuses, [200, 400, 200])
        self.assertEqual(answer.count(json.dumps(self.chain_before).encode()), 2)
        self.assertEqual(answer.count(b'{"error": '), 1)

    def test_a_long_pipeline_read_slowly_is_answered_whole_and_in_order(self):
        """20,000 pipelined requests from a client that reads nothing for a
        second and then little at a time: their answers (15 MB, far more
        than the sockets hold) all arrive, complete and in order."""
        n = 20000
        request = b"GET /chain HTTP/1.1\r\nHost: x\r\n\r\n"
        missing = b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect(("127.0.0.1", self.node.port))
        received = []

        def read_slowly():
            time.sleep(1.0)
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                received.append(chunk)

        reader = threading.Thread(target=read_slowly)
        reader.start()
        try:
            for i in range(n):
                s.sendall(missing if i % 1000 == 999 else request)
            s.sendall(b"GET /chain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            reader.join(60)
        finally:
            s.close()
        self.assertFalse(reader.is_alive())
        answer = b"".join(received)
        statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)
        self.assertEqual(len(statuses), n + 1)
        expected = [b"404" if i % 1000 == 999 else b"200" for i in range(n)] + [b"200"]
        self.assertEqual(statuses, expected)
        # Every chain answer is whole: its length as announced, the same JSON.
        bodies = re.findall(rb"Content-Length: (\d+)\r\n(?:[^\r]+\r\n)*\r\n", answer)
        self.assertEqual(len(bodies), n + 1)
        self.assertEqual(answer.count(json.dumps(self.chain_before).encode()),
                         n - n // 1000 + 1)

    def test_zz_ledger_untouched(self):
        """Runs last (alphabetical): nothing above changed the ledger."""
        self.assertEqual(get_chain(self.url), self.chain_before)
        status, body = call(self.url, "POST", "/mine", {})
        self.assertEqual(status, 201)
        self.assertEqual(body["new_block"]["transactions"], [{"data": "pending"}])


if __name__ == "__main__":
    unittest.main()
