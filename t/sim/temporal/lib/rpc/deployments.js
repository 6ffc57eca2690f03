'use strict';
// The worker-deployment RPCs (reference §3.1-§3.9, check order of §6.5).
// Each handler does the frontend's argument checks and hands the
// normalised request to the deployment model (lib/model/routing.js).

const { randomUUID } = require('crypto');
const { invalidArgument, notFound } = require('../errors');
const { validateNameField } = require('../profile');
const routing = require('../model/routing');
const views = require('../views');
const { frontendNamespace, existingNamespace, readRateLimit, setTarget, addressedVersion, bytes } = require('./common');

function DescribeWorkerDeployment(ctx, req) {
  const { sim } = ctx;
  const ns = frontendNamespace(ctx, req.namespace, { versioning: true });
  readRateLimit(ctx, ns);
  validateNameField('WorkerDeploymentName', req.deploymentName);
  const dep = ns.deployments.get(req.deploymentName);
  if (!dep) throw notFound(sim.profile.wording.deploymentNotFoundOnDescribe(req.deploymentName));
  return {
    conflictToken: dep.conflictToken,
    workerDeploymentInfo: views.deploymentInfo(sim, dep),
  };
}

// allow_no_pollers is only understood by 1.29+, and (§10) an empty build
// with it is rejected before 1.31.
function allowNoPollersOf(sim, req, unversioned) {
  if (!sim.profile.hasAllowNoPollers || !req.allowNoPollers) return false;
  if (unversioned && !sim.profile.allowNoPollersEmptyBuild) throw invalidArgument('BuildID cannot be empty');
  return true;
}

function SetWorkerDeploymentCurrentVersion(ctx, req) {
  const { sim } = ctx;
  const ns = frontendNamespace(ctx, req.namespace, { versioning: true });
  const d = req.deploymentName;
  if (!d) throw invalidArgument(sim.profile.text.deploymentNameEmpty);
  const target = setTarget(req.version, req.buildId, d, { strictDeploymentMatch: true });
  validateNameField('WorkerDeploymentName', d);
  if (!target.unversioned) validateNameField('BuildID', target.buildId);
  const allowNoPollers = allowNoPollersOf(sim, req, target.unversioned);
  const res = routing.setCurrent(sim, ns, {
    deploymentName: d,
    target,
    identity: req.identity || '',
    conflictToken: bytes(req.conflictToken),
    ignoreMissingTaskQueues: !!req.ignoreMissingTaskQueues,
    allowNoPollers,
  });
  return {
    conflictToken: res.conflictToken,
    previousVersion: res.previousVersion,
    previousDeploymentVersion: res.previousDeploymentVersion,
  };
}

function SetWorkerDeploymentRampingVersion(ctx, req) {
  const { sim } = ctx;
  const ns = frontendNamespace(ctx, req.namespace, { versioning: true });
  const pct = req.percentage;
  // A NaN passes this comparison on the server too (§6.5).
  if (pct < 0 || pct > 100) throw invalidArgument(sim.profile.text.percentageRange);
  const d = req.deploymentName;
  const t = setTarget(req.version, req.buildId, d, { strictDeploymentMatch: false });
  validateNameField('WorkerDeploymentName', d);
  if (!t.unversioned) validateNameField('BuildID', t.buildId);
  const allowNoPollers = allowNoPollersOf(sim, req, t.unversioned);
  let target;
  if (t.unversioned) target = { kind: pct === 0 ? 'clear' : 'unversioned' };
  else target = { kind: 'version', key: t.key, buildId: t.buildId };
  const res = routing.setRamping(sim, ns, {
    deploymentName: d,
    target,
    percentage: pct,
    identity: req.identity || '',
    conflictToken: bytes(req.conflictToken),
    ignoreMissingTaskQueues: !!req.ignoreMissingTaskQueues,
    allowNoPollers,
  });
  return {
    conflictToken: res.conflictToken,
    previousVersion: res.previousVersion,
    previousPercentage: res.previousPercentage,
    previousDeploymentVersion: res.previousDeploymentVersion,
  };
}

function DescribeWorkerDeploymentVersion(ctx, req) {
  const { sim } = ctx;
  const ns = frontendNamespace(ctx, req.namespace, { versioning: true });
  readRateLimit(ctx, ns);
  const addr = addressedVersion(req, 'legacy');
  if (!addr) throw invalidArgument(sim.profile.text.deploymentVersionEmpty);
  if (addr.invalid) throw invalidArgument(`invalid version string: ${addr.error}`);
  if (addr.unversioned) throw notFound(sim.profile.text.versionNotFound);
  validateNameField('WorkerDeploymentName', addr.deploymentName);
  validateNameField('BuildID', addr.buildId);
  const dep = ns.deployments.get(addr.deploymentName);
  const v = dep && dep.versions.get(addr.buildId);
  if (!v) throw notFound(sim.profile.text.versionNotFound);
  const out = { workerDeploymentVersionInfo: views.versionInfo(sim, dep, v) };
  if (sim.profile.hasVersionTaskQueues) {
    out.versionTaskQueues = views.versionTaskQueues(ns, dep, v, !!req.reportTaskQueueStats);
  }
  return out;
}

