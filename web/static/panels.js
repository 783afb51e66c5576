// The panels around the grid: this node's facts in the header, its pending
// transactions, its peers with their link state, and what just happened.
// Everything comes from this node's event stream; the pending list is read
// again (GET /transactions/pending) only when an event says it changed.

import { byId, clock, count, dataText, el, setChildren, shorten } from "./dom.js";

const PENDING_SHOWN = 30;
const ACTIVITY_KEPT = 60;

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export class Panels {
  constructor(self, network) {
    this.self = self;
    this.network = network;
    this.pendingItems = [];
    this.pendingTimer = null;
    this.pendingBusy = false;
    this.pendingAgain = false;
    this.activity = [];
    this.activityTimer = null;
    byId("self-address").textContent = location.host;
  }

  connection(state, detail) {
    const conn = byId("conn");
    conn.dataset.state = state;
    conn.textContent = state === "live" ? "live"
      : state === "reconnecting" ? `reconnecting (${detail})`
      : state === "closed" ? "closed" : "connecting\u2026";
  }

  facts() {
    const s = this.self;
    const w = s.window;
    byId("self-height").textContent = w.height ? String(w.height) : "\u2013";
    byId("self-pending").textContent = s.pending === null ? "\u2013" : String(s.pending);
    byId("self-peers").textContent = String(s.peers.length);
    // The tab says which node and how far, among many open tabs.
    document.title = `${w.height ? `#${w.height} \u00b7 ` : ""}${location.host} \u00b7 dlt-node explorer`;
  }

  // -- pending transactions ------------------------------------------------

  /** Reads the first pending transactions again (after a snapshot, a block, a replacement). */
  refreshPending() {
    clearTimeout(this.pendingTimer);
    this.pendingTimer = setTimeout(() => this.loadPending(), 100);
  }

  async loadPending() {
    if (this.pendingBusy) {
      this.pendingAgain = true;
      return;
    }
    this.pendingBusy = true;
    try {
      const res = await fetch(`/transactions/pending?limit=${PENDING_SHOWN}`, { cache: "no-store" });
      if (res.ok) {
        const body = await res.json();
        if (Array.isArray(body.transactions)) {
          this.pendingItems = body.transactions.slice(0, PENDING_SHOWN).map((t) => shorten(dataText(t && t.data), 80));
        }
        if (count(body.pending) !== null) this.self.pending = body.pending;
        this.showPending();
      }
    } catch { /* the next event brings it again */ } finally {
      this.pendingBusy = false;
      if (this.pendingAgain) {
        this.pendingAgain = false;
        this.refreshPending();
      }
    }
  }

  /** A tx event: new transactions are appended (the list is oldest first). */
  addPending(transactions) {
    if (Array.isArray(transactions)) {
      for (const t of transactions) {
        if (this.pendingItems.length >= PENDING_SHOWN) break;
        this.pendingItems.push(shorten(dataText(t && t.data), 80));
      }
    }
    this.showPending();
  }

  showPending() {
    const total = this.self.pending ?? this.pendingItems.length;
    if (this.pendingItems.length > total) this.pendingItems.length = total;
    byId("pending-count").textContent = String(total);
    setChildren(byId("pending-list"), ...this.pendingItems.map((t) => el("li", { class: "tx", text: t, title: t })));
    byId("pending-empty").hidden = total > 0;
    const more = byId("pending-more");
    more.hidden = total <= this.pendingItems.length;
    more.textContent = `and ${total - this.pendingItems.length} more`;
    this.facts();
  }

  // -- peers -----------------------------------------------------------------

  peers() {
    const s = this.self;
    const items = s.peers.map((address) => {
      const native = address.startsWith("caf://");
      const link = native ? (s.links[address] === "up" ? "up" : s.links[address] === "down" ? "down" : "unknown") : null;
      const http = native && typeof s.http[address] === "string" ? s.http[address] : null;
      return el("li", { class: "peer", "data-peer": address },
        el("div", { class: "p-top" },
          el("strong", { class: "p-addr", text: address, title: address }),
          el("span", { class: `pill ${native ? "native" : "http"}`, text: native ? "native" : "HTTP" }),
          link ? el("span", { class: `pill link-${link}`, "data-link": link, text: `link ${link}` }) : null),
        el("div", { class: "p-detail", text: [http ? `HTTP ${http}` : null, this.network.describe(address)].filter(Boolean).join(" \u00b7 ") }));
    });
    setChildren(byId("peer-list"), ...items);
    byId("peers-count").textContent = String(s.peers.length);
    byId("peers-empty").hidden = s.peers.length > 0;
    const note = byId("rows-note");
    note.hidden = this.network.hidden <= 0;
    note.textContent = `${plural(this.network.hidden, "more peer")} not shown: the grid shows the first rows only.`;
    this.facts();
  }

  // -- activity ----------------------------------------------------------------

  /**
   * A line of activity. Lines are added at most a few times a second, the
   * newest ACTIVITY_KEPT only: a node mining hundreds of blocks a second
   * costs the page no more than one that mines one.
   */
  log(node, text, kind = "") {
    this.activity.push({ time: clock(), node, text: shorten(text, 200), kind });
    if (this.activity.length > ACTIVITY_KEPT) this.activity.splice(0, this.activity.length - ACTIVITY_KEPT);
    if (this.activityTimer === null) this.activityTimer = setTimeout(() => this.showActivity(), 250);
  }

  showActivity() {
    this.activityTimer = null;
    const list = byId("activity-list");
    const lines = this.activity.splice(0).reverse().map((a) => el("li", { class: `act ${a.kind}` },
      el("time", { text: a.time }),
      el("span", { class: "act-node", text: a.node, title: a.node }),
      el("span", { class: "act-text", text: a.text })));
    list.prepend(...lines);
    while (list.children.length > ACTIVITY_KEPT) list.lastElementChild.remove();
    byId("activity-empty").hidden = list.children.length > 0;
  }

  /** One event of a live node (this one or a peer) as a line of activity. */
  logEvent(node, name, d, isSelf) {
    switch (name) {
      case "block": {
        const n = Array.isArray(d.transactions) ? d.transactions.length : 0;
        const how = d.origin === "gossip" ? "received" : "mined";
        this.log(node, `${how} block #${count(d.index) ?? "?"} (${plural(n, "transaction")})`, how);
        break;
      }
      case "tx":
        if (isSelf) this.log(node, `${plural(count(d.added) ?? 0, "transaction")} queued, ${count(d.pending) ?? "?"} pending`, "tx");
        break;
      case "consensus": {
        const skipped = Array.isArray(d.skipped) ? d.skipped.length : 0;
        const status = typeof d.status === "string" ? d.status : "?";
        this.log(node, `consensus: \u201c${status}\u201d \u00b7 asked ${count(d.asked) ?? "?"}, answered ${count(d.answered) ?? "?"}`
          + (skipped ? `, ${skipped} skipped` : "") + ` \u00b7 ${count(d.duration_ms) ?? "?"} ms`,
          d.replaced ? "replaced" : "consensus");
        break;
      }
      case "peers":
        if (isSelf) this.log(node, `peers: ${Array.isArray(d.total_nodes) && d.total_nodes.length ? d.total_nodes.join(", ") : "none"}`, "peers");
        break;
      default:
        break;
    }
  }
}
