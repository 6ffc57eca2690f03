'use strict';
// StartWorkflowExecution, DescribeWorkflowExecution and
// CountWorkflowExecutions, as far as a worker-deployment client uses them:
// pinned gate workflows (reference §6.9) and the drainage count (§6.7).

const { invalidArgument, failedPrecondition, notFound } = require('../errors');
const { validateNameField } = require('../profile');
const { parseLegacyVersion, TaskQueueType } = require('../model/deployment');
const { STATUS_NAMES } = require('../model/workflows');
const { compile, QueryError } = require('../query');
const schema = require('../schema');
const views = require('../views');
const { frontendNamespace } = require('./common');

const VersioningBehavior = schema.enumValues('temporal.api.enums.v1.VersioningBehavior', 'VERSIONING_BEHAVIOR_');

// Interpret a VersioningOverride (§3.10): if the `override` oneof is set the
// deprecated fields are ignored; otherwise `behavior` decides.  Returns
// {pinned: {deploymentName, buildId}|null, autoUpgrade}.
function parseOverride(vo) {
  if (!vo) return { pinned: null, autoUpgrade: false };
  const which = vo.override;
  if (which === 'pinned') {
    const p = vo.pinned;
    if (!p.behavior) throw invalidArgument('must specify pinned override behavior if override is pinned.');
    if (!p.version) throw invalidArgument('must provide version if override is pinned.');
    validateNameField('WorkerDeploymentName', p.version.deploymentName);
    validateNameField('BuildID', p.version.buildId);
    return { pinned: { deploymentName: p.version.deploymentName, buildId: p.version.buildId }, autoUpgrade: false };
  }
  if (which === 'autoUpgrade') {
    if (!vo.autoUpgrade) throw invalidArgument('must set auto_upgrade to true if override is auto_upgrade.');
    return { pinned: null, autoUpgrade: true };
  }
  if (which === 'oneTime') {
    // One-time overrides exist only after 1.31 (not modelled).
    throw invalidArgument('one_time versioning override is not supported by this server.');
  }
  switch (vo.behavior) {
    case VersioningBehavior.PINNED: {
      if (vo.pinnedVersion) {
        let parsed;
        try {
          parsed = parseLegacyVersion(vo.pinnedVersion);
        } catch (err) {
          throw invalidArgument(`invalid version string: ${err.message}`);
        }
        if (parsed.unversioned) throw invalidArgument('must provide deployment (deprecated) or pinned version if behavior is pinned.');
        return { pinned: { deploymentName: parsed.deploymentName, buildId: parsed.buildId }, autoUpgrade: false };
      }
      if (vo.deployment && vo.deployment.seriesName) {
        return { pinned: { deploymentName: vo.deployment.seriesName, buildId: vo.deployment.buildId }, autoUpgrade: false };
      }
      throw invalidArgument('must provide deployment (deprecated) or pinned version if behavior is pinned.');
    }
    case VersioningBehavior.AUTO_UPGRADE:
      if (vo.deployment || vo.pinnedVersion) {
        throw invalidArgument('only provide deployment (deprecated) or pinned version if behavior is pinned.');
      }
      return { pinned: null, autoUpgrade: true };
    default:
      throw invalidArgument('override behavior is required');
  }
}

function StartWorkflowExecution(ctx, req) {
  const { sim } = ctx;
  const ns = frontendNamespace(ctx, req.namespace);
  if (!req.workflowId) throw invalidArgument('WorkflowId is not set on request.');
  if (!req.workflowType || !req.workflowType.name) throw invalidArgument('WorkflowType is not set on request.');
  if (!req.taskQueue || !req.taskQueue.name) throw invalidArgument('TaskQueue is not set on request.');
  const tq = req.taskQueue.name;
  const ov = parseOverride(req.versioningOverride);
  if (ov.pinned && sim.profile.pinnedStartMembershipCheck) {
    // 1.30+: the pinned version must be registered on this task queue for
    // workflow tasks.
    const dep = ns.deployments.get(ov.pinned.deploymentName);
    const v = dep && dep.versions.get(ov.pinned.buildId);
    if (!v || !v.hasTaskQueue(tq, TaskQueueType.WORKFLOW)) {
      throw failedPrecondition(sim.profile.text.pinnedNotInQueue(ov.pinned.deploymentName, ov.pinned.buildId, tq));
    }
  }
  const { run, started } = sim.workflows.start(ns, {
    workflowId: req.workflowId,
    workflowType: req.workflowType.name,
    taskQueue: tq,
    requestId: req.requestId,
    identity: req.identity,
    reusePolicy: req.workflowIdReusePolicy,
    conflictPolicy: req.workflowIdConflictPolicy,
    pinned: ov.pinned,
    autoUpgrade: ov.autoUpgrade,
    override: req.versioningOverride || null,
    input: req.input || null,
    origin: 'grpc',
  });
  return { runId: run.runId, started, status: run.status };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function DescribeWorkflowExecution(ctx, req) {
  const ns = frontendNamespace(ctx, req.namespace);
  if (!req.execution) throw invalidArgument('Execution is not set on request.');
  const { workflowId, runId } = req.execution;
  if (!workflowId) throw invalidArgument('WorkflowId is not set on request.');
  if (runId && !UUID_RE.test(runId)) throw invalidArgument('Invalid RunId.');
  let run;
  if (runId) {
    run = ns.runs.get(runId);
    if (run && run.workflowId !== workflowId) run = null;
  } else {
    run = ctx.sim.workflows.latestRun(ns, workflowId);
  }
  if (!run) throw notFound(`workflow execution not found for workflow ID "${workflowId}" and run ID "${runId || ''}"`);
  return views.describeWorkflow(run);
}

const JSON_PLAIN = Buffer.from('json/plain');

function CountWorkflowExecutions(ctx, req) {
  const { sim } = ctx;
  const ns = frontendNamespace(ctx, req.namespace);
  let q;
  try {
    q = compile(req.query || '');
  } catch (err) {
    if (err instanceof QueryError) throw invalidArgument(`invalid query: ${err.message}`);
    throw err;
  }
  const counts = new Map();
  let total = 0;
  for (const run of ns.runs.values()) {
    if (!q.matches(sim.workflows.searchAttributes(run))) continue;
    total += 1;
    counts.set(run.status, (counts.get(run.status) || 0) + 1);
  }
  const out = { count: total };
  if (q.groupBy) {
    out.groups = [...counts.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([status, count]) => ({
        groupValues: [{ metadata: { encoding: JSON_PLAIN }, data: Buffer.from(JSON.stringify(STATUS_NAMES[status])) }],
        count,
      }));
  }
  return out;
}

module.exports = {
  StartWorkflowExecution,
  DescribeWorkflowExecution,
  CountWorkflowExecutions,
  parseOverride,
};
