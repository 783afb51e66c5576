"""Load through each node's REST API from inside the network: transactions
at a steady rate spread over the target nodes, and mining on the miners;
every acknowledged transaction and every mined block is recorded."""
import asyncio
import collections
import json

from . import httpc, monitor


class MinedBlock:
    __slots__ = ("hash", "index", "previous", "node", "t", "txs", "phase")

    def __init__(self, h, index, previous, node, t, txs, phase):
        self.hash, self.index, self.previous = h, index, previous
        self.node, self.t, self.txs, self.phase = node, t, txs, phase


def tx_key(data):
    """Transactions are compared by their data (our load sends strings)."""
    return data if isinstance(data, str) else json.dumps(data, sort_keys=True)


class Records:
    def __init__(self):
        self.acked = []             # (data, node, t_sent, t_ack, phase)
        self.uncertain = []         # sent, no answer: (data, node)
        self.failed = collections.Counter()
        self.skipped_busy = 0
        self.mined = {}             # hash -> MinedBlock
        self.mine_empty = 0
        self.mine_failed = collections.Counter()

    def acked_by_node(self, phase=None):
        out = collections.defaultdict(set)
        for data, node, _, _, ph in self.acked:
            if phase is None or ph == phase:
                out[node].add(data)
        return out


class Pool:
    """Up to `size` keep-alive connections to one node."""

    def __init__(self, node, size):
        self.node = node
        self.size = size
        self.idle = []
        self.open = 0

    def get(self):
        if self.idle:
            return self.idle.pop()
        if self.open < self.size:
            self.open += 1
            return httpc.Connection(self.node.addr, self.node.port)
        return None

    def put(self, conn):
        if conn.writer is None:
            self.open -= 1
        else:
            self.idle.append(conn)

    def close(self):
        for c in self.idle:
            c.close()
        self.idle = []


class Driver:
    def __init__(self, nodes, records, mon, clock, tag, load_cfg):
        self.nodes = nodes
        self.rec = records
        self.mon = mon
        self.clock = clock
        self.tag = tag
        self.cfg = load_cfg
        self.pools = {}
        self.mine_conns = {}
        self.mining = set()
        self.seq = 0
        self.tasks = set()

    def pool(self, i):
        if i not in self.pools:
            self.pools[i] = Pool(self.nodes[i], self.cfg.max_in_flight)
        return self.pools[i]

    def _spawn(self, coro):
        t = asyncio.ensure_future(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    # -- transactions ------------------------------------------------------------
    async def send_tx(self, i, phase="load", data=None):
        """POST one transaction to node i; returns its data when acknowledged."""
        pool = self.pool(i)
        conn = pool.get()
        if conn is None:
            self.rec.skipped_busy += 1
            return None
        if data is None:
            self.seq += 1
            data = "tn-%s-%d" % (self.tag, self.seq)
        t_sent = self.clock()
        try:
            r = await conn.request("POST", "/transactions/new", {"data": data},
                                   timeout=self.cfg.tx_timeout_s)
        except httpc.HttpError as e:
            if e.sent:
                # It may have arrived: counted as neither lost nor acked.
                self.rec.uncertain.append((data, i))
                self.rec.failed["no answer"] += 1
            else:
                self.rec.failed["cannot connect"] += 1
            return None
        finally:
            pool.put(conn)
        if r.status == 201:
            self.rec.acked.append((data, i, t_sent, self.clock(), phase))
            return data
        self.rec.failed["status %d" % r.status] += 1
        return None

    async def run_transactions(self, targets, start, until):
        rate = self.cfg.tx_per_s
        if rate <= 0 or not targets:
            return
        k = 0
        t0 = start
        while True:
            due = t0 + k / rate
            if due >= until:
                break
            wait = due - self.clock()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -1.0:
                # More than a second behind (the machine is saturated): do
                # not burst to catch up, go on from now.
                t0 = self.clock() - k / rate
            self._spawn(self.send_tx(targets[k % len(targets)]))
            k += 1

    # -- mining ------------------------------------------------------------------
    async def mine(self, i, phase, timeout=30.0):
        """POST /mine on node i: the MinedBlock, False when there was
        nothing to mine, None when the node did not answer as it should."""
        conn = self.mine_conns.get(i)
        if conn is None:
            conn = self.mine_conns[i] = httpc.Connection(self.nodes[i].addr,
                                                         self.nodes[i].port)
        self.mining.add(i)
        try:
            r = await conn.request("POST", "/mine", {}, timeout=timeout)
        except httpc.HttpError:
            self.rec.mine_failed["no answer"] += 1
            return None
        finally:
            self.mining.discard(i)
        body = r.json()
        if r.status not in (200, 201) or not isinstance(body, dict):
            why = "status %d" % r.status
            if r.status in (200, 201):
                why += " with an unreadable body (%d bytes: %r)" % (
                    len(r.body), r.body[:60])
            self.rec.mine_failed[why] += 1
            return None
        block = body.get("new_block")
        if not block:
            self.rec.mine_empty += 1
            return False
        h = monitor.block_hash(block)
        mb = MinedBlock(h, block["index"], block["previous_hash"], i,
                        self.clock(),
                        [tx_key(tx.get("data")) if isinstance(tx, dict) else tx_key(tx)
                         for tx in block.get("transactions", [])], phase)
        self.rec.mined[h] = mb
        self.mon.add_block(h, mb.index, mb.previous)
        return mb

    async def run_miner(self, i, phase_offset, start, until):
        interval = self.cfg.mine_interval_s
        k = 0
        while True:
            due = start + phase_offset + k * interval
            if due >= until:
                break
            wait = due - self.clock()
            if wait > 0:
                await asyncio.sleep(wait)
            k += 1
            if i in self.mining or self.nodes[i].state not in ("up", "paused"):
                continue
            self._spawn(self.mine(i, "load", timeout=max(10.0, 3 * interval)))

    async def drain(self, timeout):
        """Waits for requests still in flight (their answers count)."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
        for t in list(self.tasks):
            t.cancel()

    def close(self):
        for p in self.pools.values():
            p.close()
        for c in self.mine_conns.values():
            c.close()
