'use strict';
// Workflow runs: pinned gate workflows started over gRPC, pinned user
// workflows started through the admin API, and their visibility records.
//
// A run pinned to a version (reference §6.9) makes progress only on that
// version's workers: its first workflow task is "completed" (and
// versioning_info.deployment_version filled) once a live workflow poller of
// the version exists on its task queue.  A gate outcome configured for the
// workflow type closes the run after the configured delay, again only once
// such a poller exists.  Running pinned runs count in the drainage query of
// their version (§6.7).

const { randomUUID } = require('crypto');
const { SimError, Status, workflowAlreadyStarted } = require('../errors');
const { enumValues } = require('../schema');
const { TaskQueueType, VersionStatus } = require('./deployment');

const WorkerVersioningMode = enumValues('temporal.api.enums.v1.WorkerVersioningMode', 'WORKER_VERSIONING_MODE_');
const ExecutionStatus = enumValues('temporal.api.enums.v1.WorkflowExecutionStatus', 'WORKFLOW_EXECUTION_STATUS_');
const ReusePolicy = enumValues('temporal.api.enums.v1.WorkflowIdReusePolicy', 'WORKFLOW_ID_REUSE_POLICY_');
const ConflictPolicy = enumValues('temporal.api.enums.v1.WorkflowIdConflictPolicy', 'WORKFLOW_ID_CONFLICT_POLICY_');

// Visibility names of execution statuses (ExecutionStatus search attribute).
const STATUS_NAMES = {
  [ExecutionStatus.RUNNING]: 'Running',
  [ExecutionStatus.COMPLETED]: 'Completed',
  [ExecutionStatus.FAILED]: 'Failed',
  [ExecutionStatus.CANCELED]: 'Canceled',
  [ExecutionStatus.TERMINATED]: 'Terminated',
  [ExecutionStatus.CONTINUED_AS_NEW]: 'ContinuedAsNew',
  [ExecutionStatus.TIMED_OUT]: 'TimedOut',
  [ExecutionStatus.PAUSED]: 'Paused',
};

// Outcome names accepted by the admin API.
const OUTCOMES = {
  success: ExecutionStatus.COMPLETED,
  completed: ExecutionStatus.COMPLETED,
  failure: ExecutionStatus.FAILED,
  failed: ExecutionStatus.FAILED,
  canceled: ExecutionStatus.CANCELED,
  terminated: ExecutionStatus.TERMINATED,
  timeout: ExecutionStatus.TIMED_OUT,
  timed_out: ExecutionStatus.TIMED_OUT,
};


class Workflows {
  constructor(sim) {
    this.sim = sim;
  }

  latestRun(ns, workflowId) {
    const runs = ns.runsByWorkflowId.get(workflowId);
    return runs && runs.length ? runs[runs.length - 1] : null;
  }

