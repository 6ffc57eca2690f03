'use strict';
// One Temporal namespace: its worker deployments, poller history, workflow
// runs and the per-task-queue statistics the admin API can set.
//
// Registration (reference §6.2): a version exists in a deployment only once
// a versioned poll reached the server.  The first versioned poll creates the
// deployment (bounded by matching.maxDeployments), adds the version as
// INACTIVE (bounded by matching.maxVersionsInDeployment, after trying to
// auto-delete the oldest deletable version) and registers the (task queue,
// type) pair in the version (bounded by
// matching.maxTaskQueuesInDeploymentVersion).  Nothing un-registers a
// version when its workers stop; poller liveness is separate and expires
// after matching.PollerHistoryTTL.

const { invalidArgument, resourceExhausted } = require('../errors');
const { validateNameField } = require('../profile');
const { enumValues } = require('../schema');
const { Deployment, Version, TaskQueueType, DrainageStatus } = require('./deployment');

const CAUSE_WORKER_DEPLOYMENT_LIMITS = enumValues('temporal.api.enums.v1.ResourceExhaustedCause', 'RESOURCE_EXHAUSTED_CAUSE_').WORKER_DEPLOYMENT_LIMITS;

const WorkerVersioningMode = enumValues('temporal.api.enums.v1.WorkerVersioningMode', 'WORKER_VERSIONING_MODE_');

function pollerKey(p) {
  return [p.taskQueue, p.type, p.identity, p.versioningMode, p.deploymentName, p.buildId].join('\u0000');
}

class Namespace {
  constructor(sim, name) {
    this.sim = sim;
    this.name = name;
    this.deployments = new Map(); // name -> Deployment
    this.pollers = new Map(); // key -> poller
    this.runs = new Map(); // runId -> run
    this.runsByWorkflowId = new Map(); // workflowId -> [run, ...] oldest first
    this.gateOutcomes = new Map(); // workflow type -> {status, delayMs}
    this.tqStats = new Map(); // "tq\0type\0d\0b" -> stats
    this.deletedVersions = new Set(); // "d:b" of versions removed by DeleteVersion
  }

  now() {
    return this.sim.now();
  }

  // ---- pollers and registration -------------------------------------------

  pollerLive(p, now = this.now()) {
    return now - p.lastAccessMs < this.sim.options.pollerTtlMs;
  }

  livePollers(filter = {}) {
    const now = this.now();
    return [...this.pollers.values()].filter((p) => this.pollerLive(p, now)
      && (filter.taskQueue === undefined || p.taskQueue === filter.taskQueue)
      && (filter.type === undefined || p.type === filter.type)
      && (filter.deploymentName === undefined || (p.versioningMode === WorkerVersioningMode.VERSIONED && p.deploymentName === filter.deploymentName))
      && (filter.buildId === undefined || (p.versioningMode === WorkerVersioningMode.VERSIONED && p.buildId === filter.buildId)));
  }

  // True when any live versioned poller of (d, b) exists on any of the
  // version's task queues (the delete guard of §6.5, step 7).
  versionHasLivePollers(deploymentName, buildId) {
    return this.livePollers({ deploymentName, buildId }).length > 0;
  }

  // Simulate a poll: record the poller and, for a versioned poller, run the
  // registration of §6.2.  Throws the errors a poll would get.
  poll({ taskQueue, type, identity, deploymentName = '', buildId = '', versioningMode }) {
    if (!taskQueue) throw invalidArgument('TaskQueue is not set on request.');
    const p = {
      taskQueue,
      type,
      identity: identity || `${process.pid}@temporal-sim`,
      deploymentName,
      buildId,
      versioningMode,
      lastAccessMs: this.now(),
      ratePerSecond: 100000,
    };
    let registered = false;
    if (versioningMode === WorkerVersioningMode.VERSIONED) {
      if (!this.sim.profile.versioningEnabled) throw invalidArgument('missing deployment version');
      if (!deploymentName) throw invalidArgument('versioned worker must have deployment name');
      if (!buildId) throw invalidArgument('versioned worker must have build id');
      if (deploymentName.includes(':') || deploymentName.includes('.')) {
        throw invalidArgument("deployment name cannot contain ':' or '.'");
      }
      validateNameField('WorkerDeploymentName', deploymentName);
      validateNameField('BuildID', buildId);
      registered = this.register(deploymentName, buildId, taskQueue, type);
    }
    this.pollers.set(pollerKey(p), p);
    this.sim.workflows.onPoller(this, p);
    return { poller: p, registered };
  }

