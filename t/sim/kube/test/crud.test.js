'use strict';
// Lease CRUD, discovery and the Status bodies of 404/409/422 (notes §1.4,
// §1.9, §2.4, §8).

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSim, LEASES, lease, micro } = require('./helpers');

const T = { token: 'admin-token' };
let sim;

test.before(async () => { sim = await startSim(); });
test.after(async () => { await sim.stop(); });

test('GET /version reports the configured version; discovery lists the served resources', async () => {
  const v = await sim.api('GET', '/version');
  assert.equal(v.status, 200);
  assert.equal(v.body.major, '1');
  assert.equal(v.body.minor, '30');
  assert.equal(v.body.gitVersion, 'v1.30.0');
  assert.match(v.body.goVersion, /^go1\./);
  const apis = await sim.api('GET', '/apis', T);
  assert.deepEqual(apis.body.groups.map((g) => g.name), ['apps', 'coordination.k8s.io', 'events.k8s.io']);
  const coord = await sim.api('GET', '/apis/coordination.k8s.io/v1', T);
  assert.equal(coord.body.kind, 'APIResourceList');
  assert.deepEqual(coord.body.resources[0].verbs, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
  const apps = await sim.api('GET', '/apis/apps/v1', T);
  const scale = apps.body.resources.find((r) => r.name === 'deployments/scale');
  assert.equal(scale.kind, 'Scale');
  assert.equal(scale.group, 'autoscaling');
  const core = await sim.api('GET', '/api', T);
  assert.deepEqual(core.body.versions, ['v1']);
  assert.equal((await sim.api('GET', '/healthz')).text, 'ok');
});

test('create answers 201 with uid, creationTimestamp and a resourceVersion', async () => {
  const r = await sim.api('POST', LEASES, { ...T, body: lease('create-me') });
  assert.equal(r.status, 201);
  assert.equal(r.body.kind, 'Lease');
  assert.equal(r.body.apiVersion, 'coordination.k8s.io/v1');
  assert.match(r.body.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.match(r.body.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(r.body.metadata.resourceVersion, /^\d+$/);
  assert.equal(r.body.metadata.namespace, 'ns1');
  assert.equal(r.body.metadata.generation, undefined, 'Leases carry no generation');
  assert.deepEqual(Object.keys(r.body.metadata), ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp']);
  assert.ok(r.headers['audit-id']);
  const g = await sim.api('GET', `${LEASES}/create-me`, T);
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, r.body);
});

test('every write advances one global resourceVersion', async () => {
  const a = await sim.api('POST', LEASES, { ...T, body: lease('rv-a') });
  const b = await sim.api('POST', LEASES, { ...T, body: lease('rv-b') });
  assert.ok(Number(b.body.metadata.resourceVersion) > Number(a.body.metadata.resourceVersion));
  const list = await sim.api('GET', LEASES, T);
  assert.ok(Number(list.body.metadata.resourceVersion) >= Number(b.body.metadata.resourceVersion));
});

test('create of an existing name is 409 AlreadyExists', async () => {
  await sim.api('POST', LEASES, { ...T, body: lease('dup') });
  const r = await sim.api('POST', LEASES, { ...T, body: lease('dup') });
  assert.equal(r.status, 409);
  assert.deepEqual(r.body, {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: 'leases.coordination.k8s.io "dup" already exists', reason: 'AlreadyExists',
    details: { name: 'dup', group: 'coordination.k8s.io', kind: 'leases' }, code: 409,
  });
});

test('GET of a missing object is 404 NotFound', async () => {
  const r = await sim.api('GET', `${LEASES}/nope`, T);
  assert.equal(r.status, 404);
  assert.deepEqual(r.body, {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: 'leases.coordination.k8s.io "nope" not found', reason: 'NotFound',
    details: { name: 'nope', group: 'coordination.k8s.io', kind: 'leases' }, code: 404,
  });
});

test('unknown resources and paths are 404, unsupported methods 405', async () => {
  const a = await sim.api('GET', '/apis/coordination.k8s.io/v1/namespaces/ns1/widgets', T);
  assert.equal(a.status, 404);
  assert.equal(a.body.message, 'the server could not find the requested resource');
  assert.deepEqual(a.body.details, {});
  const b = await sim.api('GET', '/nonsense', T);
  assert.equal(b.status, 404);
  assert.equal(b.text, '404 page not found\n');
  const c = await sim.api('POST', `${LEASES}/x`, { ...T, body: {} });
  assert.equal(c.status, 405);
  assert.equal(c.body.reason, 'MethodNotAllowed');
  assert.equal(c.body.message, 'the server does not allow this method on the requested resource');
});

test('creating in a namespace that does not exist is 404 for the namespace', async () => {
  const r = await sim.api('POST', '/apis/coordination.k8s.io/v1/namespaces/ghost/leases', { ...T, body: lease('x') });
  assert.equal(r.status, 404);
  assert.equal(r.body.message, 'namespaces "ghost" not found');
  assert.deepEqual(r.body.details, { name: 'ghost', kind: 'namespaces' });
});

test('PUT with a stale resourceVersion is 409 Conflict with the real message', async () => {
  const c = await sim.api('POST', LEASES, { ...T, body: lease('stale') });
  const first = { ...c.body, spec: { ...c.body.spec, renewTime: micro() } };
  const ok = await sim.api('PUT', `${LEASES}/stale`, { ...T, body: first });
  assert.equal(ok.status, 200);
  assert.notEqual(ok.body.metadata.resourceVersion, c.body.metadata.resourceVersion);
  const again = await sim.api('PUT', `${LEASES}/stale`, { ...T, body: first });
  assert.equal(again.status, 409);
  assert.deepEqual(again.body, {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: 'Operation cannot be fulfilled on leases.coordination.k8s.io "stale": the object has been modified; please apply your changes to the latest version and try again',
    reason: 'Conflict', details: { name: 'stale', group: 'coordination.k8s.io', kind: 'leases' }, code: 409,
  });
});

test('PUT of a Lease without resourceVersion is 422 (no unconditional update)', async () => {
  const c = await sim.api('POST', LEASES, { ...T, body: lease('norv') });
  const body = { ...c.body, metadata: { ...c.body.metadata } };
  delete body.metadata.resourceVersion;
  const r = await sim.api('PUT', `${LEASES}/norv`, { ...T, body });
  assert.equal(r.status, 422);
  assert.equal(r.body.message, 'leases.coordination.k8s.io "norv" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update');
  assert.deepEqual(r.body.details.causes, [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update', field: 'metadata.resourceVersion' }]);
});

test('PUT to a missing Lease creates it (AllowCreateOnUpdate) with 201', async () => {
  const r = await sim.api('PUT', `${LEASES}/via-put`, { ...T, body: lease('via-put') });
  assert.equal(r.status, 201);
  assert.equal(r.body.metadata.name, 'via-put');
});

test('PUT whose body names another object is 400', async () => {
  const r = await sim.api('PUT', `${LEASES}/one`, { ...T, body: lease('two') });
  assert.equal(r.status, 400);
  assert.equal(r.body.message, 'the name of the object (two) does not match the name on the URL (one)');
});

test('PUT carrying a different uid is a storage precondition conflict', async () => {
  const c = await sim.api('POST', LEASES, { ...T, body: lease('uidcheck') });
  const body = { ...c.body, metadata: { ...c.body.metadata, uid: 'other-uid' } };
  const r = await sim.api('PUT', `${LEASES}/uidcheck`, { ...T, body });
  assert.equal(r.status, 409);
  assert.match(r.body.message, /^Operation cannot be fulfilled on leases\.coordination\.k8s\.io "uidcheck": StorageError: invalid object, Code: 4, Key: \/registry\/leases\/ns1\/uidcheck, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: other-uid, UID in object meta: /);
});

test('an unchanged PUT is a no-op: same resourceVersion', async () => {
  const c = await sim.api('POST', LEASES, { ...T, body: lease('noop') });
  const r = await sim.api('PUT', `${LEASES}/noop`, { ...T, body: c.body });
  assert.equal(r.status, 200);
  assert.equal(r.body.metadata.resourceVersion, c.body.metadata.resourceVersion);
});

test('create with resourceVersion set is the storage error 500', async () => {
  const body = lease('withrv');
  body.metadata.resourceVersion = '5';
  const r = await sim.api('POST', LEASES, { ...T, body });
  assert.equal(r.status, 500);
  assert.equal(r.body.message, 'resourceVersion should not be set on objects to be created');
  assert.equal(r.body.reason, undefined);
});

test('generateName makes a name with five random characters', async () => {
  const r = await sim.api('POST', LEASES, { ...T, body: { metadata: { generateName: 'gen-' }, spec: {} } });
  assert.equal(r.status, 201);
  assert.match(r.body.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assert.deepEqual(r.body.spec, {});
});

test('DELETE answers a Success Status; the object is gone', async () => {
  const c = await sim.api('POST', LEASES, { ...T, body: lease('bye') });
  const r = await sim.api('DELETE', `${LEASES}/bye`, T);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success',
    details: { name: 'bye', group: 'coordination.k8s.io', kind: 'leases', uid: c.body.metadata.uid },
  });
  assert.equal((await sim.api('GET', `${LEASES}/bye`, T)).status, 404);
  assert.equal((await sim.api('DELETE', `${LEASES}/bye`, T)).status, 404);
});

test('DELETE with a uid or resourceVersion precondition that does not match is 409', async () => {
  const c = await sim.api('POST', LEASES, { ...T, body: lease('pre') });
  const u = await sim.api('DELETE', `${LEASES}/pre`, { ...T, body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-it' } } });
  assert.equal(u.status, 409);
  assert.equal(u.body.message, `Operation cannot be fulfilled on Lease.coordination.k8s.io "pre": the UID in the precondition (not-it) does not match the UID in record (${c.body.metadata.uid}). The object might have been deleted and then recreated`);
  assert.deepEqual(u.body.details, { name: 'pre', group: 'coordination.k8s.io', kind: 'Lease' });
  const v = await sim.api('DELETE', `${LEASES}/pre`, { ...T, body: { preconditions: { resourceVersion: '1' } } });
  assert.equal(v.status, 409);
  assert.match(v.body.message, /the ResourceVersion in the precondition \(1\) does not match the ResourceVersion in record/);
  const ok = await sim.api('DELETE', `${LEASES}/pre`, { ...T, body: { preconditions: { uid: c.body.metadata.uid } } });
  assert.equal(ok.status, 200);
});

test('DELETE with an unknown propagationPolicy is 422 with the real message', async () => {
  await sim.api('POST', LEASES, { ...T, body: lease('pp') });
  const r = await sim.api('DELETE', `${LEASES}/pp`, { ...T, body: { propagationPolicy: 'Sideways' } });
  assert.equal(r.status, 422);
  assert.equal(r.body.message, ' "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"');
});

test('dryRun=All validates without storing', async () => {
  const r = await sim.api('POST', `${LEASES}?dryRun=All`, { ...T, body: lease('dry') });
  assert.equal(r.status, 201);
  assert.equal((await sim.api('GET', `${LEASES}/dry`, T)).status, 404);
});

test('request bodies over 3 MiB are 413', async () => {
  const body = lease('huge');
  body.metadata.annotations = { 'x/y': 'a'.repeat(3 * 1024 * 1024) };
  const r = await sim.api('POST', LEASES, { ...T, body });
  assert.equal(r.status, 413);
  assert.equal(r.body.message, 'Request entity too large: limit is 3145728');
});

test('create and update bodies must be JSON: other content types are 415', async () => {
  const r = await sim.api('POST', LEASES, { ...T, body: 'metadata: {name: y}', contentType: 'application/x-www-form-urlencoded' });
  assert.equal(r.status, 415);
  assert.equal(r.body.message, 'the body of the request was in an unknown format - accepted media types include: application/json');
  const ok = await sim.api('POST', LEASES, { ...T, body: lease('ct'), contentType: 'application/json; charset=utf-8' });
  assert.equal(ok.status, 201);
});

test('responses are JSON only: a protobuf-only Accept is 406', async () => {
  const r = await sim.api('GET', LEASES, { ...T, headers: { Accept: 'application/vnd.kubernetes.protobuf' } });
  assert.equal(r.status, 406);
});
