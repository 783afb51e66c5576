"""Where each node's chain is, moment by moment: every node's tip over time
and the parent of every block seen, from inside the network.

Preferred source: the node's event stream (GET /events, one SSE client per
node): `block`, `chain`, `pop` and `snapshot` events carry the new height and
tip. Nodes that answer 404 there (dlt-nodes before the event stream, and
reference nodes, which have none) are polled instead: HEAD /chain tells
whether the chain changed (its length only grows), then GET /chain and only
its last block is read. The report says which source each node used.
"""
import asyncio
import hashlib
import json
import re

from . import httpc

BLOCK_KEYS = {"index", "previous_hash", "timestamp", "transactions"}
# After the last block: the end of the list, perhaps more keys with plain
# values ("is_valid" of /chain, "status" of /nodes/consensus), the end.
_AFTER_LAST_BLOCK = re.compile(
    r'\s*\]\s*(,\s*"[a-z_]+"\s*:\s*("[^"\\]*"|true|false|null)\s*)*\}\s*$')


def block_hash(block):
    """Python's own hash of a block, as the reference node computes it."""
    return hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()


def tip_of_chain_body(body):
    """(height, tip hash, tip block) from a GET /chain body without parsing
    the whole chain: the last block is the last '{"index": ' that decodes to
    an object with exactly a block's keys. (A '{"index": ' inside a string
    is always escaped; only transaction data shaped like a block could
    mislead it, and then the whole body is parsed.)"""
    if isinstance(body, str):
        body = body.encode()
    decoder = json.JSONDecoder()
    end = len(body)
    for _ in range(64):
        pos = body.rfind(b'{"index": ', 0, end)
        if pos < 0:
            break
        end = pos
        try:
            text = body[pos:].decode("utf-8")
            block, stop = decoder.raw_decode(text)
        except ValueError:
            continue
        # The chain's last block is followed by the end of the list and of
        # the object; block-shaped data inside a transaction is not.
        if isinstance(block, dict) and set(block) == BLOCK_KEYS \
                and _AFTER_LAST_BLOCK.match(text, stop):
            return block["index"], block_hash(block), block
    doc = json.loads(body)
    chain = doc["chain"]
    return len(chain), block_hash(chain[-1]), chain[-1]


