"""The native port under attack, as issue 11 tried it, with a raw BASP client
(basp_client.py) against real dlt-node processes: only the published face
answers and no other actor id or registry name is reachable, no internal
handle ever leaves the node, frames announcing up to 4 GiB are refused
before anything is allocated, other message types, ids and shapes close
the connection, connection floods beyond --max-native-connections leave
HTTP serving, a peer that never reads is cut off, and garbage or silence
costs nothing. Throughout: the node's memory stays bounded (VmRSS), HTTP
keeps answering, and the chain changes only through the face's handlers
(it never changes here)."""
import os
import random
import resource
import socket
import struct
import tempfile
import time
import unittest

import basp_client as basp
from basp_client import Closed, Connection, Server, rss_kb
from harness import NODE_BINARY, Node, Process, call, get_chain

MB = 1024  # VmRSS is in kB
# What the attacks may add to the node's resident memory. The issue's
# attacks took it to 2-4 GB; a relayed legitimate answer is at most
# --max-native-message-bytes (64 MiB).
ATTACK_BOUND_KB = 200 * MB


def native(*args):
    return Node("--caf-port", "0", "--ephemeral", *args)


def caf_port(node):
    return int(node.caf_address.rsplit(":", 1)[1])


def mine(url, data):
    status, _ = call(url, "POST", "/transactions/new", {"data": data})
    assert status == 201, status
    status, body = call(url, "POST", "/mine")
    assert status == 201, (status, body)
    return body["new_block"]


def http_ok(node):
    status, body = call(node.url, "GET", "/chain", timeout=10)
    return status == 200 and body["is_valid"]


class LimitedNode(Process):
    """A dlt-node whose descriptor limit is `nofile` (it cannot raise it)."""

    def __init__(self, nofile, *args):
        super().__init__(["prlimit", "--nofile=%d:%d" % (nofile, nofile),
                          NODE_BINARY, "--port", "0", "--ephemeral",
                          "--caf-port", "0", *args], "dlt-node")


def open_connection(node, timeout=10):
    return Connection(caf_port(node), timeout=timeout)


def refused(node, frames, handshake=True, within=10):
    """Sends `frames` (bytes) on a new connection, after the handshake
    unless told otherwise; True when the node closes it without answering
    (and not for silence: we keep sending heartbeats)."""
    c = open_connection(node)
    try:
        if handshake:
            c.handshake()
        try:
            c.send(frames)
        except Closed:
            return True
        return c.outcome(within, heartbeats=handshake) == "closed"
    finally:
        c.close()


