"""A small asyncio HTTP/1.1 client (keep-alive, Content-Length, chunked,
read-until-close) and a Server-Sent Events parser. Standard library only."""
import asyncio
import json


async def within(awaitable, seconds):
    """awaitable, or asyncio.TimeoutError after seconds. Not wait_for: on
    Python 3.11 wait_for drops a cancellation that arrives as the inner call
    finishes, and a Ctrl-C during the load was then lost (the run went on)."""
    async with asyncio.timeout(seconds):
        return await awaitable


class HttpError(Exception):
    def __init__(self, message, sent=False):
        super().__init__(message)
        self.sent = sent  # the request was written: the server may have acted


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


async def _read_head(reader):
    line = await reader.readline()
    if not line:
        raise HttpError("connection closed")
    parts = line.decode("latin-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise HttpError("bad status line %r" % line[:80])
    status = int(parts[1])
    headers = {}
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n"):
            break
        if not h:
            raise HttpError("connection closed in headers")
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers


async def _chunks(reader):
    """Yields the data of a chunked body."""
    while True:
        size_line = await reader.readline()
        if not size_line:
            raise HttpError("connection closed in a chunked body")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return
        data = await reader.readexactly(size)
        await reader.readline()
        yield data


class Connection:
    """One keep-alive connection to host:port; one request at a time."""

    def __init__(self, host, port, connect_timeout=5.0):
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.reader = None
        self.writer = None
        self.busy = False

    async def _connect(self):
        self.reader, self.writer = await within(
            asyncio.open_connection(self.host, self.port,
                                    limit=64 * 1024 * 1024),
            self.connect_timeout)

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method, path, body=None, timeout=30.0,
                      headers=None):
        self.busy = True
        self._sent = False
        try:
            return await within(
                self._request(method, path, body, headers), timeout)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                HttpError, ValueError) as e:
            self.close()
            raise HttpError("%s %s on %s:%s: %s" % (
                method, path, self.host, self.port,
                type(e).__name__ if not str(e) else e), self._sent) from None
        except BaseException:
            self.close()
            raise
        finally:
            self.busy = False

    async def _request(self, method, path, body, headers):
        if self.writer is None:
            await self._connect()
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        head = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (self.host, self.port)]
        if body is not None:
            head.append("Content-Type: application/json")
            head.append("Content-Length: %d" % len(body))
        for k, v in (headers or {}).items():
            head.append("%s: %s" % (k, v))
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
        self._sent = True
        status, hdrs = await _read_head(self.reader)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            data = b""
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            data = b"".join([c async for c in _chunks(self.reader)])
        elif "content-length" in hdrs:
            data = await self.reader.readexactly(int(hdrs["content-length"]))
        else:
            data = await self.reader.read()
            self.close()
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return Response(status, hdrs, data)


async def request(host, port, method, path, body=None, timeout=30.0):
    c = Connection(host, port)
    try:
        return await c.request(method, path, body, timeout)
    finally:
        c.close()


# -- Server-Sent Events ---------------------------------------------------------

class SseParser:
    """Feeds on bytes, returns complete events as (id, event, data) tuples
    (the text/event-stream rules: fields per line, data lines joined by
    newlines, a blank line dispatches, ':' lines are comments)."""

    def __init__(self):
        self.buf = b""
        self.last_id = None
        self._event = None
        self._data = []
        self._id = None

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            nl = self.buf.find(b"\n")
            if nl < 0:
                break
            line = self.buf[:nl]
            self.buf = self.buf[nl + 1:]
            if line.endswith(b"\r"):
                line = line[:-1]
            line = line.decode("utf-8", "replace")
            if line == "":
                if self._data or self._event:
                    if self._id is not None:
                        self.last_id = self._id
                    out.append((self._id, self._event or "message",
                                "\n".join(self._data)))
                self._event, self._data, self._id = None, [], None
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if field == "event":
                self._event = value
            elif field == "data":
                self._data.append(value)
            elif field == "id":
                self._id = value
        return out


async def sse_stream(host, port, path, on_event, last_id=None,
                     connect_timeout=5.0, idle_timeout=40.0):
    """Opens one event stream and calls on_event(id, event, data) for each
    event until the stream ends. Returns the status if it was not 200 (e.g.
    404: the node has no /events), else the last event id seen."""
    reader, writer = await within(
        asyncio.open_connection(host, port, limit=64 * 1024 * 1024),
        connect_timeout)
    try:
        head = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port),
                "Accept: text/event-stream", "Cache-Control: no-cache"]
        if last_id is not None:
            head.append("Last-Event-ID: %s" % last_id)
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        status, hdrs = await within(_read_head(reader), connect_timeout)
        if status != 200:
            return ("status", status)
        parser = SseParser()
        chunked = hdrs.get("transfer-encoding", "").lower() == "chunked"
        if chunked:
            it = _chunks(reader).__aiter__()
        while True:
            if chunked:
                try:
                    data = await within(it.__anext__(), idle_timeout)
                except StopAsyncIteration:
                    data = b""
            else:
                data = await within(reader.read(65536), idle_timeout)
            if not data:
                return ("closed", parser.last_id)
            for ev in parser.feed(data):
                on_event(*ev)
            if parser.last_id is not None:
                last_id = parser.last_id
    finally:
        writer.close()