  // Start a run, applying request-id de-duplication and the id reuse and
  // conflict policies.  Returns {run, started}.
  start(ns, spec) {
    const last = this.latestRun(ns, spec.workflowId);
    if (last && spec.requestId && last.requestId === spec.requestId) return { run: last, started: false };
    if (last && last.status === ExecutionStatus.RUNNING) {
      const conflict = spec.conflictPolicy || ConflictPolicy.FAIL;
      if (conflict === ConflictPolicy.USE_EXISTING) return { run: last, started: false };
      if (conflict === ConflictPolicy.TERMINATE_EXISTING || spec.reusePolicy === ReusePolicy.TERMINATE_IF_RUNNING) {
        this.finish(ns, last, ExecutionStatus.TERMINATED, 'terminated by a new start (conflict policy)');
      } else {
        throw workflowAlreadyStarted(
          `Workflow execution is already running. WorkflowId: ${last.workflowId}, RunId: ${last.runId}.`,
          last.requestId,
          last.runId,
        );
      }
    } else if (last) {
      if (spec.reusePolicy === ReusePolicy.REJECT_DUPLICATE) {
        throw workflowAlreadyStarted(
          `Workflow execution already finished. WorkflowId: ${last.workflowId}, RunId: ${last.runId}. Workflow Id reuse policy: reject duplicate workflow Id.`,
          last.requestId,
          last.runId,
        );
      }
      if (spec.reusePolicy === ReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY && last.status === ExecutionStatus.COMPLETED) {
        throw workflowAlreadyStarted(
          `Workflow execution already finished successfully. WorkflowId: ${last.workflowId}, RunId: ${last.runId}. Workflow Id reuse policy: allow duplicate workflow Id if last run failed.`,
          last.requestId,
          last.runId,
        );
      }
    }
    const now = this.sim.now();
    const runId = randomUUID();
    const run = {
      namespace: ns.name,
      workflowId: spec.workflowId,
      runId,
      firstRunId: runId,
      workflowType: spec.workflowType,
      taskQueue: spec.taskQueue,
      requestId: spec.requestId || randomUUID(),
      identity: spec.identity || '',
      startMs: now,
      closeMs: null,
      status: ExecutionStatus.RUNNING,
      pinned: spec.pinned || null, // {deploymentName, buildId}
      autoUpgrade: !!spec.autoUpgrade,
      override: spec.override || null, // VersioningOverride as received, echoed back
      input: spec.input || null,
      completedBy: null, // version that completed the latest workflow task
      firstTaskDone: false,
      outcome: null, // {status, dueMs, timer, waiting}
      origin: spec.origin || 'grpc',
      closeReason: '',
    };
    ns.runs.set(runId, run);
    if (!ns.runsByWorkflowId.has(run.workflowId)) ns.runsByWorkflowId.set(run.workflowId, []);
    ns.runsByWorkflowId.get(run.workflowId).push(run);
    this.sim.log.info(`started workflow ${run.workflowId} run ${runId} type ${run.workflowType} on ${run.taskQueue}`
      + (run.pinned ? ` pinned to ${run.pinned.deploymentName}:${run.pinned.buildId}` : ''));
    if (run.pinned) this.maybeReactivate(ns, run.pinned);
    const gate = ns.gateOutcomes.get(run.workflowType);
    if (gate) {
      run.outcome = { status: gate.status, dueMs: now + gate.delayMs, timer: null, waiting: false };
      run.outcome.timer = this.sim.scheduler.at(run.outcome.dueMs, () => this.tryComplete(ns, run), `gate ${run.workflowId}`);
    }
    this.dispatch(ns, run);
    return { run, started: true };
  }

  // Reference §6.7/§6.8: with reactivation enabled, a pinned start that
  // targets a DRAINED or INACTIVE version sends it back to DRAINING.
  maybeReactivate(ns, pinned) {
    if (!this.sim.profile.reactivation) return;
    const dep = ns.deployments.get(pinned.deploymentName);
    const v = dep && dep.versions.get(pinned.buildId);
    if (!v) return;
    const st = dep.status(v);
    if (st === VersionStatus.DRAINED || st === VersionStatus.INACTIVE) {
      this.sim.log.info(`pinned start reactivates ${dep.name}:${v.buildId}`);
      this.sim.drainage.begin(ns, dep, v, this.sim.now());
    }
  }

  // The version a task of this run would go to now, or null.
  targetVersion(ns, run) {
    if (run.pinned) return run.pinned;
    const cur = ns.taskQueueCurrent(run.taskQueue, TaskQueueType.WORKFLOW);
    return cur ? { deploymentName: cur.dep.name, buildId: cur.version.buildId } : null;
  }

