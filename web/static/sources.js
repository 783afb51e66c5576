// Where a row of the page gets its chain from.
//
// LiveSource: a dlt-node (this one, or a peer whose HTTP address we know):
// its /events keep height, tip and the newest blocks current; older blocks
// come from its /blocks when they scroll into view. Peers are read across
// origins (the node sends Access-Control-Allow-Origin on read-only GETs).
//
// PolledSource: a Python reference node, which has neither events nor CORS:
// this node fetches its /chain for us (GET /nodes/peer-chain), at most once
// a second and only while the page is visible.
//
// Both tell their listener: ("chain") blocks or tip changed, ("status"),
// ("highlight", {kind, text}) a replacement or a pop, ("log", text), and
// ("event", {name, data}) for every event of a live stream.

import { BlockWindow, summarize } from "./block_window.js";
import { count, isHash, str } from "./dom.js";
import { pythonTipHash } from "./py_hash.js";
import { EventStream } from "./stream.js";

const MAX_FETCH = 500; // blocks per /blocks request (the node allows 1000)
const MAX_INFLIGHT = 2;

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

class Source {
  constructor(listener) {
    this.listener = listener;
    this.window = new BlockWindow();
    this.status = "connecting";
    this.statusDetail = "";
  }

  emit(kind, detail) {
    this.listener(kind, detail);
  }

  setStatus(status, detail = "") {
    if (status === this.status && detail === this.statusDetail) return;
    this.status = status;
    this.statusDetail = detail;
    this.emit("status");
  }
}

export class LiveSource extends Source {
  /** base: "" for this node, else "http://host:port". */
  constructor(base, listener) {
    super(listener);
    this.base = base;
    this.kind = "live";
    this.inflight = 0;
    this.loading = new Set();
    this.coolUntil = 0;
    this.failures = 0;
    this.version = null;
    this.pending = null;
    this.peers = [];
    this.links = {};
    this.http = {};
    this.stream = new EventStream(base + "/events", {
      onEvent: (name, data) => this.onEvent(name, data),
      onState: (state, detail) =>
        this.setStatus(state, state === "reconnecting" ? `retry in ${detail} s` : ""),
    });
  }

  start() {
    this.stream.start();
  }

  stop() {
    this.stream.stop();
  }

  onEvent(name, d) {
    const w = this.window;
    switch (name) {
      case "snapshot": {
        w.reset();
        w.setTip(count(d.height) ?? 0, str(d.tip));
        for (const b of Array.isArray(d.blocks) ? d.blocks : []) w.put(summarize(b));
        this.pending = count(d.pending);
        this.takePeers(d.peers, d.links, d.http);
        this.version = str(d.version);
        this.emit("chain");
        break;
      }
      case "block": {
        const index = count(d.index);
        if (!index) return;
        const height = count(d.height) ?? index;
        const hash = str(d.hash);
        if (index <= w.height) {
          // Our view is ahead of this block: something was taken back that
          // we did not hear of. Keep what is certainly shared.
          w.truncate(index - 1);
        } else if (index === w.height + 1 && isHash(w.tip) && d.previous_hash !== w.tip) {
          w.reset();
        }
        w.setTip(height, str(d.tip) ?? hash);
        w.put(summarize(d, hash));
        if (count(d.pending) !== null) this.pending = d.pending;
        this.emit("chain");
        break;
      }
      case "chain": {
        const fork = count(d.fork_index) ?? 0;
        const dropped = count(d.dropped) ?? 0;
        const added = count(d.added) ?? 0;
        const peer = str(d.peer) ?? "a peer";
        w.truncate(fork);
        w.setTip(count(d.height) ?? fork, str(d.tip));
        this.emit("chain");
        if (dropped > 0) {
          this.emit("highlight", {
            kind: "replaced",
            text: `replaced by ${peer}'s chain: kept ${fork ? "#1\u2013#" + fork : "none"}, `
              + `dropped ${dropped}, added ${added}`,
          });
        } else {
          this.emit("highlight", {
            kind: "extended",
            text: `caught up with ${peer}: ${plural(added, "block")} added`,
          });
        }
        break;
      }
      case "pop": {
        const index = count(d.index);
        if (!index) return;
        w.truncate(index - 1);
        w.setTip(count(d.height) ?? index - 1, str(d.tip));
        this.emit("chain");
        this.emit("highlight", { kind: "popped", text: `evil: block #${index} popped` });
        break;
      }
      case "tx":
        if (count(d.pending) !== null) this.pending = d.pending;
        break;
      case "peers":
        this.takePeers(d.total_nodes, d.links, d.http);
        break;
      default:
        break;
    }
    this.emit("event", { name, data: d });
  }

  takePeers(peers, links, http) {
    if (Array.isArray(peers)) this.peers = peers.filter((p) => typeof p === "string");
    if (links && typeof links === "object") this.links = links;
    if (http && typeof http === "object") this.http = http;
  }

  /** Loads what is missing of blocks from..to (and the one after, for to's hash). */
  request(from, to) {
    const w = this.window;
    if (this.inflight >= MAX_INFLIGHT || performance.now() < this.coolUntil) return;
    const wanted = w.missing(from, to + 1).filter((i) => !this.loading.has(i));
    // Runs of consecutive indexes, one request each.
    for (let k = 0; k < wanted.length && this.inflight < MAX_INFLIGHT;) {
      let n = 1;
      while (n < MAX_FETCH && k + n < wanted.length && wanted[k + n] === wanted[k] + n) n++;
      this.fetchBlocks(wanted[k], n);
      k += n;
    }
  }

