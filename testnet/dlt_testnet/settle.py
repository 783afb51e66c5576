"""Settle: after the load, undo every perturbation, let the network converge
by itself, then mine what is still pending until every node holds one chain.

Transactions are not gossiped: a transaction waits in the mempool of the
node that acknowledged it until that node mines it. So every node with
pending transactions must mine once more, each block on top of the one
before (blocks mined side by side would fork and orphan each other). The
runner walks the peer graph: it takes the nearest node with pending
transactions, makes sure that node holds the current tip (consensus pulled
along a shortest path from a node that holds it), mines there, and goes on
from that node. Reference nodes never mine; they are brought along by their
own /nodes/consensus.
"""
import asyncio

from . import httpc, monitor, topology


class Settler:
    def __init__(self, runner):
        self.r = runner
        self.mon = runner.monitor
        self.log = {"healed": [], "resumed": [], "restarted": [],
                    "blocks_mined": 0, "nodes_mined": [], "consensus_calls": 0,
                    "tie_breaks": 0, "settle_tx": 0}
        self.conns = {}
        self.locks = {}
        net = runner.m.network
        self.push = net.link == "native" and net.gossip == "push"
        self.exhausted = set()
        self._chain_txs = (None, set())
        self._acked = (-1, {})
        self.step_times = {"bring": [], "mine": []}

    def clock(self):
        return self.r.clock()

    def conn(self, i):
        if i not in self.conns:
            self.conns[i] = httpc.Connection(self.r.nodes[i].addr,
                                            self.r.nodes[i].port)
        return self.conns[i]

    async def consensus(self, i, timeout=60.0):
        """POST /nodes/consensus on node i; returns its tip afterwards."""
        lock = self.locks.setdefault(i, asyncio.Lock())
        async with lock:
            self.log["consensus_calls"] += 1
            try:
                r = await self.conn(i).request("POST", "/nodes/consensus", {},
                                               timeout=timeout)
            except httpc.HttpError:
                return None
        if r.status != 200:
            return None
        try:
            height, tip, block = monitor.tip_of_chain_body(r.body)
        except (ValueError, KeyError, IndexError, TypeError):
            return None
        self.mon.add_block(tip, block["index"], block["previous_hash"])
        self.mon.update(i, height, tip)
        return tip

    # -- 1. undo every perturbation ----------------------------------------------
    async def restore(self):
        r = self.r
        cut = sorted(r.cut_nodes())
        if r.emu.heal():
            self.log["healed"] = cut
        for n in r.nodes:
            if n.state == "paused":
                n.resume()
                self.log["resumed"].append(n.index)
        down = [n for n in r.nodes if n.state in ("killed", "down")]
        for n in down:
            n.start()
            self.log["restarted"].append(n.index)
        if self.log["healed"] or self.log["resumed"] or down:
            r.mark_restored("settle", self.clock(),
                            set(self.log["healed"]) | set(self.log["resumed"])
                            | {n.index for n in down})
        await r.wait_ready(down, timeout=60)
        for n in down:
            if n.kind == "ref" and n.state == "up":
                await r.register_peers(n.index)

    # -- 2. let the network converge by itself --------------------------------------
    async def converge(self, deadline, quiet_s):
        """Waits until every node holds the same tip, or nothing changed for
        quiet_s (equal-length forks stay apart until a longer chain comes)."""
        refs = [n.index for n in self.r.nodes if n.kind == "ref"]
        next_ref_sync = 0.0
        while self.clock() < deadline:
            if len(self.mon.tips()) == 1:
                return True
            now = self.clock()
            if now - max(self.mon.last_change, self.log["restore_done_s"]) > quiet_s:
                return False
            if refs and now >= next_ref_sync:
                next_ref_sync = now + max(1, self.r.m.network.sync_interval_s)
                await asyncio.gather(*(self.consensus(i, 30) for i in refs))
            await asyncio.sleep(0.1)
        return False

    # -- 3. mine what is pending ----------------------------------------------------
    def chain_txs(self, tip):
        """Transactions in the chain ending at tip (blocks the runner mined).
        The walk extends one tip at a time, so the last set is extended in
        place rather than rebuilt."""
        mined = self.r.records.mined
        cached_tip, txs = self._chain_txs
        path, h = [], tip
        while h in mined and h != cached_tip:
            path.append(h)
            h = mined[h].previous
        if h != cached_tip:
            txs = set()
        for b in reversed(path):
            txs.update(mined[b].txs)
        self._chain_txs = (tip, txs)
        return txs

    def pending(self, tip):
        """dlt-nodes that still hold transactions not in the chain at tip."""
        in_chain = self.chain_txs(tip)
        if self._acked[0] != len(self.r.records.acked):
            self._acked = (len(self.r.records.acked), self.r.records.acked_by_node())
        todo = {i for i, txs in self._acked[1].items() if not txs <= in_chain}
        for data, i in self.r.records.uncertain:
            if data not in in_chain:
                todo.add(i)
        return todo

    def best_tip(self):
        """The highest tip; among equals, the one most nodes hold."""
        count = {}
        for cur in self.mon.current:
            if cur is not None and cur[0] is not None:
                count[cur[1]] = (cur[0], count.get(cur[1], (0, 0))[1] + 1)
        if not count:
            return None
        return max(count, key=lambda t: (count[t][0], count[t][1], t))

    def holders(self, tip):
        return [i for i in range(len(self.r.nodes)) if self.mon.holds(i, tip)]

    async def bring(self, i, tip, deadline):
        """Makes node i hold `tip`: wait briefly for gossip, then pull it
        hop by hop along a shortest path from the nearest holder."""
        adj = self.r.adj
        for attempt in range(4):
            if self.mon.holds(i, tip):
                return True
            if attempt == 0 and self.push:
                # Push gossip may already be on its way.
                wait_until = min(deadline, self.clock() + 1.0)
                while self.clock() < wait_until and not self.mon.holds(i, tip):
                    await asyncio.sleep(0.05)
                if self.mon.holds(i, tip):
                    return True
            have = set(self.holders(tip))
            if not have:
                return False
            dist = topology.distances(adj, i)
            src = min(have, key=lambda h: (dist.get(h, 1 << 30), h))
            path = topology.shortest_path(adj, src, i)
            if path is None:
                return False
            for hop in path[1:]:
                if self.clock() > deadline:
                    return False
                if not self.mon.holds(hop, tip):
                    got = await self.consensus(hop)
                    if got is None or not self.mon.descends(got, tip):
                        break
            await asyncio.sleep(0.1 * attempt)
        return self.mon.holds(i, tip)

    async def walk(self, deadline):
        """Mines, node after node, every pending transaction; returns the
        tip that holds them all, or None if time ran out."""
        r = self.r
        tip = self.best_tip()
        pos = (self.holders(tip) or [0])[0]
        deferred = set()     # could not be brought up to date: try later
        while self.clock() < deadline:
            todo = self.pending(tip) - self.exhausted
            if not todo:
                return tip
            if not todo - deferred:
                deferred = set()
                await asyncio.sleep(1.0)
                continue
            dist = topology.distances(r.adj, pos)
            # A node that already holds the tip first: while rivals of the
            # same height exist (forks), consensus cannot bring the tip to
            # their holders; one block more on the tip ends that.
            i = min(todo - deferred, key=lambda n: (not self.mon.holds(n, tip),
                                                    dist.get(n, 1 << 30), n))
            t = self.clock()
            if not await self.bring(i, tip, deadline):
                deferred.add(i)
                continue
            self.step_times["bring"].append(self.clock() - t)
            t = self.clock()
            mb = await r.driver.mine(i, "settle")
            self.step_times["mine"].append(self.clock() - t)
            if mb is False:
                # Nothing pending there although our records say so: those
                # transactions are lost (verification says so); move on.
                self.exhausted.add(i)
                continue
            if mb is None:
                deferred.add(i)
                continue
            # The answer to /mine is the node's new tip: no need to wait
            # for the monitor to see it.
            self.mon.update(i, mb.index, mb.hash)
            self.log["blocks_mined"] += 1
            self.log["nodes_mined"].append(i)
            # Only the walk mines now, and i held tip (or more): this block
            # is the one highest tip.
            pos, tip = i, mb.hash
        return None

    async def break_tie(self, tip):
        """All pending mined, but tips differ at equal height: one more block
        on a holder of `tip` makes its chain strictly longer."""
        r = self.r
        holders = [i for i in self.holders(tip) if r.nodes[i].kind == "dlt"]
        if not holders:
            return tip
        i = holders[0]
        data = await r.driver.send_tx(i, phase="settle",
                                      data="tn-%s-settle-%d" % (r.run_id, self.log["tie_breaks"]))
        if data is None:
            return tip
        self.log["tie_breaks"] += 1
        self.log["settle_tx"] += 1
        mb = await r.driver.mine(i, "settle")
        if not mb:
            return tip
        self.mon.update(i, mb.index, mb.hash)
        self.log["blocks_mined"] += 1
        return mb.hash

    # -- 4. everyone holds the tip ------------------------------------------------------
    async def spread(self, tip, deadline):
        """Brings tip to every node, ring by ring: each round, every node
        that lacks it but has a neighbour holding it runs consensus (pulls
        from its peers). False when three rounds in a row gain nothing (an
        equal-length rival is never replaced) or time runs out."""
        everyone = range(len(self.r.nodes))
        stuck = 0
        sem = asyncio.Semaphore(32)

        async def pull(i):
            async with sem:
                await self.consensus(i)
        while self.clock() < deadline:
            have = {i for i in everyone if self.mon.holds(i, tip)}
            lagging = [i for i in everyone if i not in have]
            if not lagging:
                return True
            frontier = [i for i in lagging if any(j in have for j in self.r.adj[i])]
            if self.push:
                # Gossip usually gets there first; give it a moment.
                await asyncio.sleep(0.3)
                if all(self.mon.holds(i, tip) for i in frontier):
                    continue
            await asyncio.gather(*(pull(i) for i in frontier or lagging))
            gained = sum(1 for i in lagging if self.mon.holds(i, tip))
            stuck = 0 if gained else stuck + 1
            if stuck >= 3:
                return False
            if not gained:
                await asyncio.sleep(0.5)
        return False

    async def run(self, timeout_s, quiet_s):
        start = self.clock()
        deadline = start + timeout_s
        self.log["started_s"] = start
        await self.restore()
        self.log["restore_done_s"] = self.clock()
        natural = await self.converge(deadline, quiet_s)
        self.log["converged_by_itself"] = natural
        self.log["converge_wait_s"] = round(self.clock() - self.log["restore_done_s"], 3)
        ok = False
        self.log["rounds"] = []
        for _ in range(50):
            t = self.clock()
            tip = await self.walk(deadline)
            step = {"walk_s": round(self.clock() - t, 3)}
            self.log["rounds"].append(step)
            if tip is None:
                break
            spread_until = min(deadline, self.clock() + max(30.0, timeout_s / 4))
            t = self.clock()
            spread = await self.spread(tip, spread_until)
            step["spread_s"] = round(self.clock() - t, 3)
            if spread:
                if not self.pending(tip) - self.exhausted:
                    ok = True
                    break
                continue  # orphaned transactions came back: mine them too
            # Someone keeps an equal-length rival (only a strictly longer
            # chain replaces it), or a node is stuck: one block more.
            await self.break_tie(self.best_tip())
            if self.clock() >= deadline:
                break
        self.log["duration_s"] = round(self.clock() - start, 3)
        self.log["agreed"] = ok
        if not ok:
            tip = self.best_tip()
            self.log["unmined_nodes"] = sorted(self.pending(tip) - self.exhausted) if tip else []
        for k, v in self.step_times.items():
            if v:
                self.log["walk_%s_s_mean" % k] = round(sum(v) / len(v), 3)
        for c in self.conns.values():
            c.close()
        return ok
