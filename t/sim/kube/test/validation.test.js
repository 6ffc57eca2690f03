'use strict';
// Validation the server applies to what twa writes (notes §1.2, §1.9, §2.1,
// §4.3, §8): 422 Invalid with the real field paths and messages, and the
// decode errors that come back as 400 (create/update) or 422 (patch).

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSim, LEASES, DEPLOYMENTS, lease, micro, deployment } = require('./helpers');

const T = { token: 'admin-token' };
const EVENTS = '/apis/events.k8s.io/v1/namespaces/ns1/events';
const NAME_PART_MSG = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
let sim;
let old;

test.before(async () => {
  sim = await startSim();
  old = await startSim({ version: '1.24' });
});
test.after(async () => { await sim.stop(); await old.stop(); });

const mk = async (s, name, spec) => (await s.api('POST', LEASES, { ...T, body: lease(name, spec) })).body;

test('annotation key with a bad name part: 422 FieldValueInvalid on metadata.annotations (notes §8)', async () => {
  await mk(sim, 'ann');
  const r = await sim.api('PATCH', `${LEASES}/ann`, { ...T, body: { metadata: { annotations: { 'agents.twa.dev/Bad_Name-': 'x' } } } });
  assert.equal(r.status, 422);
  assert.equal(r.body.reason, 'Invalid');
  assert.equal(r.body.message, `Lease.coordination.k8s.io "ann" is invalid: metadata.annotations: Invalid value: "agents.twa.dev/Bad_Name-": ${NAME_PART_MSG}`);
  assert.deepEqual(r.body.details, {
    name: 'ann', group: 'coordination.k8s.io', kind: 'Lease',
    causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: "agents.twa.dev/Bad_Name-": ${NAME_PART_MSG}`, field: 'metadata.annotations' }],
  });
});

test('annotation name part over 63 characters and a bad prefix are rejected; upper case is tolerated', async () => {
  await mk(sim, 'ann2');
  const long = `agents.twa.dev/${'p'.repeat(64)}`;
  const a = await sim.api('PATCH', `${LEASES}/ann2`, { ...T, body: { metadata: { annotations: { [long]: 'x' } } } });
  assert.equal(a.status, 422);
  assert.equal(a.body.details.causes[0].message, `Invalid value: "${long}": name part must be no more than 63 characters`);
  const b = await sim.api('PATCH', `${LEASES}/ann2`, { ...T, body: { metadata: { annotations: { 'bad_prefix/x': 'x' } } } });
  assert.equal(b.status, 422);
  assert.match(b.body.details.causes[0].message, /^Invalid value: "bad_prefix\/x": prefix part a lowercase RFC 1123 subdomain must consist of/);
  const c = await sim.api('PATCH', `${LEASES}/ann2`, { ...T, body: { metadata: { annotations: { 'Agents.Twa.Dev/MyPod': 'x' } } } });
  assert.equal(c.status, 200, 'annotation keys are checked in lower case');
  const d = await sim.api('PATCH', `${LEASES}/ann2`, { ...T, body: { metadata: { labels: { 'Agents.Twa.Dev/MyPod': 'x' } } } });
  assert.equal(d.status, 422, 'label keys are not');
  assert.equal(d.body.details.causes[0].field, 'metadata.labels');
});

test('annotations over 256 KiB in total are Too long (message per version)', async () => {
  await mk(sim, 'big');
  const half = 'v'.repeat(128 * 1024);
  const ok = await sim.api('PATCH', `${LEASES}/big`, { ...T, body: { metadata: { annotations: { 'a.example/a': half.slice(20) } } } });
  assert.equal(ok.status, 200);
  const r = await sim.api('PATCH', `${LEASES}/big`, { ...T, body: { metadata: { annotations: { 'a.example/b': half, 'a.example/c': half } } } });
  assert.equal(r.status, 422);
  assert.equal(r.body.message, 'Lease.coordination.k8s.io "big" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes');
  assert.deepEqual(r.body.details.causes, [{ reason: 'FieldValueTooLong', message: 'Too long: may not be more than 262144 bytes', field: 'metadata.annotations' }]);
  await mk(old, 'big');
  const o = await old.api('PATCH', `${LEASES}/big`, { ...T, body: { metadata: { annotations: { 'a.example/b': half, 'a.example/c': half } } } });
  assert.equal(o.body.message, 'Lease.coordination.k8s.io "big" is invalid: metadata.annotations: Too long: must have at most 262144 bytes');
});

test('MicroTime without six digits: merge patch is 422 quoting the Go parse error (notes §8)', async () => {
  await mk(sim, 'mt');
  const r = await sim.api('PATCH', `${LEASES}/mt`, { ...T, body: { spec: { renewTime: '2026-11-22T22:00:02Z' } } });
  assert.equal(r.status, 422);
  assert.equal(r.body.reason, 'Invalid');
  assert.match(r.body.message, /^Lease\.coordination\.k8s\.io "" is invalid: patch: Invalid value: "\{.*\}": parsing time "2026-11-22T22:00:02Z" as "2006-01-02T15:04:05\.000000Z07:00": cannot parse "Z" as "\.000000"$/);
  assert.equal(r.body.details.causes[0].field, 'patch');
  for (const bad of ['2026-11-22T22:00:02.123Z', '2026-11-22T22:00:02.123456789Z', 1700000000]) {
    const x = await sim.api('PATCH', `${LEASES}/mt`, { ...T, body: { spec: { acquireTime: bad } } });
    assert.equal(x.status, 422, String(bad));
  }
  const good = await sim.api('PATCH', `${LEASES}/mt`, { ...T, body: { spec: { renewTime: '2026-11-22T23:00:02.000001+01:00' } } });
  assert.equal(good.status, 200);
  assert.equal(good.body.spec.renewTime, '2026-11-22T22:00:02.000001Z', 'stored in UTC');
});

test('MicroTime without six digits in a create or PUT body is a 400 decode error', async () => {
  const r = await sim.api('POST', LEASES, { ...T, body: lease('mt2', { renewTime: '2026-11-22T22:00:02.123Z' }) });
  assert.equal(r.status, 400);
  assert.equal(r.body.reason, 'BadRequest');
  assert.equal(r.body.message, 'Lease in version "v1" cannot be handled as a Lease: parsing time "2026-11-22T22:00:02.123Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".123Z" as ".000000"');
});

test('wrong JSON types are decode errors naming the Go struct field', async () => {
  const r = await sim.api('POST', LEASES, { ...T, body: lease('ty', { leaseDurationSeconds: '15' }) });
  assert.equal(r.status, 400);
  assert.equal(r.body.message, 'Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal string into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32');
  await mk(sim, 'ty2');
  const p = await sim.api('PATCH', `${LEASES}/ty2`, { ...T, body: { metadata: { annotations: { 'a.example/x': 5 } } } });
  assert.equal(p.status, 422);
  assert.match(p.body.message, /json: cannot unmarshal number into Go struct field ObjectMeta\.metadata\.annotations of type string$/);
  const k = await sim.api('POST', LEASES, { ...T, body: { ...lease('ty3'), kind: 'Pod' } });
  assert.equal(k.status, 400);
  assert.match(k.body.message, /^Pod in version "v1" cannot be handled as a Lease: no kind "Pod" is registered/);
  const v = await sim.api('POST', LEASES, { ...T, body: { ...lease('ty4'), apiVersion: 'coordination.k8s.io/v1beta1' } });
  assert.equal(v.status, 400);
  assert.equal(v.body.message, 'the API version in the data (coordination.k8s.io/v1beta1) does not match the expected API version (coordination.k8s.io/v1)');
  const j = await sim.api('POST', LEASES, { ...T, body: '{"metadata": ' });
  assert.equal(j.status, 400);
});

test('Lease spec rules: leaseDurationSeconds > 0, leaseTransitions >= 0, holderIdentity any string', async () => {
  const a = await sim.api('POST', LEASES, { ...T, body: lease('ld', { leaseDurationSeconds: 0, leaseTransitions: -1 }) });
  assert.equal(a.status, 422);
  assert.equal(a.body.message, 'Lease.coordination.k8s.io "ld" is invalid: [spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0, spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0]');
  assert.deepEqual(a.body.details.causes.map((c) => c.field), ['spec.leaseDurationSeconds', 'spec.leaseTransitions']);
  const b = await sim.api('POST', LEASES, { ...T, body: lease('ld2', { holderIdentity: 'Any String / with spaces' }) });
  assert.equal(b.status, 201);
  const c = await sim.api('POST', LEASES, { ...T, body: lease('ld3', { holderIdentity: '' }) });
  assert.equal(c.status, 201);
  assert.equal(c.body.spec.holderIdentity, '', 'an empty holder is kept (pointer field)');
  const d = await sim.api('POST', LEASES, { ...T, body: lease('ld4', { holderIdentity: null, leaseDurationSeconds: null }) });
  assert.equal(d.body.spec.holderIdentity, undefined, 'null drops the field');
});

test('coordinated-election fields: validated from 1.31, dropped with a warning before', async () => {
  const s = await startSim({ version: '1.31' });
  try {
    const a = await s.api('POST', LEASES, { ...T, body: lease('cle', { preferredHolder: 'x' }) });
    assert.equal(a.status, 422);
    assert.match(a.body.message, /spec\.preferredHolder: Forbidden: may only be specified if `strategy` is defined/);
    const b = await s.api('POST', LEASES, { ...T, body: lease('cle2', { strategy: 'Newest' }) });
    assert.equal(b.status, 422);
    assert.match(b.body.message, /spec\.strategy: Unsupported value: "Newest": supported values: "OldestEmulationVersion"/);
  } finally {
    await s.stop();
  }
  const c = await sim.api('POST', LEASES, { ...T, body: lease('cle3', { strategy: 'Newest' }) });
  assert.equal(c.status, 201);
  assert.equal(c.body.spec.strategy, undefined);
  assert.equal(c.headers.warning, '299 - "unknown field \\"spec.strategy\\""');
});

test('unknown fields: Warning header by default, 400 with fieldValidation=Strict, silent on 1.24', async () => {
  const body = lease('uf', { bogus: 1 });
  const r = await sim.api('POST', LEASES, { ...T, body });
  assert.equal(r.status, 201);
  assert.equal(r.headers.warning, '299 - "unknown field \\"spec.bogus\\""');
  assert.equal(r.body.spec.bogus, undefined);
  const s = await sim.api('POST', `${LEASES}?fieldValidation=Strict`, { ...T, body: lease('uf2', { bogus: 1 }) });
  assert.equal(s.status, 400);
  assert.equal(s.body.message, 'strict decoding error: unknown field "spec.bogus"');
  const o = await old.api('POST', LEASES, { ...T, body: lease('uf3', { bogus: 1 }) });
  assert.equal(o.status, 201);
  assert.equal(o.headers.warning, undefined);
});

test('object names must be DNS subdomains', async () => {
  const r = await sim.api('POST', LEASES, { ...T, body: lease('Bad_Name') });
  assert.equal(r.status, 422);
  assert.equal(r.body.message, 'Lease.coordination.k8s.io "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character (e.g. \'example.com\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\')');
  const n = await sim.api('POST', LEASES, { ...T, body: { spec: {} } });
  assert.equal(n.status, 422);
  assert.equal(n.body.message, 'Lease.coordination.k8s.io "" is invalid: metadata.name: Required value: name or generateName is required');
  const ns = await sim.api('POST', LEASES, { ...T, body: { metadata: { name: 'x', namespace: 'other' } } });
  assert.equal(ns.status, 400);
  assert.equal(ns.body.message, 'the namespace of the provided object does not match the namespace sent on the request');
});

function event(extra = {}) {
  return {
    apiVersion: 'events.k8s.io/v1', kind: 'Event',
    metadata: { name: `orders-v1.${Date.now().toString(16)}`, namespace: 'ns1' },
    eventTime: micro(), reportingController: 'twa.dev/agent', reportingInstance: 'orders-v1-abcde',
    action: 'Scale', reason: 'ScaledDown', note: 'scaled to 0', type: 'Normal',
    regarding: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'orders-v1', namespace: 'ns1', uid: 'u-1' },
    ...extra,
  };
}

test('events.k8s.io/v1: a complete Event is created and listed', async () => {
  const r = await sim.api('POST', EVENTS, { ...T, body: event({ metadata: { name: 'ok-event' } }) });
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.eventTime, /\.\d{6}Z$/);
  const l = await sim.api('GET', `${EVENTS}?fieldSelector=reason%3DScaledDown`, T);
  assert.equal(l.body.kind, 'EventList');
  assert.ok(l.body.items.some((e) => e.metadata.name === 'ok-event'));
});

test('events.k8s.io/v1: required fields, type, and the legacy checks with internal field names', async () => {
  const r = await sim.api('POST', EVENTS, {
    ...T,
    body: event({ reportingController: '', reportingInstance: '', action: '', reason: 'r'.repeat(129), type: 'Info', note: 'n'.repeat(1025) }),
  });
  assert.equal(r.status, 422);
  assert.equal(r.body.details.kind, 'Event');
  assert.equal(r.body.details.group, undefined, 'the core Event kind');
  assert.deepEqual(r.body.details.causes.map((c) => `${c.field}: ${c.message}`), [
    'reportingController: Required value',
    'reportingController: Invalid value: "": name part must be non-empty',
    `reportingController: Invalid value: "": ${NAME_PART_MSG}`,
    'reportingInstance: Required value',
    'action: Required value',
    'reason: Invalid value: "": can have at most 128 characters',
    'message: Invalid value: "": can have at most 1024 characters',
    'type: Invalid value: "": has invalid value: Info',
  ]);
  assert.match(r.body.message, /^Event "orders-v1\.[0-9a-f]+" is invalid: \[reportingController: Required value, /);
});

test('events.k8s.io/v1: eventTime is required and must be a six-digit MicroTime', async () => {
  const noTime = event();
  delete noTime.eventTime;
  const r = await sim.api('POST', EVENTS, { ...T, body: noTime });
  assert.equal(r.status, 422);
  assert.deepEqual(r.body.details.causes.map((c) => c.field), ['eventTime']);
  const bad = await sim.api('POST', EVENTS, { ...T, body: event({ eventTime: new Date().toISOString() }) });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /^Event in version "v1" cannot be handled as a Event: parsing time ".*" as "2006-01-02T15:04:05\.000000Z07:00": cannot parse/);
});

test('events.k8s.io/v1: regarding without namespace, deprecated fields and series', async () => {
  const r = await sim.api('POST', EVENTS, {
    ...T,
    body: event({
      regarding: { kind: 'Node', name: 'n1' }, deprecatedCount: 3, deprecatedSource: { component: 'x' },
      series: { count: 1, lastObservedTime: micro() },
    }),
  });
  assert.equal(r.status, 422);
  assert.deepEqual(r.body.details.causes.map((c) => c.field), ['involvedObject.namespace', 'series.count', 'count', 'source']);
  assert.equal(r.body.details.causes[1].message, 'Invalid value: "": should be at least 2');
  assert.equal(r.body.details.causes[2].message, 'Invalid value: "": needs to be unset');
});

test('Deployment validation: selector must match template labels, replicas >= 0, containers need images', async () => {
  const d = deployment('bad-dep');
  d.spec.template.metadata.labels = { app: 'other' };
  d.spec.replicas = -1;
  d.spec.template.spec.containers = [{ name: 'w' }];
  const r = await sim.api('POST', DEPLOYMENTS, { ...T, body: d });
  assert.equal(r.status, 422);
  assert.deepEqual(r.body.details.causes.map((c) => `${c.field}: ${c.message}`), [
    'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
    'spec.template.spec.containers[0].image: Required value',
  ]);
  assert.match(r.body.message, /^Deployment\.apps "bad-dep" is invalid: \[/);
  const e = deployment('no-sel');
  delete e.spec.selector;
  const s = await sim.api('POST', DEPLOYMENTS, { ...T, body: e });
  assert.equal(s.status, 422);
  assert.equal(s.body.details.causes[0].field, 'spec.selector');
  assert.equal(s.body.details.causes[0].message, 'Required value');
});
