'use strict';
// Two in-memory logs the admin API serves:
// - the write log: every mutating request (API and admin), with its result,
//   the resourceVersion it left and, for Leases, the spec after it — enough
//   to check properties such as "at most one holder at any instant" from
//   the sequence of Lease specs;
// - the request log: every API request with caller and outcome, for request
//   rate budgets (requests per agent per minute).
// Both are capped rings; `seq` numbers keep increasing so a reader can poll
// with ?since=<last seq>.

class Ring {
  constructor(cap) {
    this.cap = cap;
    this.items = [];
    this.seq = 0;
  }

  push(entry) {
    entry.seq = ++this.seq;
    this.items.push(entry);
    if (this.items.length > this.cap) this.items.splice(0, this.items.length - this.cap);
    return entry;
  }

  // Entries after `since` matching every given filter (exact match).
  query(since = 0, filters = {}) {
    const keys = Object.keys(filters).filter((k) => filters[k] !== undefined && filters[k] !== null && filters[k] !== '');
    return this.items.filter((e) => e.seq > since && keys.every((k) => String(e[k]) === String(filters[k])));
  }

  clear() { this.items = []; }
}

class Journal {
  constructor() {
    this.writes = new Ring(200000);
    this.requests = new Ring(200000);
  }

  write(entry) { return this.writes.push({ time: Date.now(), ...entry }); }

  request(entry) { return this.requests.push({ time: Date.now(), ...entry }); }

  // Per-caller counts by verb over the retained request log, optionally
  // limited to the last `windowMs`.
  summary(windowMs) {
    const from = windowMs ? Date.now() - windowMs : 0;
    const out = {};
    for (const r of this.requests.items) {
      if (r.time < from) continue;
      const who = r.user || '(none)';
      const s = out[who] || (out[who] = { total: 0, byVerb: {}, byCode: {}, first: r.time, last: r.time });
      s.total += 1;
      s.byVerb[r.verb] = (s.byVerb[r.verb] || 0) + 1;
      s.byCode[r.code] = (s.byCode[r.code] || 0) + 1;
      s.last = r.time;
    }
    return out;
  }

  reset() {
    this.writes.clear();
    this.requests.clear();
  }
}

module.exports = { Journal };
