'use strict';
// Fault injection (status codes, 429 with Retry-After, delays, dropped
// connections) and the write and request logs of the admin API.

const test = require('node:test');
const assert = require('node:assert/strict');
const https = require('https');
const { startSim, LEASES, lease, micro } = require('./helpers');

const T = { token: 'admin-token' };
let sim;

test.before(async () => {
  sim = await startSim({ tokens: ['admin-token,admin', 'agent-1,system:serviceaccount:ns1:agent-1', 'agent-2,system:serviceaccount:ns1:agent-2'] });
});
test.after(async () => { await sim.stop(); });
test.beforeEach(async () => { await sim.admin('DELETE', '/faults'); });

const fault = async (spec) => {
  const r = await sim.admin('POST', '/faults', spec);
  assert.equal(r.status, 201, r.text);
  return r.body;
};

test('status fault: the next N matching requests get the code with a Status body', async () => {
  await sim.api('POST', LEASES, { ...T, body: lease('f1') });
  await fault({ method: 'GET', path: '/leases/f1$', action: 'status', code: 503, count: 2 });
  const a = await sim.api('GET', `${LEASES}/f1`, T);
  assert.equal(a.status, 503);
  assert.deepEqual(a.body, {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: 'the server is currently unable to handle the request', reason: 'ServiceUnavailable', code: 503,
  });
  assert.equal((await sim.api('GET', `${LEASES}/f1`, T)).status, 503);
  assert.equal((await sim.api('GET', `${LEASES}/f1`, T)).status, 200);
  assert.deepEqual((await sim.admin('GET', '/faults')).body.faults, [], 'used up');
});

test('status fault with message, reason and Retry-After; method and skip filters', async () => {
  await fault({ method: 'PATCH', path: '/leases/', action: 'status', code: 500, message: 'etcdserver: request timed out', reason: 'InternalError', retryAfter: 2, skip: 1 });
  await sim.api('POST', LEASES, { ...T, body: lease('f2') });
  assert.equal((await sim.api('GET', `${LEASES}/f2`, T)).status, 200, 'GET does not match');
  assert.equal((await sim.api('PATCH', `${LEASES}/f2`, { ...T, body: {} })).status, 200, 'first PATCH skipped');
  const r = await sim.api('PATCH', `${LEASES}/f2`, { ...T, body: {} });
  assert.equal(r.status, 500);
  assert.equal(r.headers['retry-after'], '2');
  assert.equal(r.body.message, 'etcdserver: request timed out');
  assert.deepEqual(r.body.details, { retryAfterSeconds: 2 });
});

