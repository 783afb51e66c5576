"""The testnet manifest: read a TOML file, check every key, and say exactly
what is wrong (file, table, key, value) when something is.

Node indexes: dlt-nodes are 0 .. nodes-1, reference nodes follow them
(nodes .. nodes+reference_nodes-1); perturbations name nodes by index.
"""
import dataclasses
import difflib
import tomllib

KINDS = ("kill", "restart", "pause", "resume", "disconnect", "connect",
         "partition", "heal")
PER_NODE_KINDS = ("kill", "restart", "pause", "resume", "disconnect", "connect")

# Options the runner sets itself for every node; giving them in node_args
# would start nodes the runner cannot find or control.
RUNNER_OWNED_ARGS = ("--port", "--host", "--data-dir", "--caf-port",
                     "--ephemeral", "--config", "--help", "--version")


class ManifestError(ValueError):
    """A manifest that cannot be run; the message says where and why."""


@dataclasses.dataclass
class Network:
    nodes: int
    reference_nodes: int = 0
    link: str = "native"
    topology: str = "random"
    degree: int = 4
    gossip: str = "push"
    sync_interval_s: int = 2
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_percent: float = 0.0
    node_args: list = dataclasses.field(default_factory=list)
    seed: int = 1
    delay_method: str = "auto"       # auto | nfqueue | netem
    distribution: str = "uniform"    # of the delay: uniform | normal
    reorder: bool = False            # let jitter reorder packets of one path
    tls: bool = False                # mutual TLS on native links (a CA per run)

    @property
    def total(self):
        return self.nodes + self.reference_nodes


@dataclasses.dataclass
class Load:
    duration_s: float = 30.0
    tx_per_s: float = 50.0
    miners: int = 1
    mine_interval_s: float = 1.0
    targets: str = "all"             # all | miners: nodes that take transactions
    miner_nodes: list = None         # explicit miner indexes (else spread)
    tx_timeout_s: float = 10.0
    max_in_flight: int = 8           # per node; beyond it a send is skipped


@dataclasses.dataclass
class Perturb:
    at_s: float
    kind: str
    nodes: list = None               # per-node kinds
    groups: list = None              # partition: [[first, last], ...] as given
    number: int = 0                  # 1-based position in the manifest

    def describe(self):
        what = self.nodes if self.nodes is not None else self.groups
        return "#%d %s at %gs%s" % (self.number, self.kind, self.at_s,
                                    "" if what is None else " %s" % what)


@dataclasses.dataclass
class Settle:
    timeout_s: float = 0.0           # 0: 300 s + 5 s per node
    quiet_s: float = 0.0             # 0: chosen from sync_interval_s


@dataclasses.dataclass
class Manifest:
    network: Network
    load: Load
    perturb: list
    settle: Settle
    path: str = "<manifest>"
    warnings: list = dataclasses.field(default_factory=list)
    raw: dict = None

    @property
    def name(self):
        import os
        return os.path.splitext(os.path.basename(self.path))[0] or "testnet"


# -- reading ------------------------------------------------------------------

def load(path):
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ManifestError("%s: no such file" % path) from None
    except tomllib.TOMLDecodeError as e:
        raise ManifestError("%s: not valid TOML: %s" % (path, e)) from None
    return from_dict(data, path)


def loads(text, path="<manifest>"):
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ManifestError("%s: not valid TOML: %s" % (path, e)) from None
    return from_dict(data, path)


