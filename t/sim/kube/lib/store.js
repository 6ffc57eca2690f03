'use strict';
// Object storage with etcd-like semantics: one global revision counter that
// every write advances and stamps into metadata.resourceVersion, a retained
// window of change events for watch resumption (the watch cache / etcd
// compaction of notes §3.3), point-in-time reads for paginated LISTs at a
// fixed resourceVersion (§3.4), and synchronous fan-out of every change to
// the registered watchers.

const { clone } = require('./util');

class TooOldError extends Error {
  constructor(requested, oldest) {
    super(`too old resource version: ${requested} (${oldest})`);
    this.requested = requested;
    this.oldest = oldest;
  }
}

const DEFAULT_WINDOW = { maxEvents: 10000, maxAgeMs: 5 * 60 * 1000 };

// ObjectMeta field order of the Go struct, so a stamped resourceVersion
// lands where the real encoder puts it.
const META_ORDER = ['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation',
  'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations',
  'ownerReferences', 'finalizers', 'managedFields'];

function withResourceVersion(meta, rv) {
  const m = { ...meta, resourceVersion: rv };
  const rank = (k) => { const i = META_ORDER.indexOf(k); return i < 0 ? META_ORDER.length : i; };
  const out = {};
  for (const k of Object.keys(m).sort((a, b) => rank(a) - rank(b))) out[k] = m[k];
  return out;
}

class Store {
  constructor() {
    this.rv = 1;
    this.tables = new Map();     // resource -> Map(key -> object)
    this.history = [];           // change events, oldest first, from `head`
    this.head = 0;
    this.compactedRV = this.rv;  // events at or below this revision are gone
    this.window = { ...DEFAULT_WINDOW };
    this.watchers = new Set();
  }

  static key(ns, name) { return ns ? `${ns}/${name}` : name; }

  table(resource) {
    let t = this.tables.get(resource);
    if (!t) { t = new Map(); this.tables.set(resource, t); }
    return t;
  }

  get(resource, ns, name) {
    return this.table(resource).get(Store.key(ns, name));
  }

  // Live objects of a resource, optionally one namespace, in key order.
  list(resource, ns) {
    return this.sorted(this.table(resource), ns);
  }

  sorted(map, ns) {
    const keys = [...map.keys()].filter((k) => !ns || k.startsWith(ns + '/')).sort();
    return keys.map((k) => ({ key: k, obj: map.get(k) }));
  }

  // Objects of a resource as they were at revision `rv`, rebuilt by undoing
  // the retained change events newer than it.
  snapshot(resource, ns, rv) {
    this.trim();
    if (rv < this.compactedRV) throw new TooOldError(rv, this.compactedRV);
    const state = new Map(this.table(resource));
    for (let i = this.history.length - 1; i >= this.head && this.history[i].rv > rv; i--) {
      const ev = this.history[i];
      if (ev.resource !== resource) continue;
      if (ev.type === 'ADDED') state.delete(ev.key);
      else state.set(ev.key, ev.prev);
    }
    return this.sorted(state, ns);
  }

  // Retained events of a resource newer than `rv`, for watch resumption.
  eventsSince(resource, rv) {
    this.trim();
    if (rv < this.compactedRV) throw new TooOldError(rv, this.compactedRV);
    const out = [];
    for (let i = this.history.length - 1; i >= this.head && this.history[i].rv > rv; i--) {
      if (this.history[i].resource === resource) out.push(this.history[i]);
    }
    return out.reverse();
  }

  // Record a change. `obj` is the new state (ADDED/MODIFIED) and is stored
  // as given after its resourceVersion is stamped; for DELETED it is the
  // last state, returned with the deletion's revision as etcd reports it.
  commit(resource, type, key, obj, prev) {
    this.rv += 1;
    const rvs = String(this.rv);
    const t = this.table(resource);
    let eventObj;
    if (type === 'DELETED') {
      t.delete(key);
      eventObj = clone(obj);
      eventObj.metadata = withResourceVersion(eventObj.metadata, rvs);
    } else {
      obj.metadata = withResourceVersion(obj.metadata, rvs);
      t.set(key, obj);
      eventObj = obj;
    }
    const ev = { rv: this.rv, time: Date.now(), resource, key, type, object: eventObj, prev: prev || null };
    this.history.push(ev);
    this.trim();
    for (const w of [...this.watchers]) w(ev);
    return eventObj;
  }

  get retained() { return this.history.length - this.head; }

  // Drop events outside the retained window by advancing `head`; the array
  // itself is shortened only now and then, so a commit stays O(1).
  trim() {
    const cutoff = Date.now() - this.window.maxAgeMs;
    const h = this.history;
    let i = this.head;
    while (i < h.length && (h.length - i > this.window.maxEvents || h[i].time < cutoff)) i++;
    if (i > this.head) {
      this.compactedRV = h[i - 1].rv;
      this.head = i;
    }
    if (this.head > 4096 && this.head * 2 > h.length) {
      h.splice(0, this.head);
      this.head = 0;
    }
  }

  // Forget every retained event: any resourceVersion older than now expires.
  compact() {
    this.history = [];
    this.head = 0;
    this.compactedRV = this.rv;
  }

  setWindow(w) {
    if (w.maxEvents !== undefined) this.window.maxEvents = w.maxEvents;
    if (w.maxAgeMs !== undefined) this.window.maxAgeMs = w.maxAgeMs;
    this.trim();
  }

  subscribe(fn) { this.watchers.add(fn); return () => this.watchers.delete(fn); }

  // Remove every object and all history; the revision counter keeps
  // counting so no client ever sees a resourceVersion go backwards.
  reset() {
    this.tables.clear();
    this.history = [];
    this.head = 0;
    this.compactedRV = this.rv;
    this.window = { ...DEFAULT_WINDOW };
  }
}

module.exports = { Store, TooOldError, DEFAULT_WINDOW };
