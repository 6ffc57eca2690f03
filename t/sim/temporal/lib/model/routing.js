'use strict';
// Writes to a Worker Deployment: SetCurrent, SetRamping, SetManager,
// DeleteVersion, DeleteDeployment and UpdateVersionMetadata, in the check
// order of the deployment workflow (reference §6.4, §6.5).  Frontend
// argument validation happens in the RPC handlers before these run.
//
// Conflict token (§6.4): new on deployment creation and on every accepted
// SetCurrent, SetRamping and SetManager (also when only the modifier
// identity changes); unchanged by registration, DeleteVersion, metadata and
// drainage.  The no-op test runs before the token test, so re-sending a
// change already in effect with the same identity succeeds even with a
// stale token and returns the latest token.

const { failedPrecondition, notFound } = require('../errors');
const { UNVERSIONED, DrainageStatus } = require('./deployment');

function tokenMatches(dep, token) {
  return !token || token.length === 0 || Buffer.compare(Buffer.from(token), dep.conflictToken) === 0;
}

function checkToken(sim, dep, token) {
  if (!tokenMatches(dep, token)) throw failedPrecondition(sim.profile.text.conflictTokenMismatch);
}

function checkManager(sim, dep, identity) {
  if (dep.managerIdentity !== '' && dep.managerIdentity !== identity) {
    throw failedPrecondition(sim.profile.text.managerMismatch(dep.managerIdentity, identity));
  }
}

// The deployment a Set* call addresses.  Missing: NOT_FOUND (1.30+),
// FAILED_PRECONDITION (1.29), unless allow_no_pollers creates it.
function deploymentForSet(sim, ns, name, allowNoPollers) {
  const dep = ns.deployments.get(name);
  if (dep) return dep;
  if (allowNoPollers) return ns.createDeployment(name);
  const msg = sim.profile.wording.deploymentNotFoundOnSet(name);
  if (sim.profile.setOnMissingDeploymentIsPrecondition) throw failedPrecondition(msg);
  throw notFound(msg);
}

function structured(deploymentName, buildId) {
  return buildId === null || buildId === undefined ? null : { deploymentName, buildId };
}

// Parse a legacy response string back into a structured version (null for
// "", "__unversioned__" or anything without a delimiter).
function structuredFromString(s) {
  if (!s || s === UNVERSIONED) return null;
  const i = s.search(/[.:]/);
  if (i < 0) return null;
  return { deploymentName: s.slice(0, i), buildId: s.slice(i + 1) };
}

// Make `v` Current (§6.8: drainage cleared, ramp cleared for that version).
function activateAsCurrent(sim, v, now) {
  v.currentSinceMs = now;
  v.rampingSinceMs = null;
  v.rampPercentage = 0;
  v.routingUpdateMs = now;
  if (v.firstActivationMs === null) v.firstActivationMs = now;
  v.lastCurrentMs = now;
  v.lastDeactivationMs = null;
  sim.drainage.clear(v, now);
}

// Make `v` the ramp target, or change its percentage.
function activateAsRamping(sim, v, now, percentage, newTarget) {
  if (newTarget) {
    v.rampingSinceMs = now;
    if (v.firstActivationMs === null) v.firstActivationMs = now;
    v.lastDeactivationMs = null;
    sim.drainage.clear(v, now);
  }
  v.rampPercentage = percentage;
  v.routingUpdateMs = now;
}

// `v` lost Current or Ramping: it starts draining.
function deactivate(sim, ns, dep, v, now) {
  v.currentSinceMs = null;
  v.rampingSinceMs = null;
  v.rampPercentage = 0;
  v.routingUpdateMs = now;
  v.lastDeactivationMs = now;
  sim.drainage.begin(ns, dep, v, now);
}

