'use strict';
// Registration by pollers, describe/list views, task queues, legacy version
// strings (reference §3.1, §3.4, §3.7, §3.13, §5, §6.2, §10).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSim, expectGrpcError, statusDetails, tsMs } = require('../harness');

const NS = 'default';

let sim;
before(async () => { sim = await startSim(['--server-version', '1.30.0']); });
after(() => sim.stop());

test('registration by pollers (1.30 wording)', async (t) => {

  await t.test('a deployment nobody polled is NOT_FOUND', async () => {
    const err = await expectGrpcError(
      sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: 'orders' }),
      'NOT_FOUND',
      "no Worker Deployment found with name 'orders'; does your Worker Deployment have pollers?",
    );
    assert.equal(statusDetails(err)[0].type, 'temporal.api.errordetails.v1.NotFoundFailure');
    await expectGrpcError(
      sim.call('DescribeWorkerDeploymentVersion', { namespace: NS, deploymentVersion: { deploymentName: 'orders', buildId: 'b1' } }),
      'NOT_FOUND',
      'Worker Deployment Version not found',
    );
  });

  await t.test('a versioned poll creates the deployment and an INACTIVE version', async () => {
    const r = await sim.poll('orders', 'b1', 'orders-tq');
    assert.equal(r.registered, true);
    await sim.poll('orders', 'b1', 'orders-tq', { type: 'activity' });
    const d = await sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: 'orders' });
    assert.equal(d.conflictToken.length, 15);
    const info = d.workerDeploymentInfo;
    assert.equal(info.name, 'orders');
    assert.equal(info.routingConfig.currentVersion, '__unversioned__');
    assert.equal(info.routingConfig.currentDeploymentVersion, undefined);
    assert.equal(info.routingConfig.rampingVersion, undefined);
    assert.equal(info.routingConfigUpdateState, 'ROUTING_CONFIG_UPDATE_STATE_COMPLETED');
    assert.equal(info.versionSummaries.length, 1);
    const s = info.versionSummaries[0];
    assert.equal(s.version, 'orders.b1');
    assert.deepEqual(s.deploymentVersion, { buildId: 'b1', deploymentName: 'orders' });
    assert.equal(s.status, 'WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE');
    assert.equal(s.drainageInfo, undefined);
    assert.ok(tsMs(s.createTime) > 0);

    const v = await sim.call('DescribeWorkerDeploymentVersion', {
      namespace: NS, deploymentVersion: { deploymentName: 'orders', buildId: 'b1' }, reportTaskQueueStats: true,
    });
    const vi = v.workerDeploymentVersionInfo;
    assert.equal(vi.version, 'orders.b1');
    assert.equal(vi.status, 'WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE');
    assert.equal(vi.drainageInfo, undefined);
    assert.equal(vi.deploymentName, undefined, 'deprecated deployment_name is not filled');
    assert.deepEqual(vi.taskQueueInfos, [
      { name: 'orders-tq', type: 'TASK_QUEUE_TYPE_WORKFLOW' },
      { name: 'orders-tq', type: 'TASK_QUEUE_TYPE_ACTIVITY' },
    ]);
    assert.equal(v.versionTaskQueues.length, 2);
    assert.ok(v.versionTaskQueues[0].stats, 'stats reported when asked');
  });

  await t.test('registration does not change the conflict token', async () => {
    const before = await sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: 'orders' });
    await sim.poll('orders', 'b2', 'orders-tq');
    const after = await sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: 'orders' });
    assert.deepEqual(after.conflictToken, before.conflictToken);
    assert.deepEqual(after.workerDeploymentInfo.versionSummaries.map((s) => s.version), ['orders.b2', 'orders.b1'], 'newest first');
  });

  await t.test('poll validation mirrors matching', async () => {
    await assert.rejects(sim.post('/pollers', { taskQueue: 'tq', deploymentName: 'x', versioningMode: 'versioned' }),
      (e) => e.status === 400 && e.body.grpcCode === 'INVALID_ARGUMENT' && e.body.error === 'versioned worker must have build id');
    await assert.rejects(sim.post('/pollers', { taskQueue: 'tq', buildId: 'b', versioningMode: 'versioned' }),
      (e) => e.body.error === 'versioned worker must have deployment name');
    await assert.rejects(sim.poll('a.b', 'b1'), (e) => e.body.error === "deployment name cannot contain ':' or '.'");
    await assert.rejects(sim.poll('dep', '__b'), (e) => e.body.error === "BuildID cannot start with '__'");
    // Unversioned pollers register nothing.
    const r = await sim.post('/pollers', { taskQueue: 'plain-tq' });
    assert.equal(r.registered, false);
  });

  await t.test('legacy version strings: dot and colon accepted by Describe, colon NOT_FOUND on Set*', async () => {
    const dot = await sim.call('DescribeWorkerDeploymentVersion', { namespace: NS, version: 'orders.b1' });
    assert.equal(dot.workerDeploymentVersionInfo.version, 'orders.b1');
    const colon = await sim.call('DescribeWorkerDeploymentVersion', { namespace: NS, version: 'orders:b1' });
    assert.equal(colon.workerDeploymentVersionInfo.version, 'orders.b1');
    // A non-empty legacy string wins over deployment_version on Describe.
    const both = await sim.call('DescribeWorkerDeploymentVersion', {
      namespace: NS, version: 'orders.b2', deploymentVersion: { deploymentName: 'orders', buildId: 'b1' },
    });
    assert.equal(both.workerDeploymentVersionInfo.version, 'orders.b2');
    await expectGrpcError(
      sim.call('SetWorkerDeploymentCurrentVersion', { namespace: NS, deploymentName: 'orders', version: 'orders:b1', identity: 'i' }),
      'NOT_FOUND', "build ID 'b1' not found in Worker Deployment 'orders'",
    );
    await expectGrpcError(
      sim.call('SetWorkerDeploymentCurrentVersion', { namespace: NS, deploymentName: 'orders', version: 'other.b1', identity: 'i' }),
      'INVALID_ARGUMENT', "invalid version string 'other.b1' does not match deployment name 'orders'",
    );
    await expectGrpcError(
      sim.call('DescribeWorkerDeploymentVersion', { namespace: NS }),
      'INVALID_ARGUMENT', 'deployment version cannot be empty',
    );
  });

  await t.test('DescribeTaskQueue lists live pollers and the routing of the queue', async () => {
    await sim.post('/pollers', { taskQueue: 'orders-tq', identity: 'unversioned-worker' });
    let r = await sim.call('DescribeTaskQueue', { namespace: NS, taskQueue: { name: 'orders-tq' } });
    const ids = r.pollers.map((p) => `${p.identity}/${p.deploymentOptions ? p.deploymentOptions.buildId || '' : ''}`).sort();
    assert.equal(ids.length, 3);
    assert.ok(r.pollers.some((p) => p.deploymentOptions && p.deploymentOptions.workerVersioningMode === 'WORKER_VERSIONING_MODE_VERSIONED' && p.deploymentOptions.buildId === 'b1'));
    assert.ok(r.pollers.some((p) => p.identity === 'unversioned-worker'));
    assert.equal(r.versioningInfo.currentVersion, '__unversioned__');
    assert.equal(r.versioningInfo.rampingVersion, undefined);

    await sim.call('SetWorkerDeploymentCurrentVersion', { namespace: NS, deploymentName: 'orders', buildId: 'b1', identity: 'me' });
    r = await sim.call('DescribeTaskQueue', { namespace: NS, taskQueue: { name: 'orders-tq' }, taskQueueType: 'TASK_QUEUE_TYPE_WORKFLOW' });
    assert.deepEqual(r.versioningInfo.currentDeploymentVersion, { buildId: 'b1', deploymentName: 'orders' });
    assert.equal(r.versioningInfo.currentVersion, 'orders.b1');

    const act = await sim.call('DescribeTaskQueue', { namespace: NS, taskQueue: { name: 'orders-tq' }, taskQueueType: 'TASK_QUEUE_TYPE_ACTIVITY' });
    assert.equal(act.pollers.length, 1);

    assert.deepEqual(await sim.post('/pollers/expire', { taskQueue: 'orders-tq', buildId: 'b2' }), { expired: 1 });
    r = await sim.call('DescribeTaskQueue', { namespace: NS, taskQueue: { name: 'orders-tq' } });
    assert.equal(r.pollers.length, 2);

    // Poller history TTL (5 minutes by default), measured on the simulated clock.
    await sim.post('/clock/advance', { ms: 300000 });
    r = await sim.call('DescribeTaskQueue', { namespace: NS, taskQueue: { name: 'orders-tq' } });
    assert.equal(r.pollers.length, 0);
  });

  await t.test('ListWorkerDeployments pages and carries summaries', async () => {
    await sim.poll('billing', 'v1', 'billing-tq');
    const all = await sim.call('ListWorkerDeployments', { namespace: NS });
    assert.deepEqual(all.workerDeployments.map((d) => d.name).sort(), ['billing', 'orders']);
    const orders = all.workerDeployments.find((d) => d.name === 'orders');
    assert.equal(orders.routingConfig.currentVersion, 'orders.b1');
    assert.equal(orders.currentVersionSummary.version, 'orders.b1');
    assert.equal(orders.latestVersionSummary.version, 'orders.b2');
    assert.equal(orders.rampingVersionSummary, undefined);
    const p1 = await sim.call('ListWorkerDeployments', { namespace: NS, pageSize: 1 });
    assert.equal(p1.workerDeployments.length, 1);
    assert.ok(p1.nextPageToken.length > 0);
    const p2 = await sim.call('ListWorkerDeployments', { namespace: NS, pageSize: 1, nextPageToken: p1.nextPageToken });
    assert.equal(p2.workerDeployments.length, 1);
    assert.notEqual(p2.workerDeployments[0].name, p1.workerDeployments[0].name);
    assert.equal((p2.nextPageToken || []).length, 0);
    await expectGrpcError(sim.call('ListWorkerDeployments', { namespace: NS, nextPageToken: Buffer.from('junk') }), 'INVALID_ARGUMENT');
  });
});

