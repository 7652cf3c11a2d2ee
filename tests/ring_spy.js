// Test spy for the ringing alerts (tests/ringing.rs and crates/ccc-e2e/tests/ringing.rs):
// run as a function body in the page before the toolbar rings. It replaces
// `Notification` with a recording class whose permission is "granted" (set
// it to "default" to see `requestPermission`, which grants it), makes
// `document.visibilityState` / `document.hasFocus()` follow `__ring.away`
// (call `__ring.setAway(bool)`, which fires `visibilitychange`), counts
// oscillator starts and stops, and records `ccc:ringing` events. Idempotent:
// a second run resets the records.
if (!window.__ring) {
  const r = (window.__ring = {});
  window.Notification = class {
    static permission = "granted";
    static requestPermission() {
      r.asked++;
      this.permission = "granted";
      return Promise.resolve("granted");
    }
    constructor(title, options) {
      this.title = title;
      this.options = options || {};
      this.closed = false;
      r.notes.push(this);
    }
    close() {
      this.closed = true;
    }
  };
  Object.defineProperty(document, "visibilityState", {
    configurable: true,
    get: () => (r.away ? "hidden" : "visible"),
  });
  document.hasFocus = () => !r.away;
  r.setAway = (away) => {
    r.away = away;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  const proto = OscillatorNode.prototype;
  const start = proto.start;
  const stop = proto.stop;
  proto.start = function (...a) {
    r.started++;
    return start.apply(this, a);
  };
  proto.stop = function (...a) {
    r.stopped++;
    return stop.apply(this, a);
  };
  document.addEventListener("ccc:ringing", (e) => r.events.push(e.detail));
  // What a test reads back (JSON-friendly).
  r.summary = () => ({
    away: r.away,
    title: document.title,
    asked: r.asked,
    started: r.started,
    stopped: r.stopped,
    notes: r.notes.map((n) => ({
      title: n.title,
      body: n.options.body,
      tag: n.options.tag,
      requireInteraction: n.options.requireInteraction,
      closed: n.closed,
    })),
    events: r.events,
    focused: document.activeElement && document.activeElement.getAttribute("data-testid"),
  });
}
Object.assign(window.__ring, { away: true, asked: 0, started: 0, stopped: 0, notes: [], events: [] });