// A routing change was committed: in asynchronous mode (1.31+) the
// revision number moves and propagation takes --propagation-delay.
function committedRoutingChange(sim, dep, now) {
  if (sim.profile.asyncRouting) {
    dep.routing.revision += 1;
    dep.propagationDoneMs = now + sim.options.propagationDelayMs;
  }
}

function ensureVersionForAllowNoPollers(ns, dep, target, allowNoPollers) {
  if (target.unversioned || !allowNoPollers) return null;
  if (dep.versionByKey(target.key) || dep.versions.has(target.buildId)) return null;
  return ns.addVersion(dep, target.buildId);
}

// SetWorkerDeploymentCurrentVersion after frontend validation.
// target: {unversioned, key, buildId}; key is the legacy lookup string.
function setCurrent(sim, ns, req) {
  const { deploymentName, target, identity, conflictToken, ignoreMissingTaskQueues, allowNoPollers } = req;
  const dep = deploymentForSet(sim, ns, deploymentName, allowNoPollers);
  const requestedKey = target.unversioned ? UNVERSIONED : target.key;

  // No-op: already Current and same identity.
  if (dep.currentString() === requestedKey && dep.lastModifierIdentity === identity) {
    return {
      conflictToken: dep.conflictToken,
      previousVersion: requestedKey,
      previousDeploymentVersion: structuredFromString(requestedKey),
      noop: true,
    };
  }
  checkToken(sim, dep, conflictToken);
  if (!target.unversioned && !dep.versionByKey(target.key) && !allowNoPollers) {
    throw notFound(sim.profile.wording.buildNotFound(deploymentName, target.buildId));
  }
  checkManager(sim, dep, identity);
  ensureVersionForAllowNoPollers(ns, dep, target, allowNoPollers);

  const now = sim.now();
  const prevBuild = dep.routing.current;
  const prevKey = dep.currentString();
  const newV = target.unversioned ? null : (dep.versionByKey(target.key) || dep.versions.get(target.buildId));
  const newBuild = newV ? newV.buildId : null;

  if (!ignoreMissingTaskQueues && prevBuild !== null && newV && prevBuild !== newBuild) {
    const prevV = dep.versions.get(prevBuild);
    if (prevV && ns.proposalMissesTaskQueues(dep, prevV, newV)) {
      throw failedPrecondition(sim.profile.wording.missingTaskQueues('current', deploymentName, newBuild));
    }
  }

  const changed = prevBuild !== newBuild;
  // Asynchronous mode leaves routing alone when only the identity changes;
  // synchronous mode re-applies the routing (and re-stamps its time).
  if (changed || !sim.profile.asyncRouting) {
    dep.routing.currentChangedMs = now;
    if (changed) {
      const ramp = dep.routing.ramp;
      // Promoting the ramp target to Current clears the ramp in the same write.
      if (ramp && ramp.buildId === newBuild) {
        dep.routing.ramp = null;
        dep.routing.rampingChangedMs = now;
        dep.routing.percentageChangedMs = now;
      }
      if (newV) activateAsCurrent(sim, newV, now);
      if (prevBuild !== null) {
        const prevV = dep.versions.get(prevBuild);
        if (prevV) deactivate(sim, ns, dep, prevV, now);
      }
      dep.routing.current = newBuild;
    }
    committedRoutingChange(sim, dep, now);
  }
  dep.stampToken(now);
  dep.lastModifierIdentity = identity;
  sim.log.info(`deployment ${dep.name}: current ${prevKey} -> ${dep.currentString()} by ${JSON.stringify(identity)}`);
  return {
    conflictToken: dep.conflictToken,
    previousVersion: prevKey,
    previousDeploymentVersion: structured(dep.name, prevBuild),
  };
}