class OneFace(unittest.TestCase):
    def test_the_face_answers_and_no_other_actor_is_reachable(self):
        with native() as n:
            chain = get_chain(n.url)
            c = open_connection(n)
            face = c.handshake()
            frame, height, tip = c.head()
            self.assertEqual(frame.src, face)  # the face answered, itself
            self.assertEqual(height, 1)
            c.close()
            # Every other id: internal actors (the chain actor answered pop
            # before), CAF's SpawnServ (1) and ConfigServ (2), nonsense.
            for dst in (1, 2, 3, 4, 5, 6, face - 1, face + 1, face + 2,
                        face + 50, 1 << 40, (1 << 64) - 1):
                with self.subTest(dst=dst):
                    payload = basp.head_request()
                    self.assertTrue(refused(n, basp.header(
                        basp.DIRECT, 0, len(payload), 0x1000000000000002,
                        4242, dst) + payload))
            # What the face does not serve: pop, exit, link, CAF's probe,
            # the old hello that carried a handle, internal handler shapes.
            shapes = [
                basp.message("@<>+@atom", basp.u64(basp.atom("pop"))),
                basp.message("@<>+@exit", bytes(60)),
                basp.message("@<>+@atom+@strong_actor_ptr",
                             basp.u64(basp.atom("link")) + bytes(40)),
                basp.message("@<>+@atom+@atom+@str",
                             basp.u64(basp.atom("sys")) + basp.u64(basp.atom("get"))
                             + basp.string("info")),
                basp.message("@<>+@atom+@strong_actor_ptr",
                             basp.u64(basp.atom("hello")) + bytes(40)),
                basp.message("@<>+@atom+@strong_actor_ptr+@u64",
                             basp.u64(basp.atom("head")) + bytes(48)),
                basp.message("@<>+@down", bytes(60)),
                basp.message("@<>+@atom+@str", basp.u64(basp.atom("sync"))
                             + basp.string("x")),
            ]
            for payload in shapes:
                for mid in (basp.ASYNC, 0x1000000000000005):
                    with self.subTest(types=basp.read_message(payload)[0], mid=mid):
                        self.assertTrue(refused(n, basp.header(
                            basp.DIRECT, 0, len(payload), mid, 4242, face) + payload))
            # The face is alive and the chain untouched.
            c = open_connection(n)
            c.handshake()
            self.assertEqual(c.head()[1], 1)
            c.close()
            self.assertEqual(get_chain(n.url), chain)
            self.assertIn("not this node's face", n.log_text())

    def test_registry_names_are_unreachable(self):
        with native() as n:
            before = rss_kb(n.proc.pid)
            c = open_connection(n)
            c.handshake()
            # CAF's own probe by name gets no answer (dropped), and the
            # connection still serves.
            probe = basp.message("@<>+@atom+@atom+@str",
                                 basp.u64(basp.atom("sys")) + basp.u64(basp.atom("get"))
                                 + basp.string("info"))
            for name in ("SpawnServ", "ConfigServ"):
                c.direct(probe, flags=basp.NAMED, dst=basp.atom(name))
            frame, height, _ = c.head()
            named_answers = [f for f in c.seen if f.op == basp.DIRECT
                             and f.op_data & basp.RESPONSE == 0 and f.dst == c.actor]
            self.assertEqual(named_answers, [])
            # More than a stock CAF node ever sends: closed.
            for _ in range(10):
                try:
                    c.direct(probe, flags=basp.NAMED, dst=basp.atom("SpawnServ"))
                except Closed:
                    break
            self.assertEqual(c.outcome(10), "closed")
            c.close()
            # ConfigServ puts of 10 MB, 50 times: each closed at its header.
            for i in range(50):
                c = open_connection(n)
                c.handshake()
                value = os.urandom(1024)
                try:
                    c.send(basp.header(basp.DIRECT, basp.NAMED, 10 << 20, basp.ASYNC,
                                       4242, basp.atom("ConfigServ")) + value)
                    self.assertEqual(c.outcome(10), "closed")
                except Closed:
                    pass
                c.close()
            self.assertLess(rss_kb(n.proc.pid) - before, ATTACK_BOUND_KB)
            self.assertTrue(http_ok(n))

    def test_no_internal_handle_leaves_the_node(self):
        with native("--gossip", "push") as n:
            c = open_connection(n)
            face = c.handshake()
            c.direct(basp.hello())
            time.sleep(0.3)
            block = mine(n.url, "announced to the raw client")
            announce = None
            frames = []
            deadline = time.monotonic() + 10
            while announce is None and time.monotonic() < deadline:
                f = c.read_frame()
                frames.append(f)
                if f.op == basp.DIRECT:
                    types, body = basp.read_message(f.payload)
                    # (The first announcement, on hello, is of the tip then.)
                    if (types == "@<>+@atom+@u64+@str"
                            and struct.unpack(">Q", body[8:16])[0] == block["index"]):
                        announce = (f, body)
            self.assertIsNotNone(announce, frames)
            f, body = announce
            self.assertEqual(f.dst, c.actor)  # to the face that said hello
            self.assertEqual(struct.unpack(">Q", body[:8])[0], basp.atom("announce"))
            self.assertEqual(struct.unpack(">Q", body[8:16])[0], block["index"])
            # Its info answer and its head answer too.
            info = c.answer_to(c.request(basp.info_request()))
            self.assertEqual(basp.read_message(info.payload)[0], "@<>+@str")
            c.head()
            frames += c.seen
            for f in frames:
                if f.op == basp.DIRECT:
                    types = basp.read_message(f.payload)[0]
                    self.assertEqual(f.src, face, f)
                    self.assertNotIn("actor", types)
                    self.assertNotIn("@addr", types)
                    self.assertNotIn("@node", types)
            c.close()


