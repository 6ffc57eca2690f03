'use strict';
// Pinned gate workflows (reference §6.9), DescribeWorkflowExecution,
// CountWorkflowExecutions (§3.14, §6.7).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSim, expectGrpcError, statusDetails, waitFor } = require('../harness');

const NS = 'default';
const D = 'orders';

let sim;
before(async () => { sim = await startSim(['--server-version', '1.30.0']); });
after(() => sim.stop());

function pinnedOverride(buildId, deploymentName = D) {
  return { pinned: { behavior: 'PINNED_OVERRIDE_BEHAVIOR_PINNED', version: { deploymentName, buildId } } };
}

function startGate(sim, workflowId, buildId, extra = {}) {
  return sim.call('StartWorkflowExecution', {
    namespace: NS,
    workflowId,
    workflowType: { name: 'RolloutGate' },
    taskQueue: { name: 'orders-tq' },
    input: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"a":1}') }] },
    identity: 'twa:ns/orders',
    requestId: `req-${workflowId}`,
    versioningOverride: pinnedOverride(buildId),
    ...extra,
  });
}

async function describeRun(sim, workflowId, runId = '') {
  const r = await sim.call('DescribeWorkflowExecution', { namespace: NS, execution: { workflowId, runId } });
  return r.workflowExecutionInfo;
}

