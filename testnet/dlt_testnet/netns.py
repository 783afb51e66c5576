"""Network namespaces: one per node, a bridge in a switch namespace of its
own, and the bookkeeping that lets a later run find and remove what a
crashed run left behind.

Everything a run creates is named dtn-<run id>-...: namespaces
(dtn-<id>-sw, dtn-<id>-n<i>), the work directory (<tmp>/dtn-<id>) and the
state file (/run/dlt-testnet/<id>.json, which names the runner's PID and
start time, so a live run is never mistaken for leftovers). Links, rules and
processes all live inside those namespaces: the root namespace gets nothing.
"""
import concurrent.futures
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time

from . import topology

PREFIX = "dtn-"
STATE_DIR = "/run/dlt-testnet"
NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(RuntimeError):
    pass


def new_run_id():
    return secrets.token_hex(3)


def ns_name(run_id, what):
    return "%s%s-%s" % (PREFIX, run_id, what)


def node_ns(run_id, index):
    return ns_name(run_id, "n%d" % index)


def switch_ns(run_id):
    return ns_name(run_id, "sw")


def port_name(index):
    """Switch-side end of node `index`'s link (inside the switch namespace)."""
    return "p%d" % index


def setns_fd(fd):
    """Moves the calling thread into the network namespace open at fd."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: %s" % os.strerror(err))


def setns(path):
    """Moves the calling thread into the network namespace at `path`."""
    fd = os.open(path, os.O_RDONLY)
    try:
        setns_fd(fd)
    finally:
        os.close(fd)


def _ip(args, batch=None, check=True):
    cmd = ["ip"] + args
    if batch is not None:
        cmd += ["-batch", "-"]
    r = subprocess.run(cmd, input=batch, text=True, capture_output=True)
    if check and r.returncode != 0:
        raise SetupError("%s failed: %s" % (" ".join(cmd), r.stderr.strip()
                                            or r.stdout.strip()))
    return r


def can_create_namespaces():
    """(True, "") or (False, why): probes with a throwaway namespace."""
    if os.geteuid() != 0:
        return False, "network namespaces need root (running as uid %d)" % os.geteuid()
    if shutil.which("ip") is None:
        return False, "the ip command (iproute2) is not installed"
    probe = ns_name("probe" + secrets.token_hex(2), "x")
    r = _ip(["netns", "add", probe], check=False)
    if r.returncode != 0:
        return False, "cannot create a network namespace: " + r.stderr.strip()
    _ip(["netns", "del", probe], check=False)
    return True, ""


# -- creating and deleting -------------------------------------------------------

class Namespaces:
    """The switch namespace with its bridge and one namespace per node."""

    def __init__(self, run_id, total):
        self.run_id = run_id
        self.total = total
        self.switch = switch_ns(run_id)
        self.nodes = [node_ns(run_id, i) for i in range(total)]

    def create(self, adj, segment=True):
        """adj: the peer graph. segment: packets leave nodes at wire size (no
        GSO super-packets), so loss and delay apply per packet as on a real
        link.

        Neighbour (ARP) entries are written, permanent, for every address a
        namespace talks to (the switch: every node; a node: the switch and its
        peers): the kernel's ARP table is one table for all namespaces, and
        its dynamic entries are capped machine-wide (gc_thresh3, 1024 by
        default) -- about 130 nodes would fill it, and then no namespace on
        the machine could resolve a new address. Permanent entries do not
        count against that cap."""
        _ip(["-force"], batch="".join("netns add %s\n" % n
                                      for n in [self.switch] + self.nodes))
        _ip(["-n", self.switch], batch=(
            "link set lo up\n"
            "link add br0 address %s type bridge forward_delay 0 "
            "mcast_snooping 0 nf_call_iptables 1\n" % topology.SWITCH_MAC + (
            "link set br0 addrgenmode none\n"
            "addr add %s/%d dev br0\n"
            "link set br0 up\n" % (topology.SWITCH_ADDRESS, topology.PREFIX_LEN))))
        # Each pair is created with its ends directly in the two namespaces:
        # nothing ever appears in the root namespace.
        _ip([], batch="".join(
            "link add eth0 netns %s address %s type veth peer name %s netns %s\n"
            % (ns, topology.mac(i), port_name(i), self.switch)
            for i, ns in enumerate(self.nodes)))
        _ip(["-n", self.switch], batch="".join(
            "link set %s master br0 addrgenmode none up\n" % port_name(i)
            for i in range(self.total)) + "".join(
            "neigh replace %s lladdr %s dev br0 nud permanent\n"
            % (topology.address(i), topology.mac(i)) for i in range(self.total)))
        extra = " gso_max_segs 1" if segment else ""

        def configure(i):
            neighbours = [(topology.SWITCH_ADDRESS, topology.SWITCH_MAC)] + [
                (topology.address(j), topology.mac(j)) for j in adj[i]]
            _ip(["-n", self.nodes[i]], batch=(
                "link set lo up\n"
                "link set eth0 addrgenmode none%s\n"
                "addr add %s/%d dev eth0\n"
                "link set eth0 up\n" % (extra, topology.address(i),
                                        topology.PREFIX_LEN)) + "".join(
                "neigh replace %s lladdr %s dev eth0 nud permanent\n" % n
                for n in neighbours))

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(configure, range(self.total)))

    def names(self):
        return [self.switch] + self.nodes


def existing_namespaces():
    try:
        return sorted(n for n in os.listdir(NETNS_DIR) if n.startswith(PREFIX))
    except FileNotFoundError:
        return []


def delete_namespaces(names):
    names = [n for n in names if os.path.exists(os.path.join(NETNS_DIR, n))]
    if names:
        _ip(["-force"], batch="".join("netns del %s\n" % n for n in names),
            check=False)


def _ns_inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def pids_in(names):
    """PIDs of processes living in any of the named namespaces."""
    inodes = {}
    for n in names:
        ino = _ns_inode(os.path.join(NETNS_DIR, n))
        if ino is not None:
            inodes[ino] = n
    if not inodes:
        return []
    me = os.getpid()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            link = os.readlink("/proc/%s/ns/net" % entry)
        except OSError:
            continue
        m = re.match(r"net:\[(\d+)\]", link)
        if m and int(m.group(1)) in inodes:
            out.append(int(entry))
    return out


def kill_all(pids, grace_s=2.0):
    """SIGCONT (a stopped process cannot die of SIGTERM), SIGTERM, then
    SIGKILL whatever is left after grace_s."""
    for sig in (signal.SIGCONT, signal.SIGTERM):
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace_s
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        time.sleep(0.05)
    for p in alive:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# -- state files and leftovers -----------------------------------------------------

def start_time(pid):
    """The process's start time in clock ticks since boot (for PID reuse)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def write_state(run_id, workdir, extra=None):
    os.makedirs(STATE_DIR, exist_ok=True)
    state = {"run_id": run_id, "pid": os.getpid(),
             "start_time": start_time(os.getpid()), "workdir": workdir,
             "created": time.time()}
    state.update(extra or {})
    path = os.path.join(STATE_DIR, run_id + ".json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, path)


def read_state(run_id):
    try:
        with open(os.path.join(STATE_DIR, run_id + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def remove_state(run_id):
    try:
        os.unlink(os.path.join(STATE_DIR, run_id + ".json"))
    except FileNotFoundError:
        pass


def runner_alive(state):
    if not state:
        return False
    pid = state.get("pid")
    return bool(pid) and _alive(pid) and start_time(pid) == state.get("start_time")


def known_runs():
    ids = set()
    for n in existing_namespaces():
        ids.add(n[len(PREFIX):].split("-", 1)[0])
    try:
        for f in os.listdir(STATE_DIR):
            if f.endswith(".json"):
                ids.add(f[:-5])
    except FileNotFoundError:
        pass
    return sorted(ids)


def find_leftovers():
    """Run ids whose runner is gone but whose namespaces or files remain."""
    return [r for r in known_runs() if not runner_alive(read_state(r))]


def remove_run(run_id, workdir=None):
    """Removes every trace of one run: processes in its namespaces, the
    namespaces (and with them links and rules), work directory, state."""
    names = [n for n in existing_namespaces()
             if n.startswith("%s%s-" % (PREFIX, run_id))]
    kill_all(pids_in(names))
    delete_namespaces(names)
    state = read_state(run_id)
    for d in {workdir, (state or {}).get("workdir")}:
        if d and os.path.basename(d.rstrip("/")).startswith(PREFIX + run_id):
            shutil.rmtree(d, ignore_errors=True)
    remove_state(run_id)
    return names


def clean_leftovers(log=print):
    removed = []
    for run_id in find_leftovers():
        names = remove_run(run_id)
        log("dlt-testnet: removed leftovers of run %s (%d namespaces)"
            % (run_id, len(names)))
        removed.append(run_id)
    return removed