class Sizes(unittest.TestCase):
    SIZES = [(64 << 10) + 1, 1 << 20, 16 << 20, 256 << 20, 3 << 30, (1 << 32) - 1]

    def test_huge_frames_are_refused_before_anything_is_allocated(self):
        with native() as n:
            before = rss_kb(n.proc.pid)
            peak = before
            for size in self.SIZES:
                with self.subTest(size=size):
                    # Before the handshake, as a handshake.
                    self.assertTrue(refused(n, basp.header(basp.CLIENT_HS, length=size)
                                            + os.urandom(4096), handshake=False))
                    # After it: a request, an announcement, an answer.
                    for mid in (0x1000000000000002, basp.ASYNC,
                                0x9000000000000002):
                        self.assertTrue(refused(n, self._to_face(n, size, mid)))
                    peak = max(peak, rss_kb(n.proc.pid))
            self.assertLess(peak - before, ATTACK_BOUND_KB)
            self.assertTrue(http_ok(n))

    def _to_face(self, n, size, mid):
        # The face's id comes from a handshake on a throwaway connection.
        if not hasattr(self, "_face"):
            c = open_connection(n)
            self._face = c.handshake()
            c.close()
        return basp.header(basp.DIRECT, 0, size, mid, 4242, self._face) + os.urandom(4096)

    def test_a_node_limited_to_3_gib_survives_a_4_gib_header(self):
        limit = 3 << 30
        with Process(["prlimit", "--as=%d:%d" % (limit, limit), NODE_BINARY,
                      "--port", "0", "--ephemeral", "--caf-port", "0"],
                     "dlt-node") as n:
            self.assertTrue(refused(n, basp.header(basp.CLIENT_HS, length=(1 << 32) - 1),
                                    handshake=False))
            c = open_connection(n)
            face = c.handshake()
            c.close()
            self.assertTrue(refused(n, basp.header(basp.DIRECT, 0, (1 << 32) - 1,
                                                   basp.ASYNC, 4242, face)))
            time.sleep(0.5)
            self.assertTrue(n.alive())
            self.assertTrue(http_ok(n))

    def test_answers_larger_than_the_limit_close_the_link(self):
        """A peer the node asked: its answer may be up to
        --max-native-message-bytes, announced in the header; more closes
        the link before the buffer exists, and what is announced costs
        only what really arrives."""
        def claims_long_chain(claim):
            def serve(conn, frame):
                if frame.op != basp.DIRECT or frame.op_data & basp.RESPONSE:
                    return
                types, body = basp.read_message(frame.payload)
                what = struct.unpack(">Q", body[:8])[0]
                if what == basp.atom("head"):
                    server.reply(conn, frame, basp.message(
                        "@<>+@u64+@str", basp.u64(1000) + basp.string("a" * 64)))
                elif what == basp.atom("blocks"):
                    # Announce `claim` bytes, send a little, then nothing.
                    server.reply(conn, frame, b"\x00" * 1000, length=claim)
            server = Server(serve)
            return server

        with native("--peer-timeout-ms", "2000") as n:
            before = rss_kb(n.proc.pid)
            chain = get_chain(n.url)
            for claim in ((1 << 32) - 1, (64 << 20) + 1, 60 << 20):
                with self.subTest(claim=claim):
                    server = claims_long_chain(claim)
                    try:
                        status, _ = call(n.url, "POST", "/nodes/register",
                                         {"nodes": [server.address]})
                        self.assertEqual(status, 201)
                        status, body = call(n.url, "POST", "/nodes/consensus")
                        self.assertEqual(status, 200)
                        self.assertEqual(body["status"], "Chain not replaced - master")
                        if claim > 64 << 20:
                            deadline = time.monotonic() + 10
                            while not server.closed_by_node and time.monotonic() < deadline:
                                time.sleep(0.05)
                            self.assertGreaterEqual(server.closed_by_node, 1)
                        self.assertLess(rss_kb(n.proc.pid) - before, ATTACK_BOUND_KB)
                    finally:
                        call(n.url, "POST", "/nodes/unregister",
                             {"nodes": [server.address]})
                        server.close()
            self.assertIn("(at most 67108864)", n.log_text())
            self.assertEqual(get_chain(n.url), chain)


