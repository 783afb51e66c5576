"""Link emulation in the switch namespace: loss and cuts by nftables, delay
by netem where the kernel has it, else by our NFQUEUE helper
(dlt-testnet-link); and the checks that show it works (ping RTTs, counters,
the helper's own statistics)."""
import json
import os
import re
import signal
import subprocess
import time

from . import netns, rules, topology


class LinkEmulation:
    def __init__(self, network, namespaces, helper_binary, workdir, logdir):
        self.net = network
        self.ns = namespaces
        self.helper_binary = helper_binary
        self.workdir = workdir
        self.logdir = logdir
        self.method = "none"
        self.helper = None
        self.helper_exit = None
        self.stats_file = os.path.join(workdir, "link-stats.json")
        self.ping = None
        self.partition = []          # expanded groups in force
        self.disconnected = set()
        self.netem_error = None

    # -- commands in the switch namespace ------------------------------------
    def _in_switch(self, cmd, text=None, check=True):
        r = subprocess.run(["ip", "netns", "exec", self.ns.switch] + cmd,
                           input=text, text=True, capture_output=True)
        if check and r.returncode != 0:
            raise netns.SetupError("%s failed in the switch namespace: %s"
                                   % (" ".join(cmd), r.stderr.strip()))
        return r

    def _nft(self, text):
        self._in_switch(["nft", "-f", "-"], text)

    # -- set-up ----------------------------------------------------------------
    def setup(self):
        self._nft(rules.base_ruleset(self.net.loss_percent))
        if self.net.latency_ms <= 0:
            self.method = "none"
            return
        want = self.net.delay_method
        if want in ("auto", "netem") and self._try_netem():
            self.method = "netem"
            return
        if want == "netem":
            raise netns.SetupError("delay_method = \"netem\", but this kernel "
                                   "has no netem: %s" % self.netem_error)
        self._start_helper()
        self._in_switch(["iptables-restore", "--noflush"], rules.nfqueue_rules())
        self.method = "nfqueue"

    def _try_netem(self):
        ports = [netns.port_name(i) for i in range(self.ns.total)]
        probe = rules.netem_batch(ports[:1], self.net.latency_ms,
                                  self.net.jitter_ms, self.net.distribution)
        r = self._in_switch(["tc", "-batch", "-"], probe, check=False)
        if r.returncode != 0:
            self.netem_error = r.stderr.strip() or "tc failed"
            return False
        self._in_switch(["tc", "-batch", "-"], rules.netem_batch(
            ports[1:], self.net.latency_ms, self.net.jitter_ms,
            self.net.distribution))
        return True

    def _start_helper(self):
        if not self.helper_binary or not os.access(self.helper_binary, os.X_OK):
            raise netns.SetupError(
                "the delay helper dlt-testnet-link was not found (%s); build it "
                "(it needs libnetfilter-queue-dev) or give --link-binary"
                % self.helper_binary)
        out = os.path.join(self.logdir, "dlt-testnet-link.log")
        argv = [self.helper_binary, "--queue", str(rules.QUEUE),
                "--latency-ms", repr(self.net.latency_ms),
                "--jitter-ms", repr(self.net.jitter_ms),
                "--distribution", self.net.distribution,
                "--seed", str(self.net.seed + 1),
                "--stats", self.stats_file, "--priority", "20"]
        if self.net.reorder:
            argv.append("--reorder")
        log = open(out, "ab")
        from .nodes import child_setup
        self.helper = subprocess.Popen(
            ["ip", "netns", "exec", self.ns.switch] + argv,
            stdout=log, stderr=log, preexec_fn=child_setup,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(out, errors="replace") as f:
                text = f.read()
            if "delaying queue" in text:
                return
            if self.helper.poll() is not None:
                raise netns.SetupError("dlt-testnet-link exited: " + text.strip())
            time.sleep(0.02)
        raise netns.SetupError("dlt-testnet-link did not start: " + text.strip())

    # -- cuts --------------------------------------------------------------------
    def set_partition(self, groups_expanded):
        self._nft(rules.partition_update(groups_expanded))
        self.partition = groups_expanded if len(groups_expanded) > 1 else []

    def set_disconnected(self, indexes):
        self._nft(rules.disconnect_update(sorted(indexes)))
        self.disconnected = set(indexes)

    def heal(self):
        changed = bool(self.partition or self.disconnected)
        self._nft(rules.partition_update([]) + rules.disconnect_update([]))
        self.partition, self.disconnected = [], set()
        return changed

    def cut_between(self, a, b):
        """True when the rules in force keep a and b apart."""
        if a in self.disconnected or b in self.disconnected:
            return True
        for g in self.partition:
            if (a in g) != (b in g):
                return True
        return False

    # -- checks ------------------------------------------------------------------
    def ping_check(self, pairs, count=10):
        """Pings between node namespaces before the nodes start: each RTT
        should be about twice the one-way latency."""
        procs = []
        for a, b in pairs:
            procs.append((a, b, subprocess.Popen(
                ["ip", "netns", "exec", self.ns.nodes[a], "ping", "-n", "-q",
                 "-c", str(count), "-i", "0.05", "-W", "3", topology.address(b)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
        results = []
        for a, b, p in procs:
            out = p.communicate()[0]
            m = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", out)
            n = re.search(r"(\d+) packets transmitted, (\d+) received", out)
            results.append({
                "from": a, "to": b,
                "sent": int(n.group(1)) if n else count,
                "received": int(n.group(2)) if n else 0,
                "rtt_min_ms": float(m.group(1)) if m else None,
                "rtt_avg_ms": float(m.group(2)) if m else None,
                "rtt_max_ms": float(m.group(3)) if m else None,
                "rtt_mdev_ms": float(m.group(4)) if m else None})
        self.ping = results
        return results

    def counters(self):
        r = self._in_switch(["nft", "-j", "list", "counters", "table", "ip",
                             rules.TABLE], check=False)
        try:
            return rules.parse_counters(json.loads(r.stdout))
        except ValueError:
            return {}

    def kernel_queue_stats(self):
        """Drops the kernel counted on our queue (full queue, reader late)."""
        r = self._in_switch(["cat", "/proc/net/netfilter/nfnetlink_queue"],
                            check=False)
        for line in r.stdout.splitlines():
            f = line.split()
            if f and f[0] == str(rules.QUEUE) and len(f) >= 7:
                return {"queue_total": int(f[2]), "queue_dropped": int(f[5]),
                        "user_dropped": int(f[6])}
        return {}

    def helper_cpu_s(self):
        if self.helper is None or self.helper.poll() is not None:
            return None
        try:
            with open("/proc/%d/stat" % self.helper.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def helper_alive(self):
        if self.helper is None:
            return True
        return self.helper.poll() is None

    def helper_stats(self):
        if self.helper is None:
            return None
        if self.helper.poll() is None:
            try:
                mtime = os.path.getmtime(self.stats_file)
            except OSError:
                mtime = 0
            self.helper.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                try:
                    if os.path.getmtime(self.stats_file) != mtime:
                        break
                except OSError:
                    pass
                time.sleep(0.02)
        try:
            with open(self.stats_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def stop(self):
        if self.helper is not None and self.helper.poll() is None:
            self.helper.terminate()
            try:
                self.helper.wait(5)
            except subprocess.TimeoutExpired:
                self.helper.kill()
                self.helper.wait()
        if self.helper is not None:
            self.helper_exit = self.helper.returncode

    def describe(self):
        """The report's link_emulation entry."""
        net = self.net
        d = {
            "latency_ms": net.latency_ms, "jitter_ms": net.jitter_ms,
            "loss_percent": net.loss_percent, "delay_method": self.method,
            "distribution": net.distribution,
        }
        if self.method == "nfqueue":
            d["delay"] = (
                "every IPv4 packet crossing the bridge in the switch namespace "
                "(once per direction; br_netfilter hands bridged packets to the "
                "forward hook) goes through iptables -j NFQUEUE --queue-num %d "
                "to dlt-testnet-link, which holds it for a delay drawn %s from "
                "latency +- jitter%s and then accepts it; the kernel has no "
                "sch_netem" % (rules.QUEUE, net.distribution,
                               "" if net.reorder else
                               ", never before the previous packet of the same "
                               "source and destination (no reordering)")
                + "; the helper runs under SCHED_FIFO so that busy nodes do "
                "not make it release packets late")
        elif self.method == "netem":
            d["delay"] = ("tc netem on the switch-side end of each node's link "
                          "(egress towards the node): once per direction; the "
                          "runner's requests to a node are delayed once too "
                          "(its answers and events are not)")
        else:
            d["delay"] = "none (latency_ms = 0)"
        d["loss"] = ("nftables in the switch namespace: numgen random mod "
                     "1000000 < %d drop, once per packet and direction, before "
                     "the delay" % rules.loss_threshold(net.loss_percent)
                     if net.loss_percent > 0 else "none (loss_percent = 0)")
        d["cuts"] = ("nftables in the switch namespace: a set of disconnected "
                     "addresses and one drop rule per partition group")
        d["not_affected"] = ("the runner's own traffic (load, events, control) "
                             "starts or ends in the switch namespace and is "
                             "neither delayed nor dropped; ARP is not IPv4 and "
                             "is neither delayed nor dropped")
        if self.ping is not None:
            rtts = [p for p in self.ping if p["rtt_avg_ms"] is not None]
            d["ping"] = {
                "pairs": self.ping,
                "expected_rtt_ms": 2 * net.latency_ms,
                "expected_rtt_range_ms": [2 * (net.latency_ms - net.jitter_ms),
                                          2 * (net.latency_ms + net.jitter_ms)],
                "rtt_avg_ms": (round(sum(p["rtt_avg_ms"] for p in rtts) / len(rtts), 3)
                               if rtts else None),
                "rtt_min_ms": min((p["rtt_min_ms"] for p in rtts), default=None),
                "rtt_max_ms": max((p["rtt_max_ms"] for p in rtts), default=None),
            }
        return d
