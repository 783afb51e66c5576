// The chains, one row per node, aligned by block index: column i holds every
// node's block i, so a fork shows as a column where the colours change.
//
// Virtualized: whatever the height, only the columns in view (and a few on
// either side) exist in the page; scrolling asks the rows' sources for the
// blocks that come into view. Past a few hundred thousand blocks the canvas
// would exceed what a browser can lay out, so positions are then scaled.

import { blockTime, el, hashHue, shortHash } from "./dom.js";
import { relate, standing } from "./fork.js";

const OVERSCAN = 3;
const MAX_CANVAS_PX = 8000000;
const HIGHLIGHT_MS = 10000;

function chip(hash) {
  const node = el("span", { class: "chip", "aria-hidden": "true" });
  const hue = hashHue(hash);
  if (hue !== null) node.style.setProperty("--hue", String(hue));
  else node.classList.add("none");
  return node;
}

function blockElement(row, b, status, forkPoint) {
  const time = blockTime(b.time);
  const node = el("article", {
    class: `block ${status}`,
    "data-node": row.key,
    "data-index": b.index,
    "data-hash": b.hash || null,
    "data-diverged": status === "diverged",
    "data-ahead": status === "ahead",
    "data-fork-point": forkPoint,
    "aria-label": `Block ${b.index} of ${row.key}`
      + (status === "diverged" ? ", differs from this node" : "")
      + (forkPoint ? ", fork point" : ""),
  },
  el("div", { class: "b-head" },
    el("span", { class: "b-index", text: `#${b.index}` }),
    forkPoint ? el("span", { class: "b-badge fork", text: "fork point" }) : null,
    status === "diverged" ? el("span", { class: "b-badge diverged", text: "differs" }) : null,
    status === "ahead" ? el("span", { class: "b-badge ahead", text: "ahead" }) : null,
    el("time", { class: "b-time", text: time.short, title: time.full })),
  el("div", { class: "b-line" },
    el("span", { class: "b-key", text: "hash" }), chip(b.hash),
    el("code", { text: b.hash ? shortHash(b.hash) : "\u2026", title: b.hash || null })),
  el("div", { class: "b-line" },
    el("span", { class: "b-key", text: "prev" }), chip(b.prev),
    el("code", { text: b.prev === "0" ? "0 (genesis)" : shortHash(b.prev), title: b.prev || null })));
  const txs = el("ul", { class: "b-txs", "aria-label": `${b.txCount} transactions` });
  for (const t of b.txs) txs.append(el("li", { text: t, title: t }));
  if (b.txCount > b.txs.length) txs.append(el("li", { class: "more", text: `+${b.txCount - b.txs.length} more` }));
  if (b.txCount === 0) txs.append(el("li", { class: "more", text: "no transactions" }));
  node.append(txs);
  return node;
}

function relationText(rel, selfHeight, height) {
  if (!rel) return { kind: "unknown", text: "comparing\u2026" };
  if (rel.fork === null) return { kind: "unknown", text: "comparing\u2026" };
  const k = rel.fork;
  if (k === selfHeight && k === height) return { kind: "same", text: "same chain as this node" };
  if (k === 0) return { kind: "unrelated", text: "no common block (other genesis)" };
  if (k === height) return { kind: "behind", text: `${selfHeight - height} behind this node` };
  if (k === selfHeight) return { kind: "ahead", text: `${height - selfHeight} ahead of this node` };
  return { kind: "forked", text: `forked after #${k}` };
}

export class ChainGrid {
  constructor(scroller) {
    this.scroller = scroller;
    this.canvas = scroller.querySelector(".grid-canvas");
    this.rows = [];
    this.colW = 224;
    this.labelW = 240;
    this.scale = 1;
    this.fullPx = 0;
    this.follow = true;
    this.queued = false;
    this.canvasPx = 0;

    // Measured, not assumed: the column width is a CSS length in rem, so it
    // follows the text size.
    this.probe = el("div", { class: "grid-probe", "aria-hidden": "true" });
    scroller.append(this.probe);
    this.measure();
    new ResizeObserver(() => {
      this.measure();
      this.invalidate();
    }).observe(this.probe);
    new ResizeObserver(() => this.invalidate()).observe(scroller);

    scroller.addEventListener("scroll", () => {
      this.follow = this.atEnd();
      this.invalidate();
    }, { passive: true });
    scroller.addEventListener("keydown", (e) => {
      if (e.target !== scroller || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === "Home") {
        e.preventDefault();
        this.goTo(1);
      } else if (e.key === "End") {
        e.preventDefault();
        this.goToTip();
      }
    });
  }

