"""What every GET /events event must be, checked as it arrives: the
contract's fields and types (check_fields), and the state it reports
already visible through the REST API (check_visible). Observed reads a
node's stream on a thread and runs both on each event."""
import re
import threading

from harness import Client, block_hash
from sse import Stream, Watcher

HEX64 = re.compile(r"^[0-9a-f]{64}$")
BLOCK_KEYS = ("index", "previous_hash", "timestamp", "transactions")
STATUS_TEXTS = ("Chain replaced", "Chain not replaced - master")


def need(cond, what):
    if not cond:
        raise AssertionError(what)


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def check_block(b, what="block"):
    need(isinstance(b, dict), "%s is not an object" % what)
    need(is_int(b.get("index")) and b["index"] >= 1, "%s index %r" % (what, b.get("index")))
    need(isinstance(b.get("timestamp"), float), "%s timestamp %r" % (what, b.get("timestamp")))
    need(isinstance(b.get("previous_hash"), str), "%s previous_hash" % what)
    need(b["previous_hash"] == "0" or HEX64.match(b["previous_hash"]),
         "%s previous_hash %r" % (what, b["previous_hash"]))
    need(isinstance(b.get("transactions"), list), "%s transactions" % what)
    for tx in b["transactions"]:
        need(isinstance(tx, dict) and "data" in tx, "%s transaction %r" % (what, tx))


def check_fields(e):
    """The contract's fields and types of event `e` (raises on a miss)."""
    d = e.data
    need(e.id is not None, "%r has no integer id of its own" % e)
    need(isinstance(d, dict), "%r: data is not one JSON object" % e)
    need("\n" not in e.raw, "%r: data spans several lines" % e)

    def ints(*keys):
        for k in keys:
            need(is_int(d.get(k)) and d[k] >= 0, "%r: %s is not a count" % (e, k))

    def tip():
        need(isinstance(d.get("tip"), str) and HEX64.match(d["tip"]), "%r: tip" % e)

    def links_map(key):
        need(isinstance(d.get(key), dict), "%r: %s is not an object" % (e, key))
        for k, v in d[key].items():
            need(isinstance(k, str) and isinstance(v, str), "%r: %s" % (e, key))
            if key == "links":
                need(v in ("up", "down"), "%r: link state %r" % (e, v))

    name = e.name
    if name == "snapshot":
        ints("height", "pending")
        tip()
        need(isinstance(d.get("peers"), list)
             and all(isinstance(p, str) for p in d["peers"]), "%r: peers" % e)
        links_map("links")
        links_map("http")
        need(isinstance(d.get("version"), str) and d["version"], "%r: version" % e)
        blocks = d.get("blocks")
        need(isinstance(blocks, list) and 1 <= len(blocks) <= 20, "%r: blocks" % e)
        for b in blocks:
            check_block(b, "snapshot block")
        need(len(blocks) == min(20, d["height"]), "%r: %d blocks" % (e, len(blocks)))
        need(blocks[-1]["index"] == d["height"] and block_hash(blocks[-1]) == d["tip"],
             "%r: blocks do not end at the tip" % e)
    elif name == "block":
        ints("index", "height")
        tip()
        check_block({k: d.get(k) for k in BLOCK_KEYS})
        need(d.get("origin") in ("mined", "gossip"), "%r: origin" % e)
        need(d.get("hash") == block_hash({k: d[k] for k in BLOCK_KEYS}),
             "%r: hash is not the block's" % e)
        need(d["height"] == d["index"] and d["tip"] == d["hash"],
             "%r: a block appended to the tip is the tip" % e)
    elif name == "chain":
        ints("height", "fork_index", "dropped", "added")
        tip()
        need(isinstance(d.get("peer"), str) and d["peer"], "%r: peer" % e)
        need(d["fork_index"] + d["added"] == d["height"], "%r: kept + added != height" % e)
        need(d["added"] > d["dropped"], "%r: an adopted chain is longer" % e)
    elif name == "pop":
        ints("height", "index")
        tip()
        need(isinstance(d.get("hash"), str) and HEX64.match(d["hash"]), "%r: hash" % e)
        need(d["index"] == d["height"] + 1, "%r: the popped block was the tip" % e)
    elif name == "tx":
        ints("pending", "added")
        need(isinstance(d.get("transactions"), list) and len(d["transactions"]) <= 20,
             "%r: transactions" % e)
        for tx in d["transactions"]:
            need(isinstance(tx, dict) and set(tx) == {"data"}, "%r: %r" % (e, tx))
        need(len(d["transactions"]) <= d["added"], "%r: lists more than added" % e)
    elif name == "peers":
        need(isinstance(d.get("total_nodes"), list), "%r: total_nodes" % e)
        links_map("links")
        links_map("http")
        need(set(d["links"]) <= set(d["total_nodes"]), "%r: links of unknown peers" % e)
    elif name == "consensus":
        ints("asked", "answered")
        need(d.get("status") in STATUS_TEXTS, "%r: status" % e)
        need(isinstance(d.get("duration_ms"), (int, float))
             and not isinstance(d["duration_ms"], bool) and d["duration_ms"] >= 0,
             "%r: duration_ms" % e)
        need(isinstance(d.get("replaced"), bool)
             and d["replaced"] == (d["status"] == "Chain replaced"), "%r: replaced" % e)
        need(d["answered"] <= d["asked"], "%r: answered > asked" % e)
        need(isinstance(d.get("skipped"), list), "%r: skipped" % e)
        for s in d["skipped"]:
            need(isinstance(s, dict) and isinstance(s.get("peer"), str)
                 and isinstance(s.get("why"), str), "%r: skipped %r" % (e, s))
    else:
        raise AssertionError("event %r is not in the contract" % e)


