'use strict';
// Patch semantics (notes §2.2-§2.6, §8): merge patch, JSON Patch with test
// and pointer escaping, strategic merge patch, resourceVersion as a
// precondition, and the renew-versus-annotation race of DESIGN §5.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSim, LEASES, DEPLOYMENTS, lease, micro, deployment } = require('./helpers');

const T = { token: 'admin-token' };
const JSONP = 'application/json-patch+json';
let sim;

test.before(async () => { sim = await startSim(); });
test.after(async () => { await sim.stop(); });

const mk = async (name, spec, meta) => (await sim.api('POST', LEASES, { ...T, body: lease(name, spec, { metadata: meta }) })).body;
const jp = (name, ops) => sim.api('PATCH', `${LEASES}/${name}`, { ...T, body: ops, contentType: JSONP });
const mp = (name, doc) => sim.api('PATCH', `${LEASES}/${name}`, { ...T, body: doc });

test('merge patch merges maps, null deletes a key, deleting a missing key is fine', async () => {
  await mk('m1', {}, { annotations: { 'a.example/x': '1', 'a.example/y': '2' } });
  const r = await mp('m1', { metadata: { annotations: { 'a.example/x': null, 'a.example/z': '3', 'a.example/missing': null } } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.metadata.annotations, { 'a.example/y': '2', 'a.example/z': '3' });
  assert.equal(r.body.spec.holderIdentity, 'pod-a');
});

test('merge patch deleting the last annotation drops the map (so a later JSON Patch add must add the map)', async () => {
  await mk('m2', {}, { annotations: { 'a.example/only': 'v' } });
  const r = await mp('m2', { metadata: { annotations: { 'a.example/only': null } } });
  assert.equal(r.body.metadata.annotations, undefined);
  const bad = await jp('m2', [{ op: 'add', path: '/metadata/annotations/a.example~1k', value: 'v' }]);
  assert.equal(bad.status, 422);
  const good = await jp('m2', [{ op: 'add', path: '/metadata/annotations', value: { 'a.example/k': 'v' } }]);
  assert.equal(good.status, 200);
  assert.deepEqual(good.body.metadata.annotations, { 'a.example/k': 'v' });
});

test('merge patch with a stale metadata.resourceVersion is 409; with the current one it applies', async () => {
  const c = await mk('m3');
  await mp('m3', { metadata: { annotations: { 'a.example/bump': '1' } } });
  const stale = await mp('m3', { metadata: { resourceVersion: c.metadata.resourceVersion }, spec: { holderIdentity: 'b' } });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.reason, 'Conflict');
  assert.equal(stale.body.message, 'Operation cannot be fulfilled on leases.coordination.k8s.io "m3": the object has been modified; please apply your changes to the latest version and try again');
  const cur = (await sim.api('GET', `${LEASES}/m3`, T)).body;
  const ok = await mp('m3', { metadata: { resourceVersion: cur.metadata.resourceVersion }, spec: { holderIdentity: 'b' } });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.spec.holderIdentity, 'b');
});

test('PATCH of a missing object is 404', async () => {
  const r = await mp('ghost', { spec: {} });
  assert.equal(r.status, 404);
  assert.equal(r.body.message, 'leases.coordination.k8s.io "ghost" not found');
});

test('JSON Patch add, replace, remove, move, copy with ~1 escaping', async () => {
  await mk('j1', {}, { annotations: { 'agents.twa.dev/p1': 'a', 'a.example/gone': 't' } });
  const r = await jp('j1', [
    { op: 'add', path: '/metadata/annotations/agents.twa.dev~1p2', value: 'b' },
    { op: 'replace', path: '/metadata/annotations/agents.twa.dev~1p1', value: 'A' },
    { op: 'remove', path: '/metadata/annotations/a.example~1gone' },
    { op: 'copy', from: '/metadata/annotations/agents.twa.dev~1p2', path: '/metadata/annotations/agents.twa.dev~1p3' },
    { op: 'move', from: '/metadata/annotations/agents.twa.dev~1p2', path: '/metadata/annotations/agents.twa.dev~1p4' },
    { op: 'replace', path: '/spec/leaseTransitions', value: 3 },
  ]);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.metadata.annotations, { 'agents.twa.dev/p1': 'A', 'agents.twa.dev/p3': 'b', 'agents.twa.dev/p4': 'b' });
  assert.equal(r.body.spec.leaseTransitions, 3);
});

