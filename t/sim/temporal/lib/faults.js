'use strict';
// Fault injection for gRPC calls.
//
// A rule applies to one method (or "*" for every method) and either delays
// the call or fails it with a gRPC status code, for the next `count` calls
// (or until cleared), optionally only with a given probability drawn from a
// seeded generator (so a "30 % UNAVAILABLE" run is reproducible).  With
// phase "after" the call is executed first and the error replaces the
// response: the state change happened but the client cannot know it.

const { parseCode, codeName } = require('./errors');

// Small deterministic PRNG (mulberry32); returns floats in [0, 1).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class FaultInjector {
  constructor() {
    this.rules = [];
    this.seq = 0;
    this.injected = 0;
  }

  // Add a rule; returns its public description.  Throws on invalid input.
  add(spec) {
    if (!spec || typeof spec !== 'object') throw new Error('fault: expected a JSON object');
    const method = spec.method;
    if (typeof method !== 'string' || !method) throw new Error('fault: "method" is required (a method name or "*")');
    const hasCode = spec.code !== undefined && spec.code !== null;
    const hasDelay = spec.delayMs !== undefined && spec.delayMs !== null;
    if (hasCode === hasDelay) throw new Error('fault: give exactly one of "code" or "delayMs"');
    const rule = { id: ++this.seq, method, fired: 0 };
    if (hasCode) {
      rule.code = parseCode(spec.code);
      if (rule.code === 0) throw new Error('fault: code OK is not a fault');
      if (spec.message !== undefined) {
        if (typeof spec.message !== 'string') throw new Error('fault: "message" must be a string');
        rule.message = spec.message;
      }
      const phase = spec.phase === undefined ? 'before' : spec.phase;
      if (phase !== 'before' && phase !== 'after') throw new Error('fault: "phase" is "before" or "after"');
      rule.phase = phase;
    } else {
      if (!Number.isInteger(spec.delayMs) || spec.delayMs < 0 || spec.delayMs > 600000) {
        throw new Error('fault: "delayMs" must be an integer 0..600000');
      }
      rule.delayMs = spec.delayMs;
    }
    if (spec.count === undefined || spec.count === null) {
      rule.remaining = spec.probability === undefined ? 1 : Infinity;
    } else {
      if (!Number.isInteger(spec.count) || spec.count < 1) throw new Error('fault: "count" must be a positive integer');
      rule.remaining = spec.count;
    }
    if (spec.probability !== undefined) {
      const p = spec.probability;
      if (typeof p !== 'number' || !(p > 0 && p <= 1)) throw new Error('fault: "probability" must be in (0, 1]');
      rule.probability = p;
      rule.seed = Number.isInteger(spec.seed) ? spec.seed : Math.floor(Math.random() * 2 ** 31);
      rule.random = rng(rule.seed);
    }
    this.rules.push(rule);
    return this.describe(rule);
  }

  describe(r) {
    const out = { id: r.id, method: r.method, remaining: r.remaining === Infinity ? null : r.remaining, fired: r.fired };
    if (r.code !== undefined) {
      out.code = codeName(r.code);
      out.phase = r.phase;
      if (r.message !== undefined) out.message = r.message;
    } else {
      out.delayMs = r.delayMs;
    }
    if (r.probability !== undefined) {
      out.probability = r.probability;
      out.seed = r.seed;
    }
    return out;
  }

  list() {
    return this.rules.map((r) => this.describe(r));
  }

  clear() {
    this.rules = [];
  }

  remove(id) {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  // Decide the faults of one call of `method`: {delayMs, rule} where rule is
  // the failing rule (or null).  Consumes counts of the rules that fire.
  take(method) {
    let delay = null;
    let fail = null;
    for (const r of this.rules) {
      if (r.method !== '*' && r.method !== method) continue;
      if (r.remaining <= 0) continue;
      const isDelay = r.delayMs !== undefined;
      if (isDelay ? delay : fail) continue;
      if (r.random && r.random() >= r.probability) continue;
      r.remaining -= 1;
      r.fired += 1;
      this.injected += 1;
      if (isDelay) delay = r;
      else fail = r;
    }
    // Used-up rules stay listed (remaining 0) so tests can read `fired`.
    return { delayMs: delay ? delay.delayMs : 0, rule: fail };
  }
}

module.exports = { FaultInjector };
