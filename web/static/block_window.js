// What the page keeps of one node's chain: its height and tip, and a bounded
// window of block summaries (index, hash, link, time, a few transactions,
// shortened). Memory stays the same for a chain of ten blocks or ten
// million: blocks far from what is shown are forgotten and loaded again when
// they come back into view.

import { count, dataText, isHash, shorten, str } from "./dom.js";

export const TX_SHOWN = 3;

/** The summary of a block as nodes send it (null when it is not one). */
export function summarize(block, hash = null) {
  if (block === null || typeof block !== "object") return null;
  const index = count(block.index);
  if (index === null || index < 1) return null;
  const txs = Array.isArray(block.transactions) ? block.transactions : [];
  const shown = [];
  for (const tx of txs.slice(0, TX_SHOWN)) {
    shown.push(shorten(dataText(tx !== null && typeof tx === "object" ? tx.data : tx)));
  }
  const blockHash = isHash(block.hash) ? block.hash : isHash(hash) ? hash : null;
  return {
    index,
    hash: blockHash,
    prev: str(block.previous_hash) ?? "",
    time: typeof block.timestamp === "number" ? block.timestamp : null,
    // A block event of a large block lists only its first transactions and
    // says how many there are.
    txCount: block.truncated === true && count(block.transaction_count) !== null
      ? Math.max(count(block.transaction_count), txs.length) : txs.length,
    txs: shown,
  };
}

export class BlockWindow {
  constructor(capacity = 2000) {
    this.capacity = capacity;
    this.blocks = new Map();
    this.height = 0;
    this.tip = null;
    // Bumped whenever blocks are taken back (pop, replacement, snapshot):
    // an answer to a request sent before must not bring them back.
    this.epoch = 0;
    this.version = 0;
  }

  get(index) {
    return this.blocks.get(index);
  }

  /** Forgets every block, e.g. on a fresh snapshot. */
  reset() {
    this.blocks.clear();
    this.epoch++;
    this.version++;
  }

  /** Adds a summary; hashes follow from links: block i's hash is block i+1's previous_hash. */
  put(summary) {
    if (!summary || summary.index > this.height) return;
    if (!summary.hash) {
      const next = this.blocks.get(summary.index + 1);
      if (next && isHash(next.prev)) summary.hash = next.prev;
      else if (summary.index === this.height && isHash(this.tip)) summary.hash = this.tip;
    }
    const before = this.blocks.get(summary.index - 1);
    if (before && !before.hash && isHash(summary.prev)) before.hash = summary.prev;
    this.blocks.set(summary.index, summary);
    this.version++;
  }

  /** Keeps blocks 1..index only (the rest was popped or replaced). */
  truncate(index) {
    for (const i of this.blocks.keys()) if (i > index) this.blocks.delete(i);
    this.epoch++;
    this.version++;
  }

  /** The node's new height and tip; the tip block learns its hash. */
  setTip(height, tip) {
    this.height = height;
    this.tip = isHash(tip) ? tip : null;
    const top = this.blocks.get(height);
    if (top && this.tip && !top.hash) top.hash = this.tip;
    this.version++;
  }

  /** The indexes in [from, to] (within 1..height) not held. */
  missing(from, to) {
    const out = [];
    const lo = Math.max(1, from);
    const hi = Math.min(this.height, to);
    for (let i = lo; i <= hi; i++) if (!this.blocks.has(i)) out.push(i);
    return out;
  }

  /** Over capacity: forgets the blocks farthest from `center`. */
  trim(center) {
    if (this.blocks.size <= this.capacity * 1.1) return;
    const keys = [...this.blocks.keys()].sort(
      (a, b) => Math.abs(b - center) - Math.abs(a - center));
    for (const i of keys.slice(0, this.blocks.size - this.capacity)) this.blocks.delete(i);
    this.version++;
  }
}