test('gate workflows on a 1.30 server', async (t) => {
  await sim.poll(D, 'b1', 'orders-tq');
  await sim.poll(D, 'b2', 'orders-tq');

  await t.test('pinned start to a version absent from the task queue fails', async () => {
    await expectGrpcError(startGate(sim, 'gate-x', 'b9'), 'FAILED_PRECONDITION',
      "Pinned version 'orders:b9' is not present in task queue 'orders-tq' of type 'Workflow'");
    await expectGrpcError(startGate(sim, 'gate-x', 'b1', { taskQueue: { name: 'elsewhere' } }), 'FAILED_PRECONDITION',
      "Pinned version 'orders:b1' is not present in task queue 'elsewhere' of type 'Workflow'");
  });

  await t.test('gate passes', async () => {
    await sim.post('/gate-outcomes', { workflowType: 'RolloutGate', outcome: 'success', delayMs: 150 });
    const r = await startGate(sim, 'gate-pass', 'b2');
    assert.equal(r.started, true);
    assert.equal(r.status, 'WORKFLOW_EXECUTION_STATUS_RUNNING');
    let info = await describeRun(sim, 'gate-pass');
    assert.equal(info.status, 'WORKFLOW_EXECUTION_STATUS_RUNNING');
    assert.equal(info.execution.runId, r.runId);
    assert.equal(info.type.name, 'RolloutGate');
    assert.equal(info.taskQueue, 'orders-tq');
    assert.equal(info.versioningInfo.behavior, 'VERSIONING_BEHAVIOR_PINNED');
    assert.deepEqual(info.versioningInfo.versioningOverride.pinned.version, { buildId: 'b2', deploymentName: D });
    assert.deepEqual(info.versioningInfo.deploymentVersion, { buildId: 'b2', deploymentName: D });
    info = await waitFor(async () => {
      const x = await describeRun(sim, 'gate-pass');
      return x.status !== 'WORKFLOW_EXECUTION_STATUS_RUNNING' ? x : null;
    }, { what: 'gate to close' });
    assert.equal(info.status, 'WORKFLOW_EXECUTION_STATUS_COMPLETED');
    assert.ok(info.closeTime);
    assert.equal(info.workerDeploymentName, D);
  });

  await t.test('gate fails', async () => {
    await sim.post('/gate-outcomes', { workflowType: 'RolloutGate', outcome: 'failure', delayMs: 0 });
    await startGate(sim, 'gate-fail', 'b2');
    const info = await waitFor(async () => {
      const x = await describeRun(sim, 'gate-fail');
      return x.status !== 'WORKFLOW_EXECUTION_STATUS_RUNNING' ? x : null;
    }, { what: 'gate to close' });
    assert.equal(info.status, 'WORKFLOW_EXECUTION_STATUS_FAILED');
  });

  await t.test('a gate waits for a worker of its version', async () => {
    await sim.post('/gate-outcomes', { workflowType: 'RolloutGate', outcome: 'success', delayMs: 0 });
    await sim.post('/pollers/expire', { buildId: 'b1' });
    const r = await startGate(sim, 'gate-wait', 'b1');
    await sim.post('/drainage/check', {}); // any request round-trip lets timers run
    const info = await describeRun(sim, 'gate-wait');
    assert.equal(info.status, 'WORKFLOW_EXECUTION_STATUS_RUNNING');
    assert.equal(info.versioningInfo.deploymentVersion, undefined, 'no workflow task completed yet');
    const full = await sim.call('DescribeWorkflowExecution', { namespace: NS, execution: { workflowId: 'gate-wait', runId: r.runId } });
    assert.equal(full.pendingWorkflowTask.state, 'PENDING_WORKFLOW_TASK_STATE_SCHEDULED');
    await sim.poll(D, 'b1', 'orders-tq');
    const done = await waitFor(async () => {
      const x = await describeRun(sim, 'gate-wait');
      return x.status === 'WORKFLOW_EXECUTION_STATUS_COMPLETED' ? x : null;
    }, { what: 'gate to complete once a worker polls' });
    assert.deepEqual(done.versioningInfo.deploymentVersion, { buildId: 'b1', deploymentName: D });
  });

  await t.test('workflow id reuse and request id de-duplication', async () => {
    await sim.post('/gate-outcomes', { workflowType: 'RolloutGate', outcome: 'none' });
    const first = await startGate(sim, 'gate-dup', 'b2');
    const retry = await startGate(sim, 'gate-dup', 'b2');
    assert.equal(retry.runId, first.runId);
    assert.equal(retry.started, undefined, 'started=false for a de-duplicated start');
    const err = await expectGrpcError(startGate(sim, 'gate-dup', 'b2', { requestId: 'other' }), 'ALREADY_EXISTS',
      `Workflow execution is already running. WorkflowId: gate-dup, RunId: ${first.runId}.`);
    const det = statusDetails(err)[0];
    assert.equal(det.type, 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure');
    assert.equal(det.value.runId, first.runId);
    const existing = await startGate(sim, 'gate-dup', 'b2', { requestId: 'other2', workflowIdConflictPolicy: 'WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING' });
    assert.equal(existing.runId, first.runId);
    await sim.post('/workflows/finish', { workflowId: 'gate-dup', status: 'completed' });
    const second = await startGate(sim, 'gate-dup', 'b2', { requestId: 'other3' });
    assert.notEqual(second.runId, first.runId);
    assert.equal((await describeRun(sim, 'gate-dup', first.runId)).status, 'WORKFLOW_EXECUTION_STATUS_COMPLETED');
    assert.equal((await describeRun(sim, 'gate-dup')).execution.runId, second.runId);
  });

  await t.test('override validation', async () => {
    await expectGrpcError(startGate(sim, 'bad-1', 'b2', { versioningOverride: { pinned: { version: { deploymentName: D, buildId: 'b2' } } } }),
      'INVALID_ARGUMENT', 'must specify pinned override behavior if override is pinned.');
    await expectGrpcError(startGate(sim, 'bad-2', 'b2', { versioningOverride: { pinned: { behavior: 'PINNED_OVERRIDE_BEHAVIOR_PINNED' } } }),
      'INVALID_ARGUMENT', 'must provide version if override is pinned.');
    await expectGrpcError(startGate(sim, 'bad-3', 'b2', { versioningOverride: { pinnedVersion: 'orders.b2' } }),
      'INVALID_ARGUMENT', 'override behavior is required');
    // 1.27-style deprecated trio is still accepted.
    const r = await startGate(sim, 'legacy-pin', 'b2', { versioningOverride: { behavior: 'VERSIONING_BEHAVIOR_PINNED', pinnedVersion: 'orders.b2' } });
    assert.ok(r.runId);
    await expectGrpcError(startGate(sim, 'no-type', 'b2', { workflowType: { name: '' } }), 'INVALID_ARGUMENT', 'WorkflowType is not set on request.');
    await expectGrpcError(startGate(sim, '', 'b2'), 'INVALID_ARGUMENT', 'WorkflowId is not set on request.');
  });

  await t.test('describe errors', async () => {
    await expectGrpcError(sim.call('DescribeWorkflowExecution', { namespace: NS, execution: { workflowId: 'nope' } }), 'NOT_FOUND');
    await expectGrpcError(sim.call('DescribeWorkflowExecution', { namespace: NS }), 'INVALID_ARGUMENT', 'Execution is not set on request.');
  });
});

test('pinned starts on 1.29 and CountWorkflowExecutions', async () => {
  await sim.post('/reset', { serverVersion: '1.29.0' });
  await sim.poll(D, 'b1', 'orders-tq');
  // 1.29 does not check membership: accepted, waits for workers.
  const r = await startGate(sim, 'absent', 'b7');
  assert.ok(r.runId);
  await sim.post('/workflows/start', { deploymentName: D, buildId: 'b1', count: 3 });
  await sim.post('/workflows/finish', { deploymentName: D, buildId: 'b1', count: 1, status: 'failed' });

  const count = (query) => sim.call('CountWorkflowExecutions', { namespace: NS, query }).then((x) => x.count || 0);
  assert.equal(await count("BuildIds = 'pinned:orders:b1' AND ExecutionStatus = 'Running'"), 2);
  assert.equal(await count("TemporalWorkerDeploymentVersion = 'orders:b1' AND TemporalWorkflowVersioningBehavior = 'Pinned' AND ExecutionStatus = 'Running'"), 2);
  assert.equal(await count("TemporalWorkerDeploymentVersion = 'orders:b7' AND ExecutionStatus = 'Running'"), 1);
  assert.equal(await count("ExecutionStatus IN ('Failed', 'Completed')"), 1);
  assert.equal(await count(''), 4);
  const grouped = await sim.call('CountWorkflowExecutions', { namespace: NS, query: 'GROUP BY ExecutionStatus' });
  assert.equal(grouped.count, 4);
  const groups = Object.fromEntries(grouped.groups.map((g) => [Buffer.from(g.groupValues[0].data).toString(), g.count]));
  assert.deepEqual(groups, { '"Running"': 3, '"Failed"': 1 });
  await expectGrpcError(sim.call('CountWorkflowExecutions', { namespace: NS, query: "Bogus = 'x'" }), 'INVALID_ARGUMENT', /^invalid query/);
  await expectGrpcError(sim.call('CountWorkflowExecutions', { namespace: NS, query: "ExecutionStatus = 'Running' ORDER BY StartTime" }), 'INVALID_ARGUMENT');
});
