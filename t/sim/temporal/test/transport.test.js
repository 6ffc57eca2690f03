'use strict';
// The process and transport side: stdout protocol, SIGTERM, release
// gating, unimplemented methods, namespaces and headers, API keys, TLS and
// mTLS, injected faults, unknown-field detection, reset.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const { startSim, expectGrpcError, statusDetails, schema, grpc } = require('../harness');

const NS = 'default';

// One plain simulator for most tests (reset between them); the API-key and
// TLS tests start their own.
let sim;
before(async () => { sim = await startSim([]); });
after(() => sim.stop());

test('namespaces, headers, API key, read rate limit', async (t) => {
  const keyed = await startSim(['--namespace', 'alpha', '--namespace', 'beta', '--namespace', 'gamma', '--api-key', 's3cret',
    '--require-namespace-header', '--read-rps', '1']);
  t.after(() => keyed.stop());

  await t.test('API key', async () => {
    await expectGrpcError(keyed.call('GetSystemInfo', {}), 'UNAUTHENTICATED');
    await expectGrpcError(keyed.call('GetSystemInfo', {}, { metadata: { authorization: 'Bearer wrong' } }), 'UNAUTHENTICATED');
    keyed.defaultMetadata = { authorization: 'bearer s3cret' };
    await keyed.call('GetSystemInfo', {});
    assert.equal((await keyed.state()).counters.unauthenticated, 2);
  });

  await t.test('namespace handling', async () => {
    await keyed.poll('d', 'b1', 'tq', { namespace: 'alpha' });
    await keyed.call('DescribeWorkerDeployment', { namespace: 'alpha', deploymentName: 'd' });
    await expectGrpcError(keyed.call('DescribeWorkerDeployment', { namespace: 'beta', deploymentName: 'd' }), 'NOT_FOUND', 'Worker Deployment not found');
    const err = await expectGrpcError(keyed.call('DescribeWorkerDeployment', { namespace: 'default', deploymentName: 'd' }),
      'NOT_FOUND', 'Namespace default is not found.');
    assert.deepEqual(statusDetails(err), [{ type: 'temporal.api.errordetails.v1.NamespaceNotFoundFailure', value: { namespace: 'default' } }]);
    await expectGrpcError(keyed.call('ListWorkerDeployments', { namespace: '' }, { metadata: { 'temporal-namespace': '' } }),
      'INVALID_ARGUMENT', 'Namespace is not set on request.');
    await expectGrpcError(keyed.call('SetWorkerDeploymentManager', { namespace: '', deploymentName: 'd', identity: 'x' }, { noNamespaceHeader: true, metadata: { 'temporal-namespace': '' } }),
      'NOT_FOUND', 'Namespace  is not found.');
  });

  await t.test('temporal-namespace header (Cloud-like enforcement)', async () => {
    await expectGrpcError(keyed.call('ListWorkerDeployments', { namespace: 'alpha' }, { noNamespaceHeader: true }), 'INVALID_ARGUMENT', 'temporal-namespace header is required');
    await expectGrpcError(keyed.call('ListWorkerDeployments', { namespace: 'alpha' }, { metadata: { 'temporal-namespace': 'beta' } }), 'INVALID_ARGUMENT', /does not match/);
    await expectGrpcError(keyed.call('GetSystemInfo', {}, { metadata: { 'temporal-namespace': 'alpha' } }), 'INVALID_ARGUMENT',
      'temporal-namespace header must not be sent on GetSystemInfo');
    const c = (await keyed.state()).counters.namespaceHeader;
    assert.equal(c.missing, 1);
    assert.equal(c.mismatch, 1);
    assert.equal(c.onGetSystemInfo, 1);
    assert.ok(c.present >= 3);
  });

  await t.test('Describe* read rate limit', async () => {
    // gamma's bucket is untouched: 1 call passes, the rest of a burst is limited.
    await keyed.poll('d', 'b1', 'tq', { namespace: 'gamma' });
    const calls = [];
    for (let i = 0; i < 10; i++) calls.push(keyed.call('DescribeWorkerDeployment', { namespace: 'gamma', deploymentName: 'd' }).then(() => 'ok', (e) => e));
    const results = await Promise.all(calls);
    const limited = results.filter((r) => r !== 'ok');
    assert.ok(limited.length >= 2, `expected some calls over 1/s to be limited, got ${limited.length}`);
    assert.equal(limited[0].code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(limited[0].details, 'Worker Deployment Read API rate limit exceeded for namespace "gamma"');
    assert.equal(statusDetails(limited[0])[0].value.cause, 1);
  });
});

test('TLS and mTLS', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-sim-tls-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = (name) => path.join(dir, name);
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=temporal-sim test CA');
  fs.writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  fs.writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    ssl('req', ...ec, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=${who}`);
    ssl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
      '-out', f(`${who}.crt`), '-days', '1', '-extfile', f(`${who}.ext`));
  }
  const pem = (name) => fs.readFileSync(f(name));

  const [tls, mtls] = await Promise.all([
    startSim(['--tls-cert', f('server.crt'), '--tls-key', f('server.key')]),
    startSim(['--tls-cert', f('server.crt'), '--tls-key', f('server.key'), '--tls-ca', f('ca.crt')]),
  ]);
  t.after(() => Promise.all([tls.stop(), mtls.stop()]));
  const sni = { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' };
  const good = tls.client(grpc.credentials.createSsl(pem('ca.crt')), sni);
  assert.equal((await tls.call('GetSystemInfo', {}, { client: good })).serverVersion, '1.29.0');
  const plain = tls.client(grpc.credentials.createInsecure());
  await expectGrpcError(tls.call('GetSystemInfo', {}, { client: plain, deadlineMs: 10000 }), 'UNAVAILABLE');

  const withCert = mtls.client(grpc.credentials.createSsl(pem('ca.crt'), pem('client.key'), pem('client.crt')), sni);
  assert.equal((await mtls.call('GetSystemInfo', {}, { client: withCert })).serverVersion, '1.29.0');
  const noCert = mtls.client(grpc.credentials.createSsl(pem('ca.crt')), sni);
  await expectGrpcError(mtls.call('GetSystemInfo', {}, { client: noCert, deadlineMs: 10000 }), 'UNAVAILABLE');
});

test('fault injection and unknown-field detection', async (t) => {
  await sim.poll('d', 'b1');

  await t.test('a status code for the next N calls', async () => {
    const f = await sim.post('/faults', { method: 'DescribeWorkerDeployment', code: 'UNAVAILABLE', count: 2 });
    assert.equal(f.code, 'UNAVAILABLE');
    const req = { namespace: NS, deploymentName: 'd' };
    await expectGrpcError(sim.call('DescribeWorkerDeployment', req), 'UNAVAILABLE', 'injected fault: UNAVAILABLE');
    await sim.call('GetSystemInfo', {});
    await expectGrpcError(sim.call('DescribeWorkerDeployment', req), 'UNAVAILABLE');
    await sim.call('DescribeWorkerDeployment', req);
    assert.deepEqual((await sim.admin('GET', '/faults')).faults,
      [{ id: f.id, method: 'DescribeWorkerDeployment', code: 'UNAVAILABLE', phase: 'before', remaining: 0, fired: 2 }],
      'used-up rules stay listed');
    await sim.admin('DELETE', `/faults/${f.id}`);
    await sim.post('/faults', { method: '*', code: 14, message: 'connection reset' });
    await expectGrpcError(sim.call('GetSystemInfo', {}), 'UNAVAILABLE', 'connection reset');
    await sim.admin('DELETE', '/faults');
    await sim.post('/faults', { method: 'SetWorkerDeploymentCurrentVersion', code: 'RESOURCE_EXHAUSTED' });
    await expectGrpcError(sim.call('SetWorkerDeploymentCurrentVersion', { namespace: NS, deploymentName: 'd', buildId: 'b1', identity: 'x' }),
      'RESOURCE_EXHAUSTED', 'Too many SetWorkerDeploymentCurrentVersion requests have been issued in rapid succession.');
    await assert.rejects(sim.post('/faults', { method: 'X' }), (e) => e.status === 400);
    await assert.rejects(sim.post('/faults', { method: 'X', code: 'NOPE' }), (e) => e.status === 400);
  });

  await t.test('phase "after": the change is applied, the caller sees an error', async () => {
    await sim.admin('DELETE', '/faults');
    await sim.post('/faults', { method: 'SetWorkerDeploymentCurrentVersion', code: 'UNAVAILABLE', phase: 'after' });
    await expectGrpcError(sim.call('SetWorkerDeploymentCurrentVersion', { namespace: NS, deploymentName: 'd', buildId: 'b1', identity: 'x' }), 'UNAVAILABLE');
    const d = await sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: 'd' });
    assert.equal(d.workerDeploymentInfo.routingConfig.currentVersion, 'd.b1');
  });

  await t.test('delays', async () => {
    await sim.admin('DELETE', '/faults');
    await sim.post('/faults', { method: '*', delayMs: 3000 });
    await expectGrpcError(sim.call('GetSystemInfo', {}, { deadlineMs: 200 }), 'DEADLINE_EXCEEDED');
    assert.equal((await sim.admin('GET', '/faults')).faults[0].remaining, 0, 'the delay rule was used up');
    assert.equal((await sim.state()).counters.delaysInjected, 1);
    // Only the next call was delayed: this one beats a deadline shorter than the delay.
    await sim.call('GetSystemInfo', {}, { deadlineMs: 2500 });
  });

  await t.test('probabilistic faults with a seed', async () => {
    await sim.admin('DELETE', '/faults');
    await sim.post('/faults', { method: 'GetSystemInfo', code: 'UNAVAILABLE', probability: 0.3, seed: 7 });
    let failed = 0;
    for (let i = 0; i < 200; i++) {
      try {
        await sim.call('GetSystemInfo', {});
      } catch (err) {
        assert.equal(err.code, grpc.status.UNAVAILABLE);
        failed++;
      }
    }
    assert.ok(failed > 35 && failed < 85, `about 30 % should fail, got ${failed}`);
    const faults = (await sim.admin('GET', '/faults')).faults;
    assert.equal(faults[0].fired, failed);
    assert.equal(faults[0].seed, 7);
    await sim.admin('DELETE', '/faults');
    assert.deepEqual((await sim.admin('GET', '/faults')).faults, []);
  });

  await t.test('unknown fields are flagged and counted', async () => {
    assert.equal((await sim.state()).unknownFieldRequests, 0, 'schema-conformant requests are clean');
    const Req = schema.type('temporal.api.workflowservice.v1.DescribeWorkerDeploymentVersionRequest');
    const good = Buffer.from(Req.encode({ namespace: NS, deploymentVersion: { deploymentName: 'd', buildId: 'b1' } }).finish());
    // Top-level field 99 (varint) and a field 7 inside deployment_version.
    const inner = Buffer.concat([
      Buffer.from(schema.type('temporal.api.deployment.v1.WorkerDeploymentVersion').encode({ deploymentName: 'd', buildId: 'b1' }).finish()),
      Buffer.from([0x38, 0x01]),
    ]);
    const raw = Buffer.concat([
      Buffer.from(Req.encode({ namespace: NS }).finish()),
      Buffer.from([0x1a, inner.length]), inner,
      Buffer.from([0x98, 0x06, 0x01]),
    ]);
    assert.ok(good.length > 0);
    const res = await sim.call('DescribeWorkerDeploymentVersion', raw, { metadata: { 'temporal-namespace': NS } });
    assert.equal(res.workerDeploymentVersionInfo.version, 'd.b1', 'known fields still decoded');
    const st = await sim.state();
    assert.equal(st.unknownFieldRequests, 1);
    const paths = st.counters.unknownFieldFindings[0].findings.map((x) => x.path).sort();
    assert.deepEqual(paths, ['DescribeWorkerDeploymentVersionRequest.#99', 'DescribeWorkerDeploymentVersionRequest.deploymentVersion.#7']);
    assert.ok(sim.log().includes('UNKNOWN FIELDS in DescribeWorkerDeploymentVersion'));
    assert.ok(sim.log().includes('rpc DescribeWorkerDeploymentVersion temporal-namespace="default" req={"namespace":"default","deploymentVersion":'),
      'requests are logged decoded');

    // Truncated bytes do not decode: INTERNAL as from grpc-go, and flagged.
    await expectGrpcError(sim.call('GetSystemInfo', Buffer.from([0x0a, 0x05, 0x61])), 'INTERNAL', /^grpc: error unmarshalling request/);
    // A string field sent with the varint wire type is skipped by the decoder
    // (as protobuf-go keeps it as an unknown field) and flagged.
    await expectGrpcError(sim.call('DescribeWorkerDeployment', Buffer.from([0x08, 0x01]), { metadata: { 'temporal-namespace': '' } }),
      'INVALID_ARGUMENT', 'Namespace is not set on request.');
    const after = await sim.state();
    assert.equal(after.unknownFieldRequests, 3);
    assert.deepEqual(after.counters.unknownFieldFindings[0].findings.map((x) => x.kind), ['wire-type']);
  });
});

test('release gating and unimplemented methods', async () => {
  await sim.post('/reset', { serverVersion: '1.26.1' });
  const info = await sim.call('GetSystemInfo', {}, { noNamespaceHeader: true });
  assert.equal(info.serverVersion, '1.26.1');
  assert.equal(info.capabilities.countGroupByExecutionStatus, true);
  await expectGrpcError(sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: 'd' }), 'UNIMPLEMENTED',
    'unknown method DescribeWorkerDeployment for service temporal.api.workflowservice.v1.WorkflowService');

  await sim.post('/reset', { serverVersion: '1.27.0' });
  const denied = await expectGrpcError(sim.call('DescribeWorkerDeployment', { namespace: NS, deploymentName: 'd' }), 'PERMISSION_DENIED',
    'Worker Deployment Versions are disabled on this namespace.');
  assert.equal(statusDetails(denied)[0].type, 'temporal.api.errordetails.v1.PermissionDeniedFailure');
  await assert.rejects(sim.poll('d', 'b1'), (e) => e.body.error === 'missing deployment version');

  await sim.post('/reset', { serverVersion: '1.29.0', versioningDisabled: true });
  await expectGrpcError(sim.call('SetWorkerDeploymentCurrentVersion', { namespace: NS, deploymentName: 'd' }), 'PERMISSION_DENIED');
  await assert.rejects(sim.post('/reset', { grpcPort: 1 }), (e) => e.status === 400);

  await sim.post('/reset', { serverVersion: '1.29.0', versioningDisabled: false });
  await expectGrpcError(sim.call('PollWorkflowTaskQueue', { namespace: NS }), 'UNIMPLEMENTED', /not implemented by the Temporal simulator/);
  await expectGrpcError(sim.call('DescribeDeployment', { namespace: NS }), 'UNIMPLEMENTED',
    'Deployments are deprecated and no longer supported, use Worker Deployments instead');
  assert.equal((await sim.call('GetSystemInfo', {})).serverVersion, '1.29.0');
});

test('client headers', async () => {
  await sim.post('/reset');
  await sim.call('GetSystemInfo', {}, { metadata: { 'client-name': 'twa', 'client-version': 'not-semver' } });
  await sim.call('GetSystemInfo', {}, { metadata: { 'client-name': 'temporal-go', 'client-version': '1.31.0', 'supported-server-versions': '>=1.28.0 <2.0.0' } });
  await expectGrpcError(sim.call('GetSystemInfo', {}, { metadata: { 'client-name': 'temporal-go', 'client-version': 'dev' } }),
    'INVALID_ARGUMENT', 'Unable to parse client version');
  await expectGrpcError(sim.call('GetSystemInfo', {}, { metadata: { 'supported-server-versions': '>=one' } }), 'INVALID_ARGUMENT');
  const st = await sim.state();
  assert.deepEqual(st.counters.clients, { 'twa/not-semver': 1, 'temporal-go/1.31.0': 1, 'temporal-go/dev': 1 });
});

test('process protocol: usage errors, reset, one stdout line, SIGTERM', async () => {
  const bad = spawnSync(process.execPath, [path.join(__dirname, '..', 'server.js'), '--bogus'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /unknown option --bogus/);

  await sim.poll('d', 'b1');
  await sim.post('/reset');
  const st = await sim.state();
  assert.deepEqual(st.namespaces.default.deployments, {});
  assert.deepEqual(st.counters.requests, {});
  const code = await sim.stop();
  assert.equal(code, 0, 'SIGTERM exits cleanly');
  assert.equal(sim.stdout.text, `${JSON.stringify({ grpc: sim.grpcPort, admin: sim.adminPort })}\n`, 'exactly one line on stdout');
});
