"""Text of the rules that emulate links and cuts in the switch namespace.
Pure functions: the runner feeds their output to `nft -f -`,
`iptables-restore` and `tc -batch`, one command per change.

Every packet between two nodes crosses the bridge once per direction; with
the bridge's nf_call_iptables on, it then passes the IPv4 forward hook of the
switch namespace, where
  1. table ip dlt_testnet (priority -100) drops what a cut or the loss rate
     says (counted), and
  2. iptables' FORWARD (priority 0) hands the survivors to NFQUEUE, whose
     reader (dlt-testnet-link) holds each for latency +- jitter.
Traffic of the runner itself (load, events, control) starts or ends in the
switch namespace, so it never passes the forward hook: it is neither delayed
nor dropped.
"""
from . import topology

TABLE = "dlt_testnet"
QUEUE = 0


def _addr_set(indexes):
    parts = []
    for a, b in topology.index_ranges(indexes):
        if a == b:
            parts.append(topology.address(a))
        else:
            parts.append("%s-%s" % (topology.address(a), topology.address(b)))
    return "{ %s }" % ", ".join(parts)


def loss_threshold(loss_percent):
    """numgen draws 0..999999; a packet is dropped below this."""
    return int(round(loss_percent * 10000))


def base_ruleset(loss_percent):
    lines = [
        "table ip %s {" % TABLE,
        "  counter forwarded {}",
        "  counter lost {}",
        "  counter cut {}",
        "  set disconnected { type ipv4_addr; flags interval; }",
        "  chain partition {",
        "  }",
        "  chain links {",
        "    type filter hook forward priority -100; policy accept;",
        '    counter name "forwarded"',
        '    ip saddr @disconnected counter name "cut" drop',
        '    ip daddr @disconnected counter name "cut" drop',
        "    jump partition",
    ]
    threshold = loss_threshold(loss_percent)
    if threshold > 0:
        lines.append('    numgen random mod 1000000 < %d counter name "lost" drop'
                     % threshold)
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def partition_update(groups_expanded):
    """Replace the partition: a packet leaving a group for a node outside it
    is dropped. An empty list (or one group) heals the partition."""
    lines = ["flush chain ip %s partition" % TABLE]
    if len(groups_expanded) > 1:
        for members in groups_expanded:
            s = _addr_set(members)
            lines.append('add rule ip %s partition ip saddr %s ip daddr != %s '
                         'counter name "cut" drop' % (TABLE, s, s))
    return "\n".join(lines) + "\n"


def disconnect_update(indexes):
    """Replace the set of nodes cut off from everyone."""
    lines = ["flush set ip %s disconnected" % TABLE]
    if indexes:
        lines.append("add element ip %s disconnected %s"
                     % (TABLE, _addr_set(indexes)))
    return "\n".join(lines) + "\n"


def nfqueue_rules():
    """iptables-restore input: every forwarded IPv4 packet goes to the
    delay helper. No --queue-bypass: if the helper dies, traffic stops
    (and the runner notices) instead of flowing undelayed unnoticed."""
    return ("*filter\n"
            "-A FORWARD -j NFQUEUE --queue-num %d\n"
            "COMMIT\n" % QUEUE)


def netem_batch(ports, latency_ms, jitter_ms, distribution):
    """tc -batch input: netem on the switch side of each node's link
    (egress towards the node), so each packet is delayed once per direction."""
    delay = "delay %gms" % latency_ms
    if jitter_ms > 0:
        delay += " %gms" % jitter_ms
        if distribution == "normal":
            delay += " distribution normal"
    return "".join("qdisc add dev %s root netem limit 100000 %s\n" % (p, delay)
                   for p in ports)


def parse_counters(nft_json):
    """`nft -j list counters table ip dlt_testnet` -> {name: packets}."""
    out = {}
    for item in nft_json.get("nftables", []):
        c = item.get("counter")
        if c and c.get("table") == TABLE:
            out[c["name"]] = c.get("packets", 0)
    return out
