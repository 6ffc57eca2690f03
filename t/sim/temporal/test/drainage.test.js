'use strict';
// Drainage (reference §6.7), version status transitions (§6.8) and the
// deletion rules (§3.5, §3.6, §6.5).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSim, expectGrpcError, waitFor, tsMs } = require('../harness');

const NS = 'default';
// Deployment of the running subtest (subtests of one file run in sequence).
let D = 'orders';

let sim;
before(async () => {
  sim = await startSim(['--server-version', '1.30.0', '--reactivation', 'on', '--drainage-grace', '300', '--drainage-refresh', '200']);
});
after(() => sim.stop());

function setCurrent(sim, buildId, extra = {}) {
  return sim.call('SetWorkerDeploymentCurrentVersion', { namespace: NS, deploymentName: D, buildId, identity: 'agent', ...extra });
}

async function versionInfo(sim, buildId) {
  const r = await sim.call('DescribeWorkerDeploymentVersion', { namespace: NS, deploymentVersion: { deploymentName: D, buildId } });
  return r.workerDeploymentVersionInfo;
}

function deleteVersion(sim, buildId, extra = {}) {
  return sim.call('DeleteWorkerDeploymentVersion', {
    namespace: NS, deploymentVersion: { deploymentName: D, buildId }, identity: 'agent', ...extra,
  });
}

test('drainage, reactivation, deletion, metadata (1.30, reactivation on)', async (t) => {
  await t.test('drainage with a short grace period on real time', () => { D = 'drain'; return drainageOnRealTime(sim); });
  await t.test('reactivation by pinned starts', () => { D = 'react'; return reactivation(sim); });
  await t.test('deletion rules', () => { D = 'orders'; return deletionRules(sim); });
  await t.test('version metadata', () => { D = 'meta'; return metadata(sim); });
});

async function drainageOnRealTime(sim) {
  await sim.poll(D, 'b1');
  await sim.poll(D, 'b2');
  await setCurrent(sim, 'b1');
  const pinned = await sim.post('/workflows/start', { deploymentName: D, buildId: 'b1', count: 2 });
  assert.equal(pinned.workflows.length, 2);
  await setCurrent(sim, 'b2');

  const v = await versionInfo(sim, 'b1');
  assert.equal(v.status, 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING');
  assert.equal(v.drainageInfo.status, 'VERSION_DRAINAGE_STATUS_DRAINING');
  const changed = tsMs(v.drainageInfo.lastChangedTime);
  assert.equal(tsMs(v.drainageInfo.lastCheckedTime), changed);
  assert.equal(v.currentSinceTime, undefined);

  // After the grace period the check runs, finds 2 running pinned
  // workflows and keeps DRAINING; last_checked_time moves.
  const checked = await waitFor(async () => {
    const x = await versionInfo(sim, 'b1');
    return tsMs(x.drainageInfo.lastCheckedTime) > changed ? x : null;
  }, { what: 'first drainage check' });
  assert.equal(checked.drainageInfo.status, 'VERSION_DRAINAGE_STATUS_DRAINING');
  assert.equal(tsMs(checked.drainageInfo.lastChangedTime), changed);
  assert.ok(tsMs(checked.drainageInfo.lastCheckedTime) - changed >= 300);

  const count = await sim.call('CountWorkflowExecutions', {
    namespace: NS,
    query: `TemporalWorkerDeploymentVersion = '${D}:b1' AND TemporalWorkflowVersioningBehavior = 'Pinned' AND ExecutionStatus = 'Running'`,
  });
  assert.equal(count.count, 2);

  await sim.post('/workflows/finish', { deploymentName: D, buildId: 'b1', status: 'completed' });
  const drained = await waitFor(async () => {
    const x = await versionInfo(sim, 'b1');
    return x.status === 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED' ? x : null;
  }, { what: 'DRAINED' });
  assert.equal(drained.drainageInfo.status, 'VERSION_DRAINAGE_STATUS_DRAINED');
  assert.equal(tsMs(drained.drainageInfo.lastChangedTime), tsMs(drained.drainageInfo.lastCheckedTime));

  const d = await sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: D });
  const s = d.workerDeploymentInfo.versionSummaries.find((x) => x.version === `${D}.b1`);
  assert.equal(s.status, 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED');
  assert.equal(s.drainageStatus, 'VERSION_DRAINAGE_STATUS_DRAINED');
  assert.ok(s.lastDeactivationTime);
  assert.ok(s.firstActivationTime);

  // Becoming Current again clears drainage (DescribeVersion shows none).
  await setCurrent(sim, 'b1');
  const again = await versionInfo(sim, 'b1');
  assert.equal(again.status, 'WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT');
  assert.equal(again.drainageInfo, undefined);
  assert.ok(again.currentSinceTime);
}

