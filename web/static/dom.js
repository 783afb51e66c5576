// Building elements from data that came over the network: always as text
// nodes or attribute values, never parsed as HTML (tests/unit/
// test_web_assets.cpp refuses the APIs that would).

/** el("li", {class: "x", text: "..."}, child, ...): a new element. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** The element with this id (the page's own, fixed ids). */
export function byId(id) {
  return document.getElementById(id);
}

/** Replaces a node's children by these. */
export function setChildren(node, ...children) {
  node.replaceChildren(...children.filter((c) => c !== null && c !== undefined));
}

// Control characters, line and paragraph separators and the bidirectional
// overrides and isolates: shown as a visible mark, so data can neither break
// the layout nor reorder the text around it.
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/** A transaction's data as one line: strings as they are, the rest as JSON. */
export function dataText(data) {
  let text;
  if (typeof data === "string") {
    text = data;
  } else {
    try {
      text = JSON.stringify(data);
    } catch {
      text = "?";
    }
    if (text === undefined) text = "null";
  }
  return text;
}

/** At most `max` characters (whole code points), "…" when cut. */
export function shorten(text, max = 48) {
  // Cut first, so that a megabyte of data costs no more than its head.
  let head = text.length > max * 2 + 2 ? text.slice(0, max * 2 + 2) : text;
  head = head.replace(INVISIBLE, "\u2423");
  const points = Array.from(head);
  if (points.length <= max && head.length === text.length) return head;
  return points.slice(0, max - 1).join("") + "\u2026";
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Is this a block hash as nodes write them (64 lowercase hex digits)? */
export function isHash(value) {
  return typeof value === "string" && HEX64.test(value);
}

/** "bd539055…cadcfa": enough to tell hashes apart on a projector. */
export function shortHash(hash) {
  if (typeof hash !== "string") return "?";
  if (hash.length <= 14) return shorten(hash, 14);
  return hash.slice(0, 8) + "\u2026" + hash.slice(-4);
}

/** A hue (0-359) drawn from a hash, so equal hashes show the same colour. */
export function hashHue(hash) {
  if (!isHash(hash)) return null;
  return parseInt(hash.slice(0, 6), 16) % 360;
}

const pad = (n) => String(n).padStart(2, "0");

/** A block timestamp (seconds) as local wall-clock time, and its full form. */
export function blockTime(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return { short: "?", full: "" };
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return { short: "?", full: "" };
  return {
    short: `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
    full: d.toString(),
  };
}

/** Now, as "14:05:23", for the activity list. */
export function clock() {
  const d = new Date();
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A non-negative safe integer from the network, or null. */
export function count(value) {
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/** A string from the network, or null. */
export function str(value) {
  return typeof value === "string" ? value : null;
}
