"""Hostile peers for the hardening tests and the `hostile` benchmark: each
answers GET /chain on its own loopback port with one kind of bad answer,
made up as it is sent (a 250 MB answer costs the test process nothing).

A body is a function returning a fresh iterator of byte pieces; a peer sends
them with one of three framings: "length" (Content-Length, taken from a dry
run or given as `claim`, so an answer may claim more than it sends),
"close" (no length: the end of the connection ends the body) or "chunked"
(each piece a chunk; an endless body never sends the last one)."""
import hashlib
import json
import socket
import threading

GENESIS = "The Times 03/Jan/2009 Chancellor on brink of second bailout for banks"
PIECE = 64 * 1024


def sha(text):
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def nested(levels):
    """Data nested `levels` deep ([] is 1 level), as canonical text."""
    return "[" * levels + "]" * levels


def block_text(index, previous_hash, timestamp, data_texts):
    """A block's canonical bytes (Python's json.dumps(block, sort_keys=True))
    written by hand from its transactions' canonical data texts, for values
    Python's own json cannot write or read back (deep nesting)."""
    txs = ", ".join('{"data": %s}' % d for d in data_texts)
    return '{"index": %d, "previous_hash": "%s", "timestamp": %s, "transactions": [%s]}' % (
        index, previous_hash, json.dumps(timestamp), txs)


def chain_texts(datas, t0=1560174309.25, wire=None):
    """Block texts of a chain: a genesis block, then one block per entry of
    `datas` (canonical data texts), each linked by the hash of its canonical
    bytes. `wire` optionally maps an entry's position to the text actually
    sent for its data (e.g. a 10,000-digit float whose canonical form is
    Infinity); the hash stays that of the canonical bytes. Returns
    (sent texts, canonical texts)."""
    canon = [block_text(1, "0", t0, [json.dumps(GENESIS)])]
    sent = [canon[0]]
    for i, d in enumerate(datas):
        index = i + 2
        prev = sha(canon[-1])
        canon.append(block_text(index, prev, t0 + index * 0.25, [d]))
        w = (wire or {}).get(i)
        sent.append(canon[-1] if w is None else
                    block_text(index, prev, t0 + index * 0.25, [w]))
    return sent, canon


def answer_text(blocks):
    return '{"chain": [' + ", ".join(blocks) + '], "is_valid": true}'


# -- bodies -----------------------------------------------------------------------

def fixed(data):
    """The same bytes every time."""
    data = data.encode() if isinstance(data, str) else data
    return lambda: iter([data[i:i + PIECE] for i in range(0, len(data), PIECE)] or [b""])


def empty_objects(total):
    """{"chain": [{}, {}, ...]} of about `total` bytes."""
    def body():
        yield b'{"chain": [{}'
        sent = 13
        piece = b", {}" * (PIECE // 4)
        while sent + len(piece) + 2 <= total:
            yield piece
            sent += len(piece)
        rest = (total - sent - 2) // 4
        yield b", {}" * max(rest, 0) + b"]}"
    return body


def valid_blocks(data_bytes, count=None, t0=1.5e9, tag="hostile"):
    """Canonical texts of a valid chain whose blocks carry `data_bytes` of
    data each, made up one by one; endless when `count` is None."""
    previous = "0"
    index = 1
    while count is None or index <= count:
        data = "%s %d " % (tag, index)
        data += "x" * max(data_bytes - len(data), 0)
        text = block_text(index, previous, t0 + index, [json.dumps(data)])
        yield text
        previous = sha(text)
        index += 1


def valid_chain(data_bytes, count, t0=1.5e9, tag="hostile"):
    """A valid chain answer of `count` blocks of about `data_bytes` each."""
    def body():
        yield b'{"chain": ['
        for i, text in enumerate(valid_blocks(data_bytes, count, t0, tag)):
            yield (", " if i else "").encode() + text.encode()
        yield b'], "is_valid": true}'
    return body


def endless_blocks(data_bytes, tag="endless"):
    """A valid chain that never ends."""
    def body():
        yield b'{"chain": ['
        for i, text in enumerate(valid_blocks(data_bytes, None, tag=tag)):
            yield (", " if i else "").encode() + text.encode()
    return body


def endless_filler(head, filler):
    """`head`, then `filler` forever (whitespace inside the list, the
    inside of a string that never closes, ...)."""
    def body():
        yield head
        piece = filler * max(PIECE // len(filler), 1)
        while True:
            yield piece
    return body


def deep_answer(levels):
    """{"chain": [[[[...: an answer nested `levels` deep that never closes."""
    def body():
        yield b'{"chain": '
        left = levels
        while left > 0:
            n = min(left, PIECE)
            yield b"[" * n
            left -= n
    return body


# -- the peer ---------------------------------------------------------------------

class HostilePeer:
    """A loopback HTTP server answering GET /chain with `body()`.

    framing: "length", "close" or "chunked"; `claim` overrides the
    Content-Length (an answer that claims more than it sends); `pace`
    seconds between pieces (a slow drip); `delay` before the answer."""

    def __init__(self, body, framing="length", claim=None, pace=0.0, delay=0.0):
        self.body, self.framing, self.claim = body, framing, claim
        self.pace, self.delay = pace, delay
        self.requests = 0           # GET requests received
        self.sent = 0               # body bytes written, all connections
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.conns = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.address = "127.0.0.1:%d" % self.port
        if framing == "length" and claim is None:
            self.claim = sum(len(p) for p in body())
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            conn.settimeout(60)
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            with self.lock:
                self.requests += 1
            if self.stopped.wait(self.delay):
                return
            lines = ["HTTP/1.1 200 OK", "Content-Type: application/json"]
            if self.framing == "length":
                lines.append("Content-Length: %d" % self.claim)
            elif self.framing == "chunked":
                lines.append("Transfer-Encoding: chunked")
            lines.append("Connection: close")
            conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            for piece in self.body():
                if self.stopped.is_set():
                    return
                if not piece:
                    continue
                if self.framing == "chunked":
                    conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    conn.sendall(piece)
                with self.lock:
                    self.sent += len(piece)
                if self.pace and self.stopped.wait(self.pace):
                    return
            if self.framing == "chunked":
                conn.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the node hung up on us: that is the point
        finally:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def close(self):
        self.stopped.set()
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- what these peers are, by name (tests and benchmark share them) ----------------

def behaviours(budget):
    """(name, body factory, framing, claim) of every hostile answer, sized
    against the node's --max-peer-bytes-in-flight `budget` (bytes)."""
    mib = 1 << 20
    return [
        ("50 MB of {\"chain\": [{}, {}, ...]}", empty_objects(50 * mib), "length", None),
        ("250 MB of {} objects, no length", empty_objects(250 * mib), "close", None),
        ("128 MB of {} objects, chunked", empty_objects(128 * mib), "chunked", None),
        ("endless whitespace in the list", endless_filler(b'{"chain": [', b" "), "chunked", None),
        ("endless string", endless_filler(b'{"is_valid": "', b"x"), "chunked", None),
        ("endless valid blocks of 256 KB", endless_blocks(256 * 1024), "chunked", None),
        ("deep nesting, 2M levels", deep_answer(2 * mib), "close", None),
        ("truncated: claims 64 MB, sends 1 KB", fixed(b'{"chain": [' + b" " * 1000),
         "length", 64 * mib),
    ]