test('drainage timing on the simulated clock, checks on demand, reactivation switch', async () => {
  // The 1.29 defaults: 3-minute grace and refresh, no reactivation.
  await sim.post('/reset', { serverVersion: '1.29.0', reactivation: false, drainageGraceMs: 180000, drainageRefreshMs: 180000 });
  D = 'orders';
  await sim.post('/clock/freeze');
  await sim.poll(D, 'b1');
  await sim.poll(D, 'b2');
  await setCurrent(sim, 'b1');
  await sim.post('/workflows/start', { deploymentName: D, buildId: 'b1', workflowId: 'long-running' });
  await setCurrent(sim, 'b2');

  let st = await sim.state();
  const b1 = st.namespaces.default.deployments.orders.versions.b1;
  assert.equal(b1.drainage.status, 'DRAINING');
  assert.equal(Date.parse(b1.drainage.nextCheckTime) - Date.parse(b1.drainage.lastCheckedTime), 180000, 'default grace is 3 minutes');

  // An on-demand check ignores the grace period.
  let r = await sim.post('/drainage/check', { deploymentName: D });
  assert.deepEqual(r.checked, [{ deploymentName: D, buildId: 'b1', status: 'DRAINING', runningPinnedWorkflows: 1 }]);

  await sim.post('/workflows/finish', { workflowId: 'long-running', status: 'terminated' });
  await sim.post('/clock/advance', { ms: 179000 });
  assert.equal((await versionInfo(sim, 'b1')).status, 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING');
  await sim.post('/clock/advance', { ms: 1000 });
  const v = await waitFor(async () => {
    const x = await versionInfo(sim, 'b1');
    return x.status === 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED' ? x : null;
  }, { what: 'DRAINED after the refresh interval' });
  st = await sim.state();
  assert.equal(tsMs(v.drainageInfo.lastCheckedTime), st.clock.nowMs);
  r = await sim.post('/drainage/check', {});
  assert.deepEqual(r.checked, [], 'DRAINED is terminal for checking');

  // Reactivation is off (1.30/1.31 default): a pinned start leaves DRAINED alone.
  await sim.post('/workflows/start', { deploymentName: D, buildId: 'b1' });
  assert.equal((await versionInfo(sim, 'b1')).status, 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED');
});

// With history.enableVersionReactivationSignals on (HEAD default), a
// pinned start that targets a DRAINED version reopens it.
async function reactivation(sim) {
  await sim.poll(D, 'b1');
  await sim.poll(D, 'b2');
  await setCurrent(sim, 'b1');
  await setCurrent(sim, 'b2');
  await waitFor(async () => (await versionInfo(sim, 'b1')).status === 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED', { what: 'DRAINED' });
  await sim.call('StartWorkflowExecution', {
    namespace: NS,
    workflowId: 'pinned-to-b1',
    workflowType: { name: 'Patch' },
    taskQueue: { name: 'tq' },
    identity: 'test',
    versioningOverride: { pinned: { behavior: 'PINNED_OVERRIDE_BEHAVIOR_PINNED', version: { deploymentName: D, buildId: 'b1' } } },
  });
  const v = await versionInfo(sim, 'b1');
  assert.equal(v.status, 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING');
  assert.equal(v.drainageInfo.status, 'VERSION_DRAINAGE_STATUS_DRAINING');
  await sim.post('/workflows/finish', { workflowId: 'pinned-to-b1', status: 'completed' });
}

async function deletionRules(sim) {
  await sim.poll(D, 'b1');
  await sim.poll(D, 'b2');
  await sim.poll(D, 'b3');
  await setCurrent(sim, 'b1');
  await sim.call('SetWorkerDeploymentRampingVersion', { namespace: NS, deploymentName: D, buildId: 'b2', percentage: 30, identity: 'agent' });
  const tokenBefore = (await sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: D })).conflictToken;

  await expectGrpcError(deleteVersion(sim, 'b1'), 'FAILED_PRECONDITION', "version 'orders:b1' cannot be deleted since it is current or ramping");
  await expectGrpcError(deleteVersion(sim, 'b2', { skipDrainage: true }), 'FAILED_PRECONDITION', "version 'orders:b2' cannot be deleted since it is current or ramping");
  // INACTIVE but with live pollers.
  await expectGrpcError(deleteVersion(sim, 'b3'), 'FAILED_PRECONDITION', "version 'orders:b3' cannot be deleted since it has active pollers");

  // b1 leaves Current: DRAINING (a running pinned workflow keeps it so).
  await sim.post('/workflows/start', { deploymentName: D, buildId: 'b1', workflowId: 'keeps-b1-draining' });
  await setCurrent(sim, 'b2');
  await expectGrpcError(deleteVersion(sim, 'b1'), 'FAILED_PRECONDITION', "version 'orders:b1' cannot be deleted since it is draining");
  // skip_drainage bypasses only the draining guard.
  await expectGrpcError(deleteVersion(sim, 'b1', { skipDrainage: true }), 'FAILED_PRECONDITION', "version 'orders:b1' cannot be deleted since it has active pollers");
  await sim.post('/pollers/expire', { deploymentName: D, buildId: 'b1' });
  await deleteVersion(sim, 'b1', { skipDrainage: true });
  await sim.post('/pollers/expire', { buildId: 'b3' });
  await deleteVersion(sim, 'b3');
  // Unknown build: OK (idempotent).
  await deleteVersion(sim, 'b1');
  await deleteVersion(sim, 'never-seen');

  const d = await sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: D });
  assert.deepEqual(d.workerDeploymentInfo.versionSummaries.map((s) => s.version), ['orders.b2']);
  assert.deepEqual(d.conflictToken, (await sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: D })).conflictToken);
  assert.notDeepEqual(d.conflictToken, tokenBefore, 'SetCurrent changed it');
  await expectGrpcError(versionInfo(sim, 'b1'), 'NOT_FOUND', 'Worker Deployment Version not found');

  // Argument and existence checks.
  await expectGrpcError(sim.call('DeleteWorkerDeploymentVersion', { namespace: NS, version: 'nodelimiter' }), 'INVALID_ARGUMENT',
    'invalid version string "nodelimiter", expected format is "<deployment_name>.<build_id>"');
  await expectGrpcError(sim.call('DeleteWorkerDeploymentVersion', { namespace: NS }), 'INVALID_ARGUMENT',
    'invalid version string "", expected format is "<deployment_name>.<build_id>"');
  await expectGrpcError(sim.call('DeleteWorkerDeploymentVersion', { namespace: NS, version: 'ghost.b1', identity: 'x' }), 'NOT_FOUND');
  // Structured field wins over the legacy string on Delete.
  await sim.poll('other', 'x1');
  await sim.post('/pollers/expire', { deploymentName: 'other' });
  await sim.call('DeleteWorkerDeploymentVersion', {
    namespace: NS, version: 'orders.b2', deploymentVersion: { deploymentName: 'other', buildId: 'x1' }, identity: 'agent',
  });
  await expectGrpcError(sim.call('DescribeWorkerDeploymentVersion', { namespace: NS, version: 'other.x1' }), 'NOT_FOUND');

  // Metadata: a deleted version is NOT_FOUND with the version wording.
  await expectGrpcError(sim.call('UpdateWorkerDeploymentVersionMetadata', {
    namespace: NS, deploymentVersion: { deploymentName: 'other', buildId: 'x1' }, removeEntries: ['k'],
  }), 'NOT_FOUND', 'Worker Deployment Version not found');

  // DeleteWorkerDeployment: refused while versions remain; idempotent when gone.
  await expectGrpcError(sim.call('DeleteWorkerDeployment', { namespace: NS, deploymentName: D, identity: 'agent' }),
    'FAILED_PRECONDITION', "deployment has versions, can't be deleted");
  await sim.call('DeleteWorkerDeployment', { namespace: NS, deploymentName: 'other', identity: 'agent' });
  await sim.call('DeleteWorkerDeployment', { namespace: NS, deploymentName: 'other', identity: 'agent' });
  await expectGrpcError(sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: 'other' }), 'NOT_FOUND');
}

