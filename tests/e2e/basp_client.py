"""A raw BASP speaker (CAF 0.17's wire protocol) for attacking dlt-node's
native port from the tests: handshakes, crafted frames of any size, type
and address, and a tiny server that a node can be made to link to.
Standard library only. The layout is the one net/basp.hpp reads (and
tests/unit/test_front_rules.cpp pins against CAF's own serializer)."""
import os
import socket
import struct
import threading
import time

HEADER = struct.Struct(">BBBBIQQQ")
SERVER_HS, CLIENT_HS, DIRECT, ROUTED, MONITOR, DOWN, HEARTBEAT = range(7)
NAMED, SELECT = 0x01, 0x02
ASYNC = 0x1000000000000000
RESPONSE = 1 << 63
DEFAULT_NODE_ATOM = 0x3e9aab9bac79
ATOM_CHARS = " 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
INDEX_LIST = "dlt::index_list"


def atom(text):
    value = 0xF
    for ch in text:
        value = (value << 6) | ATOM_CHARS.index(ch)
    return value


def varint(n):
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def string(text):
    data = text.encode() if isinstance(text, str) else text
    return varint(len(data)) + data


def u64(n):
    return struct.pack(">Q", n)


def new_node():
    """A node id of CAF's default kind: the atom, a pid, a host hash."""
    return u64(DEFAULT_NODE_ATOM) + struct.pack(">I", os.getpid()) + os.urandom(20)


def header(op, flags=0, length=0, op_data=0, src=0, dst=0):
    return HEADER.pack(op, 0, 0, flags, length, op_data, src, dst)


def message(types, body):
    """A direct message's payload: empty forwarding stack, CAF's object
    marker, the type names, the values."""
    return b"\x00" + struct.pack(">H", 0) + string(types) + body


def head_request():
    return message("@<>+@atom", u64(atom("head")))


def info_request():
    return message("@<>+@atom", u64(atom("info")))


def hello():
    return message("@<>+@atom", u64(atom("hello")))


def announce(index, block_hash):
    return message("@<>+@atom+@u64+@str",
                   u64(atom("announce")) + u64(index) + string(block_hash))


def blocks_request(indexes, hashes, most):
    body = u64(atom("blocks")) + varint(len(indexes))
    body += b"".join(u64(i) for i in indexes)
    body += varint(len(hashes)) + b"".join(string(h) for h in hashes)
    return message("@<>+@atom+" + INDEX_LIST + "+@strvec+@u64", body + u64(most))


