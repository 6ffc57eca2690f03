'use strict';
// GetSystemInfo and DescribeTaskQueue.

const { invalidArgument } = require('../errors');
const { TaskQueueType } = require('../model/deployment');
const { enumValues } = require('../schema');

const TaskQueueKind = enumValues('temporal.api.enums.v1.TaskQueueKind', 'TASK_QUEUE_KIND_');
const views = require('../views');
const { frontendNamespace } = require('./common');

// GetSystemInfo: the configured release and the capabilities an OSS server
// of that era reports.  There is no capability bit for worker deployments
// (reference §1.4); clients detect support from server_version.
function GetSystemInfo(ctx) {
  const p = ctx.sim.profile;
  return {
    serverVersion: p.serverVersion,
    capabilities: {
      signalAndQueryHeader: true,
      internalErrorDifferentiation: true,
      activityFailureIncludeHeartbeat: true,
      supportsSchedules: true,
      encodedFailureAttributes: true,
      buildIdBasedVersioning: true,
      upsertMemo: true,
      eagerWorkflowStart: true,
      sdkMetadata: true,
      countGroupByExecutionStatus: true,
      nexus: true,
    },
  };
}

// DescribeTaskQueue in the default mode: live pollers of one (task queue,
// type) within the poller TTL, versioned and unversioned together, and the
// routing the queue follows (reference §3.13).
function DescribeTaskQueue(ctx, req) {
  const ns = frontendNamespace(ctx, req.namespace);
  if (!req.taskQueue || !req.taskQueue.name) throw invalidArgument('TaskQueue is not set on request.');
  const name = req.taskQueue.name;
  const type = req.taskQueueType || TaskQueueType.WORKFLOW;
  const sticky = req.taskQueue.kind === TaskQueueKind.STICKY;
  const out = {
    pollers: sticky ? [] : ns.livePollers({ taskQueue: name, type }).map(views.pollerInfo),
    versioningInfo: sticky ? null : views.taskQueueVersioningInfo(ns, name, type),
  };
  if (req.reportStats) out.stats = views.taskQueueStats(ns.aggregateTaskQueueStats(name, type));
  if (req.reportConfig && ctx.sim.profile.hasVersionTaskQueues) out.config = {};
  return out;
}

module.exports = { GetSystemInfo, DescribeTaskQueue };
