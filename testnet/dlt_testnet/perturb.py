"""Perturbations on schedule (kill, restart, pause, resume, disconnect,
connect, partition, heal) and the bookkeeping of which fault is in force
and what undid it. A mixin of the Runner: it uses the runner's nodes, link
emulation and perturbation log."""
import asyncio
import signal

from . import topology


class Perturbations:
    def cut_nodes(self):
        out = set(self.emu.disconnected) if self.emu else set()
        if self.emu and self.emu.partition:
            out |= {i for g in self.emu.partition for i in g}
        return out

    def _open(self, key, number):
        self.open_faults[key] = number

    def _close(self, key, t, by):
        number = self.open_faults.pop(key, None)
        if number is not None:
            e = self.plog[number - 1]
            if e["undone_s"] is None:
                e["undone_s"], e["undone_by"] = self.rel(t), by

    def mark_restored(self, label, t, affected):
        for key in list(self.open_faults):
            self._close(key, t, label)
        self.restores.append((t, label, sorted(affected)))

    async def apply(self, p):
        e = self.plog[p.number - 1]
        t = self.clock()
        e["applied_s"] = self.rel(t)
        label = "#%d %s" % (p.number, p.kind)
        self.say("dlt-testnet: t=%.1fs %s %s" % (t - self.load_start, p.kind,
                                                  p.nodes if p.nodes is not None
                                                  else p.groups or ""))
        try:
            if p.kind == "kill":
                for x in p.nodes:
                    if self.nodes[x].state != "killed":
                        self.nodes[x].kill()
                    self._open(("kill", x), p.number)
                e["affected"] = list(p.nodes)
            elif p.kind == "pause":
                for x in p.nodes:
                    if self.nodes[x].pause():
                        self._open(("pause", x), p.number)
                e["affected"] = list(p.nodes)
            elif p.kind == "resume":
                for x in p.nodes:
                    self.nodes[x].resume()
                    self._close(("pause", x), t, label)
                e["affected"] = list(p.nodes)
                self.restores.append((t, label, list(p.nodes)))
            elif p.kind == "restart":
                await asyncio.gather(*(self.restart(x) for x in p.nodes))
                for x in p.nodes:
                    self._close(("kill", x), t, label)
                    self._close(("pause", x), t, label)
                e["affected"] = list(p.nodes)
                self.restores.append((t, label, list(p.nodes)))
            elif p.kind == "disconnect":
                self.emu.set_disconnected(self.emu.disconnected | set(p.nodes))
                for x in p.nodes:
                    self._open(("disconnect", x), p.number)
                e["affected"] = list(p.nodes)
            elif p.kind == "connect":
                self.emu.set_disconnected(self.emu.disconnected - set(p.nodes))
                for x in p.nodes:
                    self._close(("disconnect", x), t, label)
                e["affected"] = list(p.nodes)
                self.restores.append((t, label, list(p.nodes)))
                e["heal"] = True
            elif p.kind == "partition":
                groups = topology.expand_groups(p.groups, len(self.nodes))
                self._close(("partition",), t, label)
                self.emu.set_partition(groups)
                self._open(("partition",), p.number)
                e["groups_expanded"] = [[g[0], g[-1]] if g == list(range(g[0], g[-1] + 1))
                                        else g for g in groups]
                e["affected"] = sorted(i for g in groups for i in g)
            elif p.kind == "heal":
                affected = sorted(self.cut_nodes())
                self.emu.heal()
                for key in [k for k in self.open_faults
                            if k[0] in ("disconnect", "partition")]:
                    self._close(key, t, label)
                e["affected"] = affected
                self.restores.append((t, label, affected))
                e["heal"] = True
        except Exception as ex:  # noqa: BLE001 - recorded, the check fails
            e["error"] = "%s: %s" % (type(ex).__name__, ex)
            self.say("dlt-testnet: %s failed: %s" % (label, e["error"]))

    async def restart(self, x):
        n = self.nodes[x]
        if n.alive():
            n.expected_exit = True
            n.signal(signal.SIGCONT)
            n.signal(signal.SIGTERM)
            for _ in range(200):
                if not n.alive():
                    break
                await asyncio.sleep(0.05)
            if n.alive():
                n.signal(signal.SIGKILL)
                await asyncio.sleep(0.1)
            n.proc.poll()
            n.sample()
            n._retire()
        n.start()
        if await self.wait_ready([n], timeout=60):
            raise RuntimeError("%s did not come back: %s" % (n.name, n.log_tail(400)))
        if n.kind == "ref":
            await self.register_peers(x)

    async def schedule(self, until):
        for p in self.m.perturb:
            wait = self.load_start + p.at_s - self.clock()
            if wait > 0:
                await asyncio.sleep(wait)
            await self.apply(p)