  // Registration proper; returns true when something new was registered.
  register(deploymentName, buildId, taskQueue, type) {
    const opts = this.sim.options;
    let dep = this.deployments.get(deploymentName);
    let changed = false;
    if (!dep) {
      dep = this.createDeployment(deploymentName);
      changed = true;
    }
    let v = dep.versions.get(buildId);
    if (!v) {
      v = this.addVersion(dep, buildId);
      changed = true;
    }
    if (!v.hasTaskQueue(taskQueue, type)) {
      const names = new Set(v.taskQueues.map((tq) => tq.name));
      if (!names.has(taskQueue) && names.size >= opts.maxTaskQueuesPerVersion) {
        throw resourceExhausted(
          `cannot add task queue ${taskQueue} since maximum number of task queues (${opts.maxTaskQueuesPerVersion}) have been registered in deployment`,
          CAUSE_WORKER_DEPLOYMENT_LIMITS,
        );
      }
      v.taskQueues.push({ name: taskQueue, type });
      changed = true;
      this.sim.log.info(`registered ${deploymentName}:${buildId} on task queue ${taskQueue} type ${type} (namespace ${this.name})`);
    }
    return changed;
  }

  // Create a deployment (first versioned poll or allow_no_pollers).
  createDeployment(name) {
    const max = this.sim.options.maxDeployments;
    if (this.deployments.size >= max) {
      throw resourceExhausted(`reached maximum deployments in namespace (${max})`, CAUSE_WORKER_DEPLOYMENT_LIMITS);
    }
    const dep = new Deployment(name, this.now());
    this.deployments.set(name, dep);
    this.sim.log.info(`created worker deployment ${name} (namespace ${this.name})`);
    return dep;
  }

  // Add a version to a deployment, auto-deleting the oldest deletable version
  // when the deployment is full (§6.2 step 3b).
  addVersion(dep, buildId) {
    const max = this.sim.options.maxVersions;
    if (dep.versions.size >= max && !this.autoDeleteOldestVersion(dep)) {
      throw resourceExhausted(
        `cannot add version ${dep.name}.${buildId} since maximum number of versions (${max}) have been registered in the deployment`,
        CAUSE_WORKER_DEPLOYMENT_LIMITS,
      );
    }
    const v = new Version(dep.name, buildId, this.now());
    dep.versions.set(buildId, v);
    this.deletedVersions.delete(`${dep.name}:${buildId}`);
    this.sim.log.info(`added version ${dep.name}:${buildId} (INACTIVE)`);
    return v;
  }

  // Server-initiated delete: oldest version that is neither current, ramping
  // nor draining and has no live pollers.  The manager check is bypassed.
  autoDeleteOldestVersion(dep) {
    const candidates = [...dep.versions.values()].sort((a, b) => a.createTimeMs - b.createTimeMs);
    for (const v of candidates) {
      if (dep.isCurrent(v.buildId) || dep.isRamping(v.buildId)) continue;
      if (v.drainage && v.drainage.status === DrainageStatus.DRAINING) continue;
      if (this.versionHasLivePollers(dep.name, v.buildId)) continue;
      this.removeVersion(dep, v);
      this.sim.log.info(`auto-deleted version ${dep.name}:${v.buildId} to make room`);
      return true;
    }
    return false;
  }

  removeVersion(dep, v) {
    this.sim.drainage.cancel(v);
    dep.versions.delete(v.buildId);
    this.deletedVersions.add(`${dep.name}:${v.buildId}`);
  }

