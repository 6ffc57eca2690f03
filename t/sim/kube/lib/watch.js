'use strict';
// WATCH streams (notes §3.3): a chunked 200 response of newline-terminated
// JSON events {type, object}. From resourceVersion unset or "0" the stream
// starts with a synthetic ADDED per existing object; from a given
// resourceVersion it replays the retained changes after it; too old a
// resourceVersion yields either a 200 stream carrying one ERROR event with a
// 410 Expired Status, or a plain HTTP 410 (the form is an admin setting).
// BOOKMARK events carry only metadata.resourceVersion. Selectors turn
// changes into ADDED/DELETED as objects enter or leave the selection, as the
// watch cache does. A stream ends after timeoutSeconds.

const { statuses, makeStatus } = require('./status');
const { TooOldError } = require('./store');
const S = require('./selector');
const { clone } = require('./util');
const { apiVersionOf } = require('./registry');

let nextWatchId = 1;

class WatchStream {
  constructor(sim, res, resource, ns, q, info) {
    this.id = nextWatchId++;
    this.sim = sim;
    this.res = res;
    this.resource = resource;
    this.ns = ns;
    this.info = info;
    this.sent = 0;
    this.started = Date.now();
    this.timers = [];
    this.bookmarkTimer = null;
    this.closed = false;
    this.unsubscribe = null;
    this.bookmarks = q.allowWatchBookmarks === 'true' || q.allowWatchBookmarks === '1';
    this.labelReqs = sim.registry.labelSelector(q.labelSelector);
    this.fieldReqs = sim.registry.fieldSelector(resource, q.fieldSelector);
    this.cutRule = null;
  }

  matches(obj) {
    if (!obj) return false;
    if (this.ns && obj.metadata.namespace !== this.ns) return false;
    return S.matchLabelRequirements(this.labelReqs, obj.metadata.labels) &&
      S.matchFieldRequirements(this.fieldReqs, this.resource.fields(obj));
  }

  // Translate a store change into what this watcher sees, or null.
  translate(ev) {
    const now = this.matches(ev.object);
    if (ev.type === 'ADDED') return now ? { type: 'ADDED', object: ev.object } : null;
    if (ev.type === 'DELETED') return now ? { type: 'DELETED', object: ev.object } : null;
    const before = this.matches(ev.prev);
    if (now && before) return { type: 'MODIFIED', object: ev.object };
    if (now) return { type: 'ADDED', object: ev.object };
    if (before) {
      const gone = clone(ev.prev);
      gone.metadata.resourceVersion = ev.object.metadata.resourceVersion;
      return { type: 'DELETED', object: gone };
    }
    return null;
  }

  write(event) {
    if (this.closed) return;
    if (event.type === 'BOOKMARK') {
      this.res.write(JSON.stringify(event) + '\n');
      return;
    }
    this.sent += 1;
    // A cut after this event happens once the event is on the wire.
    this.res.write(JSON.stringify(event) + '\n', () => this.checkCut());
  }

  bookmark(annotations) {
    const metadata = { resourceVersion: String(this.sim.store.rv) };
    if (annotations) metadata.annotations = annotations;
    this.write({ type: 'BOOKMARK', object: { kind: this.resource.kind, apiVersion: apiVersionOf(this.resource), metadata } });
  }

  checkCut() {
    const r = this.cutRule;
    if (r && this.sent >= r.afterEvents) this.cut(r.mode);
  }

  // End the stream: "end" finishes the chunked body properly, "abort"
  // destroys the connection mid-stream.
  cut(mode) {
    if (this.closed) return;
    if (mode === 'abort') {
      this.cleanup();
      this.res.socket && this.res.socket.destroy();
    } else {
      this.cleanup();
      this.res.end();
    }
  }

  cleanup() {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    clearTimeout(this.bookmarkTimer);
    if (this.unsubscribe) this.unsubscribe();
    this.sim.watches.delete(this);
    if (this.info.onClose) this.info.onClose();
  }