test('1.29 wording and limits', async () => {
  await sim.post('/reset', { serverVersion: '1.29.0', maxDeployments: 1, maxVersions: 2 });

  await expectGrpcError(sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: 'd' }), 'NOT_FOUND', 'Worker Deployment not found');
  await expectGrpcError(
    sim.call('SetWorkerDeploymentCurrentVersion', { namespace: NS, deploymentName: 'd', buildId: 'b1', identity: 'i' }),
    'FAILED_PRECONDITION', 'no Worker Deployment found with name d; does your Worker Deployment have pollers?',
  );
  await sim.poll('d', 'b1');
  await expectGrpcError(
    sim.call('SetWorkerDeploymentCurrentVersion', { namespace: NS, deploymentName: 'd', buildId: 'nope', identity: 'i' }),
    'NOT_FOUND', 'Version not found in deployment',
  );
  const d = await sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: 'd' });
  assert.equal(d.workerDeploymentInfo.routingConfigUpdateState, undefined, '1.29 has no routing_config_update_state');

  // matching.maxDeployments
  await assert.rejects(sim.poll('e', 'b1'), (e) => e.status === 429 && e.body.grpcCode === 'RESOURCE_EXHAUSTED'
    && e.body.error === 'reached maximum deployments in namespace (1)');
  // matching.maxVersionsInDeployment: the oldest deletable version is removed.
  await sim.poll('d', 'b2');
  await sim.call('SetWorkerDeploymentCurrentVersion', { namespace: NS, deploymentName: 'd', buildId: 'b2', identity: 'i' });
  await sim.post('/pollers/expire', { buildId: 'b1' });
  await sim.poll('d', 'b3');
  let st = await sim.state();
  assert.deepEqual(Object.keys(st.namespaces.default.deployments.d.versions).sort(), ['b2', 'b3']);
  // Now b2 is current and b3 has live pollers: nothing is deletable.
  await assert.rejects(sim.poll('d', 'b4'), (e) => e.status === 429
    && e.body.error === 'cannot add version d.b4 since maximum number of versions (2) have been registered in the deployment');
  st = await sim.state();
  assert.equal(st.unknownFieldRequests, 0);
});
