'use strict';
// Routing config, conflict tokens, no-ops, ramps, the missing-task-queue
// guard, allow_no_pollers and the manager identity (reference §3.2, §3.3,
// §3.8, §6.3-§6.6).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSim, expectGrpcError, tsMs } = require('../harness');

const NS = 'default';
const D = 'orders';
const M = 'managed';

let sim;
before(async () => { sim = await startSim(['--server-version', '1.30.0']); });
after(() => sim.stop());

function describe(sim, deploymentName = D) {
  return sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName });
}

function setCurrent(sim, req) {
  return sim.call('SetWorkerDeploymentCurrentVersion', { namespace: NS, deploymentName: D, identity: 'agent', ...req });
}

function setRamping(sim, req) {
  return sim.call('SetWorkerDeploymentRampingVersion', { namespace: NS, deploymentName: D, identity: 'agent', ...req });
}

function summary(desc, buildId) {
  return desc.workerDeploymentInfo.versionSummaries.find((s) => s.deploymentVersion.buildId === buildId);
}

test('routing on a 1.30 server', async (t) => {
  // Exact timestamps: time only moves when the test advances it.
  assert.equal((await sim.post('/clock/freeze')).frozen, true);
  await sim.poll(D, 'b1', 'tq1');
  await sim.poll(D, 'b1', 'tq2');
  await sim.poll(D, 'b2', 'tq1');
  await sim.poll(D, 'b2', 'tq2');

  await t.test('SetCurrent argument and existence checks', async () => {
    await expectGrpcError(sim.call('SetWorkerDeploymentCurrentVersion', { namespace: NS, buildId: 'b1' }), 'INVALID_ARGUMENT', 'deployment name cannot be empty');
    await expectGrpcError(sim.call('SetWorkerDeploymentCurrentVersion', { namespace: '', deploymentName: D }), 'INVALID_ARGUMENT', 'Namespace is not set on request.');
    await expectGrpcError(setCurrent(sim, { deploymentName: 'nobody', buildId: 'b1' }), 'NOT_FOUND',
      "no Worker Deployment found with name 'nobody'; does your Worker Deployment have pollers?");
    await expectGrpcError(setCurrent(sim, { buildId: 'b9' }), 'NOT_FOUND', "build ID 'b9' not found in Worker Deployment 'orders'");
    await expectGrpcError(setCurrent(sim, { buildId: '__x' }), 'INVALID_ARGUMENT', "BuildID cannot start with '__'");
  });

  await t.test('conflict tokens: checked when given, renewed on each change, no-op before token', async () => {
    const t0 = (await describe(sim)).conflictToken;
    await expectGrpcError(setCurrent(sim, { buildId: 'b1', conflictToken: Buffer.from('stale') }), 'FAILED_PRECONDITION', 'conflict token mismatch');
    const r1 = await setCurrent(sim, { buildId: 'b1', conflictToken: t0 });
    assert.notDeepEqual(r1.conflictToken, t0);
    assert.equal(r1.previousVersion, '__unversioned__');
    assert.equal(r1.previousDeploymentVersion, undefined);
    // Same change, same identity: a no-op even with a stale token; returns the latest token.
    const r2 = await setCurrent(sim, { buildId: 'b1', conflictToken: t0 });
    assert.deepEqual(r2.conflictToken, r1.conflictToken);
    assert.equal(r2.previousVersion, 'orders.b1');
    // Same version, other identity: applied, token re-stamped.
    await expectGrpcError(setCurrent(sim, { buildId: 'b1', identity: 'human', conflictToken: t0 }), 'FAILED_PRECONDITION', 'conflict token mismatch');
    const r3 = await setCurrent(sim, { buildId: 'b1', identity: 'human', conflictToken: r2.conflictToken });
    assert.notDeepEqual(r3.conflictToken, r2.conflictToken);
    const d = await describe(sim);
    assert.deepEqual(d.conflictToken, r3.conflictToken);
    assert.equal(d.workerDeploymentInfo.lastModifierIdentity, 'human');
    assert.equal(d.workerDeploymentInfo.routingConfig.currentVersion, 'orders.b1');
    assert.deepEqual(d.workerDeploymentInfo.routingConfig.currentDeploymentVersion, { buildId: 'b1', deploymentName: D });
    assert.equal(summary(d, 'b1').status, 'WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT');
    // §10: once activated, the summary carries an UNSPECIFIED drainage_info.
    assert.ok(summary(d, 'b1').drainageInfo);
    assert.equal(summary(d, 'b1').drainageInfo.status, undefined);
    assert.ok(summary(d, 'b1').drainageInfo.lastChangedTime);
  });

  await t.test('ramp percentage and change times', async () => {
    await sim.post('/clock/advance', { ms: 1000 });
    const r = await setRamping(sim, { buildId: 'b2', percentage: 10 });
    assert.equal(r.previousVersion, undefined);
    let d = await describe(sim);
    let rc = d.workerDeploymentInfo.routingConfig;
    assert.equal(rc.rampingVersion, 'orders.b2');
    assert.deepEqual(rc.rampingDeploymentVersion, { buildId: 'b2', deploymentName: D });
    assert.equal(rc.rampingVersionPercentage, 10);
    const setTime = tsMs(rc.rampingVersionChangedTime);
    assert.equal(tsMs(rc.rampingVersionPercentageChangedTime), setTime);
    assert.equal(summary(d, 'b2').status, 'WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING');
    assert.equal(tsMs(summary(d, 'b2').rampingSinceTime), setTime);
    assert.equal(tsMs(summary(d, 'b2').firstActivationTime), setTime);

    await sim.post('/clock/advance', { ms: 60000 });
    const r2 = await setRamping(sim, { buildId: 'b2', percentage: 50 });
    assert.equal(r2.previousVersion, 'orders.b2');
    assert.equal(r2.previousPercentage, 10);
    assert.deepEqual(r2.previousDeploymentVersion, { buildId: 'b2', deploymentName: D });
    d = await describe(sim);
    rc = d.workerDeploymentInfo.routingConfig;
    assert.equal(rc.rampingVersionPercentage, 50);
    assert.equal(tsMs(rc.rampingVersionChangedTime), setTime, 'not bumped by a percentage-only change');
    assert.equal(tsMs(rc.rampingVersionPercentageChangedTime), setTime + 60000);
    assert.equal(tsMs(summary(d, 'b2').rampingSinceTime), setTime, 'ramping_since_time not bumped by percentage changes');
    assert.equal(tsMs(summary(d, 'b2').routingUpdateTime), setTime + 60000);
    const v = await sim.call('DescribeWorkerDeploymentVersion', { namespace: NS, deploymentVersion: { deploymentName: D, buildId: 'b2' } });
    assert.equal(v.workerDeploymentVersionInfo.rampPercentage, 50);
    assert.equal(v.workerDeploymentVersionInfo.firstActivationTime, undefined, '§10: not filled by DescribeVersion');

    // No-op: same target, same percentage, same identity.
    const r3 = await setRamping(sim, { buildId: 'b2', percentage: 50, conflictToken: Buffer.from('stale') });
    assert.deepEqual(r3.conflictToken, d.conflictToken);
    assert.equal(r3.previousPercentage, 50);
  });

  await t.test('SetRamping checks', async () => {
    await expectGrpcError(setRamping(sim, { buildId: 'b2', percentage: 101 }), 'INVALID_ARGUMENT', 'Percentage must be between 0 and 100 (inclusive)');
    await expectGrpcError(setRamping(sim, { buildId: 'b2', percentage: -1 }), 'INVALID_ARGUMENT', 'Percentage must be between 0 and 100 (inclusive)');
    await expectGrpcError(setRamping(sim, { buildId: 'b1', percentage: 5 }), 'FAILED_PRECONDITION', 'requested ramping version orders.b1 is already current');
    await expectGrpcError(setRamping(sim, { buildId: 'zz', percentage: 5 }), 'NOT_FOUND', "build ID 'zz' not found in Worker Deployment 'orders'");
    await expectGrpcError(setRamping(sim, { deploymentName: '', buildId: 'b2', percentage: 5 }), 'INVALID_ARGUMENT', 'WorkerDeploymentName cannot be empty');
  });

  await t.test('promoting the ramp target clears the ramp', async () => {
    await sim.post('/clock/advance', { ms: 1000 });
    const r = await setCurrent(sim, { buildId: 'b2' });
    assert.equal(r.previousVersion, 'orders.b1');
    assert.deepEqual(r.previousDeploymentVersion, { buildId: 'b1', deploymentName: D });
    const d = await describe(sim);
    const rc = d.workerDeploymentInfo.routingConfig;
    assert.equal(rc.currentVersion, 'orders.b2');
    assert.equal(rc.rampingVersion, undefined);
    assert.equal(rc.rampingDeploymentVersion, undefined);
    assert.equal(rc.rampingVersionPercentage, undefined);
    assert.equal(tsMs(rc.rampingVersionChangedTime), tsMs(rc.currentVersionChangedTime));
    assert.equal(summary(d, 'b2').status, 'WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT');
    assert.equal(summary(d, 'b2').rampingSinceTime, undefined);
    assert.equal(summary(d, 'b1').status, 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING');
    assert.equal(summary(d, 'b1').drainageInfo.status, 'VERSION_DRAINAGE_STATUS_DRAINING');
    assert.equal(summary(d, 'b1').drainageStatus, 'VERSION_DRAINAGE_STATUS_DRAINING');
    assert.equal(tsMs(summary(d, 'b1').lastDeactivationTime), tsMs(rc.currentVersionChangedTime));
  });

  await t.test('ramp to unversioned workers and its clearing', async () => {
    await setRamping(sim, { buildId: '', percentage: 20 });
    let rc = (await describe(sim)).workerDeploymentInfo.routingConfig;
    assert.equal(rc.rampingVersion, '__unversioned__');
    assert.equal(rc.rampingDeploymentVersion, undefined);
    assert.equal(rc.rampingVersionPercentage, 20);
    const r = await setRamping(sim, { buildId: '', percentage: 0 });
    assert.equal(r.previousVersion, '__unversioned__');
    assert.equal(r.previousDeploymentVersion, undefined);
    rc = (await describe(sim)).workerDeploymentInfo.routingConfig;
    assert.equal(rc.rampingVersion, undefined);
    // A staged 0 % ramp of a version is a ramp.
    await setRamping(sim, { buildId: 'b1', percentage: 0 });
    const d = await describe(sim);
    assert.equal(d.workerDeploymentInfo.routingConfig.rampingVersion, 'orders.b1');
    assert.equal(summary(d, 'b1').status, 'WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING');
    assert.ok(summary(d, 'b1').drainageInfo, 'reactivated: drainage info reset');
    assert.equal(summary(d, 'b1').drainageInfo.status, undefined);
    // Clearing it sends the version back to draining.
    await setRamping(sim, { version: '__unversioned__', percentage: 0 });
    assert.equal(summary(await describe(sim), 'b1').status, 'WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING');
  });

  await t.test('missing-task-queue guard', async () => {
    await sim.poll(D, 'b3', 'tq1');
    // tq2 is idle: ignored.
    await setRamping(sim, { buildId: 'b3', percentage: 5 });
    await setRamping(sim, { buildId: '', percentage: 0 });
    // tq2 gets traffic for the Current (b2): the guard trips.
    await sim.post('/task-queue-stats', { taskQueue: 'tq2', deploymentName: D, buildId: 'b2', addRate: 3.5 });
    await expectGrpcError(setRamping(sim, { buildId: 'b3', percentage: 5 }), 'FAILED_PRECONDITION',
      "proposed ramping version 'orders:b3' is missing active task queues from the current version; these would become unversioned if it is set as the ramping version");
    await expectGrpcError(setCurrent(sim, { buildId: 'b3' }), 'FAILED_PRECONDITION',
      "proposed current version 'orders:b3' is missing active task queues from the current version; these would become unversioned if it is set as the current version");
    await setCurrent(sim, { buildId: 'b3', ignoreMissingTaskQueues: true });
    assert.equal((await describe(sim)).workerDeploymentInfo.routingConfig.currentVersion, 'orders.b3');
  });

  await t.test('allow_no_pollers creates the deployment and the version', async () => {
    // §10: an empty build with allow_no_pollers is rejected before 1.31.
    await expectGrpcError(setCurrent(sim, { deploymentName: 'pre', buildId: '', allowNoPollers: true }), 'INVALID_ARGUMENT', 'BuildID cannot be empty');
    const r = await sim.call('SetWorkerDeploymentCurrentVersion', {
      namespace: NS, deploymentName: 'pre', buildId: 'v1', identity: 'agent', allowNoPollers: true,
    });
    assert.equal(r.previousVersion, '__unversioned__');
    const d = await describe(sim, 'pre');
    assert.equal(d.workerDeploymentInfo.routingConfig.currentVersion, 'pre.v1');
    const v = await sim.call('DescribeWorkerDeploymentVersion', { namespace: NS, version: 'pre.v1' });
    assert.deepEqual(v.workerDeploymentVersionInfo.taskQueueInfos, []);
  });

  await t.test('a manager blocks writes from other identities', async () => {
    await sim.poll(M, 'b1');
    await sim.poll(M, 'b2');
    await expectGrpcError(sim.call('SetWorkerDeploymentManager', { namespace: NS, deploymentName: M, self: true }), 'INVALID_ARGUMENT', 'Identity is required');
    await expectGrpcError(sim.call('SetWorkerDeploymentManager', { namespace: NS, deploymentName: 'nobody', self: true, identity: 'twa' }), 'NOT_FOUND');
    const t0 = (await describe(sim, M)).conflictToken;
    const m = await sim.call('SetWorkerDeploymentManager', { namespace: NS, deploymentName: M, self: true, identity: 'twa', conflictToken: t0 });
    assert.equal(m.previousManagerIdentity, undefined);
    assert.notDeepEqual(m.conflictToken, t0);
    let d = await describe(sim, M);
    assert.equal(d.workerDeploymentInfo.managerIdentity, 'twa');
    assert.equal(d.workerDeploymentInfo.lastModifierIdentity, 'twa');
    // No-op: same manager, same identity; echoes the requested value.
    const again = await sim.call('SetWorkerDeploymentManager', { namespace: NS, deploymentName: M, managerIdentity: 'twa', identity: 'twa', conflictToken: t0 });
    assert.deepEqual(again.conflictToken, m.conflictToken);
    assert.equal(again.previousManagerIdentity, 'twa');

    const mismatch = "ManagerIdentity 'twa' is set and does not match user identity 'human'; to proceed, set your own identity as the ManagerIdentity, remove the ManagerIdentity, or wait for the other client to do so";
    await expectGrpcError(setCurrent(sim, { deploymentName: M, buildId: 'b1', identity: 'human' }), 'FAILED_PRECONDITION', mismatch);
    await expectGrpcError(setRamping(sim, { deploymentName: M, buildId: 'b2', percentage: 10, identity: 'human' }), 'FAILED_PRECONDITION', mismatch);
    await expectGrpcError(sim.call('DeleteWorkerDeploymentVersion', {
      namespace: NS, deploymentVersion: { deploymentName: M, buildId: 'b2' }, identity: 'human',
    }), 'FAILED_PRECONDITION', mismatch);
    // An empty identity on DeleteVersion becomes a random id: mismatch too.
    await expectGrpcError(sim.call('DeleteWorkerDeploymentVersion', {
      namespace: NS, deploymentVersion: { deploymentName: M, buildId: 'b2' },
    }), 'FAILED_PRECONDITION', /^ManagerIdentity 'twa' is set and does not match user identity '[0-9a-f-]{36}'/);
    await setCurrent(sim, { deploymentName: M, buildId: 'b1', identity: 'twa' });

    // Anyone may take over or clear the manager.
    const take = await sim.call('SetWorkerDeploymentManager', { namespace: NS, deploymentName: M, managerIdentity: 'human', identity: 'human' });
    assert.equal(take.previousManagerIdentity, 'twa');
    await expectGrpcError(setCurrent(sim, { deploymentName: M, buildId: 'b2', identity: 'twa' }), 'FAILED_PRECONDITION', /ManagerIdentity 'human' is set/);
    await sim.call('SetWorkerDeploymentManager', { namespace: NS, deploymentName: M, managerIdentity: '', identity: 'human' });
    d = await describe(sim, M);
    assert.equal(d.workerDeploymentInfo.managerIdentity, undefined);
    await setCurrent(sim, { deploymentName: M, buildId: 'b2', identity: 'twa' });
  });
});

test('older releases lack the manager API; 1.31 propagates asynchronously', async () => {
  await sim.post('/reset', { serverVersion: '1.28.2' });
  const old = sim;
  await old.poll(D, 'b1');
  await expectGrpcError(old.call('SetWorkerDeploymentManager', { namespace: NS, deploymentName: D, self: true, identity: 'x' }),
    'UNIMPLEMENTED', 'unknown method SetWorkerDeploymentManager for service temporal.api.workflowservice.v1.WorkflowService');
  // allow_no_pollers is unknown to 1.28: ignored.
  await expectGrpcError(old.call('SetWorkerDeploymentCurrentVersion', {
    namespace: NS, deploymentName: D, buildId: 'b9', allowNoPollers: true, identity: 'x',
  }), 'NOT_FOUND', 'Version not found in deployment');

  await sim.post('/reset', { serverVersion: '1.31.0', propagationDelayMs: 600000 });
  await sim.poll(D, 'b1');
  await setCurrent(sim, { buildId: 'b1' });
  let d = await describe(sim);
  assert.equal(d.workerDeploymentInfo.routingConfigUpdateState, 'ROUTING_CONFIG_UPDATE_STATE_IN_PROGRESS');
  assert.equal(d.workerDeploymentInfo.routingConfig.revisionNumber, 1);
  const changed = tsMs(d.workerDeploymentInfo.routingConfig.currentVersionChangedTime);
  await sim.post('/clock/advance', { ms: 600000 });
  d = await describe(sim);
  assert.equal(d.workerDeploymentInfo.routingConfigUpdateState, 'ROUTING_CONFIG_UPDATE_STATE_COMPLETED');
  // Identity-only change in async mode: token and modifier move, routing does not.
  await setCurrent(sim, { buildId: 'b1', identity: 'other' });
  d = await describe(sim);
  assert.equal(d.workerDeploymentInfo.routingConfig.revisionNumber, 1);
  assert.equal(tsMs(d.workerDeploymentInfo.routingConfig.currentVersionChangedTime), changed);
  assert.equal(d.workerDeploymentInfo.lastModifierIdentity, 'other');
  // 1.31 accepts allow_no_pollers with an empty build (clears Current).
  await setCurrent(sim, { buildId: '', allowNoPollers: true, identity: 'other' });
  assert.equal((await describe(sim)).workerDeploymentInfo.routingConfig.currentVersion, '__unversioned__');

  // The proto comment's reading: no drainage_info on an active version's summary.
  await sim.post('/reset', { summaryDrainageWhileActive: false });
  await sim.poll(D, 'b1');
  await setCurrent(sim, { buildId: 'b1' });
  d = await describe(sim);
  assert.equal(summary(d, 'b1').drainageInfo, undefined);
});
