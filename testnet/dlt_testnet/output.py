"""What a run shows and leaves: the progress line, report.json,
timeline.json and prometheus-targets.json. A mixin of the Runner."""
import asyncio
import json
import os
import sys


class Output:
    def write_targets(self):
        targets = [{"targets": [n.http],
                    "labels": {"job": "dlt-testnet", "testnet": self.run_id,
                               "node": n.name,
                               "kind": "dlt-node" if n.kind == "dlt" else "reference"}}
                   for n in self.nodes if n.kind == "dlt"]
        with open(os.path.join(self.out, "prometheus-targets.json"), "w") as f:
            json.dump(targets, f, indent=1)

    # -- progress --------------------------------------------------------------------------------
    async def progress(self):
        while True:
            await asyncio.sleep(1.0)
            self._progress_line()

    def _progress_line(self):
        now = self.clock()
        t = now - self.load_start if self.load_start is not None else now
        acked = len(self.records.acked)
        tips = len(self.monitor.tips()) if self.monitor else 0
        states = {}
        for n in self.nodes:
            states[n.state] = states.get(n.state, 0) + 1
        heights = [c[0] for c in self.monitor.current if c and c[0]] if self.monitor else []
        cuts = []
        if self.emu and self.emu.partition:
            cuts.append("partition %d groups" % len(self.emu.partition))
        if self.emu and self.emu.disconnected:
            cuts.append("%d disconnected" % len(self.emu.disconnected))
        failed = sum(self.records.failed.values())
        line = ("[%6.1fs %-8s] tx acked %d failed %d | height %s | tips %d | %s%s"
                % (t, self._status, acked, failed, max(heights) if heights else "-",
                   tips, " ".join("%s %d" % kv for kv in sorted(states.items())),
                   (" | " + ", ".join(cuts)) if cuts else ""))
        if self._tty:
            sys.stdout.write("\r\033[K" + line[:200])
            sys.stdout.flush()
        elif now - self._last_line >= 10:
            self._last_line = now
            print(line, flush=True)

    def write_report(self):
        path = os.path.join(self.out, "report.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.report, f, indent=1, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)

    def write_timeline(self):
        """The raw record behind the figures, times in seconds from the
        start of the load: each node's tips, every mined block, every
        acknowledged transaction."""
        ls = self.load_start or 0.0
        rel = lambda t: round(t - ls, 4)  # noqa: E731
        data = {
            "run_id": self.run_id,
            "nodes": [n.name for n in self.nodes],
            "tips": [[[rel(t), h, tip] for t, h, tip in hist]
                     for hist in self.monitor.history],
            "mined": [[b.hash, b.index, b.previous, b.node, rel(b.t), len(b.txs), b.phase]
                      for b in sorted(self.records.mined.values(), key=lambda b: b.t)],
            "acked": [[d, n, rel(ts), rel(ta), ph] for d, n, ts, ta, ph in self.records.acked],
            "unanswered": [[d, n] for d, n in self.records.uncertain],
        }
        with open(os.path.join(self.out, "timeline.json"), "w") as f:
            json.dump(data, f)
