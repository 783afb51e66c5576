// The notebook's actions on this node, through the same REST API the
// notebook calls (same origin, so the node's Origin check lets them in),
// each answer shown as the node gave it.

import { byId } from "./dom.js";

const BODY_SHOWN = 8000; // characters of an answer shown
const CHAIN_SHOWN = 2; // blocks shown at each end of a chain in an answer

/** The answer for display: long chains keep their first and last blocks. */
function abbreviate(value) {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(abbreviate);
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "chain" && Array.isArray(v) && v.length > 2 * CHAIN_SHOWN + 1) {
      out[k] = [...v.slice(0, CHAIN_SHOWN),
        `\u2026 ${v.length - 2 * CHAIN_SHOWN} more blocks (${v.length} in all) \u2026`,
        ...v.slice(-CHAIN_SHOWN)];
    } else {
      out[k] = abbreviate(v);
    }
  }
  return out;
}

/** JSON on one line, spaced as Python prints it. */
function oneLine(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(oneLine).join(", ")}]`;
  return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${oneLine(v)}`).join(", ")}}`;
}

/**
 * Valid JSON, laid out for reading: the answer's own keys one per line,
 * simple values first (the status before the chain), each block on a line.
 */
function layout(answer) {
  if (answer === null || typeof answer !== "object" || Array.isArray(answer)) return oneLine(answer);
  const simple = (v) => v === null || typeof v !== "object";
  const entries = Object.entries(answer).sort(([, a], [, b]) => simple(b) - simple(a));
  const lines = entries.map(([k, v]) => {
    const key = `  ${JSON.stringify(k)}: `;
    if (Array.isArray(v) && v.length) return `${key}[\n${v.map((x) => `    ${oneLine(x)}`).join(",\n")}\n  ]`;
    return key + oneLine(v);
  });
  return `{\n${lines.join(",\n")}\n}`;
}

function show(request, state, head, body = "") {
  const answer = byId("answer");
  answer.dataset.state = state;
  answer.dataset.request = request;
  byId("answer-head").textContent = head;
  byId("answer-body").textContent = body.length > BODY_SHOWN
    ? body.slice(0, BODY_SHOWN) + `\n\u2026 (${body.length - BODY_SHOWN} more characters)` : body;
}

let busy = 0;

async function call(path, payload) {
  const request = `POST ${path}`;
  busy++;
  byId("answer").setAttribute("aria-busy", "true");
  show(request, "busy", `${request} \u2026`);
  try {
    const res = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
      cache: "no-store",
    });
    const text = await res.text();
    let body = text;
    try {
      body = layout(abbreviate(JSON.parse(text)));
    } catch { /* not JSON: shown as it came */ }
    const state = res.ok ? "ok" : "error";
    show(request, state, `${request} \u2192 ${res.status} ${res.statusText}`.trim(), body);
    return res.ok;
  } catch (err) {
    show(request, "error", `${request}: the node did not answer (${err.message || err})`);
    return false;
  } finally {
    if (--busy === 0) byId("answer").removeAttribute("aria-busy");
  }
}

export function setUpControls() {
  byId("tx-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = byId("tx-data");
    let data = input.value;
    if (byId("tx-json").checked) {
      try {
        data = JSON.parse(data);
      } catch (err) {
        show("POST /transactions/new", "error", `Not sent: the data is not JSON (${err.message}).`);
        input.focus();
        return;
      }
    } else if (data === "") {
      show("POST /transactions/new", "error", "Not sent: type the transaction's data first.");
      input.focus();
      return;
    }
    call("/transactions/new", { data }).then((ok) => {
      if (ok) input.select();
    });
  });
  byId("mine-btn").addEventListener("click", () => call("/mine", {}));
  byId("consensus-btn").addEventListener("click", () => call("/nodes/consensus", {}));
  byId("evil-btn").addEventListener("click", () => call("/action/evil", {}));
  byId("register-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const nodes = byId("register-nodes").value.split(/[\s,]+/).filter((s) => s !== "");
    call("/nodes/register", { nodes });
  });
}
