"""A Server-Sent Events client for the tests and benchmarks (stdlib only).

It speaks HTTP/1.1 on a raw socket and reads the stream incrementally, as
a browser's EventSource does: `id:`, `event:`, `data:` and `retry:` fields,
comment lines (`: keep-alive`), a blank line ending each event. Nothing is
buffered by an HTTP library, so a test sees each event when its bytes
arrive, can stop reading (a slow consumer), or vanish mid-stream."""
import json
import select
import socket
import struct
import threading
import time


class Event:
    """One dispatched event. `id` is the integer of its own `id:` line (None
    when the event carried none), `data` the parsed JSON of its data."""

    def __init__(self, id_text, name, raw, at):
        self.id_text, self.name, self.raw, self.at = id_text, name, raw, at
        self.id = int(id_text) if id_text is not None and id_text.isdigit() else None
        try:
            self.data = json.loads(raw)
        except ValueError:
            self.data = None

    def __repr__(self):
        return "Event(%s %s %s)" % (self.id, self.name, self.raw[:200])


class StreamClosed(Exception):
    pass


class Stream:
    """GET `path` on `address` ("host:port"); after the constructor, `status`
    and `headers` (lower-case names) are known. For an answer other than 200,
    `body` holds the body (Content-Length) and no events follow."""

    def __init__(self, address, path="/events", headers=None, timeout=30,
                 rcvbuf=None, send=True):
        host, port = address.rsplit(":", 1)
        self.address = address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connect, so the window stays small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, int(port)))
        self.buf = b""
        self.events = []      # every event dispatched so far
        self.comments = []    # comment lines (without the colon)
        self.retry = None
        self.closed = False   # the server ended the stream
        self._taken = 0       # events handed out by next()
        self._reset_fields()
        self.status, self.headers, self.body = None, {}, b""
        if send:
            lines = ["GET %s HTTP/1.1" % path, "Host: %s" % address,
                     "Accept: text/event-stream"]
            for k, v in (headers or {}).items():
                lines.append("%s: %s" % (k, v))
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            self._read_head(time.monotonic() + timeout)

    # -- the response head ---------------------------------------------------

    def _read_head(self, deadline):
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline - time.monotonic()):
                raise StreamClosed("no complete response head: %r" % self.buf[:300])
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        if self.status != 200:
            n = int(self.headers.get("content-length", "0"))
            while len(self.buf) < n and self._fill(deadline - time.monotonic()):
                pass
            self.body, self.buf = self.buf[:n], self.buf[n:]

    def json_body(self):
        return json.loads(self.body)

    # -- reading -----------------------------------------------------------------

    def _fill(self, timeout):
        """Reads what is there within `timeout`; False on EOF or timeout."""
        if self.closed:
            return False
        ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not ready:
            return False
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            data = b""
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def _reset_fields(self):
        self._id, self._name, self._data = None, None, []

    def _parse(self):
        """Dispatches every complete event in the buffer; returns them."""
        out = []
        while True:
            nl = self.buf.find(b"\n")
            if nl < 0:
                return out
            line = self.buf[:nl].decode("utf-8")
            self.buf = self.buf[nl + 1:]
            if line.endswith("\r"):
                line = line[:-1]
            if line == "":
                if self._data:
                    e = Event(self._id, self._name or "message",
                              "\n".join(self._data), time.monotonic())
                    self.events.append(e)
                    out.append(e)
                self._reset_fields()
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if field == "data":
                self._data.append(value)
            elif field == "event":
                self._name = value
            elif field == "id":
                self._id = value
            elif field == "retry" and value.isdigit():
                self.retry = int(value)

    def feed(self, data):
        """Takes bytes read elsewhere (a selector over many streams);
        returns the events they complete."""
        self.buf += data
        return self._parse()

    def mid_event(self):
        """Whether unfinished event bytes are held (a stream cut mid-event)."""
        return bool(self.buf) or bool(self._data) or self._name is not None

    def poll(self, timeout=0.0):
        """Reads once (waiting up to `timeout`); returns the new events."""
        self._fill(timeout)
        return self._parse()

    def next(self, timeout=10):
        """The next event not yet returned by next(), or None (timeout or
        end of stream)."""
        deadline = time.monotonic() + timeout
        while True:
            self._parse()
            if self._taken < len(self.events):
                self._taken += 1
                return self.events[self._taken - 1]
            if not self._fill(deadline - time.monotonic()):
                self._parse()
                if self._taken < len(self.events):
                    continue
                return None

    def until(self, pred, timeout=10):
        """Reads until an event satisfies `pred` (a name or a function);
        returns the events read on the way, that one included."""
        if isinstance(pred, str):
            pred = (lambda e, n=pred: e.name == n)
        got = []
        deadline = time.monotonic() + timeout
        while True:
            e = self.next(max(0.0, deadline - time.monotonic()))
            if e is None:
                raise AssertionError("no matching event within %s s (closed=%s); got %r"
                                     % (timeout, self.closed, got))
            got.append(e)
            if pred(e):
                return got

    def read_to_end(self, timeout=10):
        """Reads until the server closes the stream; True when it did."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._fill(deadline - time.monotonic())
        self._parse()
        return self.closed

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self):
        """Vanishes with a TCP RST instead of a FIN."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()


class Watcher:
    """Reads a Stream on a thread of its own. `on_event(event)` runs on that
    thread as each event arrives, before the next one is read, so it sees
    the node as it was when the event came (the test waits meanwhile)."""

    def __init__(self, stream, on_event=None):
        self.stream, self.on_event = stream, on_event
        self.events = []
        self.errors = []   # exceptions raised by on_event
        self.cond = threading.Condition()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            e = self.stream.next(0.2)
            if e is None:
                if self.stream.closed:
                    break
                continue
            if self.on_event:
                try:
                    self.on_event(e)
                except Exception as x:  # noqa: BLE001 -- reported by the test
                    self.errors.append("%r: %s: %s" % (e, type(x).__name__, x))
            with self.cond:
                self.events.append(e)
                self.cond.notify_all()
        with self.cond:
            self.stopped = True
            self.cond.notify_all()

    def wait(self, pred, start=0, timeout=15):
        """Waits until an event at index >= start satisfies `pred` (a name
        or a function); returns its index."""
        if isinstance(pred, str):
            pred = (lambda e, n=pred: e.name == n)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.events)):
                    if pred(self.events[i]):
                        return i
                left = deadline - time.monotonic()
                if left <= 0 or (self.stopped and self.stream.closed):
                    raise AssertionError(
                        "event not seen within %s s; since %d: %r"
                        % (timeout, start, self.events[start:]))
                self.cond.wait(min(left, 0.5))

    def settle(self, quiet=0.5, timeout=15):
        """Waits until no event came for `quiet` seconds; returns the count."""
        deadline = time.monotonic() + timeout
        with self.cond:
            n = len(self.events)
            while time.monotonic() < deadline:
                self.cond.wait(quiet)
                if len(self.events) == n:
                    return n
                n = len(self.events)
            return n

    def since(self, start):
        with self.cond:
            return list(self.events[start:])

    def stop(self):
        self.stopped = True
        self.thread.join(5)
        self.stream.close()
