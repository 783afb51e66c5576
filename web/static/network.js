// The peers this node has registered, each as a row of the grid, each read
// the best way it can be:
//   caf://host:port  a dlt-node linked natively: its HTTP address comes from
//                    the node (the "http" map of snapshot and peers events);
//                    then its own /events and /blocks;
//   host:port        asked for GET /status first: a dlt-node answers (with
//                    CORS) and is read live; a Python reference node cannot
//                    be read from the page and is polled through this node.

import { LiveSource, PolledSource } from "./sources.js";

export const MAX_PEER_ROWS = 12;
const PROBE_TIMEOUT_MS = 3000;
const REPROBE_MS = 30000;
// host:port as the node lists them (names, IPv4, bracketed IPv6).
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

async function isDltNode(hostPort) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), PROBE_TIMEOUT_MS);
  try {
    const res = await fetch(`http://${hostPort}/status`, { cache: "no-store", signal: abort.signal });
    if (!res.ok) return false;
    const body = await res.json();
    return body !== null && typeof body === "object" && "height" in body && "tip" in body;
  } catch {
    // No CORS header (a Python node), or nobody there: poll it through the node.
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export class Network {
  /** grid: the ChainGrid; hooks.onSource(row, source, kind, detail) for every source's news. */
  constructor(grid, hooks) {
    this.grid = grid;
    this.hooks = hooks;
    this.peers = new Map(); // address -> {row, source, via}
    this.hidden = 0;
  }

  /** The node's peer list changed (or its map of native peers' HTTP addresses). */
  update(addresses, httpMap) {
    const shown = addresses.slice(0, MAX_PEER_ROWS);
    this.hidden = addresses.length - shown.length;
    for (const [address, peer] of this.peers) {
      if (!shown.includes(address)) {
        this.stop(peer);
        this.grid.removeRow(peer.row);
        this.peers.delete(address);
      }
    }
    for (const address of shown) {
      let peer = this.peers.get(address);
      if (!peer) {
        peer = { address, row: this.grid.addRow(address), source: null, via: null, timer: null };
        this.peers.set(address, peer);
      }
      this.place(peer, httpMap);
    }
  }

  place(peer, httpMap) {
    const { address, row } = peer;
    if (address.startsWith("caf://")) {
      const http = typeof httpMap[address] === "string" ? httpMap[address] : null;
      if (http && HOST_PORT.test(http)) {
        if (peer.via !== http) this.live(peer, http, `native link, HTTP ${http}`);
      } else if (!peer.via) {
        row.role = "native link";
        row.status = "HTTP address not known yet";
        this.grid.invalidate();
      }
      return;
    }
    if (peer.via !== null || peer.probing) return;
    if (!HOST_PORT.test(address)) {
      row.role = "not an address the page can read";
      this.grid.invalidate();
      return;
    }
    this.probe(peer);
  }

  async probe(peer) {
    peer.probing = true;
    if (peer.via === null) {
      peer.row.role = "asking\u2026";
      this.grid.invalidate();
    }
    const live = await isDltNode(peer.address);
    peer.probing = false;
    if (this.peers.get(peer.address) !== peer) return;
    if (live) {
      this.live(peer, peer.address, "dlt-node, live");
    } else if (peer.via !== "poll") {
      this.polled(peer);
    }
  }

  live(peer, hostPort, role) {
    this.stop(peer);
    peer.via = hostPort;
    peer.row.role = role;
    peer.row.status = "";
    peer.source = new LiveSource(`http://${hostPort}`, (kind, detail) => this.news(peer, kind, detail));
    peer.row.source = peer.source;
    peer.source.start();
    this.grid.invalidate();
  }

  polled(peer) {
    this.stop(peer);
    peer.via = "poll";
    peer.row.role = "no event stream: polled";
    peer.row.status = "";
    peer.source = new PolledSource(peer.address, (kind, detail) => this.news(peer, kind, detail));
    peer.row.source = peer.source;
    peer.source.start();
    // It may be a dlt-node that was down when asked: ask again now and then.
    peer.timer = setInterval(() => {
      if (!document.hidden && !peer.probing) this.probe(peer);
    }, REPROBE_MS);
    this.grid.invalidate();
  }

  news(peer, kind, detail) {
    if (kind === "highlight") this.grid.highlight(peer.row, detail.kind, detail.text);
    if (kind === "chain" || kind === "status") this.grid.invalidate();
    this.hooks.onSource(peer.row, peer.source, kind, detail);
  }

  stop(peer) {
    clearInterval(peer.timer);
    peer.timer = null;
    if (peer.source) peer.source.stop();
    peer.source = null;
    peer.row.source = null;
    peer.via = null;
  }

  /** Status of each peer's row, for the peers panel. */
  describe(address) {
    const peer = this.peers.get(address);
    if (!peer) return "not shown";
    if (!peer.source) return peer.row.status || peer.row.role || "";
    const s = peer.source;
    if (s.status === "live") return "watching live";
    if (s.status === "polled") return "polled every second";
    return s.statusDetail ? `${s.status}: ${s.statusDetail}` : s.status;
  }
}
