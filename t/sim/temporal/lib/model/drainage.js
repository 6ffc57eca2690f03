'use strict';
// Drainage of deactivated versions (reference §6.7).
//
// When a version stops being Current or Ramping its drainage info becomes
// {DRAINING, last_changed_time = last_checked_time = now}.  The first check
// runs one visibility grace period after last_checked_time
// (matching.wv.VersionDrainageStatusVisibilityGracePeriod, --drainage-grace),
// later checks every refresh interval
// (matching.wv.VersionDrainageStatusRefreshInterval, --drainage-refresh).  A
// check counts the running workflows pinned to the version; zero makes the
// version DRAINED, which is terminal for checking.  last_checked_time moves
// on every check, last_changed_time only when the status flips.

const { DrainageStatus } = require('./deployment');

class Drainage {
  constructor(sim) {
    this.sim = sim;
  }

  // The version just lost Current or Ramping: start draining.
  begin(ns, dep, v, nowMs) {
    v.drainage = { status: DrainageStatus.DRAINING, lastChangedMs: nowMs, lastCheckedMs: nowMs };
    this.schedule(ns, dep, v, nowMs + this.sim.options.drainageGraceMs);
    this.sim.log.info(`version ${dep.name}:${v.buildId} is DRAINING; first check in ${this.sim.options.drainageGraceMs} ms`);
  }

  // The version became Current or Ramping again: drainage info is reset to
  // an UNSPECIFIED status stamped with the routing change (§10) and checks
  // stop.
  clear(v, nowMs) {
    this.cancel(v);
    v.drainage = { status: DrainageStatus.UNSPECIFIED, lastChangedMs: nowMs, lastCheckedMs: nowMs };
  }

  cancel(v) {
    if (v.drainageTimer != null) this.sim.scheduler.cancel(v.drainageTimer);
    v.drainageTimer = null;
    v.nextDrainageCheckMs = null;
  }

  schedule(ns, dep, v, dueMs) {
    this.cancel(v);
    v.nextDrainageCheckMs = dueMs;
    v.drainageTimer = this.sim.scheduler.at(dueMs, () => {
      v.drainageTimer = null;
      this.check(ns, dep, v);
    }, `drainage ${ns.name}/${dep.name}:${v.buildId}`);
  }

  // Run one drainage check now.  Returns {status, running} or null when the
  // version is not draining (or is gone).
  check(ns, dep, v) {
    if (dep.versions.get(v.buildId) !== v || !v.drainage || v.drainage.status !== DrainageStatus.DRAINING) return null;
    const now = this.sim.now();
    const running = this.sim.workflows.countRunningPinned(ns, dep.name, v.buildId);
    this.cancel(v);
    v.drainage.lastCheckedMs = now;
    if (running === 0) {
      v.drainage.status = DrainageStatus.DRAINED;
      v.drainage.lastChangedMs = now;
      this.sim.log.info(`version ${dep.name}:${v.buildId} is DRAINED`);
    } else {
      this.schedule(ns, dep, v, now + this.sim.options.drainageRefreshMs);
      this.sim.log.info(`version ${dep.name}:${v.buildId} still DRAINING: ${running} running pinned workflow(s)`);
    }
    return { status: v.drainage.status, running };
  }
}

module.exports = { Drainage };
