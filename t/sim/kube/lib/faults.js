'use strict';
// Injected faults. A rule matches requests by HTTP method and regular
// expressions over the path and the query string, skips the first `skip`
// matches, then fires for the next `count` (default 1; -1 for every match).
//
// Actions:
//   status    answer `code` with a Status body shaped as the real server's
//             for that code (or a raw `body` with `contentType`, for
//             proxies and load balancers that answer in HTML or text);
//             `retryAfter` adds the Retry-After header and
//             details.retryAfterSeconds
//   throttle  429 with Retry-After; form "text" is the plain-text answer of
//             the max-in-flight / priority-and-fairness filters ("Too many
//             requests, please try again later."), form "status" a Status
//   delay     hold the request `delayMs`, then serve it normally
//   drop      close the connection without answering
//   cutWatch  for watch requests: once `afterEvents` events were written
//             (or `afterMs` passed), abort the stream mid-way (mode "abort",
//             no terminating chunk) or end it cleanly (mode "end")

const ACTIONS = new Set(['status', 'throttle', 'delay', 'drop', 'cutWatch']);

class Faults {
  constructor() {
    this.rules = [];
    this.nextId = 1;
  }

  add(spec) {
    if (!spec || !ACTIONS.has(spec.action)) {
      throw new Error(`action must be one of ${[...ACTIONS].join(', ')}`);
    }
    const rule = {
      id: this.nextId++,
      action: spec.action,
      method: spec.method ? String(spec.method).toUpperCase() : '*',
      path: spec.path ? new RegExp(spec.path) : null,
      query: spec.query ? new RegExp(spec.query) : null,
      count: spec.count === undefined ? 1 : Number(spec.count),
      skip: Number(spec.skip || 0),
      hits: 0,
      code: spec.code !== undefined ? Number(spec.code) : (spec.action === 'throttle' ? 429 : 500),
      message: spec.message,
      reason: spec.reason,
      retryAfter: spec.retryAfter !== undefined ? Number(spec.retryAfter) : (spec.action === 'throttle' ? 1 : undefined),
      body: spec.body,
      contentType: spec.contentType,
      form: spec.form || 'text',
      delayMs: Number(spec.delayMs || 0),
      afterEvents: spec.afterEvents !== undefined ? Number(spec.afterEvents) : (spec.afterMs !== undefined ? Infinity : 1),
      afterMs: spec.afterMs !== undefined ? Number(spec.afterMs) : null,
      mode: spec.mode || 'abort',
    };
    if (!Number.isInteger(rule.count) || rule.count === 0 || rule.count < -1) throw new Error('count must be a positive integer or -1');
    if (rule.action === 'status' && !(rule.code >= 100 && rule.code <= 599)) throw new Error('code must be an HTTP status');
    if (!['abort', 'end'].includes(rule.mode)) throw new Error('mode must be "abort" or "end"');
    if (!['text', 'status'].includes(rule.form)) throw new Error('form must be "text" or "status"');
    this.rules.push(rule);
    return rule;
  }

  remove(id) {
    const n = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== n;
  }

  clear() { this.rules = []; }

  // First rule of the given kind matching the request, consumed by one use.
  take(method, path, query, wantCutWatch) {
    for (const r of this.rules) {
      if ((r.action === 'cutWatch') !== wantCutWatch) continue;
      if (r.method !== '*' && r.method !== method) continue;
      if (r.path && !r.path.test(path)) continue;
      if (r.query && !r.query.test(query)) continue;
      r.hits += 1;
      if (r.hits <= r.skip) continue;
      if (r.count !== -1) {
        r.count -= 1;
        if (r.count === 0) this.remove(r.id);
      }
      return r;
    }
    return null;
  }

  list() {
    return this.rules.map((r) => ({
      ...r, path: r.path ? r.path.source : null, query: r.query ? r.query.source : null,
      afterEvents: r.afterEvents === Infinity ? null : r.afterEvents,
    }));
  }
}

module.exports = { Faults };
