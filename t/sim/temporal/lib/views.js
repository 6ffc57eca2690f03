'use strict';
// Model -> wire messages (plain objects in protobufjs camelCase form), and
// the JSON state dump of the admin API.
//
// Field filling follows the reference: legacy strings next to structured
// versions (§5), a null WorkerDeploymentVersion for "unversioned" (§4.1),
// summaries carrying times that DescribeWorkerDeploymentVersion leaves out
// (§10), drainage info shown by DescribeWorkerDeploymentVersion only while
// DRAINING/DRAINED (§4.3), and fields that appeared in later releases left
// out when the configured release predates them.

const schema = require('./schema');
const { DrainageStatus, VersionStatus, TaskQueueType, legacyVersionString } = require('./model/deployment');
const { STATUS_NAMES, ExecutionStatus } = require('./model/workflows');
const { WorkerVersioningMode } = require('./model/namespace');

const RoutingConfigUpdateState = schema.enumValues('temporal.api.enums.v1.RoutingConfigUpdateState', 'ROUTING_CONFIG_UPDATE_STATE_');
const VersioningBehavior = schema.enumValues('temporal.api.enums.v1.VersioningBehavior', 'VERSIONING_BEHAVIOR_');
const TaskQueueKind = schema.enumValues('temporal.api.enums.v1.TaskQueueKind', 'TASK_QUEUE_KIND_');
const PendingWorkflowTaskState = schema.enumValues('temporal.api.enums.v1.PendingWorkflowTaskState', 'PENDING_WORKFLOW_TASK_STATE_');

function ts(ms) {
  if (ms === null || ms === undefined) return null;
  const whole = Math.floor(ms);
  return { seconds: Math.floor(whole / 1000), nanos: (whole % 1000) * 1000000 };
}

function duration(ms) {
  return { seconds: Math.floor(ms / 1000), nanos: (Math.floor(ms) % 1000) * 1000000 };
}

