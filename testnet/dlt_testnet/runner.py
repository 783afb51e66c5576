"""One testnet run: set up, start, load, perturb, settle, verify, report,
tear down -- the teardown also on Ctrl-C, SIGTERM and failures."""
import asyncio
import hashlib
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

from . import (analysis, certs, httpc, keep, linkemu, load, monitor, netns,
               nodes, output, perturb, report, settle, topology)


class Aborted(Exception):
    pass


class Runner(perturb.Perturbations, output.Output):
    def __init__(self, manifest, opts):
        self.m = manifest
        self.opts = opts
        self.run_id = netns.new_run_id()
        self.t0 = time.monotonic()
        self.started_wall = time.time()
        self.load_start = None
        self.load_end = None
        self.out = os.path.abspath(opts.out)
        self.logdir = os.path.join(self.out, "logs")
        self.workdir = os.path.join(tempfile.gettempdir(), netns.PREFIX + self.run_id)
        self.ns = None
        self.emu = None
        self.nodes = []
        self.adj = []
        self.monitor = None
        self.driver = None
        self.records = load.Records()
        self.plog = []
        self.open_faults = {}
        self.restores = []              # (t, label, nodes) of heals/connects/...
        self.timings = {}
        self.settle_log = None
        self.verification = None
        self.report = None
        self.exit_code = None
        self.aborted = None
        self.interrupted = None
        self.root_ns_fd = None
        self.cpu_samples = []
        self._tasks = []
        self._main_task = None
        self._progress_task = None
        self.emu_snapshot = None
        self.miners = []
        self._status = "preparing"
        self._tty = sys.stdout.isatty()
        self._last_line = 0.0

    # -- small helpers -------------------------------------------------------------
    def clock(self):
        return time.monotonic() - self.t0

    def rel(self, t):
        if t is None or self.load_start is None:
            return None
        return round(t - self.load_start, 3)

    def say(self, text):
        if self._tty:
            sys.stdout.write("\r\033[K")
        print(text, flush=True)

    # -- the whole run ------------------------------------------------------------------
    def run(self):
        def on_signal(signum, _frame):
            self.interrupted = signal.Signals(signum).name
            raise KeyboardInterrupt
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, on_signal)
        code = 3
        try:
            self.prepare()
            self.setup_network()
            code = asyncio.run(self.main())
        except KeyboardInterrupt:
            self.aborted = "interrupted (%s)" % (self.interrupted or "SIGINT")
            code = 130
        except (netns.SetupError, Aborted) as e:
            self.aborted = str(e)
            code = 3
        except Exception:  # noqa: BLE001 - report it, then clean up
            self.aborted = "runner error: " + traceback.format_exc(limit=3)
            traceback.print_exc()
            code = 3
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            self.teardown()
            self.finish_files()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
        if self.aborted and code == 0:
            code = 3
        return code

    def prepare(self):
        netns.clean_leftovers(log=self.say)
        os.makedirs(self.logdir, exist_ok=True)
        os.makedirs(self.workdir, exist_ok=True)
        netns.write_state(self.run_id, self.workdir, {"out": self.out})
        net = self.m.network
        self.adj = topology.graph(net.total, net.topology, net.degree, net.seed)
        node_certs = (certs.make(os.path.join(self.workdir, "tls"), net.nodes, self.say)
                      if net.tls else None)
        for i in range(net.total):
            ns = netns.node_ns(self.run_id, i)
            if i < net.nodes:
                data = os.path.join(self.workdir, "n%d" % i)
                argv = nodes.dlt_argv(self.opts.node_binary, i, net, data,
                                      node_certs[i] if node_certs else None)
                self.nodes.append(nodes.Node(i, "dlt", ns, argv, self.logdir))
            else:
                argv = nodes.ref_argv(self.opts.ref_launcher, self.opts.ref_node, i)
                self.nodes.append(nodes.Node(i, "ref", ns, argv, self.logdir))
        for p in self.m.perturb:
            self.plog.append({"number": p.number, "at_s": p.at_s, "kind": p.kind,
                              **({"nodes": p.nodes} if p.nodes is not None else {}),
                              **({"groups": p.groups} if p.groups is not None else {}),
                              "applied_s": None, "affected": [], "error": None,
                              "undone_s": None, "undone_by": None})
        self.plog.sort(key=lambda e: e["number"])

    def setup_network(self):
        net = self.m.network
        self._status = "network"
        t = time.monotonic()
        self.ns = netns.Namespaces(self.run_id, net.total)
        self.ns.create(self.adj)
        self.timings["namespaces_s"] = round(time.monotonic() - t, 3)
        t = time.monotonic()
        self.emu = linkemu.LinkEmulation(net, self.ns, self.opts.link_binary,
                                         self.workdir, self.logdir)
        self.emu.setup()
        self.timings["link_emulation_s"] = round(time.monotonic() - t, 3)
        if net.total > 1:
            pairs = [(0, j) for j in sorted({1, net.total // 2, net.total - 1})]
            res = self.emu.ping_check(pairs)
            rtt = [r["rtt_avg_ms"] for r in res if r["rtt_avg_ms"] is not None]
            self.say("dlt-testnet: links %s: ping RTT %s ms (expected about %g)"
                     % (self.emu.method, "/".join("%.1f" % x for x in rtt) or "-",
                        2 * net.latency_ms))
        # From here on the runner lives in the switch namespace: its sockets
        # (load, events, control) reach the nodes without a route to or from
        # the machine's real interfaces.
        self.root_ns_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        netns.setns(os.path.join(netns.NETNS_DIR, self.ns.switch))

    async def main(self):
        loop = asyncio.get_running_loop()
        me = self._main_task = asyncio.current_task()

        stopping = []   # set once main is past its work: no cancel then

        def on_signal(name):
            self.interrupted = name
            cancel_until_seen()

        def cancel_until_seen():
            # A cancellation can be swallowed by code awaiting on our behalf
            # (a library's timeout racing it); ask again until main has it.
            if not stopping and not me.done():
                me.cancel()
                loop.call_later(1.0, cancel_until_seen)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, on_signal, sig.name)
        try:
            await self.start_nodes()
            await self.load_phase()
            await self.settle_phase()
            await self.verify_phase()
            self.exit_code = 0 if report.verdict(self.report) else 1
            if self.opts.keep:
                await self.keep_phase()
            return self.exit_code
        except asyncio.CancelledError:
            stopping.append(True)
            if self.exit_code is not None:
                return self.exit_code
            if self.aborted:
                return 3
            self.aborted = "interrupted (%s)" % (self.interrupted or "SIGINT")
            return 130
        except Aborted as e:
            self.aborted = str(e)   # said once, with the report, at the end
            return 3
        finally:
            stopping.append(True)
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self.monitor:
                await self.monitor.stop()
            if self.driver:
                self.driver.close()

    # -- nodes -----------------------------------------------------------------------------
    async def start_nodes(self):
        self._status = "starting"
        t = time.monotonic()
        for n in self.nodes:
            n.start()
        missing = await self.wait_ready(self.nodes, timeout=60 + 0.2 * len(self.nodes))
        if missing:
            n = missing[0]
            raise Aborted("%d node(s) did not start (first: %s, log %s):\n%s"
                          % (len(missing), n.name, n.err_path, n.log_tail(800)))
        self.timings["nodes_start_s"] = round(time.monotonic() - t, 3)
        t = time.monotonic()
        sem = asyncio.Semaphore(32)

        async def reg(i):
            async with sem:
                return await self.register_peers(i)
        answers = await asyncio.gather(*(reg(i) for i in range(len(self.nodes))))
        failed = [(i, why) for i, why in enumerate(answers) if why is not True]
        if failed:
            raise Aborted("could not register peers on %d node(s): %s" % (
                len(failed), "; ".join("%s: %s" % (self.nodes[i].name, why)
                                       for i, why in failed[:5])))
        self.timings["register_s"] = round(time.monotonic() - t, 3)
        self.write_targets()
        poll = max(0.1, min(0.5, len(self.nodes) / 1000))
        self.monitor = monitor.Monitor(self.nodes, self.clock, poll)
        self.monitor.start()
        self.driver = load.Driver(self.nodes, self.records, self.monitor,
                                  self.clock, self.run_id, self.m.load)
        self._tasks.append(asyncio.ensure_future(self.sampler()))
        self._progress_task = asyncio.ensure_future(self.progress())
        self._tasks.append(self._progress_task)
        deadline = self.clock() + 30
        while self.clock() < deadline and None in self.monitor.current:
            await asyncio.sleep(0.05)
        self.timings["setup_s"] = round(self.clock(), 3)

    async def wait_ready(self, which, timeout):
        deadline = time.monotonic() + timeout
        todo = [n for n in which]
        while todo and time.monotonic() < deadline:
            todo = [n for n in todo if not n.check_ready()]
            for n in todo:
                if n.proc is not None and n.proc.poll() is not None:
                    return [n] + [m for m in todo if m is not n]
            if todo:
                await asyncio.sleep(0.05)
        return todo

    async def register_peers(self, i):
        """True, or why the node would not take its peers."""
        peers = nodes.peer_addresses(self.nodes, self.adj, i, self.m.network.link)
        if not peers:
            return True
        n = self.nodes[i]
        why = None
        for attempt in range(6):
            try:
                r = await httpc.request(n.addr, n.port, "POST",
                                        "/nodes/register", {"nodes": peers},
                                        timeout=30)
                if r.status == 201:
                    return True
                why = "answered %d %s" % (r.status, r.body[:200])
            except httpc.HttpError as e:
                why = str(e)
            await asyncio.sleep(0.5 * (attempt + 1))
        return why

    async def sampler(self):
        while True:
            now = self.clock()
            for n in self.nodes:
                n.sample()
                if n.poll_exit(now):
                    self.say("dlt-testnet: %s exited unexpectedly (status %s); log %s"
                             % (n.name, n.proc.returncode, n.err_path))
            if not self.emu.helper_alive() and not self.aborted:
                # Without it no packet crosses the switch: stop now.
                self.aborted = ("the delay helper dlt-testnet-link exited (%s)"
                                % self.emu.helper.returncode)
                self.say("dlt-testnet: " + self.aborted)
                self._main_task.cancel()
                return
            self.cpu_samples.append((now, sum(n.cpu_s for n in self.nodes)))
            await asyncio.sleep(1.0)

    # -- phases ---------------------------------------------------------------------------------
    async def load_phase(self):
        ld = self.m.load
        self.load_start = self.clock()
        until = self.load_start + ld.duration_s
        self._status = "load"
        net = self.m.network
        miners = topology.pick_miners(net.nodes, ld.miners, ld.miner_nodes)
        self.miners = miners
        targets = miners if ld.targets == "miners" else list(range(net.nodes))
        jobs = [self.driver.run_transactions(targets, self.load_start, until)]
        for k, i in enumerate(miners):
            offset = k * ld.mine_interval_s / max(1, len(miners))
            jobs.append(self.driver.run_miner(i, offset, self.load_start, until))
        jobs.append(self.schedule(until))
        if net.sync_interval_s > 0 and net.reference_nodes:
            jobs.append(self.sync_references(until))
        await asyncio.gather(*jobs)
        wait = until - self.clock()
        if wait > 0:
            await asyncio.sleep(wait)
        self._status = "draining"
        await self.driver.drain(ld.tx_timeout_s + 1)
        self.load_end = self.clock()

    async def sync_references(self, until):
        """Reference nodes have no anti-entropy: the runner runs their
        /nodes/consensus every sync_interval_s, as dlt-nodes do by themselves."""
        refs = [n for n in self.nodes if n.kind == "ref"]
        busy = set()
        conns = {n.index: httpc.Connection(n.addr, n.port) for n in refs}

        async def one(n):
            busy.add(n.index)
            try:
                await conns[n.index].request("POST", "/nodes/consensus", {},
                                             timeout=120)
            except httpc.HttpError:
                pass
            finally:
                busy.discard(n.index)
        tasks = set()
        while self.clock() < until:
            for n in refs:
                if n.state == "up" and n.index not in busy:
                    t = asyncio.ensure_future(one(n))
                    tasks.add(t)
                    t.add_done_callback(tasks.discard)
            await asyncio.sleep(min(self.m.network.sync_interval_s,
                                    max(0.0, until - self.clock())))
        for t in list(tasks):
            t.cancel()
        for c in conns.values():
            c.close()

    async def settle_phase(self):
        self._status = "settle"
        net = self.m.network
        # A cap for a network that cannot settle; a busy machine makes each
        # of the walk's steps slower, so it is generous.
        timeout = self.m.settle.timeout_s or (300 + 5.0 * net.total)
        quiet = self.m.settle.quiet_s or max(5.0, 3.0 * net.sync_interval_s)
        s = settle.Settler(self)
        self.settle_log = s.log
        s.log["agreed"] = await s.run(timeout, quiet)
        s.log["exhausted_nodes"] = sorted(s.exhausted)

    async def verify_phase(self):
        self._status = "verify"
        sem = asyncio.Semaphore(16)

        parsed = {}   # digest of a body -> its chain: equal answers parsed once

        async def fetch(n):
            async with sem:
                try:
                    r = await httpc.request(n.addr, n.port, "GET",
                                            "/chain", timeout=120)
                except httpc.HttpError as e:
                    return str(e)
                if r.status != 200:
                    return "GET /chain answered %d" % r.status
                digest = hashlib.sha256(r.body).digest()
                if digest not in parsed:
                    body = r.json()
                    if not isinstance(body, dict) or not isinstance(body.get("chain"), list):
                        return "GET /chain answered something else than a chain"
                    parsed[digest] = body["chain"]
                return parsed[digest]
        chains = await asyncio.gather(*(fetch(n) for n in self.nodes))
        acked = [a[0] for a in self.records.acked if a[4] == "load"]
        settle_acked = [a[0] for a in self.records.acked if a[4] != "load"]
        # Transactions of nodes the settle never got to mine are pending
        # there, not lost (the settle check fails then).
        unmined = set(self.settle_log.get("unmined_nodes", []))
        unsettled = {a[0] for a in self.records.acked if a[1] in unmined}
        self.verification = analysis.verify(
            dict(enumerate(chains)), acked, settle_acked,
            [d for d, _ in self.records.uncertain], unsettled)
        await self.monitor.stop()
        # Every block of the final chain, also those whose /mine answer was
        # lost: the ancestry of every tip seen reaches back through them.
        hashes = self.verification.get("hashes") or []
        for k, h in enumerate(hashes):
            self.monitor.add_block(h, k + 1, hashes[k - 1] if k else "0")
        for n in self.nodes:
            n.sample()
        self.emu_snapshot = {"counters": self.emu.counters(),
                             "helper_cpu_s": self.emu.helper_cpu_s(),
                             "kernel_queue": self.emu.kernel_queue_stats(),
                             "helper": self.emu.helper_stats(),
                             "helper_alive": self.emu.helper_alive()}
        self._status = "done"
        self.report = report.build(self)
        self.write_report()
        self.write_timeline()
        self.say(report.text(self.report))

    async def keep_phase(self):
        self._status = "kept"
        self._progress_task.cancel()     # nothing moves any more
        servers, lines = await keep.start_forwarders(
            self.root_ns_fd, self.nodes, self.opts.forward_base)
        self.say("dlt-testnet: --keep: the network stays up until Ctrl-C.\n"
                 "  inside:  ip netns exec %s curl http://%s/chain\n"
                 "  from this machine (TCP relays on 127.0.0.1):\n%s"
                 % (self.ns.switch, self.nodes[0].http, "\n".join(lines[:20])
                    + ("\n  ..." if len(lines) > 20 else "")))
        try:
            await asyncio.Event().wait()
        finally:
            for s in servers:
                s.close()

    # -- the end ----------------------------------------------------------------------------------
    def teardown(self):
        t = time.monotonic()
        if self._tty:
            sys.stdout.write("\r\033[K")
        for n in self.nodes:
            if n.proc is not None and n.alive():
                n.signal(signal.SIGCONT)
                n.expected_exit = True
                n.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for n in self.nodes:
            if n.proc is not None:
                try:
                    n.proc.wait(max(0.0, deadline - time.monotonic()))
                except Exception:  # noqa: BLE001 - killed below
                    n.signal(signal.SIGKILL)
                    n.proc.wait()
        if self.emu is not None:
            self.emu.stop()
        if self.root_ns_fd is not None:
            netns.setns_fd(self.root_ns_fd)
            os.close(self.root_ns_fd)
            self.root_ns_fd = None
        if self.ns is not None:
            netns.kill_all(netns.pids_in(self.ns.names()))
            netns.delete_namespaces(self.ns.names())
        if not self.opts.keep_data:
            shutil.rmtree(self.workdir, ignore_errors=True)
        netns.remove_state(self.run_id)
        self.timings["teardown_s"] = round(time.monotonic() - t, 3)

    def finish_files(self):
        """After teardown: add the teardown time to the report, or write a
        partial report saying why the run stopped early."""
        try:
            if self.report is None:
                self.report = report.build(self)
            else:
                self.report["timings"]["teardown_s"] = self.timings.get("teardown_s")
            if self.aborted:
                self.report["aborted"] = self.aborted
                self.report["checks"]["run_completed"] = analysis.check(
                    False, self.aborted)
            os.makedirs(self.out, exist_ok=True)
            self.write_report()
            if self.aborted:
                self.say("dlt-testnet: stopped early: %s (report: %s)"
                         % (self.aborted.strip(), os.path.join(self.out, "report.json")))
        except Exception:  # noqa: BLE001 - never fail the teardown path
            traceback.print_exc()