test('JSON Patch whose test fails is 422 Invalid with the generic message and changes nothing', async () => {
  const c = await mk('j2', { holderIdentity: 'pod-a' });
  const r = await jp('j2', [
    { op: 'test', path: '/spec/holderIdentity', value: 'pod-b' },
    { op: 'replace', path: '/spec/holderIdentity', value: 'pod-c' },
  ]);
  assert.equal(r.status, 422);
  assert.deepEqual(r.body, {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: 'the server rejected our request due to an error in our request', reason: 'Invalid', details: {}, code: 422,
  });
  const after = (await sim.api('GET', `${LEASES}/j2`, T)).body;
  assert.equal(after.metadata.resourceVersion, c.metadata.resourceVersion);
});

test('JSON Patch test passing on the spec and replacing renewTime is 200 (notes §8)', async () => {
  const c = await mk('j3');
  const t = micro(Date.now() + 1000);
  const r = await jp('j3', [
    { op: 'test', path: '/spec/holderIdentity', value: 'pod-a' },
    { op: 'test', path: '/spec/renewTime', value: c.spec.renewTime },
    { op: 'replace', path: '/spec/renewTime', value: t },
  ]);
  assert.equal(r.status, 200);
  assert.equal(r.body.spec.renewTime, t);
});

test('JSON Patch failures other than test: remove of a missing key, replace of a missing key, bad op', async () => {
  await mk('j4');
  for (const ops of [
    [{ op: 'remove', path: '/metadata/annotations/nope' }],
    [{ op: 'replace', path: '/spec/strategy', value: 'x' }],
    [{ op: 'frobnicate', path: '/spec' }],
    [{ op: 'test', path: '/no/such/parent', value: 1 }],
  ]) {
    const r = await jp('j4', ops);
    assert.equal(r.status, 422, JSON.stringify(ops));
    assert.equal(r.body.reason, 'Invalid');
  }
});

test('JSON Patch test of null against a missing field passes (evanphx/json-patch semantics)', async () => {
  await mk('j5');
  const r = await jp('j5', [{ op: 'test', path: '/spec/preferredHolder', value: null }, { op: 'replace', path: '/spec/leaseTransitions', value: 1 }]);
  assert.equal(r.status, 200);
});

test('JSON Patch test on metadata.resourceVersion is a 422 precondition; replace of it a 409 one', async () => {
  const c = await mk('j6');
  await mp('j6', { metadata: { annotations: { 'a.example/x': '1' } } });
  const t = await jp('j6', [{ op: 'test', path: '/metadata/resourceVersion', value: c.metadata.resourceVersion }]);
  assert.equal(t.status, 422);
  const r = await jp('j6', [{ op: 'replace', path: '/metadata/resourceVersion', value: c.metadata.resourceVersion }]);
  assert.equal(r.status, 409);
});

test('a malformed JSON Patch document is 400', async () => {
  await mk('j7');
  const r = await sim.api('PATCH', `${LEASES}/j7`, { ...T, body: '{"op":"add"}', contentType: JSONP });
  assert.equal(r.status, 400);
  const s = await sim.api('PATCH', `${LEASES}/j7`, { ...T, body: 'not json', contentType: JSONP });
  assert.equal(s.status, 400);
  assert.match(s.body.message, /^error decoding patch: /);
});

test('an unsupported patch content type is 415 naming the accepted types', async () => {
  await mk('j8');
  const r = await sim.api('PATCH', `${LEASES}/j8`, { ...T, body: {}, contentType: 'application/apply-patch+yaml' });
  assert.equal(r.status, 415);
  assert.equal(r.body.reason, 'UnsupportedMediaType');
  assert.match(r.body.message, /^the body of the request was in an unknown format - accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/strategic-merge-patch\+json$/);
  const charset = await sim.api('PATCH', `${LEASES}/j8`, { ...T, body: { spec: { leaseTransitions: 2 } }, contentType: 'application/merge-patch+json; charset=utf-8' });
  assert.equal(charset.status, 200);
});