function DeleteWorkerDeploymentVersion(ctx, req) {
  const { sim } = ctx;
  const ns = existingNamespace(ctx, req.namespace);
  const addr = addressedVersion(req, 'structured');
  if (!addr || addr.invalid || addr.unversioned || !addr.deploymentName || !addr.buildId) {
    throw invalidArgument(sim.profile.text.invalidDeleteVersion(addr ? addr.text : ''));
  }
  validateNameField('WorkerDeploymentName', addr.deploymentName);
  routing.deleteVersion(sim, ns, {
    deploymentName: addr.deploymentName,
    buildId: addr.buildId,
    skipDrainage: !!req.skipDrainage,
    // An empty identity is replaced by a random id, so it never matches a
    // manager (§3.5).
    identity: req.identity || randomUUID(),
  });
  return {};
}

function DeleteWorkerDeployment(ctx, req) {
  const { sim } = ctx;
  const ns = existingNamespace(ctx, req.namespace);
  validateNameField('WorkerDeploymentName', req.deploymentName);
  routing.deleteDeployment(sim, ns, { deploymentName: req.deploymentName, identity: req.identity || '' });
  return {};
}

const LIST_TOKEN_PREFIX = 'temporal-sim-list:';

function ListWorkerDeployments(ctx, req) {
  const { sim } = ctx;
  const ns = frontendNamespace(ctx, req.namespace, { versioning: true });
  const maxPage = 1000; // frontend.visibilityMaxPageSize
  const pageSize = req.pageSize <= 0 || req.pageSize > maxPage ? maxPage : req.pageSize;
  let offset = 0;
  const token = bytes(req.nextPageToken);
  if (token) {
    const s = token.toString('utf8');
    const m = s.startsWith(LIST_TOKEN_PREFIX) ? /^\d+$/.exec(s.slice(LIST_TOKEN_PREFIX.length)) : null;
    if (!m) throw invalidArgument('Invalid NextPageToken.');
    offset = Number(m[0]);
  }
  const deps = [...ns.deployments.values()].sort((a, b) => b.createTimeMs - a.createTimeMs || (a.name < b.name ? -1 : 1));
  const page = deps.slice(offset, offset + pageSize);
  const summary = (dep, v) => (v ? views.versionSummary(sim, dep, v) : null);
  return {
    nextPageToken: offset + pageSize < deps.length ? Buffer.from(`${LIST_TOKEN_PREFIX}${offset + pageSize}`) : Buffer.alloc(0),
    workerDeployments: page.map((dep) => ({
      name: dep.name,
      createTime: views.ts(dep.createTimeMs),
      routingConfig: views.routingConfig(sim, dep),
      latestVersionSummary: summary(dep, dep.latestVersion()),
      currentVersionSummary: summary(dep, dep.routing.current !== null ? dep.versions.get(dep.routing.current) : null),
      rampingVersionSummary: summary(dep, dep.routing.ramp && dep.routing.ramp.buildId !== null ? dep.versions.get(dep.routing.ramp.buildId) : null),
    })),
  };
}

function SetWorkerDeploymentManager(ctx, req) {
  const { sim } = ctx;
  const ns = existingNamespace(ctx, req.namespace);
  if (!req.identity) throw invalidArgument(sim.profile.text.identityRequired);
  validateNameField('WorkerDeploymentName', req.deploymentName);
  // Oneof new_manager_identity: `self` stores the caller's identity;
  // manager_identity stores its value ("" clears); neither set = clear.
  let manager = '';
  if (req.newManagerIdentity === 'self') manager = req.self ? req.identity : '';
  else if (req.newManagerIdentity === 'managerIdentity') manager = req.managerIdentity || '';
  const res = routing.setManager(sim, ns, {
    deploymentName: req.deploymentName,
    managerIdentity: manager,
    identity: req.identity,
    conflictToken: bytes(req.conflictToken),
  });
  return { conflictToken: res.conflictToken, previousManagerIdentity: res.previousManagerIdentity };
}

function UpdateWorkerDeploymentVersionMetadata(ctx, req) {
  const { sim } = ctx;
  const ns = existingNamespace(ctx, req.namespace);
  const upsert = req.upsertEntries || {};
  const remove = req.removeEntries || [];
  if (Object.keys(upsert).length === 0 && remove.length === 0) throw invalidArgument(sim.profile.text.metadataEmpty);
  const addr = addressedVersion(req, 'structured');
  if (!addr || addr.invalid || addr.unversioned || !addr.deploymentName || !addr.buildId) {
    throw invalidArgument(sim.profile.text.invalidDeleteVersion(addr ? addr.text : ''));
  }
  validateNameField('WorkerDeploymentName', addr.deploymentName);
  validateNameField('BuildID', addr.buildId);
  const res = routing.updateMetadata(sim, ns, {
    deploymentName: addr.deploymentName,
    buildId: addr.buildId,
    upsert,
    remove,
    identity: req.identity || '',
  });
  return { metadata: { entries: Object.fromEntries(res.metadata) } };
}

module.exports = {
  DescribeWorkerDeployment,
  SetWorkerDeploymentCurrentVersion,
  SetWorkerDeploymentRampingVersion,
  DescribeWorkerDeploymentVersion,
  DeleteWorkerDeploymentVersion,
  DeleteWorkerDeployment,
  ListWorkerDeployments,
  SetWorkerDeploymentManager,
  UpdateWorkerDeploymentVersionMetadata,
};