// SetWorkerDeploymentRampingVersion after frontend validation.
// target: {kind: 'clear'|'unversioned'|'version', key, buildId}.
function setRamping(sim, ns, req) {
  const { deploymentName, target, percentage, identity, conflictToken, ignoreMissingTaskQueues, allowNoPollers } = req;
  const dep = deploymentForSet(sim, ns, deploymentName, allowNoPollers);
  let targetKey;
  if (target.kind === 'clear') targetKey = '';
  else if (target.kind === 'unversioned') targetKey = UNVERSIONED;
  else targetKey = target.key;
  const pct = target.kind === 'clear' ? 0 : percentage;

  // No-op: same ramp target, same percentage, same identity.
  if (dep.rampString() === targetKey && dep.rampPercentage() === pct && dep.lastModifierIdentity === identity) {
    return {
      conflictToken: dep.conflictToken,
      previousVersion: targetKey,
      previousPercentage: pct,
      previousDeploymentVersion: structuredFromString(targetKey),
      noop: true,
    };
  }
  checkToken(sim, dep, conflictToken);
  if (targetKey !== '' && targetKey === dep.currentString()) {
    throw failedPrecondition(sim.profile.text.rampAlreadyCurrent(targetKey));
  }
  if (target.kind === 'version' && !dep.versionByKey(target.key) && !allowNoPollers) {
    throw notFound(sim.profile.wording.buildNotFound(deploymentName, target.buildId));
  }
  checkManager(sim, dep, identity);
  if (target.kind === 'version') {
    ensureVersionForAllowNoPollers(ns, dep, { unversioned: false, key: target.key, buildId: target.buildId }, allowNoPollers);
  }

  const now = sim.now();
  const prevKey = dep.rampString();
  const prevPct = dep.rampPercentage();
  const prevRamp = dep.routing.ramp;
  const prevBuild = prevRamp ? prevRamp.buildId : null; // null: no ramp or unversioned ramp
  const newV = target.kind === 'version' ? (dep.versionByKey(target.key) || dep.versions.get(target.buildId)) : null;
  const changed = prevKey !== targetKey || prevPct !== pct;

  if (changed || !sim.profile.asyncRouting) {
    if (target.kind === 'clear') {
      if (prevRamp && prevBuild !== null) {
        const prevV = dep.versions.get(prevBuild);
        if (prevV) deactivate(sim, ns, dep, prevV, now);
      }
      dep.routing.ramp = null;
      dep.routing.rampingChangedMs = now;
    } else {
      const newTarget = prevKey !== targetKey;
      if (newTarget) {
        // Missing-task-queue guard: only when the ramp target changes, and
        // always against the Current version (§6.5).
        const cur = dep.routing.current !== null ? dep.versions.get(dep.routing.current) : null;
        if (!ignoreMissingTaskQueues && cur && newV && ns.proposalMissesTaskQueues(dep, cur, newV)) {
          throw failedPrecondition(sim.profile.wording.missingTaskQueues('ramping', deploymentName, newV.buildId));
        }
        dep.routing.rampingChangedMs = now;
      }
      if (newV) activateAsRamping(sim, newV, now, pct, newTarget);
      if (newTarget && prevRamp && prevBuild !== null) {
        const prevV = dep.versions.get(prevBuild);
        if (prevV) deactivate(sim, ns, dep, prevV, now);
      }
      dep.routing.ramp = { buildId: newV ? newV.buildId : null, percentage: pct };
    }
    dep.routing.percentageChangedMs = now;
    committedRoutingChange(sim, dep, now);
  }
  dep.stampToken(now);
  dep.lastModifierIdentity = identity;
  sim.log.info(`deployment ${dep.name}: ramp ${JSON.stringify(prevKey)}@${prevPct} -> ${JSON.stringify(dep.rampString())}@${dep.rampPercentage()} by ${JSON.stringify(identity)}`);
  return {
    conflictToken: dep.conflictToken,
    previousVersion: prevKey,
    previousPercentage: prevPct,
    previousDeploymentVersion: prevRamp ? structured(dep.name, prevBuild) : null,
  };
}