  measure() {
    this.colW = Math.max(80, this.probe.offsetWidth || 224);
    this.labelW = Math.max(120, this.probe.offsetHeight || 240);
  }

  atEnd() {
    const s = this.scroller;
    return s.scrollLeft + s.clientWidth >= s.scrollWidth - this.colW / 2;
  }

  /** A row for `key` (the node's address); `self` is this node's row. */
  addRow(key, { self = false } = {}) {
    const row = {
      key, self, source: null, role: "", status: "", cells: new Map(),
      rel: null, relKey: "", highlight: null, texts: {},
    };
    row.el = el("div", { class: "chain-row", "data-row": key, "data-self": self });
    row.label = {
      dot: el("span", { class: "l-dot", "aria-hidden": "true" }),
      addr: el("strong", { class: "l-addr", text: key, title: key }),
      role: el("span", { class: "l-role" }),
      stats: el("span", { class: "l-stats" }),
      rel: el("span", { class: "l-rel" }),
      flash: el("span", { class: "l-flash", role: "status" }),
    };
    const l = row.label;
    row.el.append(
      el("div", { class: "row-label" },
        el("div", { class: "l-top" }, l.dot, l.addr), l.role, l.stats, l.rel, l.flash),
      row.cellsEl = el("div", { class: "row-cells" }));
    this.rows.push(row);
    this.canvas.append(row.el);
    this.invalidate();
    return row;
  }

  removeRow(row) {
    this.rows = this.rows.filter((r) => r !== row);
    row.el.remove();
    this.invalidate();
  }

  /** A short highlight of a row: its chain was replaced, or popped by evil. */
  highlight(row, kind, text) {
    row.highlight = { kind, text, until: performance.now() + HIGHLIGHT_MS };
    row.el.dataset.highlight = kind;
    row.el.classList.remove("flash");
    void row.el.offsetWidth; // restart the animation
    row.el.classList.add("flash");
    row.label.flash.textContent = text;
    clearTimeout(row.highlightTimer);
    row.highlightTimer = setTimeout(() => {
      row.highlight = null;
      delete row.el.dataset.highlight;
      row.el.classList.remove("flash");
      row.label.flash.textContent = "";
    }, HIGHLIGHT_MS);
  }

  goTo(index) {
    const view = this.scroller.clientWidth - this.labelW;
    this.follow = false;
    this.scroller.scrollLeft = this.toScroll((index - 1) * this.colW - view / 2 + this.colW / 2);
    this.invalidate();
  }

  /** Scaled canvases: the scroll position for a position on the full row, and back. */
  toScroll(x) {
    if (this.scale === 1) return Math.max(0, x);
    const s = this.scroller;
    return Math.max(0, x / this.virtualMax() * (s.scrollWidth - s.clientWidth));
  }

  fromScroll() {
    const s = this.scroller;
    if (this.scale === 1) return s.scrollLeft;
    return s.scrollLeft / Math.max(1, s.scrollWidth - s.clientWidth) * this.virtualMax();
  }

  virtualMax() {
    return Math.max(1, this.fullPx + this.colW / 3 - (this.scroller.clientWidth - this.labelW));
  }

  goToTip() {
    this.follow = true;
    this.scroller.scrollLeft = this.scroller.scrollWidth;
    this.invalidate();
  }

