'use strict';
// The simulator's clock and timer queue.
//
// All server-side times (create/change timestamps, drainage checks, poller
// liveness, gate workflow completion) are read from one SimClock: wall time
// plus an offset that the admin API can move forward (or set), so tests can
// cross a 3-minute drainage grace period without waiting for it.  The clock
// can also be frozen, so that timestamps are exact and only move when a test
// advances them.  Timers are kept in simulated time; whenever the clock
// jumps, due timers fire at once.

class SimClock {
  constructor() {
    this.offsetMs = 0;
    this.frozenMs = null;
    this.listeners = new Set();
  }

  // Current simulated time in epoch milliseconds.
  nowMs() {
    return this.frozenMs !== null ? this.frozenMs : Date.now() + this.offsetMs;
  }

  get frozen() {
    return this.frozenMs !== null;
  }

  // Move simulated time forward by `ms` (must be >= 0).
  advance(ms) {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new Error('advance needs a non-negative number of milliseconds');
    if (this.frozenMs !== null) this.frozenMs += ms;
    else this.offsetMs += ms;
    this.notify();
  }

  // Set simulated time to `ms` epoch milliseconds.  Moving backwards is
  // allowed but timestamps the server already handed out stay as they are.
  set(ms) {
    if (!Number.isFinite(ms)) throw new Error('set needs epoch milliseconds');
    if (this.frozenMs !== null) this.frozenMs = ms;
    else this.offsetMs = ms - Date.now();
    this.notify();
  }

  // Stop the clock at its current reading (only advance/set move it).
  freeze() {
    if (this.frozenMs === null) this.frozenMs = this.nowMs();
    this.notify();
  }

  // Let the clock run again from its current reading.
  resume() {
    if (this.frozenMs !== null) {
      this.offsetMs = this.frozenMs - Date.now();
      this.frozenMs = null;
    }
    this.notify();
  }

  reset() {
    this.offsetMs = 0;
    this.frozenMs = null;
    this.notify();
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  notify() {
    for (const fn of this.listeners) fn();
  }
}

// A queue of callbacks keyed by simulated due time, driven by one real
// setTimeout armed for the earliest entry.
class Scheduler {
  constructor(clock) {
    this.clock = clock;
    this.entries = [];
    this.timer = null;
    this.seq = 0;
    this.running = false;
    clock.onChange(() => this.arm());
  }

  // Run fn() once simulated time reaches dueMs.  Returns a handle for cancel().
  at(dueMs, fn, label = '') {
    const entry = { id: ++this.seq, dueMs, fn, label };
    this.entries.push(entry);
    this.entries.sort((a, b) => a.dueMs - b.dueMs || a.id - b.id);
    this.arm();
    return entry.id;
  }

  cancel(id) {
    if (id == null) return;
    this.entries = this.entries.filter((e) => e.id !== id);
    this.arm();
  }

  clear() {
    this.entries = [];
    this.arm();
  }

  // Fire every entry that is due now, in due-time order.
  runDue() {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const now = this.clock.nowMs();
        if (!this.entries.length || this.entries[0].dueMs > now) break;
        const e = this.entries.shift();
        try {
          e.fn();
        } catch (err) {
          process.stderr.write(`scheduler: timer ${e.label} failed: ${err.stack || err}\n`);
        }
      }
    } finally {
      this.running = false;
    }
    this.arm();
  }

  arm() {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.entries.length) return;
    const delay = this.entries[0].dueMs - this.clock.nowMs();
    if (delay <= 0) {
      setImmediate(() => this.runDue());
      return;
    }
    // A frozen clock only moves through advance()/set(), which re-arm.
    if (this.clock.frozen) return;
    // setTimeout caps at 2^31-1 ms; re-arm if the entry is further away.
    this.timer = setTimeout(() => this.runDue(), Math.min(delay, 0x7fffffff));
    this.timer.unref();
  }

  pending() {
    return this.entries.map((e) => ({ dueMs: e.dueMs, label: e.label }));
  }
}

module.exports = { SimClock, Scheduler };