  // Remove pollers from poller history (admin "expire"); returns the count.
  expirePollers(filter) {
    let n = 0;
    for (const [k, p] of this.pollers) {
      if ((filter.taskQueue === undefined || p.taskQueue === filter.taskQueue)
        && (filter.type === undefined || p.type === filter.type)
        && (filter.deploymentName === undefined || p.deploymentName === filter.deploymentName)
        && (filter.buildId === undefined || p.buildId === filter.buildId)
        && (filter.identity === undefined || p.identity === filter.identity)) {
        this.pollers.delete(k);
        n++;
      }
    }
    return n;
  }

  // ---- task queues -----------------------------------------------------------

  statsKey(taskQueue, type, deploymentName = '', buildId = '') {
    return [taskQueue, type, deploymentName, buildId].join('\u0000');
  }

  // Backlog statistics of one (task queue, type, version) as set through the
  // admin API; zeros otherwise.
  taskQueueStats(taskQueue, type, deploymentName = '', buildId = '') {
    return this.tqStats.get(this.statsKey(taskQueue, type, deploymentName, buildId))
      || { approximateBacklogCount: 0, approximateBacklogAgeMs: 0, tasksAddRate: 0, tasksDispatchRate: 0 };
  }

  // Sum of the statistics of every queue of a (task queue, type).
  aggregateTaskQueueStats(taskQueue, type) {
    const out = { approximateBacklogCount: 0, approximateBacklogAgeMs: 0, tasksAddRate: 0, tasksDispatchRate: 0 };
    const prefix = `${taskQueue}\u0000${type}\u0000`;
    for (const [k, s] of this.tqStats) {
      if (!k.startsWith(prefix)) continue;
      out.approximateBacklogCount += s.approximateBacklogCount;
      out.approximateBacklogAgeMs = Math.max(out.approximateBacklogAgeMs, s.approximateBacklogAgeMs);
      out.tasksAddRate += s.tasksAddRate;
      out.tasksDispatchRate += s.tasksDispatchRate;
    }
    return out;
  }

  // The deployment whose routing a task queue follows: the one with a
  // version registered on (taskQueue, type); when several are, the one whose
  // routing changed last.
  deploymentOfTaskQueue(taskQueue, type) {
    let best = null;
    let bestMs = -Infinity;
    for (const dep of this.deployments.values()) {
      const registered = [...dep.versions.values()].some((v) => v.hasTaskQueue(taskQueue, type));
      if (!registered) continue;
      const ms = Math.max(dep.routing.currentChangedMs || 0, dep.routing.percentageChangedMs || 0, dep.createTimeMs);
      if (ms > bestMs) {
        best = dep;
        bestMs = ms;
      }
    }
    return best;
  }

  // The versioned Current of a task queue as the queue itself sees it: the
  // deployment's Current if that version polls this queue, else null.
  taskQueueCurrent(taskQueue, type) {
    const dep = this.deploymentOfTaskQueue(taskQueue, type);
    if (!dep || dep.routing.current === null) return null;
    const v = dep.versions.get(dep.routing.current);
    return v && v.hasTaskQueue(taskQueue, type) ? { dep, version: v } : null;
  }

  // Missing-task-queue guard (§6.6).  For each (queue, type) the Current
  // has registered but the proposal has not, the queue is ignored when it
  // now follows another deployment's Current or when it is idle (backlog 0
  // and add rate 0 for the Current version).  Returns true when a queue
  // remains that would become unversioned.
  proposalMissesTaskQueues(dep, currentVersion, proposed) {
    for (const tq of currentVersion.taskQueues) {
      if (proposed.hasTaskQueue(tq.name, tq.type)) continue;
      const owner = this.taskQueueCurrent(tq.name, tq.type);
      if (owner && owner.dep !== dep) continue;
      const s = this.taskQueueStats(tq.name, tq.type, dep.name, currentVersion.buildId);
      if (s.approximateBacklogCount === 0 && s.tasksAddRate === 0) continue;
      return true;
    }
    return false;
  }
}

module.exports = { Namespace, WorkerVersioningMode, TaskQueueType, CAUSE_WORKER_DEPLOYMENT_LIMITS };
