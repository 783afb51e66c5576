// One node's /events (Server-Sent Events), kept open: a dropped stream is
// opened again after a growing, jittered delay, resuming after the last event
// seen (?last_event_id=N: the node replays what was missed, or sends a fresh
// snapshot when it no longer can).

export const EVENT_NAMES = ["snapshot", "block", "chain", "pop", "tx", "peers", "consensus"];

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
// A stream that stayed open this long was healthy: the next drop starts the
// backoff over.
const HEALTHY_MS = 5000;

export class EventStream {
  /**
   * url: the node's /events; onEvent(name, data, id) for every well-formed
   * event; onState(state, detail) with "connecting", "live",
   * "reconnecting" (detail: seconds until the next try) or "closed".
   */
  constructor(url, { onEvent, onState }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onState = onState || (() => {});
    this.source = null;
    this.lastId = null;
    this.failures = 0;
    this.openedAt = 0;
    this.timer = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.source) this.source.close();
    this.source = null;
    this.onState("closed");
  }

  open() {
    if (this.stopped) return;
    const url = new URL(this.url, location.href);
    if (this.lastId !== null) url.searchParams.set("last_event_id", this.lastId);
    let source;
    try {
      source = new EventSource(url.href);
    } catch {
      this.retry();
      return;
    }
    this.source = source;
    this.onState("connecting");
    source.onopen = () => {
      this.openedAt = performance.now();
      this.onState("live");
    };
    // The browser would reconnect on its own, but immediately and without
    // a bound; close and come back on our schedule instead.
    source.onerror = () => {
      if (this.source !== source) return;
      source.close();
      this.source = null;
      if (this.openedAt && performance.now() - this.openedAt > HEALTHY_MS) this.failures = 0;
      this.openedAt = 0;
      this.retry();
    };
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (e) => this.dispatch(source, name, e));
    }
  }

  retry() {
    if (this.stopped) return;
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.failures);
    const delay = base / 2 + Math.random() * (base / 2);
    this.failures = Math.min(this.failures + 1, 16);
    this.onState("reconnecting", Math.ceil(delay / 1000));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), delay);
  }

  dispatch(source, name, event) {
    if (this.source !== source) return;
    // Ids are integers; anything else is not something to resume from.
    if (/^\d{1,15}$/.test(event.lastEventId)) this.lastId = event.lastEventId;
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (data === null || typeof data !== "object" || Array.isArray(data)) return;
    try {
      this.onEvent(name, data, this.lastId);
    } catch (err) {
      // One odd event must not end the stream's processing.
      console.error("explorer: event", name, err);
    }
  }
}
