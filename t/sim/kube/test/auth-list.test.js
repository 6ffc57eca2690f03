'use strict';
// Authentication and authorisation (notes §8, §3.2, §4.4) and LIST
// pagination with a consistent snapshot (§3.4).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { startSim, LEASES, lease } = require('./helpers');

const T = { token: 'admin-token' };
let sim;
let tokenFile;

test.before(async () => {
  tokenFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kube-sim-tok-')), 'tokens.csv');
  fs.writeFileSync(tokenFile, '# static tokens\nfile-token,system:serviceaccount:ns1:twa,uid-1,"system:serviceaccounts,system:authenticated"\n');
  sim = await startSim({ tokens: ['admin-token,admin', 'plain-token'], tokenFile });
});
test.after(async () => {
  await sim.stop();
  fs.rmSync(path.dirname(tokenFile), { recursive: true, force: true });
});

test('no credentials: anonymous, 403 on the API, /version still readable (notes §8)', async () => {
  const r = await sim.api('GET', `${LEASES}/x`);
  assert.equal(r.status, 403);
  assert.deepEqual(r.body, {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: 'leases.coordination.k8s.io "x" is forbidden: User "system:anonymous" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "ns1"',
    reason: 'Forbidden', details: { name: 'x', group: 'coordination.k8s.io', kind: 'leases' }, code: 403,
  });
  const api = await sim.api('GET', '/api');
  assert.equal(api.status, 403);
  assert.equal(api.body.message, 'forbidden: User "system:anonymous" cannot get path "/api"');
  assert.deepEqual(api.body.details, {});
  assert.equal((await sim.api('GET', '/version')).status, 200);
  const empty = await sim.api('GET', LEASES, { headers: { Authorization: 'Bearer ' } });
  assert.equal(empty.status, 403, 'an empty bearer token is no credential');
});

test('unknown token: 401 Unauthorized even with anonymous access on', async () => {
  const r = await sim.api('GET', LEASES, { token: 'wrong' });
  assert.equal(r.status, 401);
  assert.deepEqual(r.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  const scheme = await sim.api('GET', LEASES, { headers: { Authorization: 'bearer admin-token' } });
  assert.equal(scheme.status, 200, 'the scheme is case-insensitive');
});

test('with anonymous auth off, a request without credentials is 401', async () => {
  await sim.admin('PATCH', '/settings', { anonymousAuth: false });
  try {
    assert.equal((await sim.api('GET', LEASES)).status, 401);
  } finally {
    await sim.admin('PATCH', '/settings', { anonymousAuth: true });
  }
});

test('tokens from --token (default user) and --token-file (CSV with groups) authenticate', async () => {
  await sim.admin('PUT', '/tokens/plain-token/rules', { rules: [] });
  const p = await sim.api('GET', LEASES, { token: 'plain-token' });
  assert.equal(p.status, 403);
  assert.match(p.body.message, /User "system:serviceaccount:default:default" cannot list resource "leases"/);
  await sim.admin('PUT', '/tokens/plain-token/rules', { rules: null });
  assert.equal((await sim.api('GET', LEASES, { token: 'plain-token' })).status, 200);
  const f = await sim.api('GET', LEASES, { token: 'file-token' });
  assert.equal(f.status, 200);
  const tokens = (await sim.admin('GET', '/tokens')).body.tokens;
  assert.deepEqual(tokens.find((t) => t.token === 'file-token').groups, ['system:serviceaccounts', 'system:authenticated']);
});

test('expired and revoked tokens are 401; added tokens work; expiry by time', async () => {
  await sim.admin('POST', '/tokens', { token: 'temp', user: 'temp-user' });
  assert.equal((await sim.api('GET', LEASES, { token: 'temp' })).status, 200);
  await sim.admin('POST', '/tokens/temp/expire');
  assert.equal((await sim.api('GET', LEASES, { token: 'temp' })).status, 401);
  await sim.admin('POST', '/tokens', { token: 'temp2' });
  await sim.admin('DELETE', '/tokens/temp2');
  assert.equal((await sim.api('GET', LEASES, { token: 'temp2' })).status, 401);
  await sim.admin('POST', '/tokens', { token: 'short', expiresInMs: 0 });
  assert.equal((await sim.api('GET', LEASES, { token: 'short' })).status, 401);
  assert.equal((await sim.admin('POST', '/tokens/none/expire')).status, 404);
});

test('restricted tokens: 403 with the real message for verbs and resources outside the rules', async () => {
  await sim.admin('POST', '/tokens', {
    token: 'agent', user: 'system:serviceaccount:ns1:twa-agent',
    rules: [
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'patch'], resourceNames: ['twa-orders'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['patch'] },
    ],
  });
  const A = { token: 'agent' };
  assert.equal((await sim.api('POST', LEASES, { ...A, body: lease('twa-orders') })).status, 201);
  assert.equal((await sim.api('GET', `${LEASES}/twa-orders`, A)).status, 200);
  assert.equal((await sim.api('PATCH', `${LEASES}/twa-orders`, { ...A, body: { spec: { leaseTransitions: 1 } } })).status, 200);
  assert.equal((await sim.api('GET', LEASES, A)).status, 200);
  const put = await sim.api('PUT', `${LEASES}/twa-orders`, { ...A, body: lease('twa-orders') });
  assert.equal(put.status, 403);
  assert.equal(put.body.message, 'leases.coordination.k8s.io "twa-orders" is forbidden: User "system:serviceaccount:ns1:twa-agent" cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "ns1"');
  const other = await sim.api('GET', `${LEASES}/other`, A);
  assert.equal(other.status, 403, 'resourceNames pin get to the named lease');
  const del = await sim.api('DELETE', '/apis/apps/v1/namespaces/ns1/deployments/x', A);
  assert.equal(del.status, 403);
  assert.equal(del.body.message, 'deployments.apps "x" is forbidden: User "system:serviceaccount:ns1:twa-agent" cannot delete resource "deployments" in API group "apps" in the namespace "ns1"');
  const scale = await sim.api('GET', '/apis/apps/v1/namespaces/ns1/deployments/x/scale', A);
  assert.equal(scale.status, 403);
  assert.match(scale.body.message, /cannot get resource "deployments\/scale" in API group "apps" in the namespace "ns1"$/);
  const pods = await sim.api('GET', '/api/v1/pods', A);
  assert.equal(pods.status, 403);
  assert.equal(pods.body.message, 'pods is forbidden: User "system:serviceaccount:ns1:twa-agent" cannot list resource "pods" in API group "" at the cluster scope');
  assert.equal((await sim.api('GET', '/apis', A)).status, 200, 'discovery is open to authenticated users');
});

