// Where another node's chain leaves this node's. Chains are hash-linked, so
// equal hashes at index i mean equal blocks 1..i, and different hashes at i
// mean different blocks from i on: the fork point is the last index where
// the hashes agree (0 when not even the genesis blocks do, as for two nodes
// that each mined their own). Only the blocks both windows hold are
// compared; when they do not settle it, `probe` names an index to load from
// both nodes (a binary search, a few requests even on long chains).

/**
 * Returns {fork, lo, hi, top, probe}: fork is the fork point when known
 * (else null); lo is an index known to be shared (0: none known), hi one
 * known to differ or past the shorter chain, whose height is top.
 */
export function relate(self, other) {
  const top = Math.min(self.height, other.height);
  let lo = 0;
  let hi = top + 1;
  if (self.tip && self.tip === other.tip && self.height === other.height) {
    return { fork: top, lo: top, hi, top, probe: null };
  }
  const [few, many] = self.blocks.size <= other.blocks.size ? [self, other] : [other, self];
  for (const [i, b] of few.blocks) {
    if (i > top) continue;
    const c = many.blocks.get(i);
    if (!c || !b.hash || !c.hash) continue;
    if (b.hash === c.hash) {
      if (i > lo) lo = i;
    } else if (i < hi) {
      hi = i;
    }
  }
  // The shorter chain's tip is known without its block.
  const shorter = self.height <= other.height ? self : other;
  const longer = shorter === self ? other : self;
  const atTop = longer.blocks.get(top);
  if (top > 0 && shorter.tip && atTop && atTop.hash) {
    if (atTop.hash === shorter.tip) lo = Math.max(lo, top);
    else hi = Math.min(hi, top);
  }
  if (lo >= hi) {
    // Blocks from different moments (a request answered across a change):
    // undecided until the windows agree again.
    return { fork: null, lo: 0, hi: top + 1, top, probe: null };
  }
  if (hi === lo + 1) return { fork: lo, lo, hi, top, probe: null };
  return { fork: null, lo, hi, top, probe: Math.max(1, Math.floor((lo + hi) / 2)) };
}

/**
 * How a block of the other chain stands to this node's chain at the same
 * index: "same", "diverged", "ahead" (past this node's tip, on top of it),
 * or "unknown" (not settled yet).
 */
export function standing(index, rel, selfHeight, hash, selfHash) {
  if (rel.fork !== null) {
    if (index <= rel.fork) return "same";
    if (index > selfHeight && rel.fork === selfHeight) return "ahead";
    return "diverged";
  }
  if (index <= rel.lo) return "same";
  if (index >= rel.hi && rel.hi <= rel.top) return "diverged";
  if (hash && selfHash) return hash === selfHash ? "same" : "diverged";
  return "unknown";
}