def read_message(payload):
    """(type names, bytes after them) of a direct message's payload."""
    assert payload[0] == 0 and payload[1:3] == b"\x00\x00", payload[:8]
    pos, n, shift = 3, 0, 0
    while True:
        b = payload[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return payload[pos:pos + n].decode(), payload[pos + n:]


def read_string(data, pos=0):
    n, shift = 0, 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return data[pos:pos + n], pos + n


class Closed(Exception):
    """The node closed the connection."""


class Frame:
    def __init__(self, raw_header, payload):
        (self.op, _, _, self.flags, self.length, self.op_data, self.src,
         self.dst) = HEADER.unpack(raw_header)
        self.payload = payload

    def __repr__(self):
        return "Frame(op=%d flags=%d len=%d op_data=%#x src=%d dst=%d)" % (
            self.op, self.flags, self.length, self.op_data, self.src, self.dst)


class Connection:
    """One connection to a node's native port (plain TCP, or a socket the
    caller wrapped in TLS)."""

    def __init__(self, port, host="127.0.0.1", sock=None, timeout=10):
        self.sock = sock or socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.node = new_node()
        self.face = 0       # the node's published actor, after handshake()
        self.server_node = None
        self.next_request = 2
        self.actor = 4242   # "our face"
        self._buf = bytearray()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed(str(e))

    def _fill(self, n):
        """Until `n` bytes are buffered; a timeout leaves them buffered."""
        while len(self._buf) < n:
            try:
                chunk = self.sock.recv(max(n - len(self._buf), 1 << 16))
            except ConnectionResetError as e:
                raise Closed(str(e))
            if not chunk:
                raise Closed("end of stream")
            self._buf += chunk

    def read_frame(self):
        self._fill(32)
        frame = Frame(bytes(self._buf[:32]), b"")
        self._fill(32 + frame.length)
        frame.payload = bytes(self._buf[32:32 + frame.length])
        del self._buf[:32 + frame.length]
        return frame

    def handshake(self, node=None):
        """Client handshake, the server's, then the select repeat (as CAF
        does); returns the server's published actor id."""
        node = node or self.node
        self.send(header(CLIENT_HS, length=len(node)) + node)
        frame = self.read_frame()
        assert frame.op == SERVER_HS, frame
        self.server_node = frame.payload[:32]
        apps, pos = frame.payload[32], 33
        for _ in range(apps):
            _, pos = read_string(frame.payload, pos)
        self.face = struct.unpack(">Q", frame.payload[pos:pos + 8])[0]
        self.send(header(CLIENT_HS, SELECT, len(node)) + node)
        return self.face

    def direct(self, payload, op_data=ASYNC, src=None, dst=None, flags=0):
        self.send(header(DIRECT, flags, len(payload), op_data,
                         self.actor if src is None else src,
                         self.face if dst is None else dst) + payload)

    def request(self, payload, **kw):
        mid = 0x1000000000000000 | self.next_request
        self.next_request += 1
        self.direct(payload, op_data=mid, **kw)
        return mid

    def heartbeat(self):
        self.send(header(HEARTBEAT))

    def answer_to(self, mid, timeout=10):
        """Reads frames until the answer to request `mid`; the frames read
        on the way are kept in self.seen."""
        self.seen = getattr(self, "seen", [])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self.read_frame()
            self.seen.append(frame)
            if frame.op == DIRECT and frame.op_data == mid | RESPONSE:
                return frame
        raise AssertionError("no answer to %#x" % mid)

    def head(self):
        frame = self.answer_to(self.request(head_request()))
        types, body = read_message(frame.payload)
        assert types == "@<>+@u64+@str", types
        height = struct.unpack(">Q", body[:8])[0]
        tip, _ = read_string(body, 8)
        return frame, height, tip.decode()

    def outcome(self, seconds, heartbeats=True):
        """"closed" once the node closes the connection, "answered" if a
        message for us arrives first, "open" if neither happens within
        `seconds`. With `heartbeats` (after a handshake) one goes out every
        second, so CAF's own connection timeout never closes it: a close
        is the node's refusal."""
        deadline = time.monotonic() + seconds
        next_beat = 0
        while time.monotonic() < deadline:
            now = time.monotonic()
            try:
                if heartbeats and now >= next_beat:
                    self.heartbeat()
                    next_beat = now + 1
                self.sock.settimeout(max(0.05, min(0.5, deadline - now)))
                frame = self.read_frame()
            except socket.timeout:
                continue
            except (Closed, OSError):
                return "closed"
            if frame.op == DIRECT and frame.dst == self.actor:
                return "answered"
        return "open"

    def closed_within(self, seconds):
        """True once the node closes the connection (we send nothing)."""
        return self.outcome(seconds, heartbeats=False) == "closed"


class Server:
    """A fake native peer: accepts a node's connection, answers its
    handshake as a CAF node publishing actor `face` would, then runs
    `serve(server, frame)` for every frame the node sends."""

    def __init__(self, serve, face=7):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.address = "caf://127.0.0.1:%d" % self.port
        self.face = face
        self.node = new_node()
        self.serve = serve
        self.connections = 0
        self.closed_by_node = 0
        self.frames = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        conn = Connection(0, sock=sock, timeout=30)
        try:
            first = conn.read_frame()
            assert first.op == CLIENT_HS, first
            body = (self.node + varint(1) + string("generic-caf-app")
                    + u64(self.face) + varint(0))
            conn.send(header(SERVER_HS, length=len(body), op_data=3) + body)
            while not self.stopping:
                frame = conn.read_frame()
                self.frames.append(frame)
                self.serve(conn, frame)
        except Closed:
            self.closed_by_node += 1
        except OSError:
            pass
        finally:
            conn.close()

    def reply(self, conn, frame, payload, length=None):
        """Answers request `frame` with `payload` (claiming `length`
        bytes when given)."""
        length = len(payload) if length is None else length
        conn.send(header(DIRECT, length=length, op_data=frame.op_data | RESPONSE,
                         src=self.face, dst=frame.src) + payload)

    def close(self):
        self.stopping = True
        self.listener.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