class _Checker:
    def __init__(self, path):
        self.path = path

    def fail(self, where, why):
        raise ManifestError("%s: %s: %s" % (self.path, where, why))

    def keys(self, table, allowed, where):
        if not isinstance(table, dict):
            self.fail(where, "must be a table")
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, 1)
                hint = " (did you mean %r?)" % close[0] if close else ""
                self.fail(where, "unknown key %r%s; known keys: %s"
                          % (key, hint, ", ".join(sorted(allowed))))

    def integer(self, value, where, low=None, high=None):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or (isinstance(value, float) and not value.is_integer()):
            self.fail(where, "must be a whole number, not %r" % (value,))
        value = int(value)
        self._range(value, where, low, high)
        return value

    def number(self, value, where, low=None, high=None, low_open=False):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(where, "must be a number, not %r" % (value,))
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            self.fail(where, "must be a finite number")
        if low_open and low is not None and value <= low:
            self.fail(where, "must be greater than %g, not %g" % (low, value))
        self._range(value, where, None if low_open else low, high)
        return value

    def _range(self, value, where, low, high):
        if low is not None and value < low:
            self.fail(where, "must be at least %g, not %g" % (low, value))
        if high is not None and value > high:
            self.fail(where, "must be at most %g, not %g" % (high, value))

    def choice(self, value, where, options):
        if value not in options:
            self.fail(where, "must be one of %s, not %r"
                      % (", ".join(repr(o) for o in options), value))
        return value

    def boolean(self, value, where):
        if not isinstance(value, bool):
            self.fail(where, "must be true or false, not %r" % (value,))
        return value


def _fields(cls):
    return [f.name for f in dataclasses.fields(cls)]


def from_dict(data, path="<manifest>"):
    c = _Checker(path)
    c.keys(data, ["network", "load", "perturb", "settle"], "top level")
    if "network" not in data:
        c.fail("top level", "a [network] table is required")
    net = _network(c, data["network"])
    ld = _load(c, data.get("load", {}), net)
    perturbs = _perturbs(c, data.get("perturb", []), net, ld)
    st = _settle(c, data.get("settle", {}))
    m = Manifest(net, ld, perturbs, st, path=path, raw=data)
    m.warnings = _warnings(m)
    return m


def _network(c, t):
    w = "[network]"
    names = [f for f in _fields(Network)]
    c.keys(t, names, w)
    if "nodes" not in t:
        c.fail(w, "'nodes' is required (the number of dlt-nodes)")
    n = Network(nodes=c.integer(t["nodes"], w + " nodes", 1, 5000))
    n.reference_nodes = c.integer(t.get("reference_nodes", 0),
                                  w + " reference_nodes", 0, 1000)
    n.link = c.choice(t.get("link", n.link), w + " link", ("native", "http"))
    n.topology = c.choice(t.get("topology", n.topology), w + " topology",
                          ("full", "ring", "random"))
    n.degree = c.integer(t.get("degree", min(n.degree, max(1, n.total - 1))),
                         w + " degree", 1)
    if n.topology == "random" and n.total > 1 and n.degree > n.total - 1:
        c.fail(w + " degree", "%d peers per node, but there are only %d "
               "other nodes" % (n.degree, n.total - 1))
    n.gossip = c.choice(t.get("gossip", n.gossip), w + " gossip", ("push", "off"))
    n.sync_interval_s = c.integer(t.get("sync_interval_s", n.sync_interval_s),
                                  w + " sync_interval_s (dlt-node takes whole "
                                  "seconds)", 0, 86400)
    n.latency_ms = c.number(t.get("latency_ms", 0), w + " latency_ms", 0, 10000)
    n.jitter_ms = c.number(t.get("jitter_ms", 0), w + " jitter_ms", 0, 10000)
    if n.jitter_ms > n.latency_ms:
        c.fail(w + " jitter_ms", "jitter (%g ms) must not exceed latency "
               "(%g ms): a packet cannot arrive before it was sent"
               % (n.jitter_ms, n.latency_ms))
    n.loss_percent = c.number(t.get("loss_percent", 0), w + " loss_percent",
                              0, 100)
    if n.loss_percent >= 100:
        c.fail(w + " loss_percent", "100% loss leaves no network")
    args = t.get("node_args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        c.fail(w + " node_args", "must be a list of strings, like "
               '["--requeue-orphans"]')
    for a in args:
        key = a.split("=", 1)[0]
        if key in RUNNER_OWNED_ARGS:
            c.fail(w + " node_args", "%s is set by the runner for every node "
                   "(its own address, port and data directory)" % key)
    n.node_args = list(args)
    n.seed = c.integer(t.get("seed", n.seed), w + " seed", 0)
    n.delay_method = c.choice(t.get("delay_method", n.delay_method),
                              w + " delay_method", ("auto", "nfqueue", "netem"))
    n.distribution = c.choice(t.get("distribution", n.distribution),
                              w + " distribution", ("uniform", "normal"))
    n.reorder = c.boolean(t.get("reorder", n.reorder), w + " reorder")
    n.tls = c.boolean(t.get("tls", n.tls), w + " tls")
    if n.tls and n.link != "native":
        c.fail(w + " tls", "TLS is for native links (link = \"native\")")
    for a in n.node_args:
        if a.split("=", 1)[0] in ("--caf-tls-cert", "--caf-tls-key", "--caf-tls-ca"):
            c.fail(w + " node_args", "%s is set by the runner; use tls = true"
                   % a.split("=", 1)[0])
    return n