class NodeView:
    """Asks one node what its API says, for checks at an event's arrival."""

    def __init__(self, node):
        self.client = Client(node.url, timeout=30)
        self.lock = threading.Lock()

    def get(self, path):
        with self.lock:
            status, body, _ = self.client.request("GET", path)
        need(status == 200, "GET %s: %s" % (path, status))
        return body

    def close(self):
        self.client.close()


def check_visible(view, e):
    """Raises unless the state event `e` reports is what the API shows now.
    The tests wait for each event before changing the node again, so the
    state cannot have moved on (pending transactions excepted: a second
    transaction may already be stored while the first one's event comes)."""
    d = e.data
    if e.name in ("block", "chain", "pop", "snapshot"):
        chain = view.get("/chain")["chain"]
        need(len(chain) == d["height"],
             "%r arrived while GET /chain has %d blocks" % (e, len(chain)))
        need(block_hash(chain[-1]) == d["tip"], "%r: GET /chain ends elsewhere" % e)
        if e.name == "block":
            need(chain[d["index"] - 1] == {k: d[k] for k in BLOCK_KEYS},
                 "%r: GET /chain holds another block there" % e)
        if e.name == "pop":
            need(d["hash"] not in [block_hash(b) for b in chain],
                 "%r: popped block still in GET /chain" % e)
        if e.name == "snapshot":
            need(d["blocks"] == chain[-20:], "%r: blocks differ from GET /chain" % e)
    if e.name in ("peers", "snapshot"):
        status = view.get("/status")
        need(status["total_nodes"] == d.get("total_nodes", d.get("peers")),
             "%r: GET /status lists %r" % (e, status["total_nodes"]))
        # Links go up and down by themselves (the tests do not wait for
        # them), so the state may have moved on: the same native peers, and
        # every HTTP address the event knew.
        need(set(status["links"]) == set(d["links"])
             and all(status["http"].get(k) == v for k, v in d["http"].items()),
             "%r: GET /status links %r http %r" % (e, status["links"], status["http"]))
    if e.name in ("tx", "snapshot"):
        pending = view.get("/transactions/pending?limit=1000")
        if e.name == "snapshot" or d.get("mined", 0) > 0:
            need(pending["pending"] == d["pending"],
                 "%r: GET /transactions/pending says %d" % (e, pending["pending"]))
        else:
            need(pending["pending"] >= d["pending"],
                 "%r: GET /transactions/pending says %d" % (e, pending["pending"]))
            for tx in d["transactions"]:
                need(tx in pending["transactions"], "%r: %r is not pending" % (e, tx))


class Observed:
    """A node's stream, read on a thread; every event is checked for the
    contract's fields and against the API as it arrives."""

    def __init__(self, node, **stream_args):
        self.view = NodeView(node)
        self.watcher = Watcher(Stream(node.address, **stream_args), self._check)
        self.mark = 0

    def _check(self, e):
        check_fields(e)
        check_visible(self.view, e)

    def step(self, names, timeout=20, quiet=0.4):
        """Waits for the events `names` (in this order) after the previous
        step, then for a quiet moment; returns them. Fails on any other
        event in between or after."""
        w = self.watcher
        start = self.mark
        if names:
            w.wait(lambda e: True, start + len(names) - 1, timeout)
        w.settle(quiet)
        got = w.since(start)
        self.mark += len(got)
        if [e.name for e in got] != list(names):
            raise AssertionError("expected %s, got %r" % (names, got))
        return got

    def drain(self, quiet=0.4):
        """Every event since the previous step (after a quiet moment)."""
        self.watcher.settle(quiet)
        got = self.watcher.since(self.mark)
        self.mark += len(got)
        return got

    def errors(self):
        return list(self.watcher.errors)

    def close(self):
        self.watcher.stop()
        self.view.close()