  invalidate() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => this.render());
  }

  render() {
    this.queued = false;
    const selfRow = this.rows.find((r) => r.self);
    const selfWin = selfRow && selfRow.source ? selfRow.source.window : null;
    let maxHeight = 1;
    for (const r of this.rows) if (r.source) maxHeight = Math.max(maxHeight, r.source.window.height);

    const fullPx = maxHeight * this.colW;
    this.fullPx = fullPx;
    this.scale = fullPx > MAX_CANVAS_PX ? fullPx / MAX_CANVAS_PX : 1;
    const canvasPx = Math.ceil(this.labelW + fullPx / this.scale + this.colW / 3);
    if (canvasPx !== this.canvasPx) {
      this.canvasPx = canvasPx;
      this.canvas.style.width = `${canvasPx}px`;
    }
    const s = this.scroller;
    if (this.follow && !this.atEnd()) s.scrollLeft = s.scrollWidth;

    const view = Math.max(0, s.clientWidth - this.labelW);
    const left = this.fromScroll();
    const first = Math.max(1, Math.floor(left / this.colW) + 1 - OVERSCAN);
    const last = Math.min(maxHeight, Math.ceil((left + view) / this.colW) + OVERSCAN);
    const shift = this.scale > 1 ? left - s.scrollLeft : 0;
    this.first = first;
    this.last = last;
    for (const row of this.rows) this.renderRow(row, selfWin, first, last, shift);
  }

  renderRow(row, selfWin, first, last, shift) {
    const src = row.source;
    this.setText(row, "role", row.role);
    this.setText(row, "status", row.status);
    row.el.dataset.status = src ? src.status : "none";
    if (!src) {
      for (const cell of row.cells.values()) cell.el.remove();
      row.cells.clear();
      this.setText(row, "stats", row.status || "");
      this.setText(row, "rel", "");
      return;
    }
    const w = src.window;
    const top = Math.min(last, w.height);
    if (first <= top) src.request(first, top);
    w.trim((first + last) / 2);

    let rel = null;
    if (!row.self && selfWin && selfWin.height && w.height) {
      const key = `${selfWin.version}/${w.version}`;
      if (key !== row.relKey) {
        row.relKey = key;
        row.rel = relate(selfWin, w);
      }
      rel = row.rel;
      if (rel.probe !== null) {
        src.request(rel.probe, rel.probe, true);
        this.rows.find((r) => r.self).source.request(rel.probe, rel.probe, true);
      }
    }
    const stats = w.height ? `${w.height} block${w.height === 1 ? "" : "s"} \u00b7 tip ${shortHash(w.tip)}` : "no chain yet";
    this.setText(row, "stats", src.statusDetail ? `${stats} \u00b7 ${src.statusDetail}` : stats);
    if (row.self) {
      this.setText(row, "rel", "");
      row.el.dataset.relation = "self";
    } else {
      const r = relationText(rel, selfWin ? selfWin.height : 0, w.height);
      this.setText(row, "rel", r.text);
      row.el.dataset.relation = r.kind;
    }
    const trueFork = rel && rel.fork !== null && rel.fork > 0
      && rel.fork < w.height && rel.fork < selfWin.height ? rel.fork : null;
    if (trueFork !== null) row.el.dataset.fork = String(trueFork);
    else delete row.el.dataset.fork;

    for (const [i, cell] of row.cells) {
      if (i < first || i > top) {
        cell.el.remove();
        row.cells.delete(i);
      }
    }
    for (let i = first; i <= top; i++) {
      const b = w.get(i);
      let status = "self";
      if (!row.self) {
        const mine = selfWin ? selfWin.get(i) : null;
        status = rel ? standing(i, rel, selfWin.height, b && b.hash, mine && mine.hash) : "unknown";
      }
      const forkPoint = trueFork === i;
      const sig = b ? `${b.hash}|${b.prev}|${b.time}|${b.txCount}|${b.txs.join("\u0001")}|${status}|${forkPoint}` : "loading";
      let cell = row.cells.get(i);
      if (!cell || cell.sig !== sig) {
        const node = b ? blockElement(row, b, status, forkPoint)
          : el("div", { class: "block loading", "aria-hidden": "true" },
            el("span", { class: "b-index", text: `#${i}` }), el("span", { text: " loading\u2026" }));
        if (cell) cell.el.replaceWith(node);
        else row.cellsEl.append(node);
        cell = { el: node, sig, x: null };
        row.cells.set(i, cell);
      }
      const x = (i - 1) * this.colW - shift;
      if (cell.x !== x) {
        cell.x = x;
        cell.el.style.transform = `translateX(${x}px)`;
      }
    }
  }

  setText(row, part, text) {
    if (row.texts[part] === text) return;
    row.texts[part] = text;
    if (row.label[part]) row.label[part].textContent = text;
  }
}