def _load(c, t, net):
    w = "[load]"
    c.keys(t, _fields(Load), w)
    d = Load()
    d.duration_s = c.number(t.get("duration_s", d.duration_s), w + " duration_s",
                            0, 86400, low_open=True)
    d.tx_per_s = c.number(t.get("tx_per_s", d.tx_per_s), w + " tx_per_s", 0, 100000)
    d.miners = c.integer(t.get("miners", min(d.miners, net.nodes)),
                         w + " miners", 0, net.nodes)
    d.mine_interval_s = c.number(t.get("mine_interval_s", d.mine_interval_s),
                                 w + " mine_interval_s", 0, 3600, low_open=True)
    d.targets = c.choice(t.get("targets", d.targets), w + " targets",
                         ("all", "miners"))
    if "miner_nodes" in t:
        m = t["miner_nodes"]
        if not isinstance(m, list):
            c.fail(w + " miner_nodes", "must be a list of dlt-node indexes")
        d.miner_nodes = [c.integer(x, w + " miner_nodes", 0, net.nodes - 1)
                         for x in m]
        if len(set(d.miner_nodes)) != len(d.miner_nodes):
            c.fail(w + " miner_nodes", "lists a node twice")
        if "miners" in t and d.miners != len(d.miner_nodes):
            c.fail(w + " miners", "says %d but miner_nodes lists %d"
                   % (d.miners, len(d.miner_nodes)))
        d.miners = len(d.miner_nodes)
    if d.targets == "miners" and d.miners == 0 and d.tx_per_s > 0:
        c.fail(w + " targets", "'miners' with no miners: nowhere to send load")
    d.tx_timeout_s = c.number(t.get("tx_timeout_s", d.tx_timeout_s),
                              w + " tx_timeout_s", 0, 600, low_open=True)
    d.max_in_flight = c.integer(t.get("max_in_flight", d.max_in_flight),
                                w + " max_in_flight", 1, 1024)
    return d


def _perturbs(c, items, net, ld):
    if not isinstance(items, list):
        c.fail("[[perturb]]", "must be an array of tables ([[perturb]])")
    out = []
    last = net.total - 1
    for i, t in enumerate(items, 1):
        w = "[[perturb]] #%d" % i
        c.keys(t, ["at_s", "kind", "nodes", "groups"], w)
        if "at_s" not in t or "kind" not in t:
            c.fail(w, "needs at_s and kind")
        at = c.number(t["at_s"], w + " at_s", 0, ld.duration_s)
        kind = c.choice(t["kind"], w + " kind", KINDS)
        w = "%s (%s at %gs)" % (w, kind, at)
        p = Perturb(at_s=at, kind=kind, number=i)
        if kind in PER_NODE_KINDS:
            if "groups" in t:
                c.fail(w, "%s takes nodes = [...], not groups" % kind)
            if "nodes" not in t:
                c.fail(w, "%s needs nodes = [i, j, ...] (node indexes)" % kind)
            nodes = t["nodes"]
            if not isinstance(nodes, list) or not nodes:
                c.fail(w + " nodes", "must be a non-empty list of node indexes")
            p.nodes = [c.integer(x, w + " nodes", 0, last) for x in nodes]
            if len(set(p.nodes)) != len(p.nodes):
                c.fail(w + " nodes", "lists a node twice")
        elif kind == "partition":
            if "nodes" in t:
                c.fail(w, "partition takes groups = [[first, last], ...], "
                       "not nodes")
            p.groups = _groups(c, t.get("groups"), w + " groups", last)
        else:  # heal
            if "nodes" in t or "groups" in t:
                c.fail(w, "heal takes no nodes or groups: it undoes every cut")
        out.append(p)
    # Perturbations run in time order; at equal times, in manifest order.
    return sorted(out, key=lambda p: (p.at_s, p.number))


