"""Node processes: real dlt-nodes and reference nodes, each in its own
namespace, started, killed (SIGKILL), paused (SIGSTOP), resumed (SIGCONT)
and restarted on the same data directory; plus their memory and CPU."""
import ctypes
import os
import signal
import subprocess
import sys
import time

from . import topology

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def child_setup():
    """Runs in every child before exec: it dies with the runner (SIGKILL of
    the runner leaves no node behind; its namespaces are removed by the next
    run or `dlt-testnet clean`)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Node:
    """One node (dlt-node or reference) across its incarnations."""

    def __init__(self, index, kind, ns, argv, logdir):
        self.index = index
        self.kind = kind                     # "dlt" | "ref"
        self.ns = ns
        self.addr = topology.address(index)
        self.port = topology.HTTP_PORT
        self.http = "%s:%d" % (self.addr, self.port)
        self.caf = ("caf://%s:%d" % (self.addr, topology.CAF_PORT)
                    if kind == "dlt" else None)
        self.argv = argv
        self.out_path = os.path.join(logdir, "n%d.out" % index)
        self.err_path = os.path.join(logdir, "n%d.log" % index)
        self.proc = None
        self.state = "down"                  # down | starting | up | paused | killed
        self.expected_exit = False
        self.crashes = []                    # unexpected exits: (time, status)
        self.incarnations = 0
        self.cpu_done_s = 0.0                # CPU of earlier incarnations
        self.cpu_last_s = 0.0                # of the current one, last sample
        self.rss_max_kb = 0
        self.rss_last_kb = 0
        self.ready_at = None
        self._out_offset = 0

    @property
    def name(self):
        return "%s%d" % ("n" if self.kind == "dlt" else "r", self.index)

    @property
    def url(self):
        return "http://" + self.http

    def start(self):
        self.incarnations += 1
        with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
            self._out_offset = out.tell()
            header = ("--- start %d at %s: %s\n" % (
                self.incarnations, time.strftime("%H:%M:%S"),
                " ".join(self.argv))).encode()
            err.write(header)
            err.flush()
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns] + self.argv,
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                preexec_fn=child_setup, start_new_session=True)
        self.state = "starting"
        self.expected_exit = False
        self.cpu_last_s = 0.0
        self.ready_at = None

    def check_ready(self):
        """True once the node printed its listening line."""
        if self.state != "starting":
            return self.state in ("up", "paused")
        try:
            with open(self.out_path, "rb") as f:
                f.seek(self._out_offset)
                text = f.read().decode(errors="replace")
        except OSError:
            return False
        if "listening on http://" in text:
            self.state = "up"
            self.ready_at = time.monotonic()
            return True
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def poll_exit(self, now):
        """Notes an exit nobody asked for; returns True if it just happened."""
        if self.proc is None or self.state in ("down", "killed"):
            return False
        rc = self.proc.poll()
        if rc is None:
            return False
        self._retire()
        if not self.expected_exit:
            self.crashes.append((now, rc))
            self.state = "down"
            return True
        return False

    def _retire(self):
        self.cpu_done_s += self.cpu_last_s
        self.cpu_last_s = 0.0

    def signal(self, sig):
        if self.alive():
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self):
        self.sample()
        self.expected_exit = True
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        self._retire()
        self.state = "killed"

    def stop(self, timeout=10):
        """Graceful stop: SIGCONT (if paused), SIGTERM, SIGKILL after timeout."""
        if self.proc is None:
            return None
        self.sample()
        self.expected_exit = True
        if self.alive():
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait()
        self._retire()
        self.state = "down"
        return self.proc.returncode

    def pause(self):
        if self.state in ("up", "starting") and self.alive():
            self.signal(signal.SIGSTOP)
            self.state = "paused"
            return True
        return False

    def resume(self):
        if self.state == "paused":
            self.signal(signal.SIGCONT)
            self.state = "up"
            return True
        return False

    def sample(self):
        """Reads RSS and CPU of the live process from /proc."""
        if not self.alive():
            return
        pid = self.proc.pid
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            self.cpu_last_s = (int(fields[11]) + int(fields[12])) / CLK_TCK
            self.rss_last_kb = int(fields[21]) * PAGE // 1024
            self.rss_max_kb = max(self.rss_max_kb, self.rss_last_kb)
        except (OSError, IndexError, ValueError):
            pass

    @property
    def cpu_s(self):
        return self.cpu_done_s + self.cpu_last_s

    def log_tail(self, n=2000):
        try:
            with open(self.err_path, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""


def dlt_argv(binary, index, network, data_dir, certs=None):
    """certs: (cert, key, ca) files when the network runs mutual TLS."""
    addr = topology.address(index)
    argv = [binary, "--port", str(topology.HTTP_PORT), "--host", addr,
            "--data-dir", data_dir, "--gossip", network.gossip,
            "--sync-interval", str(network.sync_interval_s)]
    if network.link == "native":
        argv += ["--caf-port", str(topology.CAF_PORT)]
        if certs:
            argv += ["--caf-tls-cert", certs[0], "--caf-tls-key", certs[1],
                     "--caf-tls-ca", certs[2]]
        else:
            # The testnet's bridge is reachable from its namespaces only.
            argv += ["--caf-insecure"]
    return argv + list(network.node_args)


def ref_argv(launcher, ref_node_py, index):
    return [sys.executable, launcher, ref_node_py, "--host",
            topology.address(index), "--port", str(topology.HTTP_PORT)]


def peer_addresses(nodes, adj, index, link):
    """What node `index` registers: native peers by caf://, everyone else
    (reference nodes, and every peer with link = "http") by host:port."""
    me = nodes[index]
    out = []
    for j in adj[index]:
        peer = nodes[j]
        if me.kind == "dlt" and peer.kind == "dlt" and link == "native":
            out.append(peer.caf)
        else:
            out.append(peer.http)
    return out