test('strategic merge patch on a Lease behaves like merge patch for maps', async () => {
  await mk('s1', {}, { annotations: { 'a.example/x': '1' } });
  const r = await sim.api('PATCH', `${LEASES}/s1`, {
    ...T, contentType: 'application/strategic-merge-patch+json',
    body: { metadata: { annotations: { 'a.example/x': null, 'a.example/y': '2' } }, spec: { leaseTransitions: 4 } },
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.metadata.annotations, { 'a.example/y': '2' });
  assert.equal(r.body.spec.leaseTransitions, 4);
});

test('strategic merge patch merges containers by name and env by name; merge patch replaces lists', async () => {
  const d = deployment('smp');
  d.spec.template.spec.containers.push({ name: 'side', image: 'side:1' });
  assert.equal((await sim.api('POST', DEPLOYMENTS, { ...T, body: d })).status, 201);
  const r = await sim.api('PATCH', `${DEPLOYMENTS}/smp`, {
    ...T, contentType: 'application/strategic-merge-patch+json',
    body: { spec: { template: { spec: { containers: [{ name: 'worker', env: [{ name: 'B', value: '2' }] }, { name: 'side', $patch: 'delete' }] } } } },
  });
  assert.equal(r.status, 200, r.text);
  const cs = r.body.spec.template.spec.containers;
  assert.deepEqual(cs.map((c) => c.name), ['worker']);
  assert.deepEqual(cs[0].env, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
  assert.equal(cs[0].image, 'example/smp:1.0');
  const m = await sim.api('PATCH', `${DEPLOYMENTS}/smp`, {
    ...T, body: { spec: { template: { spec: { containers: [{ name: 'only', image: 'only:2' }] } } } },
  });
  assert.deepEqual(m.body.spec.template.spec.containers.map((c) => c.name), ['only']);
});

test('a patch that changes the name is 400; one that changes the uid is 422 immutable', async () => {
  await mk('n1');
  const a = await mp('n1', { metadata: { name: 'n2' } });
  assert.equal(a.status, 400);
  assert.equal(a.body.message, 'the name of the object (n2) does not match the name on the URL (n1)');
  const b = await mp('n1', { metadata: { uid: 'x' } });
  assert.equal(b.status, 422);
  assert.equal(b.body.message, 'Lease.coordination.k8s.io "n1" is invalid: metadata.uid: Invalid value: "x": field is immutable');
});

test('a patch that changes nothing keeps the resourceVersion', async () => {
  const c = await mk('noop', {}, { annotations: { 'a.example/x': '1' } });
  const r = await mp('noop', { metadata: { annotations: { 'a.example/x': '1' } } });
  assert.equal(r.status, 200);
  assert.equal(r.body.metadata.resourceVersion, c.metadata.resourceVersion);
});

// DESIGN §5: renewal is a JSON Patch with test ops on spec fields, so an
// agent's annotation write between the leader's read and its renew must
// not break the renew, while a real takeover must.
test('conditional renew succeeds across a concurrent annotation write, fails across a takeover', async () => {
  const c = await mk('twa-orders', { holderIdentity: 'leader-0', leaseTransitions: 2 });
  const seen = c.spec;
  // Another agent writes its health entry (merge patch, no precondition).
  const health = await mp('twa-orders', { metadata: { annotations: { 'agents.twa.dev/pod-7': '{"state":"ready"}' } } });
  assert.equal(health.status, 200);
  assert.notEqual(health.body.metadata.resourceVersion, c.metadata.resourceVersion);
  // A PUT carrying the resourceVersion the leader saw would now fail ...
  const put = await sim.api('PUT', `${LEASES}/twa-orders`, { ...T, body: { ...c, spec: { ...seen, renewTime: micro() } } });
  assert.equal(put.status, 409);
  // ... the spec-only conditional renew does not.
  const renew = micro(Date.now() + 2000);
  const ops = [
    { op: 'test', path: '/spec/holderIdentity', value: seen.holderIdentity },
    { op: 'test', path: '/spec/renewTime', value: seen.renewTime },
    { op: 'test', path: '/spec/leaseTransitions', value: seen.leaseTransitions },
    { op: 'replace', path: '/spec/renewTime', value: renew },
  ];
  const r = await jp('twa-orders', ops);
  assert.equal(r.status, 200);
  assert.equal(r.body.spec.renewTime, renew);
  assert.equal(r.body.metadata.annotations['agents.twa.dev/pod-7'], '{"state":"ready"}');
  // Now a candidate takes over; the old leader's stale renew must fail.
  const take = await jp('twa-orders', [
    { op: 'test', path: '/spec/renewTime', value: renew },
    { op: 'replace', path: '/spec/holderIdentity', value: 'leader-1' },
    { op: 'replace', path: '/spec/leaseTransitions', value: 3 },
  ]);
  assert.equal(take.status, 200);
  const stale = await jp('twa-orders', [
    { op: 'test', path: '/spec/holderIdentity', value: 'leader-0' },
    { op: 'test', path: '/spec/renewTime', value: renew },
    { op: 'replace', path: '/spec/renewTime', value: micro(Date.now() + 4000) },
  ]);
  assert.equal(stale.status, 422);
  assert.equal(stale.body.reason, 'Invalid');
});

test('many concurrent annotation merge patches of different keys all succeed', async () => {
  await mk('busy');
  const rs = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    mp('busy', { metadata: { annotations: { [`agents.twa.dev/pod-${i}`]: String(i) } } })));
  assert.ok(rs.every((r) => r.status === 200));
  const g = (await sim.api('GET', `${LEASES}/busy`, T)).body;
  assert.equal(Object.keys(g.metadata.annotations).length, 40);
});