def _groups(c, groups, w, last):
    if not isinstance(groups, list) or not groups:
        c.fail(w, "partition needs groups = [[first, last], ...]: each group "
               "a range of node indexes")
    seen = {}
    out = []
    for g in groups:
        if not isinstance(g, list) or len(g) not in (1, 2):
            c.fail(w, "each group is [first, last] (an index range), not %r"
                   % (g,))
        first = c.integer(g[0], w, 0, last)
        second = c.integer(g[-1], w, 0, last)
        if second < first:
            c.fail(w, "group [%d, %d]: last comes before first" % (first, second))
        for i in range(first, second + 1):
            if i in seen:
                c.fail(w, "node %d is in two groups (%s and %s)"
                       % (i, seen[i], [first, second]))
            seen[i] = [first, second]
        out.append([first, second])
    if len(out) < 2 and len(seen) == last + 1:
        c.fail(w, "one group holding every node cuts nothing")
    return out


def _settle(c, t):
    w = "[settle]"
    c.keys(t, _fields(Settle), w)
    s = Settle()
    s.timeout_s = c.number(t.get("timeout_s", 0), w + " timeout_s", 0, 86400)
    s.quiet_s = c.number(t.get("quiet_s", 0), w + " quiet_s", 0, 3600)
    return s


# -- warnings: runnable, but probably not what was meant ------------------------

def _warnings(m):
    warn = []
    net, ld = m.network, m.load
    if ld.miners > 1 and not any(a.split("=")[0] == "--requeue-orphans"
                                 for a in net.node_args):
        warn.append("several miners without --requeue-orphans in node_args: "
                    "transactions of orphaned blocks are dropped (the "
                    "reference's behaviour), so lost_tx will likely be > 0")
    if net.link == "http" and net.sync_interval_s == 0:
        warn.append("link = \"http\" with sync_interval_s = 0: HTTP peers only "
                    "learn blocks when consensus is run; nothing runs it "
                    "during the load")
    if net.link == "native" and net.gossip == "off" and net.sync_interval_s == 0:
        warn.append("gossip off and sync_interval_s = 0: blocks only spread "
                    "during settle")
    # Walk the schedule and flag perturbations that would do nothing.
    state = {i: "up" for i in range(net.total)}
    for p in m.perturb:
        for i in p.nodes or []:
            s = state[i]
            if p.kind == "kill":
                if s == "killed":
                    warn.append("%s: node %d is already killed" % (p.describe(), i))
                state[i] = "killed"
            elif p.kind == "pause":
                if s != "up":
                    warn.append("%s: node %d is %s, not running"
                                % (p.describe(), i, s))
                else:
                    state[i] = "paused"
            elif p.kind == "resume":
                if s != "paused":
                    warn.append("%s: node %d is not paused" % (p.describe(), i))
                else:
                    state[i] = "up"
            elif p.kind == "restart":
                state[i] = "up"
    if ld.tx_per_s > 0 and ld.miners == 0:
        warn.append("no miners: transactions are only mined during settle")
    return warn
