// The explorer: this node's row fed by its own event stream, one row per
// registered peer, the panels and the actions. See index.html for the page.

import { ChainGrid } from "./chain_grid.js";
import { setUpControls } from "./controls.js";
import { byId, count } from "./dom.js";
import { Network } from "./network.js";
import { Panels } from "./panels.js";
import { LiveSource } from "./sources.js";
import { setUpTheme } from "./theme.js";

setUpTheme();
setUpControls();

const grid = new ChainGrid(byId("grid"));
const selfRow = grid.addRow(location.host, { self: true });
selfRow.role = "this node, live";

let panels = null;
const self = new LiveSource("", (kind, detail) => {
  switch (kind) {
    case "chain":
      grid.invalidate();
      panels.facts();
      break;
    case "status":
      panels.connection(self.status, self.statusDetail);
      grid.invalidate();
      break;
    case "highlight":
      grid.highlight(selfRow, detail.kind, detail.text);
      panels.log("this node", detail.text, detail.kind);
      break;
    case "event":
      onSelfEvent(detail.name, detail.data);
      break;
    default:
      break;
  }
});
selfRow.source = self;

const network = new Network(grid, {
  onSource(row, source, kind, detail) {
    if (kind === "highlight") panels.log(row.key, detail.text, detail.kind);
    else if (kind === "log") panels.log(row.key, detail, "mined");
    else if (kind === "event") panels.logEvent(row.key, detail.name, detail.data, false);
    else if (kind === "status") panels.peers();
  },
});
panels = new Panels(self, network);

function onSelfEvent(name, d) {
  switch (name) {
    case "snapshot":
      network.update(self.peers, self.http);
      panels.peers();
      panels.refreshPending();
      break;
    case "block":
    case "chain":
      // Mined (or orphaned and requeued) transactions leave or join the list.
      panels.refreshPending();
      break;
    case "tx":
      panels.addPending(d.transactions);
      break;
    case "peers":
      network.update(self.peers, self.http);
      panels.peers();
      break;
    default:
      break;
  }
  panels.logEvent("this node", name, d, true);
}

byId("go-genesis").addEventListener("click", () => grid.goTo(1));
byId("go-tip").addEventListener("click", () => grid.goToTip());
byId("goto-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const index = Number(byId("goto-index").value);
  if (Number.isSafeInteger(index) && index >= 1) grid.goTo(index);
});

// This node's native address, once (the stream carries everything else).
fetch("/status", { cache: "no-store" }).then((r) => (r.ok ? r.json() : null)).then((s) => {
  if (s && typeof s.native === "string") {
    byId("self-address").textContent = `${location.host} \u00b7 ${s.native}`;
  }
  if (s && count(s.height) !== null && !self.window.height) panels.facts();
}).catch(() => {});

self.start();