test('LIST pagination: limit, continue, remainingItemCount and a consistent snapshot', async () => {
  const ns = '/apis/coordination.k8s.io/v1/namespaces/pages/leases';
  await sim.admin('POST', '/namespaces', { name: 'pages' });
  for (let i = 0; i < 7; i++) {
    const r = await sim.api('POST', ns, { ...T, body: lease(`p${i}`) });
    assert.equal(r.status, 201);
  }
  const p1 = await sim.api('GET', `${ns}?limit=3`, T);
  assert.deepEqual(p1.body.items.map((i) => i.metadata.name), ['p0', 'p1', 'p2']);
  assert.equal(p1.body.metadata.remainingItemCount, 4);
  assert.ok(p1.body.metadata.continue);
  const rv = p1.body.metadata.resourceVersion;
  // Changes after the first page must not show in later pages.
  await sim.api('DELETE', `${ns}/p4`, T);
  await sim.api('POST', ns, { ...T, body: lease('p9') });
  await sim.api('PATCH', `${ns}/p5`, { ...T, body: { spec: { holderIdentity: 'changed' } } });
  const p2 = await sim.api('GET', `${ns}?limit=3&continue=${encodeURIComponent(p1.body.metadata.continue)}`, T);
  assert.equal(p2.status, 200);
  assert.deepEqual(p2.body.items.map((i) => i.metadata.name), ['p3', 'p4', 'p5']);
  assert.equal(p2.body.items[2].spec.holderIdentity, 'pod-a');
  assert.equal(p2.body.metadata.resourceVersion, rv);
  assert.equal(p2.body.metadata.remainingItemCount, 1);
  const p3 = await sim.api('GET', `${ns}?limit=3&continue=${encodeURIComponent(p2.body.metadata.continue)}`, T);
  assert.deepEqual(p3.body.items.map((i) => i.metadata.name), ['p6']);
  assert.equal(p3.body.metadata.continue, undefined);
  const fresh = await sim.api('GET', ns, T);
  assert.deepEqual(fresh.body.items.map((i) => i.metadata.name), ['p0', 'p1', 'p2', 'p3', 'p5', 'p6', 'p9']);
  const sel = await sim.api('GET', `${ns}?limit=2&fieldSelector=metadata.name!%3Dp0`, T);
  assert.equal(sel.body.metadata.remainingItemCount, undefined, 'no count with selectors');
  const exact = await sim.api('GET', `${ns}?resourceVersion=${rv}&resourceVersionMatch=Exact`, T);
  assert.ok(exact.body.items.some((i) => i.metadata.name === 'p4'));
  const bad = await sim.api('GET', `${ns}?continue=garbage`, T);
  assert.equal(bad.status, 400);
  const both = await sim.api('GET', `${ns}?continue=${encodeURIComponent(p1.body.metadata.continue)}&resourceVersion=1`, T);
  assert.equal(both.status, 400);
});

test('LIST continue after the history is compacted is 410 Expired with a fresh token', async () => {
  const ns = '/apis/coordination.k8s.io/v1/namespaces/pages2/leases';
  await sim.admin('POST', '/namespaces', { name: 'pages2' });
  for (let i = 0; i < 3; i++) await sim.api('POST', ns, { ...T, body: lease(`q${i}`) });
  const p1 = await sim.api('GET', `${ns}?limit=1`, T);
  await sim.api('POST', ns, { ...T, body: lease('q9') });
  await sim.admin('POST', '/compact');
  const r = await sim.api('GET', `${ns}?limit=1&continue=${encodeURIComponent(p1.body.metadata.continue)}`, T);
  assert.equal(r.status, 410);
  assert.equal(r.body.reason, 'Expired');
  assert.match(r.body.message, /^The provided continue parameter is too old to display a consistent list result\./);
  assert.ok(r.body.metadata.continue);
  const rest = await sim.api('GET', `${ns}?continue=${encodeURIComponent(r.body.metadata.continue)}`, T);
  assert.deepEqual(rest.body.items.map((i) => i.metadata.name), ['q1', 'q2', 'q9']);
});

test('LIST across namespaces and with a resourceVersion newer than the server', async () => {
  const all = await sim.api('GET', '/apis/coordination.k8s.io/v1/leases', T);
  assert.equal(all.status, 200);
  assert.ok(new Set(all.body.items.map((i) => i.metadata.namespace)).size >= 2);
  const future = await sim.api('GET', `${LEASES}?resourceVersion=999999999`, T);
  assert.equal(future.status, 504);
  assert.equal(future.body.reason, 'Timeout');
  assert.match(future.body.message, /^Timeout: Too large resource version: 999999999, current: \d+$/);
});
