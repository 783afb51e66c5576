// The hash of a Python reference node's newest block, computed here: such a
// node sends no hashes, and every other block's hash is the next block's
// previous_hash. Same rule as the nodes (API.md): SHA-256 of Python's
// json.dumps(block, sort_keys=True), byte for byte.
//
// Python tells 5 from 5.0 and JavaScript does not, so numbers keep their
// source text (JSON.parse's reviver gives it in current browsers; elsewhere
// a whole number is taken for an integer, which a Python timestamp never is).

class RawNumber {
  constructor(text, value) {
    this.text = text;
    this.value = value;
  }
}

export function parseKeepingNumbers(text) {
  return JSON.parse(text, (key, value, context) => {
    if (typeof value !== "number") return value;
    const source = context && typeof context.source === "string" ? context.source : null;
    return new RawNumber(source ?? (Number.isInteger(value) ? String(value) : null), value);
  });
}

/** Python's repr() of a float. */
export function pythonFloat(v) {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v === 0) return Object.is(v, -0) ? "-0.0" : "0.0";
  const sign = v < 0 ? "-" : "";
  // toExponential() without digits: the shortest digits that round-trip,
  // the same digits Python's repr chooses.
  const [mantissa, e] = Math.abs(v).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(e);
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
    if (digits.length <= exp + 1) return `${sign}${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
    return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  const rest = digits.length > 1 ? "." + digits.slice(1) : "";
  const expText = String(Math.abs(exp)).padStart(2, "0");
  return `${sign}${digits[0]}${rest}e${exp < 0 ? "-" : "+"}${expText}`;
}

function pythonNumber(n) {
  const text = n.text;
  if (text === null || /[.eE]/.test(text)) return pythonFloat(n.value);
  // A JSON integer: Python keeps every digit; "-0" is the integer 0.
  return /^-0+$/.test(text) ? "0" : text;
}

function pythonString(s) {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else if (c < 0x20 || c > 0x7e) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += s[i];
  }
  return out + '"';
}

// Python sorts keys by code point; JavaScript's default order is by UTF-16
// unit, which differs above U+FFFF.
function byCodePoint(a, b) {
  const x = Array.from(a, (ch) => ch.codePointAt(0));
  const y = Array.from(b, (ch) => ch.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** json.dumps(value, sort_keys=True) of a value from parseKeepingNumbers. */
export function pythonJson(value) {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (value instanceof RawNumber) return pythonNumber(value);
  if (typeof value === "number") return pythonNumber(new RawNumber(null, value));
  if (typeof value === "string") return pythonString(value);
  if (Array.isArray(value)) return "[" + value.map(pythonJson).join(", ") + "]";
  const keys = Object.keys(value).sort(byCodePoint);
  return "{" + keys.map((k) => pythonString(k) + ": " + pythonJson(value[k])).join(", ") + "}";
}

// SHA-256 (FIPS 180-4) for pages the browser does not count as secure
// (plain http:// on another host than localhost has no crypto.subtle).
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export function sha256Hex(bytes) {
  const bitLength = bytes.length * 8;
  const total = Math.ceil((bytes.length + 9) / 64) * 64;
  const msg = new Uint8Array(total);
  msg.set(bytes);
  msg[bytes.length] = 0x80;
  const view = new DataView(msg.buffer);
  view.setUint32(total - 8, Math.floor(bitLength / 2 ** 32));
  view.setUint32(total - 4, bitLength >>> 0);
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  return Array.from(h, (x) => x.toString(16).padStart(8, "0")).join("");
}

async function sha256(text) {
  const bytes = new TextEncoder().encode(text);
  if (globalThis.crypto && crypto.subtle) {
    try {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    } catch { /* fall through to our own */ }
  }
  return sha256Hex(bytes);
}

/** The hash of the last block of a GET /chain body, or null. */
export async function pythonTipHash(chainText) {
  let body;
  try {
    body = parseKeepingNumbers(chainText);
  } catch {
    return null;
  }
  const chain = body && Array.isArray(body.chain) ? body.chain : [];
  if (!chain.length) return null;
  return sha256(pythonJson(chain[chain.length - 1]));
}
