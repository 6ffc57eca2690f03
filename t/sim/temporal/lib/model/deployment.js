'use strict';
// Worker Deployments and their Versions: the state the server keeps in its
// per-deployment and per-version system workflows (reference §6.1, §8).
//
// A Version's status is not stored: like the server, it follows from the
// routing config (CURRENT, RAMPING) and from the drainage info (DRAINING,
// DRAINED); everything else is INACTIVE (§6.8).

const { enumValues } = require('../schema');

const UNVERSIONED = '__unversioned__';

const TaskQueueType = enumValues('temporal.api.enums.v1.TaskQueueType', 'TASK_QUEUE_TYPE_');
const DrainageStatus = enumValues('temporal.api.enums.v1.VersionDrainageStatus', 'VERSION_DRAINAGE_STATUS_');
const VersionStatus = enumValues('temporal.api.enums.v1.WorkerDeploymentVersionStatus', 'WORKER_DEPLOYMENT_VERSION_STATUS_');

// Legacy (v0.31) version string, always emitted with a dot (§5).
function legacyVersionString(deploymentName, buildId) {
  return `${deploymentName}.${buildId}`;
}

// v0.32 version id with a colon: used in 1.30+ error texts, search
// attributes and internal workflow ids (§5).
function versionId(deploymentName, buildId) {
  return `${deploymentName}:${buildId}`;
}

// Parse a legacy version string the way the server does: "__unversioned__"
// is the sentinel, otherwise split at whichever of '.' or ':' comes first.
// Returns {unversioned: true} or {deploymentName, buildId, delimiter}.
function parseLegacyVersion(s) {
  if (s === UNVERSIONED) return { unversioned: true };
  const i = s.search(/[.:]/);
  if (i < 0) {
    const err = new Error(`expected delimiter '.' or ':' in version string "${s}"`);
    err.parse = true;
    throw err;
  }
  return { deploymentName: s.slice(0, i), buildId: s.slice(i + 1), delimiter: s[i] };
}

// Go's time.Time.MarshalBinary() of a UTC instant given in nanoseconds since
// the Unix epoch: the opaque bytes a real server uses as conflict token
// (§6.4; clients must not rely on the format).
function goTimeBinary(unixNs) {
  const GO_UNIX_OFFSET = 62135596800n; // seconds from 0001-01-01 to 1970-01-01
  const secs = unixNs / 1000000000n + GO_UNIX_OFFSET;
  const nsec = unixNs % 1000000000n;
  const buf = Buffer.alloc(15);
  buf[0] = 1; // timeBinaryVersionV1
  buf.writeBigInt64BE(secs, 1);
  buf.writeInt32BE(Number(nsec), 9);
  buf.writeInt16BE(-1, 13); // zone offset -1 = UTC
  return buf;
}

class Version {
  constructor(deploymentName, buildId, nowMs) {
    this.deploymentName = deploymentName;
    this.buildId = buildId;
    this.createTimeMs = nowMs;
    this.currentSinceMs = null;
    this.rampingSinceMs = null;
    this.routingUpdateMs = null;
    this.firstActivationMs = null;
    this.lastCurrentMs = null;
    this.lastDeactivationMs = null;
    this.rampPercentage = 0;
    // (task queue, type) pairs registered by versioned polls, in order.
    this.taskQueues = [];
    // null until the version is first activated; then
    // {status, lastChangedMs, lastCheckedMs} (§6.7, §10).
    this.drainage = null;
    this.drainageTimer = null;
    this.nextDrainageCheckMs = null;
    this.metadata = null; // Map<string, Payload object> once written
    this.lastModifierIdentity = '';
  }

  get key() {
    return legacyVersionString(this.deploymentName, this.buildId);
  }

  hasTaskQueue(name, type) {
    return this.taskQueues.some((tq) => tq.name === name && tq.type === type);
  }
}

class Deployment {
  constructor(name, nowMs) {
    this.name = name;
    this.createTimeMs = nowMs;
    this.versions = new Map(); // buildId -> Version
    // Routing config (§4.4, §6.3).  ramp is null (no ramp) or
    // {buildId: string|null (null = unversioned workers), percentage}.
    this.routing = {
      current: null,
      ramp: null,
      currentChangedMs: null,
      rampingChangedMs: null,
      percentageChangedMs: null,
      revision: 0,
    };
    this.lastModifierIdentity = '';
    this.managerIdentity = '';
    this.tokenNs = 0n;
    this.conflictToken = null;
    this.propagationDoneMs = 0;
    this.stampToken(nowMs);
  }

  // Issue a new conflict token from the current time.  Two writes within the
  // same nanosecond still get different tokens.
  stampToken(nowMs) {
    let ns = BigInt(Math.floor(nowMs)) * 1000000n;
    if (ns <= this.tokenNs) ns = this.tokenNs + 1n;
    this.tokenNs = ns;
    this.conflictToken = goTimeBinary(ns);
  }

  // Legacy string of the Current version ("__unversioned__" when none).
  currentString() {
    return this.routing.current === null ? UNVERSIONED : legacyVersionString(this.name, this.routing.current);
  }

  // Legacy string of the ramp target: "" = no ramp, "__unversioned__" = ramp
  // to unversioned workers.
  rampString() {
    const r = this.routing.ramp;
    if (!r) return '';
    return r.buildId === null ? UNVERSIONED : legacyVersionString(this.name, r.buildId);
  }

  rampPercentage() {
    return this.routing.ramp ? this.routing.ramp.percentage : 0;
  }

  // Find a version the way the deployment workflow does: by its legacy key
  // "<deployment>.<build>".  A colon-form key never matches (§10).
  versionByKey(key) {
    const prefix = `${this.name}.`;
    if (!key.startsWith(prefix)) return null;
    return this.versions.get(key.slice(prefix.length)) || null;
  }

  isCurrent(buildId) {
    return this.routing.current === buildId;
  }

  isRamping(buildId) {
    return !!this.routing.ramp && this.routing.ramp.buildId === buildId;
  }

  status(v) {
    if (this.isCurrent(v.buildId)) return VersionStatus.CURRENT;
    if (this.isRamping(v.buildId)) return VersionStatus.RAMPING;
    if (v.drainage && v.drainage.status === DrainageStatus.DRAINING) return VersionStatus.DRAINING;
    if (v.drainage && v.drainage.status === DrainageStatus.DRAINED) return VersionStatus.DRAINED;
    return VersionStatus.INACTIVE;
  }

  // Versions sorted newest create time first (order of version_summaries).
  versionsNewestFirst() {
    return [...this.versions.values()].sort((a, b) => b.createTimeMs - a.createTimeMs || (a.buildId < b.buildId ? 1 : -1));
  }

  // The most recently created version (ListWorkerDeployments summary).
  latestVersion() {
    return this.versionsNewestFirst()[0] || null;
  }
}

module.exports = {
  UNVERSIONED,
  TaskQueueType,
  DrainageStatus,
  VersionStatus,
  Version,
  Deployment,
  legacyVersionString,
  versionId,
  parseLegacyVersion,
  goTimeBinary,
};