class Monitor:
    def __init__(self, nodes, clock, poll_interval_s):
        self.nodes = nodes
        self.clock = clock
        self.poll_interval_s = poll_interval_s
        n = len(nodes)
        self.current = [None] * n          # (height, tip) or None
        self.history = [[] for _ in range(n)]   # [(t, height, tip)]
        self.blocks = {}                   # hash -> (index, previous_hash)
        self.source = [None] * n           # "events" | "poll"
        self.last_event_id = [None] * n
        self.events = [0] * n
        self.reconnects = [0] * n
        self.polls = [0] * n
        self.last_change = 0.0
        self.running = True
        self._tasks = []

    # -- state -----------------------------------------------------------------
    def update(self, i, height, tip):
        if tip is None:
            return
        cur = self.current[i]
        if cur is not None and cur[1] == tip:
            return
        t = self.clock()
        self.current[i] = (height, tip)
        self.history[i].append((t, height, tip))
        self.last_change = t

    def add_block(self, h, index, previous_hash):
        if h not in self.blocks:
            self.blocks[h] = (index, previous_hash)

    def tips(self, which=None):
        idx = range(len(self.nodes)) if which is None else which
        return {self.current[i][1] if self.current[i] else None for i in idx}

    def descends(self, tip, ancestor):
        """True if the chain ending at `tip` holds `ancestor`."""
        if tip == ancestor:
            return True
        target = self.blocks.get(ancestor)
        h = tip
        while True:
            info = self.blocks.get(h)
            if info is None:
                return False
            index, previous = info
            if target is not None and index is not None and index <= target[0]:
                return False
            if previous == ancestor:
                return True
            h = previous

    def holds(self, i, block):
        cur = self.current[i]
        return cur is not None and self.descends(cur[1], block)

    # -- tasks -------------------------------------------------------------------
    def start(self):
        for i, node in enumerate(self.nodes):
            if node.kind == "dlt":
                self._tasks.append(asyncio.ensure_future(self._events(i)))
            else:
                self.source[i] = "poll"
                self._tasks.append(asyncio.ensure_future(self._poll(i)))

    async def stop(self):
        self.running = False
        pending = set(self._tasks)
        for _ in range(10):
            # Cancelled again while any is left: a stream that lost one
            # cancellation must not hold up the teardown.
            for t in pending:
                t.cancel()
            if not pending:
                break
            _, pending = await asyncio.wait(pending, timeout=1.0)
        await asyncio.gather(*(t for t in self._tasks if t.done()),
                             return_exceptions=True)

    def _on_event(self, i, ev_id, event, data):
        self.source[i] = "events"
        self.events[i] += 1
        if ev_id is not None:
            self.last_event_id[i] = ev_id
        if event not in ("block", "chain", "pop", "snapshot"):
            return
        try:
            d = json.loads(data)
        except ValueError:
            return
        if not isinstance(d, dict):
            return
        if event == "snapshot":
            for b in d.get("blocks") or []:
                if isinstance(b, dict) and set(b) >= BLOCK_KEYS:
                    self.add_block(block_hash({k: b[k] for k in BLOCK_KEYS}),
                                   b["index"], b["previous_hash"])
        elif event == "block" and "hash" in d:
            self.add_block(d["hash"], d.get("index"), d.get("previous_hash"))
        self.update(i, d.get("height"), d.get("tip"))

    async def _events(self, i):
        node = self.nodes[i]
        incarnation = None
        while self.running:
            if node.state != "up":
                await asyncio.sleep(0.1)
                continue
            if getattr(node, "incarnations", None) != incarnation:
                # A restarted node numbers its events afresh: ask for a
                # snapshot instead of resuming.
                incarnation = getattr(node, "incarnations", None)
                self.last_event_id[i] = None
            try:
                result = await httpc.sse_stream(
                    node.addr, node.port, "/events",
                    lambda *ev: self._on_event(i, *ev),
                    last_id=self.last_event_id[i])
            except (OSError, asyncio.TimeoutError, httpc.HttpError,
                    asyncio.IncompleteReadError, ValueError):
                result = None
            if result and result[0] == "status" and result[1] in (404, 405):
                self.source[i] = "poll"
                return await self._poll(i)
            self.reconnects[i] += 1
            await asyncio.sleep(0.2)

    async def _poll(self, i):
        node = self.nodes[i]
        conn = httpc.Connection(node.addr, node.port)
        use_head = node.kind == "dlt"
        last_length = None
        interval = self.poll_interval_s * (1 if use_head else 3)
        while self.running:
            await asyncio.sleep(interval)
            if node.state != "up":
                last_length = None
                conn.close()
                continue
            try:
                self.polls[i] += 1
                if use_head:
                    r = await conn.request("HEAD", "/chain", timeout=5)
                    length = r.headers.get("content-length")
                    if r.status != 200 or length == last_length:
                        continue
                r = await conn.request("GET", "/chain", timeout=30)
                if r.status != 200:
                    continue
                height, tip, block = tip_of_chain_body(r.body)
                self.add_block(tip, block["index"], block["previous_hash"])
                self.update(i, height, tip)
                last_length = r.headers.get("content-length")
            except (httpc.HttpError, ValueError, KeyError, IndexError,
                    TypeError):
                last_length = None
        conn.close()

    def summary(self):
        kinds = {}
        for i, node in enumerate(self.nodes):
            kinds.setdefault(node.kind, []).append(self.source[i])
        dlt = kinds.get("dlt", [])
        if dlt and all(s == "events" for s in dlt):
            method = "events"
        elif dlt and all(s == "poll" for s in dlt):
            method = "poll"
        else:
            method = "mixed"
        return {
            "method": method,
            "dlt_nodes_on_events": sum(1 for s in dlt if s == "events"),
            "dlt_nodes_polled": sum(1 for s in dlt if s == "poll"),
            "reference_nodes_polled": len(kinds.get("ref", [])),
            "poll_interval_ms": round(self.poll_interval_s * 1000, 1),
            "events_received": sum(self.events),
            "polls": sum(self.polls),
        }