async function metadata(sim) {
  await sim.poll(D, 'b1');
  const before = (await sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: D })).conflictToken;
  const payload = (s) => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(s)) });
  await expectGrpcError(sim.call('UpdateWorkerDeploymentVersionMetadata', {
    namespace: NS, deploymentVersion: { deploymentName: D, buildId: 'b1' },
  }), 'INVALID_ARGUMENT', 'At least one of remove_entries or upsert_entries must be provided');
  let r = await sim.call('UpdateWorkerDeploymentVersionMetadata', {
    namespace: NS, deploymentVersion: { deploymentName: D, buildId: 'b1' },
    upsertEntries: { 'temporal.io/controller': payload('twa'), note: payload('x') }, identity: 'agent',
  });
  assert.deepEqual(Object.keys(r.metadata.entries).sort(), ['note', 'temporal.io/controller']);
  r = await sim.call('UpdateWorkerDeploymentVersionMetadata', {
    namespace: NS, version: `${D}.b1`, removeEntries: ['note'], identity: 'agent',
  });
  assert.deepEqual(Object.keys(r.metadata.entries), ['temporal.io/controller']);
  const v = await versionInfo(sim, 'b1');
  assert.equal(Buffer.from(v.metadata.entries['temporal.io/controller'].data).toString(), '"twa"');
  const after = (await sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: D })).conflictToken;
  assert.deepEqual(after, before, 'metadata does not change the conflict token');
  await expectGrpcError(sim.call('UpdateWorkerDeploymentVersionMetadata', {
    namespace: NS, deploymentVersion: { deploymentName: D, buildId: 'nope' }, removeEntries: ['x'],
  }), 'NOT_FOUND');
}