class Shapes(unittest.TestCase):
    def test_other_types_ids_and_malformed_frames_close(self):
        with native() as n:
            before = rss_kb(n.proc.pid)
            chain = get_chain(n.url)
            c = open_connection(n)
            face = c.handshake()
            our_node = c.server_node
            c.close()
            head = basp.head_request()
            other = basp.new_node()
            cases = {
                "routed": basp.header(basp.ROUTED, 0, len(head) + 64, 0x1000000000000002,
                                      4242, face) + other + our_node + head,
                "type 7": basp.header(7),
                "type 200": basp.header(200, length=10) + bytes(10),
                "heartbeat with payload": basp.header(basp.HEARTBEAT, length=4) + bytes(4),
                "monitor naming others": basp.header(basp.MONITOR, length=64, dst=face)
                + other + our_node,
                "down naming others": basp.header(basp.DOWN, length=80, src=5)
                + other + our_node + bytes(16),
                "anonymous": basp.header(basp.DIRECT, 0, len(head), 0x1000000000000002,
                                         0, face) + head,
                "stream traffic": basp.header(basp.DIRECT, 0, len(head), 0x2000000000000002,
                                              4242, face) + head,
                "answered flag": basp.header(basp.DIRECT, 0, len(head), 0x5000000000000002,
                                             4242, face) + head,
                "select flag on a message": basp.header(basp.DIRECT, basp.SELECT, len(head),
                                                        0x1000000000000002, 4242, face) + head,
                "second server handshake": basp.header(basp.SERVER_HS, length=40, op_data=3)
                + bytes(40),
                "third client handshake": basp.header(basp.CLIENT_HS, basp.SELECT, 32)
                + basp.new_node(),
                "locator of 257": self._blocks(face, 257),
                "a million empty strings": self._empty_strings(face, 1000000),
                "trailing bytes": basp.header(basp.DIRECT, 0, len(head) + 1,
                                              0x1000000000000002, 4242, face) + head + b"\0",
                "padding": b"\x06\x01" + bytes(30),
            }
            for name, frames in cases.items():
                with self.subTest(name):
                    self.assertTrue(refused(n, frames))
            # A second actor of the same peer, once the first spoke.
            c = open_connection(n)
            c.handshake()
            c.head()
            self.assertTrue(refused_on(c, basp.header(
                basp.DIRECT, 0, len(head), 0x1000000000000009, 4243, face) + head))
            c.close()
            self.assertLess(rss_kb(n.proc.pid) - before, ATTACK_BOUND_KB)
            self.assertEqual(get_chain(n.url), chain)
            self.assertTrue(http_ok(n))

    @staticmethod
    def _blocks(face, n):
        payload = basp.blocks_request([1] * n, ["a" * 64] * n, 10)
        return basp.header(basp.DIRECT, 0, len(payload), 0x1000000000000002, 4242,
                           face) + payload

    @staticmethod
    def _empty_strings(face, n):
        # basp.md 1.6: 4 MB on the wire that CAF would make ~140 MB of.
        body = (basp.u64(basp.atom("blocks")) + basp.varint(0) + basp.varint(n)
                + b"\x00" * n + basp.u64(1))
        payload = basp.message("@<>+@atom+" + basp.INDEX_LIST + "+@strvec+@u64", body)
        return basp.header(basp.DIRECT, 0, len(payload), 0x1000000000000002, 4242,
                           face) + payload

    def test_garbage_and_silence_are_closed(self):
        with native() as n:
            rng = random.Random(11)
            for size in (1, 31, 32, 33, 1000, 100000):
                with self.subTest(size=size):
                    junk = bytes(rng.randrange(256) for _ in range(size))
                    self.assertTrue(refused(n, junk, handshake=False, within=15))
            # Silence, a partial header, a handshake and then silence: all
            # closed by the handshake deadline or CAF's connection timeout.
            for opening in (b"", b"\x01\x00", basp.header(basp.CLIENT_HS, length=32)):
                with self.subTest(opening=opening):
                    self.assertTrue(refused(n, opening, handshake=False, within=20))
            c = open_connection(n)
            c.handshake()
            self.assertTrue(c.closed_within(20))  # no heartbeats from us
            c.close()
            self.assertTrue(http_ok(n))

    def test_announcement_floods_cost_little(self):
        with native("--peer-timeout-ms", "1000") as n:
            before = rss_kb(n.proc.pid)
            chain = get_chain(n.url)
            c = open_connection(n)
            c.handshake()
            c.direct(basp.hello())
            sent = 0
            try:
                for i in range(5000):
                    c.direct(basp.announce(5 + i % 3, os.urandom(32).hex()))
                    sent += 1
                    if i % 500 == 0:
                        c.heartbeat()
            except Closed:
                pass
            self.assertTrue(http_ok(n))
            time.sleep(1.5)
            self.assertLess(len(n.log_text().splitlines()), 200)
            self.assertLess(rss_kb(n.proc.pid) - before, ATTACK_BOUND_KB)
            self.assertEqual(get_chain(n.url), chain)
            c.close()