  summary() {
    return {
      id: this.id, path: this.info.path, user: this.info.user, resource: this.resource.plural,
      namespace: this.ns, started: this.started, eventsSent: this.sent,
    };
  }
}

// Serve a watch request. Errors found before streaming are thrown as
// ApiError for the caller to answer normally.
async function serveWatch(sim, req, res, resource, ns, q, info) {
  const w = new WatchStream(sim, res, resource, ns, q, info);
  const store = sim.store;
  const rvParam = q.resourceVersion || '';
  let replay = null;
  let initial = rvParam === '' || rvParam === '0';
  const sendInitial = q.sendInitialEvents === 'true';
  if (sendInitial) initial = true;
  if (!initial) {
    if (!/^[0-9]+$/.test(rvParam)) throw statuses.badRequest(`resourceVersion: Invalid value: "${rvParam}": must be a non-negative integer`);
    const want = Number(rvParam);
    // The watch cache waits up to 3 s for a resourceVersion it has not seen.
    const deadline = Date.now() + 3000;
    while (store.rv < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (store.rv < want) {
      throw statuses.timeout(`Too large resource version: ${want}, current: ${store.rv}`, 1,
        [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }]);
    }
    try {
      replay = store.eventsSince(resource.plural, want);
    } catch (e) {
      if (!(e instanceof TooOldError)) throw e;
      const status = makeStatus(410, 'Expired', e.message);
      if (sim.settings.expiredWatchForm === 'http') throw statuses.expired(e.message);
      res.writeHead(200, sim.headers({ 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }));
      res.end(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
      if (info.onClose) info.onClose();
      return;
    }
  }

  res.writeHead(200, sim.headers({ 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }));
  res.flushHeaders();
  sim.watches.add(w);
  res.on('close', () => w.cleanup());

  w.cutRule = sim.faults.take(req.method, info.path, info.query, true);
  if (w.cutRule && w.cutRule.afterMs !== null) w.timers.push(setTimeout(() => w.cut(w.cutRule.mode), w.cutRule.afterMs));

  // Subscribe before replaying so nothing committed meanwhile is missed;
  // everything below is synchronous, so the order is exact.
  const pending = [];
  let live = false;
  w.unsubscribe = store.subscribe((ev) => {
    if (ev.resource !== resource.plural) return;
    if (!live) { pending.push(ev); return; }
    const out = w.translate(ev);
    if (out) w.write({ type: out.type, object: out.object });
  });

  if (initial) {
    for (const { obj } of store.list(resource.plural, ns)) {
      if (w.matches(obj)) w.write({ type: 'ADDED', object: obj });
    }
    if (sendInitial && w.bookmarks) w.bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    for (const ev of replay) {
      const out = w.translate(ev);
      if (out) w.write({ type: out.type, object: out.object });
    }
  }
  live = true;
  for (const ev of pending) {
    const out = w.translate(ev);
    if (out) w.write({ type: out.type, object: out.object });
  }
  if (w.closed) return;
  w.checkCut();
  if (w.closed) return;

  if (w.bookmarks) {
    // Re-read the interval each time so an admin change applies to open
    // streams too.
    const tick = () => {
      if (w.closed) return;
      w.bookmark();
      w.bookmarkTimer = setTimeout(tick, sim.settings.bookmarkIntervalMs);
    };
    w.bookmarkTimer = setTimeout(tick, sim.settings.bookmarkIntervalMs);
  }
  // timeoutSeconds unset or 0 means the server's own limit.
  const asked = Number(q.timeoutSeconds);
  const timeout = asked > 0 ? asked : sim.settings.defaultWatchTimeoutSeconds;
  if (Number.isFinite(timeout) && timeout > 0) {
    w.timers.push(setTimeout(() => w.cut('end'), timeout * 1000));
  }
}

module.exports = { serveWatch };