test('throttle: 429 plain text like the priority-and-fairness filter, or a Status', async () => {
  await fault({ path: '/leases$', action: 'throttle', retryAfter: 3 });
  const a = await sim.api('GET', LEASES, T);
  assert.equal(a.status, 429);
  assert.equal(a.headers['retry-after'], '3');
  assert.equal(a.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(a.text, 'Too many requests, please try again later.\n');
  await fault({ path: '/leases$', action: 'throttle', form: 'status' });
  const b = await sim.api('GET', LEASES, T);
  assert.equal(b.status, 429);
  assert.equal(b.headers['retry-after'], '1');
  assert.equal(b.body.reason, 'TooManyRequests');
  assert.deepEqual(b.body.details, { retryAfterSeconds: 1 });
});

test('delay fault holds the request, then serves it', async () => {
  await fault({ path: '/leases$', action: 'delay', delayMs: 300 });
  const t0 = Date.now();
  const r = await sim.api('GET', LEASES, T);
  assert.equal(r.status, 200);
  assert.ok(Date.now() - t0 >= 290, `took ${Date.now() - t0} ms`);
});

test('drop fault closes the connection without an answer', async () => {
  await fault({ path: '/leases$', action: 'drop' });
  await assert.rejects(sim.api('GET', LEASES, { ...T, agent: new https.Agent({ ca: sim.caPem }) }), /socket hang up|ECONNRESET/);
  assert.equal((await sim.api('GET', LEASES, T)).status, 200);
});

test('a raw body fault imitates a proxy answering HTML', async () => {
  await fault({ path: '/leases$', action: 'status', code: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' });
  const r = await sim.api('GET', LEASES, T);
  assert.equal(r.status, 502);
  assert.equal(r.headers['content-type'], 'text/html');
  assert.equal(r.text, '<html>Bad Gateway</html>');
});

test('faults can be listed and removed; bad specs are 400', async () => {
  const f = await fault({ path: 'x', action: 'status', code: 500, count: -1 });
  assert.equal((await sim.admin('GET', '/faults')).body.faults.length, 1);
  assert.equal((await sim.admin('DELETE', `/faults/${f.id}`)).status, 200);
  assert.equal((await sim.admin('GET', '/faults')).body.faults.length, 0);
  assert.equal((await sim.admin('POST', '/faults', { action: 'explode' })).status, 400);
  assert.equal((await sim.admin('POST', '/faults', { action: 'status', code: 999 })).status, 400);
  assert.equal((await sim.admin('POST', '/faults', { action: 'status', path: '(' })).status, 500 - 100);
});

test('the write log records every mutating request with code, resourceVersion and the Lease spec', async () => {
  const since = (await sim.admin('GET', '/writes')).body.last;
  const c = await sim.api('POST', LEASES, { token: 'agent-1', body: lease('wl', { holderIdentity: 'agent-1' }) });
  await sim.api('POST', LEASES, { token: 'agent-2', body: lease('wl') });
  const p = await sim.api('PATCH', `${LEASES}/wl`, { token: 'agent-2', body: [{ op: 'test', path: '/spec/holderIdentity', value: 'nobody' }], contentType: 'application/json-patch+json' });
  assert.equal(p.status, 422);
  await sim.api('PATCH', `${LEASES}/wl`, { token: 'bogus', body: {} });
  await fault({ method: 'PATCH', path: '/leases/wl$', action: 'status', code: 503 });
  await sim.api('PATCH', `${LEASES}/wl`, { token: 'agent-1', body: {} });
  await sim.api('GET', `${LEASES}/wl`, T);
  await sim.api('DELETE', `${LEASES}/wl`, { token: 'agent-1' });
  const w = (await sim.admin('GET', `/writes?since=${since}&resource=leases&name=wl`)).body.writes;
  assert.deepEqual(w.map((e) => [e.verb, e.code, e.user]), [
    ['create', 201, 'system:serviceaccount:ns1:agent-1'],
    ['create', 409, 'system:serviceaccount:ns1:agent-2'],
    ['patch', 422, 'system:serviceaccount:ns1:agent-2'],
    ['patch', 401, null],
    ['patch', 503, 'system:serviceaccount:ns1:agent-1'],
    ['delete', 200, 'system:serviceaccount:ns1:agent-1'],
  ]);
  assert.equal(w[0].resourceVersion, c.body.metadata.resourceVersion);
  assert.equal(w[0].leaseSpec.holderIdentity, 'agent-1');
  assert.equal(w[0].leaseSpecBefore, null);
  assert.equal(w[1].reason, 'AlreadyExists');
  assert.equal(w[2].contentType, 'application/json-patch+json');
  assert.ok(w[4].fault > 0);
  assert.equal(w[5].leaseSpec, null);
  assert.ok(w.every((e) => typeof e.time === 'number' && e.seq > since));
});

// How an election test reads the log: replay successful Lease writes and
// check that no two identities hold an unexpired lease at once.
function holderTimeline(writes) {
  const spans = [];
  for (const e of writes) {
    if (e.code < 200 || e.code >= 300 || !e.leaseSpec) continue;
    const s = e.leaseSpec;
    const last = spans[spans.length - 1];
    if (last && last.holder === s.holderIdentity) last.until = e.time + s.leaseDurationSeconds * 1000;
    else spans.push({ holder: s.holderIdentity, from: e.time, until: e.time + s.leaseDurationSeconds * 1000 });
  }
  return spans;
}

test('exactly one holder at a time can be checked from the write log', async () => {
  const since = (await sim.admin('GET', '/writes')).body.last;
  const L = `${LEASES}/twa-elect`;
  await sim.api('POST', LEASES, { token: 'agent-1', body: lease('twa-elect', { holderIdentity: 'agent-1', leaseDurationSeconds: 1 }) });
  // Two candidates race a conditional takeover; only one may win.
  const cur = (await sim.api('GET', L, T)).body.spec;
  const takeover = (who) => sim.api('PATCH', L, {
    token: who, contentType: 'application/json-patch+json',
    body: [
      { op: 'test', path: '/spec/holderIdentity', value: cur.holderIdentity },
      { op: 'test', path: '/spec/renewTime', value: cur.renewTime },
      { op: 'replace', path: '/spec/holderIdentity', value: who },
      { op: 'replace', path: '/spec/renewTime', value: micro() },
      { op: 'replace', path: '/spec/leaseTransitions', value: cur.leaseTransitions + 1 },
    ],
  });
  const [a, b] = await Promise.all([takeover('agent-2'), takeover('agent-1')]);
  assert.deepEqual([a.status, b.status].sort(), [200, 422]);
  const writes = (await sim.admin('GET', `/writes?since=${since}&resource=leases&name=twa-elect`)).body.writes;
  const spans = holderTimeline(writes);
  assert.equal(spans.length, 2);
  for (let i = 1; i < spans.length; i++) assert.notEqual(spans[i].holder, spans[i - 1].holder);
});

test('the request log counts requests per caller', async () => {
  await sim.admin('DELETE', '/requests');
  for (let i = 0; i < 3; i++) await sim.api('GET', LEASES, { token: 'agent-1' });
  await sim.api('GET', `${LEASES}/none`, { token: 'agent-2' });
  const s = (await sim.admin('GET', '/requests/summary')).body.users;
  assert.equal(s['system:serviceaccount:ns1:agent-1'].total, 3);
  assert.deepEqual(s['system:serviceaccount:ns1:agent-1'].byVerb, { list: 3 });
  assert.deepEqual(s['system:serviceaccount:ns1:agent-2'].byCode, { 404: 1 });
  const r = (await sim.admin('GET', '/requests?user=system:serviceaccount:ns1:agent-2')).body.requests;
  assert.equal(r.length, 1);
  assert.equal(r[0].verb, 'get');
  assert.equal(typeof r[0].durationMs, 'number');
});

test('admin objects: create, replace with status, merge patch, delete; writes logged as admin', async () => {
  const c = await sim.admin('POST', '/objects/leases?namespace=ns1', { metadata: { name: 'adm' }, spec: { holderIdentity: 'x' } });
  assert.equal(c.status, 201);
  assert.ok(c.body.metadata.uid);
  const dup = await sim.admin('POST', '/objects/leases', { metadata: { name: 'adm', namespace: 'ns1' } });
  assert.equal(dup.status, 409);
  const p = await sim.admin('PATCH', '/objects/leases/ns1/adm', { spec: { holderIdentity: 'y' } });
  assert.equal(p.body.spec.holderIdentity, 'y');
  const bad = await sim.admin('PATCH', '/objects/leases/ns1/adm', { metadata: { annotations: { 'bad key': 'x' } } });
  assert.equal(bad.status, 422);
  const g = await sim.api('GET', `${LEASES}/adm`, T);
  assert.equal(g.body.spec.holderIdentity, 'y');
  assert.equal((await sim.admin('DELETE', '/objects/leases/ns1/adm')).status, 200);
  assert.equal((await sim.api('GET', `${LEASES}/adm`, T)).status, 404);
  const w = (await sim.admin('GET', '/writes?via=admin&name=adm')).body.writes;
  assert.deepEqual(w.map((e) => e.verb), ['create', 'update', 'delete']);
  assert.equal((await sim.admin('GET', '/objects/widgets')).status, 404);
  assert.equal((await sim.admin('GET', '/nope')).status, 404);
  assert.equal((await sim.admin('PUT', '/faults')).status, 405);
});

test('state dump and reset', async () => {
  const s = (await sim.admin('GET', '/state')).body;
  assert.ok(Number(s.resourceVersion) > 1);
  assert.ok(Array.isArray(s.objects.leases));
  assert.equal(s.settings.version, 'v1.30.0');
  const before = Number(s.resourceVersion);
  await sim.admin('POST', '/reset');
  const after = (await sim.admin('GET', '/state')).body;
  assert.deepEqual(after.objects.leases, []);
  assert.ok(Number(after.resourceVersion) >= before, 'resourceVersion never goes back');
  assert.equal((await sim.api('GET', LEASES, { token: 'agent-1' })).status, 200, 'start-up tokens survive a reset');
  const c = await sim.api('POST', LEASES, { ...T, body: lease('post-reset') });
  assert.ok(Number(c.body.metadata.resourceVersion) > before);
});