// SetWorkerDeploymentManager (1.29+).  No manager check: anyone may take
// over or clear the manager.
function setManager(sim, ns, { deploymentName, managerIdentity, identity, conflictToken }) {
  const dep = ns.deployments.get(deploymentName);
  if (!dep) throw notFound(sim.profile.text.systemWorkflowNotFound(`temporal-sys-worker-deployment:${deploymentName}`));
  if (dep.managerIdentity === managerIdentity && dep.lastModifierIdentity === identity) {
    return { conflictToken: dep.conflictToken, previousManagerIdentity: managerIdentity, noop: true };
  }
  checkToken(sim, dep, conflictToken);
  const prev = dep.managerIdentity;
  dep.managerIdentity = managerIdentity;
  dep.lastModifierIdentity = identity;
  dep.stampToken(sim.now());
  sim.log.info(`deployment ${dep.name}: manager ${JSON.stringify(prev)} -> ${JSON.stringify(managerIdentity)} by ${JSON.stringify(identity)}`);
  return { conflictToken: dep.conflictToken, previousManagerIdentity: prev };
}

// DeleteWorkerDeploymentVersion after argument validation (§6.5).
function deleteVersion(sim, ns, { deploymentName, buildId, skipDrainage, identity }) {
  const dep = ns.deployments.get(deploymentName);
  if (!dep) throw notFound(sim.profile.text.systemWorkflowNotFound(`temporal-sys-worker-deployment:${deploymentName}`));
  const v = dep.versions.get(buildId);
  if (!v) return { deleted: false }; // idempotent
  const w = sim.profile.wording;
  if (dep.isCurrent(buildId) || dep.isRamping(buildId)) {
    throw failedPrecondition(w.deleteCurrentOrRamping(deploymentName, buildId));
  }
  checkManager(sim, dep, identity);
  if (!skipDrainage && v.drainage && v.drainage.status === DrainageStatus.DRAINING) {
    throw failedPrecondition(w.deleteDraining(deploymentName, buildId));
  }
  if (ns.versionHasLivePollers(deploymentName, buildId)) {
    throw failedPrecondition(w.deleteHasPollers(deploymentName, buildId));
  }
  ns.removeVersion(dep, v);
  dep.lastModifierIdentity = identity;
  sim.log.info(`deleted version ${deploymentName}:${buildId} by ${JSON.stringify(identity)}`);
  return { deleted: true };
}

// DeleteWorkerDeployment: idempotent; refused while versions remain.
function deleteDeployment(sim, ns, { deploymentName }) {
  const dep = ns.deployments.get(deploymentName);
  if (!dep) return { deleted: false };
  if (dep.versions.size > 0) throw failedPrecondition(sim.profile.text.deploymentHasVersions);
  ns.deployments.delete(deploymentName);
  sim.log.info(`deleted worker deployment ${deploymentName}`);
  return { deleted: true };
}

// UpdateWorkerDeploymentVersionMetadata: upsert then remove; returns the
// whole map.  Not guarded by the manager, no token change.
function updateMetadata(sim, ns, { deploymentName, buildId, upsert, remove, identity }) {
  const dep = ns.deployments.get(deploymentName);
  const v = dep && dep.versions.get(buildId);
  if (!v) {
    if (ns.deletedVersions.has(`${deploymentName}:${buildId}`)) throw notFound(sim.profile.text.versionNotFound);
    throw notFound(sim.profile.text.systemWorkflowNotFound(`temporal-sys-worker-deployment-version:${deploymentName}:${buildId}`));
  }
  if (!v.metadata) v.metadata = new Map();
  for (const [k, payload] of Object.entries(upsert)) v.metadata.set(k, payload);
  for (const k of remove) v.metadata.delete(k);
  if (identity) v.lastModifierIdentity = identity;
  return { metadata: v.metadata };
}

module.exports = {
  setCurrent,
  setRamping,
  setManager,
  deleteVersion,
  deleteDeployment,
  updateMetadata,
};