function iso(ms) {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

function deploymentVersion(deploymentName, buildId) {
  return buildId === null || buildId === undefined ? null : { buildId, deploymentName };
}

function drainageInfo(d) {
  return { status: d.status, lastChangedTime: ts(d.lastChangedMs), lastCheckedTime: ts(d.lastCheckedMs) };
}

function routingConfig(sim, dep) {
  const r = dep.routing;
  const ramp = r.ramp;
  const out = {
    currentDeploymentVersion: deploymentVersion(dep.name, r.current),
    currentVersion: dep.currentString(),
    rampingDeploymentVersion: ramp ? deploymentVersion(dep.name, ramp.buildId) : null,
    rampingVersion: dep.rampString(),
    rampingVersionPercentage: dep.rampPercentage(),
    currentVersionChangedTime: ts(r.currentChangedMs),
    rampingVersionChangedTime: ts(r.rampingChangedMs),
    rampingVersionPercentageChangedTime: ts(r.percentageChangedMs),
  };
  if (sim.profile.hasRevisionNumber) out.revisionNumber = r.revision;
  return out;
}

// WorkerDeploymentInfo.WorkerDeploymentVersionSummary.  Once a version has
// been activated, servers 1.29/1.30 send a drainage_info with status
// UNSPECIFIED while it is Current/Ramping (§10), although the proto comment
// says it is absent then; --summary-drainage-while-active picks one.
function versionSummary(sim, dep, v) {
  const showDrainage = v.drainage
    && (v.drainage.status !== DrainageStatus.UNSPECIFIED || sim.options.summaryDrainageWhileActive);
  const out = {
    version: v.key,
    createTime: ts(v.createTimeMs),
    drainageStatus: v.drainage ? v.drainage.status : DrainageStatus.UNSPECIFIED,
    deploymentVersion: deploymentVersion(dep.name, v.buildId),
    drainageInfo: showDrainage ? drainageInfo(v.drainage) : null,
    currentSinceTime: ts(v.currentSinceMs),
    rampingSinceTime: ts(v.rampingSinceMs),
    routingUpdateTime: ts(v.routingUpdateMs),
    firstActivationTime: ts(v.firstActivationMs),
    lastDeactivationTime: ts(v.lastDeactivationMs),
    status: dep.status(v),
  };
  if (sim.profile.hasLastCurrentTime) out.lastCurrentTime = ts(v.lastCurrentMs);
  return out;
}

function routingUpdateState(sim, dep) {
  if (!sim.profile.hasRoutingUpdateState) return undefined;
  return sim.now() < dep.propagationDoneMs ? RoutingConfigUpdateState.IN_PROGRESS : RoutingConfigUpdateState.COMPLETED;
}

function deploymentInfo(sim, dep) {
  const out = {
    name: dep.name,
    versionSummaries: dep.versionsNewestFirst().map((v) => versionSummary(sim, dep, v)),
    createTime: ts(dep.createTimeMs),
    routingConfig: routingConfig(sim, dep),
    lastModifierIdentity: dep.lastModifierIdentity,
  };
  if (sim.profile.hasManagerApi) out.managerIdentity = dep.managerIdentity;
  const state = routingUpdateState(sim, dep);
  if (state !== undefined) out.routingConfigUpdateState = state;
  return out;
}

function taskQueueStats(s) {
  return {
    approximateBacklogCount: s.approximateBacklogCount,
    approximateBacklogAge: duration(s.approximateBacklogAgeMs),
    tasksAddRate: s.tasksAddRate,
    tasksDispatchRate: s.tasksDispatchRate,
  };
}

// WorkerDeploymentVersionInfo
function versionInfo(sim, dep, v) {
  const status = dep.status(v);
  const showDrainage = v.drainage && (v.drainage.status === DrainageStatus.DRAINING || v.drainage.status === DrainageStatus.DRAINED);
  const out = {
    version: v.key,
    status,
    deploymentVersion: deploymentVersion(dep.name, v.buildId),
    createTime: ts(v.createTimeMs),
    routingChangedTime: ts(v.routingUpdateMs),
    currentSinceTime: ts(v.currentSinceMs),
    rampingSinceTime: ts(v.rampingSinceMs),
    rampPercentage: v.rampPercentage,
    taskQueueInfos: v.taskQueues.map((tq) => ({ name: tq.name, type: tq.type })),
    drainageInfo: showDrainage ? drainageInfo(v.drainage) : null,
    metadata: v.metadata ? { entries: Object.fromEntries(v.metadata) } : null,
  };
  if (sim.profile.hasVersionLastModifier) out.lastModifierIdentity = v.lastModifierIdentity;
  return out;
}

function versionTaskQueues(ns, dep, v, withStats) {
  return v.taskQueues.map((tq) => {
    const out = { name: tq.name, type: tq.type };
    if (withStats) {
      out.stats = taskQueueStats(ns.taskQueueStats(tq.name, tq.type, dep.name, v.buildId));
      out.statsByPriorityKey = {};
    }
    return out;
  });
}

// TaskQueueVersioningInfo of one (task queue, type): the Current/Ramping the
// queue routes to.  The Current applies only if that version polls this
// queue (otherwise the queue is unversioned); a ramp to unversioned workers
// applies to the Current's queues.
function taskQueueVersioningInfo(ns, taskQueue, type) {
  const dep = ns.deploymentOfTaskQueue(taskQueue, type);
  if (!dep) return null;
  const r = dep.routing;
  const registered = (b) => {
    const v = b === null ? null : dep.versions.get(b);
    return !!v && v.hasTaskQueue(taskQueue, type);
  };
  const current = r.current !== null && registered(r.current) ? r.current : null;
  const out = {
    currentDeploymentVersion: deploymentVersion(dep.name, current),
    currentVersion: current === null ? '__unversioned__' : legacyVersionString(dep.name, current),
  };
  const ramp = r.ramp;
  const rampApplies = ramp && (ramp.buildId === null ? current !== null : registered(ramp.buildId));
  if (rampApplies) {
    out.rampingDeploymentVersion = deploymentVersion(dep.name, ramp.buildId);
    out.rampingVersion = dep.rampString();
    out.rampingVersionPercentage = ramp.percentage;
  }
  const times = [r.currentChangedMs, r.percentageChangedMs].filter((x) => x !== null);
  out.updateTime = ts(times.length ? Math.max(...times) : dep.createTimeMs);
  return out;
}

function pollerInfo(p) {
  const out = {
    lastAccessTime: ts(p.lastAccessMs),
    identity: p.identity,
    ratePerSecond: p.ratePerSecond,
  };
  if (p.versioningMode !== WorkerVersioningMode.UNSPECIFIED || p.deploymentName || p.buildId) {
    out.deploymentOptions = {
      deploymentName: p.deploymentName,
      buildId: p.buildId,
      workerVersioningMode: p.versioningMode,
    };
  }
  return out;
}

// WorkflowExecutionInfo + config of DescribeWorkflowExecution.
function describeWorkflow(run) {
  const running = run.status === ExecutionStatus.RUNNING;
  const info = {
    execution: { workflowId: run.workflowId, runId: run.runId },
    type: { name: run.workflowType },
    startTime: ts(run.startMs),
    closeTime: running ? null : ts(run.closeMs),
    status: run.status,
    historyLength: (run.firstTaskDone ? 5 : 2) + (running ? 0 : 1),
    executionTime: ts(run.startMs),
    taskQueue: run.taskQueue,
    firstRunId: run.firstRunId,
  };
  if (!running) info.executionDuration = duration(run.closeMs - run.startMs);
  if (run.pinned || run.autoUpgrade || run.completedBy || run.override) {
    let behavior = VersioningBehavior.UNSPECIFIED;
    if (run.pinned) behavior = VersioningBehavior.PINNED;
    else if (run.autoUpgrade) behavior = VersioningBehavior.AUTO_UPGRADE;
    info.versioningInfo = {
      behavior,
      versioningOverride: run.override,
      deploymentVersion: run.completedBy ? deploymentVersion(run.completedBy.deploymentName, run.completedBy.buildId) : null,
    };
  }
  if (run.completedBy) info.workerDeploymentName = run.completedBy.deploymentName;
  const out = {
    executionConfig: {
      taskQueue: { name: run.taskQueue, kind: TaskQueueKind.NORMAL },
      defaultWorkflowTaskTimeout: { seconds: 10 },
    },
    workflowExecutionInfo: info,
  };
  if (running && !run.firstTaskDone) {
    out.pendingWorkflowTask = {
      state: PendingWorkflowTaskState.SCHEDULED,
      scheduledTime: ts(run.startMs),
      originalScheduledTime: ts(run.startMs),
      attempt: 1,
    };
  }
  return out;
}

// ---- admin state dump ---------------------------------------------------------

const VSTATUS_NAMES = Object.fromEntries(Object.entries(VersionStatus).map(([k, v]) => [v, k]));
const DSTATUS_NAMES = Object.fromEntries(Object.entries(DrainageStatus).map(([k, v]) => [v, k]));
const TQTYPE_NAMES = Object.fromEntries(Object.entries(TaskQueueType).map(([k, v]) => [v, k]));
const MODE_NAMES = Object.fromEntries(Object.entries(WorkerVersioningMode).map(([k, v]) => [v, k]));
const Payload = schema.type('temporal.api.common.v1.Payload');
const VersioningOverride = schema.type('temporal.api.workflow.v1.VersioningOverride');

function dumpVersion(sim, ns, dep, v) {
  return {
    buildId: v.buildId,
    version: v.key,
    status: VSTATUS_NAMES[dep.status(v)],
    createTime: iso(v.createTimeMs),
    currentSinceTime: iso(v.currentSinceMs),
    rampingSinceTime: iso(v.rampingSinceMs),
    rampPercentage: v.rampPercentage,
    routingUpdateTime: iso(v.routingUpdateMs),
    firstActivationTime: iso(v.firstActivationMs),
    lastCurrentTime: iso(v.lastCurrentMs),
    lastDeactivationTime: iso(v.lastDeactivationMs),
    drainage: v.drainage ? {
      status: DSTATUS_NAMES[v.drainage.status],
      lastChangedTime: iso(v.drainage.lastChangedMs),
      lastCheckedTime: iso(v.drainage.lastCheckedMs),
      nextCheckTime: iso(v.nextDrainageCheckMs),
    } : null,
    taskQueues: v.taskQueues.map((tq) => ({ name: tq.name, type: TQTYPE_NAMES[tq.type] })),
    livePollers: ns.livePollers({ deploymentName: dep.name, buildId: v.buildId }).length,
    runningPinnedWorkflows: sim.workflows.countRunningPinned(ns, dep.name, v.buildId),
    metadata: v.metadata ? Object.fromEntries([...v.metadata].map(([k, p]) => [k, schema.toJSON(Payload, Payload.fromObject(p))])) : null,
    lastModifierIdentity: v.lastModifierIdentity,
  };
}

function dumpDeployment(sim, ns, dep) {
  const r = dep.routing;
  return {
    name: dep.name,
    createTime: iso(dep.createTimeMs),
    conflictToken: dep.conflictToken.toString('base64'),
    lastModifierIdentity: dep.lastModifierIdentity,
    managerIdentity: dep.managerIdentity,
    routing: {
      currentVersion: dep.currentString(),
      currentBuildId: r.current,
      rampingVersion: dep.rampString(),
      rampingBuildId: r.ramp ? r.ramp.buildId : null,
      rampingToUnversioned: !!r.ramp && r.ramp.buildId === null,
      rampingVersionPercentage: dep.rampPercentage(),
      currentVersionChangedTime: iso(r.currentChangedMs),
      rampingVersionChangedTime: iso(r.rampingChangedMs),
      rampingVersionPercentageChangedTime: iso(r.percentageChangedMs),
      revisionNumber: r.revision,
      propagationDoneTime: iso(dep.propagationDoneMs || null),
    },
    versions: Object.fromEntries(dep.versionsNewestFirst().map((v) => [v.buildId, dumpVersion(sim, ns, dep, v)])),
  };
}

function dumpRun(sim, run) {
  return {
    workflowId: run.workflowId,
    runId: run.runId,
    workflowType: run.workflowType,
    taskQueue: run.taskQueue,
    status: STATUS_NAMES[run.status],
    startTime: iso(run.startMs),
    closeTime: iso(run.closeMs),
    closeReason: run.closeReason || null,
    pinned: run.pinned,
    autoUpgrade: run.autoUpgrade,
    completedBy: run.completedBy,
    requestId: run.requestId,
    identity: run.identity,
    origin: run.origin,
    versioningOverride: run.override ? schema.toJSON(VersioningOverride, VersioningOverride.fromObject(run.override)) : null,
    pendingOutcome: run.outcome && run.status === ExecutionStatus.RUNNING ? {
      status: STATUS_NAMES[run.outcome.status],
      dueTime: iso(run.outcome.dueMs),
      waitingForWorker: run.outcome.waiting,
    } : null,
  };
}

function dumpNamespace(sim, ns) {
  const now = sim.now();
  return {
    deployments: Object.fromEntries([...ns.deployments.values()].map((d) => [d.name, dumpDeployment(sim, ns, d)])),
    pollers: [...ns.pollers.values()].map((p) => ({
      taskQueue: p.taskQueue,
      type: TQTYPE_NAMES[p.type],
      identity: p.identity,
      versioningMode: MODE_NAMES[p.versioningMode],
      deploymentName: p.deploymentName,
      buildId: p.buildId,
      lastAccessTime: iso(p.lastAccessMs),
      live: ns.pollerLive(p, now),
    })),
    workflows: [...ns.runs.values()].map((r) => dumpRun(sim, r)),
    gateOutcomes: Object.fromEntries([...ns.gateOutcomes].map(([t, g]) => [t, { outcome: STATUS_NAMES[g.status], delayMs: g.delayMs }])),
    taskQueueStats: [...ns.tqStats].map(([k, s]) => {
      const [taskQueue, type, deploymentName, buildId] = k.split('\u0000');
      return { taskQueue, type: TQTYPE_NAMES[type], deploymentName, buildId, ...s };
    }),
    deletedVersions: [...ns.deletedVersions],
  };
}

function dumpState(sim) {
  const p = sim.profile;
  const o = sim.options;
  return {
    serverVersion: p.serverVersion,
    profile: {
      versioningEnabled: p.versioningEnabled,
      managerApi: p.hasManagerApi,
      setOnMissingDeploymentCode: p.setOnMissingDeploymentIsPrecondition ? 'FAILED_PRECONDITION' : 'NOT_FOUND',
      pinnedStartMembershipCheck: p.pinnedStartMembershipCheck,
      asyncRouting: p.asyncRouting,
      reactivation: p.reactivation,
      errorWording: p.minor >= 30 ? '1.30+' : '1.28-1.29',
    },
    options: {
      namespaces: [...sim.namespaces.keys()],
      drainageGraceMs: o.drainageGraceMs,
      drainageRefreshMs: o.drainageRefreshMs,
      pollerTtlMs: o.pollerTtlMs,
      propagationDelayMs: o.propagationDelayMs,
      readRps: o.readRps,
      maxDeployments: o.maxDeployments,
      maxVersions: o.maxVersions,
      maxTaskQueuesPerVersion: o.maxTaskQueuesPerVersion,
      summaryDrainageWhileActive: o.summaryDrainageWhileActive,
      apiKey: !!o.apiKey,
      tls: !!o.tlsCert,
      mtls: !!o.tlsCa,
      requireNamespaceHeader: !!o.requireNamespaceHeader,
    },
    clock: { now: iso(sim.now()), nowMs: sim.now(), frozen: sim.clock.frozen },
    counters: sim.counters,
    unknownFieldRequests: sim.counters.unknownFieldRequests,
    faults: sim.faults.list(),
    pendingTimers: sim.scheduler.pending().map((t) => ({ due: iso(t.dueMs), label: t.label })),
    namespaces: Object.fromEntries([...sim.namespaces.values()].map((ns) => [ns.name, dumpNamespace(sim, ns)])),
  };
}

module.exports = {
  ts,
  deploymentVersion,
  routingConfig,
  versionSummary,
  deploymentInfo,
  versionInfo,
  versionTaskQueues,
  taskQueueStats,
  taskQueueVersioningInfo,
  pollerInfo,
  describeWorkflow,
  dumpState,
  RoutingConfigUpdateState,
};
