"""From what was recorded to figures and a verdict: chain verification,
propagation times, recovery after perturbations, convergence. Pure
functions over plain data, so they can be tested without a network."""
import collections

from .load import tx_key
from .monitor import block_hash


def percentiles(values):
    """Nearest-rank p50/p90/p99/max (None when there is nothing)."""
    v = sorted(values)
    if not v:
        return {"p50": None, "p90": None, "p99": None, "max": None, "samples": 0}

    def rank(p):
        return v[min(len(v) - 1, max(0, int(-(-p * len(v) // 1)) - 1))]

    return {"p50": round(rank(0.50), 3), "p90": round(rank(0.90), 3),
            "p99": round(rank(0.99), 3), "max": round(v[-1], 3),
            "samples": len(v)}


# -- when did each node first hold each block ------------------------------------

def held_times(history, blocks):
    """history: [(t, height, tip)] of one node; blocks: hash -> (index, prev).
    Returns hash -> the first time the node's chain held that block (its tip
    was the block or a descendant of it)."""
    held = {}
    for t, _, tip in history:
        h = tip
        while h is not None and h not in held:
            held[h] = t
            info = blocks.get(h)
            h = info[1] if info else None
    return held


def propagation_samples(mined, canonical, held, miner_of, window, skip=None):
    """Milliseconds from each canonical block's acknowledgement on its miner
    until each other node held it. mined: hash -> (t_ack, node);
    canonical: set of hashes of the final chain; held: per node dicts from
    held_times; window: (start, end) of ack times to include; skip(h, node)
    -> True leaves a pair out. Returns (samples, pairs never reached)."""
    samples, missing = [], 0
    for h, (t_ack, node) in mined.items():
        if h not in canonical or not window[0] <= t_ack <= window[1]:
            continue
        for x, hx in enumerate(held):
            if x == miner_of.get(h, node) or (skip and skip(h, x)):
                continue
            t = hx.get(h)
            if t is None:
                missing += 1
            else:
                samples.append(max(0.0, (t - t_ack) * 1000))
    return samples, missing


def first_agreement(histories, since):
    """First time >= since at which every node's tip was the same, or None."""
    n = len(histories)
    state = [None] * n
    events = []
    for i, hist in enumerate(histories):
        for t, _, tip in hist:
            if t <= since:
                state[i] = tip
            else:
                events.append((t, i, tip))
    count = collections.Counter(s for s in state)

    def agreed():
        return len(count) == 1 and None not in count

    if agreed():
        return since
    for t, i, tip in sorted(events, key=lambda e: e[0]):
        count[state[i]] -= 1
        if count[state[i]] == 0:
            del count[state[i]]
        state[i] = tip
        count[tip] += 1
        if agreed():
            return t
    return None


def caught_up(affected, since, final_chain_acks, held):
    """When every affected node held the newest final-chain block that had
    been acknowledged by `since` (None if one never did).
    final_chain_acks: [(t_ack, hash)] of the final chain's mined blocks."""
    target = None
    for t_ack, h in final_chain_acks:
        if t_ack <= since and (target is None or t_ack >= target[0]):
            target = (t_ack, h)
    if target is None:
        return since
    latest = since
    for x in affected:
        t = held[x].get(target[1])
        if t is None:
            return None
        latest = max(latest, t)
    return latest


# -- verification ---------------------------------------------------------------------

def chain_problem(chain):
    """None if the chain links up as the reference computes it, else why."""
    if not isinstance(chain, list) or not chain:
        return "empty or not a list"
    prev = None
    for k, b in enumerate(chain):
        if not isinstance(b, dict):
            return "block %d is not an object" % (k + 1)
        if b.get("index") != k + 1:
            return "block %d has index %r" % (k + 1, b.get("index"))
        want = "0" if k == 0 else prev
        if b.get("previous_hash") != want:
            return "block %d: previous_hash is not the hash of block %d" % (k + 1, k)
        prev = block_hash(b)
    return None


def verify(chains, acked, settle_acked, uncertain, unsettled=frozenset()):
    """chains: node -> chain (list) or an error text. acked: [data] of the
    load's acknowledged transactions; settle_acked: the runner's own; uncertain:
    [data] sent without an answer; unsettled: acknowledged data on nodes the
    settle never mined (missing from the chain, but not known to be lost).
    Returns the verification dict."""
    tips = {}
    errors = {}
    for i, c in chains.items():
        if isinstance(c, str):
            errors[i] = c
        else:
            tips[i] = block_hash(c[-1]) if c else None
    by_tip = collections.Counter(tips.values())
    out = {"distinct_tips": len(by_tip) + (1 if errors else 0),
           "unreachable": {str(i): e for i, e in sorted(errors.items())},
           "tips": {t: n for t, n in by_tip.most_common()}}
    if not by_tip:
        out.update(valid=False, problem="no node answered", same_chain=False,
                   blocks=0, lost_tx=len(acked), duplicated_tx=0)
        return out
    main_tip = by_tip.most_common(1)[0][0]
    main = next(c for i, c in chains.items() if tips.get(i) == main_tip)
    problem = chain_problem(main)
    differing = sorted(i for i, c in chains.items()
                       if i not in errors and c != main)
    counts = collections.Counter()
    for b in main:
        for tx in b.get("transactions", []):
            counts[tx_key(tx.get("data") if isinstance(tx, dict) else tx)] += 1
    missing = [d for d in acked if counts[tx_key(d)] == 0]
    lost = [d for d in missing if d not in unsettled]
    dup = [d for d in acked if counts[tx_key(d)] > 1]
    s_lost = [d for d in settle_acked if counts[tx_key(d)] == 0]
    s_dup = [d for d in settle_acked if counts[tx_key(d)] > 1]
    out.update(
        valid=problem is None, problem=problem,
        same_chain=not differing and not errors,
        differing_nodes=differing,
        blocks=len(main), tip=main_tip,
        hashes=[block_hash(b) for b in main],
        lost_tx=len(lost), duplicated_tx=len(dup),
        unsettled_tx=len(missing) - len(lost),
        lost_examples=lost[:10], duplicated_examples=dup[:10],
        settle_lost_tx=len(s_lost), settle_duplicated_tx=len(s_dup),
        uncertain_tx=len(uncertain),
        uncertain_in_chain=sum(1 for d in uncertain if counts[tx_key(d)] > 0),
        chain_tx=sum(counts.values()),
        chain_tx_duplicated=sum(1 for n in counts.values() if n > 1))
    return out


def check(ok, reason):
    return {"pass": bool(ok), "reason": reason}