  // Complete the first workflow task if a worker that may take it is live.
  dispatch(ns, run) {
    if (run.status !== ExecutionStatus.RUNNING) return;
    const target = this.targetVersion(ns, run);
    let live;
    if (target) {
      live = ns.livePollers({ taskQueue: run.taskQueue, type: TaskQueueType.WORKFLOW, ...target }).length > 0;
    } else {
      live = ns.livePollers({ taskQueue: run.taskQueue, type: TaskQueueType.WORKFLOW })
        .some((p) => p.versioningMode !== WorkerVersioningMode.VERSIONED);
    }
    if (!live) return;
    run.firstTaskDone = true;
    run.completedBy = target ? { ...target } : null;
  }

  // A gate outcome fell due: close the run if a worker can run it, else
  // wait for one.
  tryComplete(ns, run) {
    if (run.status !== ExecutionStatus.RUNNING || !run.outcome) return;
    run.outcome.timer = null;
    this.dispatch(ns, run);
    if (!run.firstTaskDone) {
      run.outcome.waiting = true;
      this.sim.log.info(`workflow ${run.workflowId}: outcome due but no live worker of its version; waiting`);
      return;
    }
    this.finish(ns, run, run.outcome.status, 'gate outcome');
  }

  // A poller (re)appeared: runs on its task queue may progress.
  onPoller(ns, poller) {
    if (poller.type !== TaskQueueType.WORKFLOW) return;
    for (const run of ns.runs.values()) {
      if (run.status !== ExecutionStatus.RUNNING || run.taskQueue !== poller.taskQueue) continue;
      this.dispatch(ns, run);
      if (run.outcome && run.outcome.waiting) this.tryComplete(ns, run);
    }
  }

  // Close a run with the given status.
  finish(ns, run, status, reason = '') {
    if (run.status !== ExecutionStatus.RUNNING) return false;
    if (!STATUS_NAMES[status] || status === ExecutionStatus.RUNNING) {
      throw new SimError(Status.INVALID_ARGUMENT, `invalid close status ${status}`);
    }
    if (run.outcome && run.outcome.timer != null) this.sim.scheduler.cancel(run.outcome.timer);
    if (run.outcome) run.outcome.timer = null;
    if (status === ExecutionStatus.COMPLETED || status === ExecutionStatus.FAILED) {
      // Completing or failing needs a workflow task, hence a worker.
      run.firstTaskDone = true;
      if (!run.completedBy) run.completedBy = this.targetVersion(ns, run);
    }
    run.status = status;
    run.closeMs = this.sim.now();
    run.closeReason = reason;
    this.sim.log.info(`workflow ${run.workflowId} run ${run.runId} closed: ${STATUS_NAMES[status]}${reason ? ` (${reason})` : ''}`);
    return true;
  }

  countRunningPinned(ns, deploymentName, buildId) {
    let n = 0;
    for (const run of ns.runs.values()) {
      if (run.status === ExecutionStatus.RUNNING && run.pinned
        && run.pinned.deploymentName === deploymentName && run.pinned.buildId === buildId) n++;
    }
    return n;
  }

  // Search attributes of a run, as the visibility store would index them.
  searchAttributes(run) {
    const v = run.pinned || run.completedBy;
    let behavior = null;
    if (run.pinned) behavior = 'Pinned';
    else if (run.autoUpgrade) behavior = 'AutoUpgrade';
    return {
      WorkflowId: run.workflowId,
      RunId: run.runId,
      WorkflowType: run.workflowType,
      ExecutionStatus: STATUS_NAMES[run.status],
      TaskQueue: run.taskQueue,
      BuildIds: run.pinned ? [`pinned:${run.pinned.deploymentName}:${run.pinned.buildId}`] : [],
      TemporalWorkerDeploymentVersion: v ? `${v.deploymentName}:${v.buildId}` : null,
      TemporalWorkerDeployment: v ? v.deploymentName : null,
      TemporalWorkerBuildId: v ? v.buildId : null,
      TemporalWorkflowVersioningBehavior: behavior,
    };
  }
}

module.exports = { Workflows, ExecutionStatus, STATUS_NAMES, OUTCOMES, ReusePolicy, ConflictPolicy };
