'use strict';
// The whole simulated server: namespaces, clock, timers, release profile,
// fault rules and the counters the state dump exposes.

const { SimClock, Scheduler } = require('../clock');
const { makeProfile } = require('../profile');
const { FaultInjector } = require('../faults');
const { Namespace } = require('./namespace');
const { Drainage } = require('./drainage');
const { Workflows } = require('./workflows');

const MAX_RECORDED_FINDINGS = 200;

function newCounters() {
  return {
    requests: {}, // method -> calls
    errors: {}, // method -> {CODE: n}
    unknownFieldRequests: 0,
    unknownFieldFindings: [], // most recent first, capped
    namespaceHeader: { present: 0, missing: 0, mismatch: 0, onGetSystemInfo: 0 },
    clients: {}, // "client-name/client-version" -> calls
    unauthenticated: 0,
    faultsInjected: 0, // calls failed by a code rule
    delaysInjected: 0, // calls held by a delay rule
  };
}

class Simulator {
  constructor(options, log) {
    this.options = options;
    this.log = log;
    this.profile = makeProfile(options.serverVersion, {
      reactivation: options.reactivation,
      versioningDisabled: options.versioningDisabled,
    });
    this.clock = new SimClock();
    this.scheduler = new Scheduler(this.clock);
    this.drainage = new Drainage(this);
    this.workflows = new Workflows(this);
    this.faults = new FaultInjector();
    this.readBuckets = new Map();
    this.resetState();
  }

  now() {
    return this.clock.nowMs();
  }

  resetState() {
    this.namespaces = new Map();
    for (const name of this.options.namespaces) this.addNamespace(name);
    this.counters = newCounters();
  }

  // Forget every deployment, poller, workflow, fault and counter.  Without
  // `options` the configuration (and namespaces added at run time) stays;
  // with `options` (already validated) the simulator starts over under
  // them, e.g. as another server release.
  reset(options) {
    let names = [...this.namespaces.keys()];
    if (options) {
      const profile = makeProfile(options.serverVersion, {
        reactivation: options.reactivation,
        versioningDisabled: options.versioningDisabled,
      });
      if (options.namespaces !== this.options.namespaces) names = options.namespaces;
      this.options = options;
      this.profile = profile;
    }
    this.scheduler.clear();
    this.faults.clear();
    this.clock.reset();
    this.readBuckets.clear();
    this.namespaces = new Map();
    for (const name of names) this.addNamespace(name);
    this.counters = newCounters();
    this.log.info(`state reset${options ? ` (server ${this.profile.serverVersion})` : ''}`);
  }

  addNamespace(name) {
    if (!this.namespaces.has(name)) this.namespaces.set(name, new Namespace(this, name));
    return this.namespaces.get(name);
  }

  namespace(name) {
    return this.namespaces.get(name) || null;
  }

  recordUnknownFields(method, findings) {
    this.counters.unknownFieldRequests += 1;
    this.counters.unknownFieldFindings.unshift({ method, time: new Date(this.now()).toISOString(), findings });
    this.counters.unknownFieldFindings.length = Math.min(this.counters.unknownFieldFindings.length, MAX_RECORDED_FINDINGS);
  }

  recordCall(method, codeName) {
    this.counters.requests[method] = (this.counters.requests[method] || 0) + 1;
    if (codeName && codeName !== 'OK') {
      const e = this.counters.errors[method] || (this.counters.errors[method] = {});
      e[codeName] = (e[codeName] || 0) + 1;
    }
  }

  // Token bucket for frontend.globalNamespaceWorkerDeploymentReadRPS,
  // shared by DescribeWorkerDeployment and DescribeWorkerDeploymentVersion
  // (reference §3.1).  Runs on wall time.  Returns false when over the limit.
  takeReadToken(nsName) {
    const rps = this.options.readRps;
    if (!rps) return true;
    const nowMs = Date.now();
    let b = this.readBuckets.get(nsName);
    if (!b) {
      b = { tokens: rps, atMs: nowMs };
      this.readBuckets.set(nsName, b);
    }
    b.tokens = Math.min(rps, b.tokens + ((nowMs - b.atMs) / 1000) * rps);
    b.atMs = nowMs;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

module.exports = { Simulator };