def refused_on(c, frames):
    try:
        c.send(frames)
    except Closed:
        return True
    return c.outcome(10) == "closed"


class Connections(unittest.TestCase):
    def test_a_connection_flood_leaves_http_serving(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        flood = 1500 if hard > 2000 else hard - 200
        with LimitedNode(400, "--max-native-connections", "16") as n:
            port = caf_port(n)
            socks = []
            try:
                for _ in range(flood):
                    s = socket.socket()
                    s.setblocking(False)
                    s.connect_ex(("127.0.0.1", port))
                    socks.append(s)
                    if len(socks) % 100 == 0:
                        self.assertTrue(http_ok(n))
                for i in range(20):
                    self.assertTrue(http_ok(n))
                    status, _ = call(n.url, "POST", "/transactions/new", {"data": i})
                    self.assertEqual(status, 201)
                time.sleep(7)  # past the handshake deadline
                self.assertTrue(http_ok(n))
                closed = 0
                for s in socks:
                    try:
                        if s.recv(1) == b"":
                            closed += 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed += 1
                self.assertEqual(closed, len(socks))  # every one, refused or timed out
            finally:
                for s in socks:
                    s.close()
            log = n.log_text()
            self.assertNotIn("Too many open files", log)
            self.assertLess(len(log.splitlines()), 400)  # refusals are summarized
            # A real peer links and syncs afterwards.
            with native() as peer:
                mine(peer.url, "after the flood")
                status, _ = call(n.url, "POST", "/nodes/register",
                                 {"nodes": [peer.caf_address]})
                self.assertEqual(status, 201)
                _, body = call(n.url, "POST", "/nodes/consensus")
                self.assertEqual(body["status"], "Chain replaced")

    def test_a_peer_that_does_not_read_is_cut_off(self):
        with native("--max-body-bytes", "2000000") as n:
            for i in range(16):  # ~16 MB of chain, answered 4 MiB at a time
                mine(n.url, "%d" % i + "x" * 1000000)
            before = rss_kb(n.proc.pid)
            c = open_connection(n, timeout=30)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.handshake()
            peak = before
            cut = False
            try:
                for i in range(100):
                    c.request(basp.blocks_request([], [], 100000))
                    if i % 10 == 0:
                        c.heartbeat()
                        peak = max(peak, rss_kb(n.proc.pid))
                        self.assertTrue(http_ok(n))
                    time.sleep(0.05)
                    if "does not read" in n.log_text():
                        cut = True
                        break
            except Closed:
                cut = True
            deadline = time.monotonic() + 20
            while not cut and time.monotonic() < deadline:
                peak = max(peak, rss_kb(n.proc.pid))
                cut = "does not read" in n.log_text()
                time.sleep(0.1)
            c.close()
            self.assertTrue(cut, n.log_text()[-2000:])
            self.assertLess(peak - before, ATTACK_BOUND_KB + 128 * MB)
            self.assertTrue(http_ok(n))
            # And an honest reader still gets every block.
            c = open_connection(n, timeout=30)
            c.handshake()
            frame = c.answer_to(c.request(basp.blocks_request([], [], 100000)))
            self.assertEqual(basp.read_message(frame.payload)[0], "@<>+@u64+@strvec")
            c.close()


if __name__ == "__main__":
    unittest.main()
