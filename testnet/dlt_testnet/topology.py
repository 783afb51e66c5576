"""Who is where and who talks to whom: addresses in the benchmarking range,
the peer graph, the miners, and partition groups. Pure functions only."""
import collections
import ipaddress
import random

NETWORK = ipaddress.ip_network("198.18.0.0/15")   # RFC 2544: benchmarking
PREFIX_LEN = NETWORK.prefixlen
SWITCH_ADDRESS = "198.18.0.1"                      # the runner's side
_FIRST_NODE = int(ipaddress.ip_address("198.18.1.1"))
MAX_NODES = int(NETWORK.broadcast_address) - _FIRST_NODE
HTTP_PORT = 8000
CAF_PORT = 9000


def address(index):
    """Node index -> its IPv4 address (198.18.1.1 is node 0)."""
    if not 0 <= index < MAX_NODES:
        raise ValueError("node index %d outside the address range" % index)
    return str(ipaddress.ip_address(_FIRST_NODE + index))


def mac(index):
    """Node index -> the fixed MAC address of its eth0 (locally administered)."""
    return "02:64:74:%02x:%02x:%02x" % ((index >> 16) & 255, (index >> 8) & 255,
                                         index & 255)


SWITCH_MAC = "02:64:74:ff:ff:ff"


def index_of(addr):
    return int(ipaddress.ip_address(addr)) - _FIRST_NODE


def graph(total, topology, degree, seed):
    """Undirected peer graph over nodes 0..total-1 as a list of sorted
    neighbour lists.

    full: everyone with everyone. ring: i with i-1 and i+1. random: a random
    cycle through every node (so the graph is connected whatever happens),
    then random edges between nodes that still have fewer than `degree`
    neighbours; deterministic for a seed."""
    adj = [set() for _ in range(total)]

    def link(a, b):
        if a != b:
            adj[a].add(b)
            adj[b].add(a)

    if total <= 1:
        return [sorted(s) for s in adj]
    if topology == "full":
        for a in range(total):
            for b in range(a + 1, total):
                link(a, b)
    elif topology == "ring":
        for a in range(total):
            link(a, (a + 1) % total)
    elif topology == "random":
        rng = random.Random(seed)
        order = list(range(total))
        rng.shuffle(order)
        for k in range(total):
            link(order[k], order[(k + 1) % total])
        want = min(degree, total - 1)
        # Pair up nodes below the wanted degree; a few passes reach it for
        # all but (at most) a handful, which is fine for a peer graph.
        for _ in range(8):
            short = [i for i in range(total) if len(adj[i]) < want]
            if len(short) < 2:
                break
            rng.shuffle(short)
            for a in short:
                if len(adj[a]) >= want:
                    continue
                candidates = [b for b in short
                              if b != a and b not in adj[a] and len(adj[b]) < want]
                if not candidates:
                    candidates = [b for b in range(total)
                                  if b != a and b not in adj[a]
                                  and len(adj[b]) <= want]
                if candidates:
                    link(a, rng.choice(candidates))
    else:
        raise ValueError("unknown topology %r" % topology)
    return [sorted(s) for s in adj]


def is_connected(adj):
    if not adj:
        return True
    seen = {0}
    todo = [0]
    while todo:
        for b in adj[todo.pop()]:
            if b not in seen:
                seen.add(b)
                todo.append(b)
    return len(seen) == len(adj)


def shortest_path(adj, start, goal, allowed=None):
    """BFS path start..goal (both included) through `allowed` nodes."""
    if start == goal:
        return [start]
    prev = {start: None}
    todo = collections.deque([start])
    while todo:
        a = todo.popleft()
        for b in adj[a]:
            if b in prev or (allowed is not None and b not in allowed and b != goal):
                continue
            prev[b] = a
            if b == goal:
                path = [b]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return path[::-1]
            todo.append(b)
    return None


def distances(adj, start):
    dist = {start: 0}
    todo = collections.deque([start])
    while todo:
        a = todo.popleft()
        for b in adj[a]:
            if b not in dist:
                dist[b] = dist[a] + 1
                todo.append(b)
    return dist


def pick_miners(nodes, count, explicit=None):
    """Miners spread evenly over the dlt-nodes (0, n/k, 2n/k, ...)."""
    if explicit is not None:
        return list(explicit)
    if count <= 0:
        return []
    return sorted({(k * nodes) // count for k in range(count)})


def expand_groups(groups, total):
    """[[first, last], ...] -> lists of node indexes; nodes named by no group
    form one more group of their own (so a partition always cuts everyone
    off from every node outside their group)."""
    out = [list(range(a, b + 1)) for a, b in groups]
    named = {i for g in out for i in g}
    rest = [i for i in range(total) if i not in named]
    if rest:
        out.append(rest)
    return out


def index_ranges(indexes):
    """Sorted indexes -> [(first, last), ...] runs of consecutive ones."""
    runs = []
    for i in sorted(set(indexes)):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return [tuple(r) for r in runs]


def group_of(groups_expanded):
    """node -> group number, for a partition given as expanded groups."""
    return {i: g for g, members in enumerate(groups_expanded) for i in members}