  async fetchBlocks(from, n) {
    const w = this.window;
    const epoch = w.epoch;
    for (let i = from; i < from + n; i++) this.loading.add(i);
    this.inflight++;
    try {
      const res = await fetch(`${this.base}/blocks?from=${from}&count=${n}`, { cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      this.failures = 0;
      // A pop, replacement or snapshot since the request: these may be old.
      if (epoch !== w.epoch || !body || !Array.isArray(body.blocks)) return;
      for (const b of body.blocks) w.put(summarize(b));
      this.emit("chain");
    } catch {
      this.failures = Math.min(this.failures + 1, 6);
      this.coolUntil = performance.now() + 500 * 2 ** this.failures;
      setTimeout(() => this.emit("chain"), 500 * 2 ** this.failures + 10);
    } finally {
      for (let i = from; i < from + n; i++) this.loading.delete(i);
      this.inflight--;
    }
  }
}

const POLL_MS = 1000;

export class PolledSource extends Source {
  /** address: the peer as listed in total_nodes; asked through this node. */
  constructor(address, listener) {
    super(listener);
    this.address = address;
    this.kind = "polled";
    this.timer = null;
    this.stopped = true;
    this.wanted = [1, 1];
    this.probes = [];
    this.tipKey = "";
    this.failures = 0;
    this.onVisible = () => {
      if (!document.hidden && this.timer === null && !this.stopped) this.poll();
    };
  }

  start() {
    this.stopped = false;
    document.addEventListener("visibilitychange", this.onVisible);
    this.poll();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    document.removeEventListener("visibilitychange", this.onVisible);
  }

  /**
   * Remembered for the next poll: only blocks in view are kept, and the few
   * a fork search asks for (probe).
   */
  request(from, to, probe = false) {
    if (!probe) {
      this.wanted = [from, to];
    } else if (!this.probes.includes(from)) {
      this.probes.push(from);
      if (this.probes.length > 32) this.probes.shift();
    }
  }

  schedule(ms) {
    clearTimeout(this.timer);
    this.timer = null;
    // Hidden page: no polling at all until it is shown again.
    if (this.stopped || document.hidden) return;
    this.timer = setTimeout(() => this.poll(), ms);
  }

  async poll() {
    this.timer = null;
    if (this.stopped || document.hidden) return;
    const started = performance.now();
    let wait = POLL_MS;
    try {
      const res = await fetch(`/nodes/peer-chain?node=${encodeURIComponent(this.address)}`,
        { cache: "no-store" });
      const text = await res.text();
      if (!res.ok) {
        let why = `HTTP ${res.status}`;
        try {
          const err = JSON.parse(text);
          if (typeof err.error === "string") why = err.error;
        } catch { /* not JSON: the status says enough */ }
        throw new Error(why);
      }
      const body = JSON.parse(text);
      if (!body || !Array.isArray(body.chain)) throw new Error("no chain in the answer");
      if (this.stopped) return;
      await this.take(body.chain, text);
      this.failures = 0;
      this.setStatus("polled");
      // A large chain costs the browser and the node: poll it less often.
      wait = Math.max(POLL_MS, 4 * (performance.now() - started));
    } catch (err) {
      this.failures = Math.min(this.failures + 1, 5);
      wait = POLL_MS * 2 ** this.failures;
      this.setStatus("unreachable", String(err.message || err).slice(0, 120));
    }
    this.schedule(wait);
  }

  async take(chain, text) {
    const w = this.window;
    const n = chain.length;
    const hashAt = (i) => (i >= 1 && i < n && isHash(chain[i]?.previous_hash) ? chain[i].previous_hash : null);
    const last = chain[n - 1];
    const key = last ? `${n}:${last.previous_hash}:${last.timestamp}` : "0";
    let tip = w.tip;
    if (key !== this.tipKey) {
      tip = n ? await pythonTipHash(text) : null;
      this.tipKey = key;
    }
    const hashOf = (i) => (i === n ? tip : hashAt(i));

    const oldHeight = w.height;
    const oldTip = w.tip;
    if (oldHeight && (n !== oldHeight || tip !== oldTip)) {
      if (n > oldHeight && hashOf(oldHeight) === oldTip) {
        this.emit("log", `${plural(n - oldHeight, "new block")}, now ${n}`);
      } else if (n < oldHeight && w.get(n)?.hash === tip && tip) {
        this.emit("highlight", { kind: "popped", text: `evil: ${plural(oldHeight - n, "block")} popped` });
        w.truncate(n);
      } else {
        let fork = 0;
        for (const [i, b] of w.blocks) if (b.hash && b.hash === hashOf(i) && i > fork) fork = i;
        this.emit("highlight", {
          kind: "replaced",
          text: `chain replaced: kept ${fork ? "#1\u2013#" + fork : "no block"}, now ${n} blocks`,
        });
        w.truncate(fork);
      }
    }
    w.setTip(n, tip);
    // Only what is in view and the newest blocks are kept, by position (a
    // node's own "index" fields are not trusted to say where a block sits).
    const keep = (i) => {
      const s = summarize(chain[i - 1], hashOf(i));
      if (s) {
        s.index = i;
        s.hash = hashOf(i);
        w.put(s);
      }
    };
    const [from, to] = this.wanted;
    for (let i = Math.max(1, from); i <= Math.min(n, to + 1); i++) keep(i);
    for (let i = Math.max(1, n - 30, to + 2); i <= n; i++) keep(i);
    for (const i of this.probes) {
      if (i >= 1 && i <= n) keep(i);
      if (i + 1 <= n) keep(i + 1);
    }
    w.trim((from + to) / 2);
    this.emit("chain");
  }
}
