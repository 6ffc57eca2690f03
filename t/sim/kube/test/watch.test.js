'use strict';
// WATCH streams (notes §3.3): initial ADDED events, resumption from a
// resourceVersion, bookmarks, timeouts, both forms of 410 expiry, selector
// transitions and mid-stream cuts.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSim, LEASES, lease, waitFor } = require('./helpers');

const T = { token: 'admin-token' };
let sim;

test.before(async () => {
  sim = await startSim();
  await sim.admin('POST', '/namespaces', { name: 'w' });
});
test.after(async () => { await sim.stop(); });

// Each test uses its own namespace so the streams do not see each other.
async function ns(name) {
  await sim.admin('POST', '/namespaces', { name });
  return `/apis/coordination.k8s.io/v1/namespaces/${name}/leases`;
}

test('watch without resourceVersion: ADDED for existing objects, then live changes', async () => {
  const L = await ns('w1');
  await sim.api('POST', L, { ...T, body: lease('a') });
  const w = await sim.watch(`${L}?watch=1`, T);
  assert.equal(w.status, 200);
  assert.equal(w.headers['content-type'], 'application/json');
  assert.equal(w.headers['transfer-encoding'], 'chunked');
  const added = await w.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'a');
  assert.equal(added.object.kind, 'Lease');
  assert.equal(added.object.apiVersion, 'coordination.k8s.io/v1');
  await sim.api('PATCH', `${L}/a`, { ...T, body: { spec: { holderIdentity: 'x' } } });
  const mod = await w.next((e) => e.type === 'MODIFIED');
  assert.equal(mod.object.spec.holderIdentity, 'x');
  const del = await sim.api('DELETE', `${L}/a`, T);
  assert.equal(del.status, 200);
  const gone = await w.next((e) => e.type === 'DELETED');
  assert.equal(gone.object.spec.holderIdentity, 'x');
  assert.ok(Number(gone.object.metadata.resourceVersion) > Number(mod.object.metadata.resourceVersion),
    'a DELETED event carries the deletion revision');
  assert.ok(w.raw.split('\n').filter(Boolean).every((l) => JSON.parse(l)), 'newline-framed JSON');
  w.close();
});

test('watch from a resourceVersion replays exactly the later changes', async () => {
  const L = await ns('w2');
  const c = await sim.api('POST', L, { ...T, body: lease('b') });
  const rv = c.body.metadata.resourceVersion;
  await sim.api('PATCH', `${L}/b`, { ...T, body: { spec: { leaseTransitions: 1 } } });
  await sim.api('POST', L, { ...T, body: lease('c') });
  const w = await sim.watch(`${L}?watch=true&resourceVersion=${rv}`, T);
  await w.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'c');
  assert.deepEqual(w.events.map((e) => `${e.type} ${e.object.metadata.name}`), ['MODIFIED b', 'ADDED c']);
  w.close();
});

test('watch from a resourceVersion just ahead of the server waits for it', async () => {
  const L = await ns('w3');
  const cur = (await sim.api('GET', L, T)).body.metadata.resourceVersion;
  let answered = false;
  const pending = sim.watch(`${L}?watch=1&resourceVersion=${Number(cur) + 1}`, T).then((w) => { answered = true; return w; });
  // Absence can only be checked by waiting: no answer while it is ahead.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(answered, false);
  await sim.api('POST', L, { ...T, body: lease('d') });
  const w = await pending;
  assert.equal(w.status, 200);
  w.close();
});

test('bookmarks: only metadata.resourceVersion, at the configured interval', async () => {
  const L = await ns('w4');
  await sim.admin('PATCH', '/settings', { bookmarkIntervalMs: 100 });
  try {
    const w = await sim.watch(`${L}?watch=1&allowWatchBookmarks=true`, T);
    const b = await w.next((e) => e.type === 'BOOKMARK', 'a bookmark', 3000);
    assert.deepEqual(Object.keys(b.object), ['kind', 'apiVersion', 'metadata']);
    assert.deepEqual(Object.keys(b.object.metadata), ['resourceVersion']);
    await sim.api('POST', L, { ...T, body: lease('e') });
    const added = await w.next((e) => e.type === 'ADDED');
    const after = await w.next((e) => e.type === 'BOOKMARK' && Number(e.object.metadata.resourceVersion) >= Number(added.object.metadata.resourceVersion), 'a later bookmark', 3000);
    assert.ok(after);
    w.close();
    const plain = await sim.watch(`${L}?watch=1`, T);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!plain.events.some((e) => e.type === 'BOOKMARK'), 'no bookmarks unless asked');
    plain.close();
  } finally {
    await sim.admin('PATCH', '/settings', { bookmarkIntervalMs: 5000 });
  }
});

test('sendInitialEvents ends the initial replay with the initial-events-end bookmark', async () => {
  const L = await ns('w5');
  await sim.api('POST', L, { ...T, body: lease('f') });
  const w = await sim.watch(`${L}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`, T);
  const b = await w.next((e) => e.type === 'BOOKMARK');
  assert.deepEqual(b.object.metadata.annotations, { 'k8s.io/initial-events-end': 'true' });
  assert.equal(w.events[0].type, 'ADDED');
  w.close();
});

test('timeoutSeconds ends the stream cleanly', async () => {
  const L = await ns('w6');
  const w = await sim.watch(`${L}?watch=1&timeoutSeconds=1`, T);
  await waitFor(() => w.ended, 'the stream to end', 3000);
  assert.equal(w.aborted, false);
});

test('410 Expired as a 200 stream with one ERROR event (default form)', async () => {
  const L = await ns('w7');
  const c = await sim.api('POST', L, { ...T, body: lease('g') });
  await sim.api('PATCH', `${L}/g`, { ...T, body: { spec: { leaseTransitions: 1 } } });
  await sim.admin('POST', '/compact');
  const w = await sim.watch(`${L}?watch=1&resourceVersion=${c.body.metadata.resourceVersion}`, T);
  assert.equal(w.status, 200);
  await waitFor(() => w.ended, 'the stream to end');
  assert.equal(w.events.length, 1);
  const e = w.events[0];
  assert.equal(e.type, 'ERROR');
  assert.equal(e.object.kind, 'Status');
  assert.equal(e.object.code, 410);
  assert.equal(e.object.reason, 'Expired');
  assert.match(e.object.message, new RegExp(`^too old resource version: ${c.body.metadata.resourceVersion} \\(\\d+\\)$`));
  // Re-list and watch from the list's resourceVersion works.
  const list = await sim.api('GET', L, T);
  const again = await sim.watch(`${L}?watch=1&resourceVersion=${list.body.metadata.resourceVersion}`, T);
  await sim.api('PATCH', `${L}/g`, { ...T, body: { spec: { leaseTransitions: 2 } } });
  await again.next((x) => x.type === 'MODIFIED');
  again.close();
});

test('410 Expired as a plain HTTP 410 when selected; the window size drives expiry', async () => {
  const L = await ns('w8');
  await sim.admin('PATCH', '/settings', { expiredWatchForm: 'http', watchWindow: { maxEvents: 2 } });
  try {
    const c = await sim.api('POST', L, { ...T, body: lease('h') });
    const rv = c.body.metadata.resourceVersion;
    const ok = await sim.watch(`${L}?watch=1&resourceVersion=${rv}`, T);
    assert.equal(ok.status, 200, 'within the window');
    ok.close();
    for (let i = 1; i <= 3; i++) await sim.api('PATCH', `${L}/h`, { ...T, body: { spec: { leaseTransitions: i } } });
    const r = await sim.api('GET', `${L}?watch=1&resourceVersion=${rv}`, T);
    assert.equal(r.status, 410);
    assert.equal(r.body.reason, 'Expired');
    assert.equal(r.body.code, 410);
    assert.match(r.body.message, /^too old resource version: /);
  } finally {
    await sim.admin('PATCH', '/settings', { expiredWatchForm: 'event', watchWindow: { maxEvents: 10000 } });
  }
});

test('label selector watches turn objects leaving and entering the selection into DELETED and ADDED', async () => {
  const L = await ns('w9');
  await sim.api('POST', L, { ...T, body: lease('in', {}, { metadata: { labels: { role: 'x' } } }) });
  const w = await sim.watch(`${L}?watch=1&labelSelector=role%3Dx`, T);
  await w.next((e) => e.type === 'ADDED');
  await sim.api('PATCH', `${L}/in`, { ...T, body: { metadata: { labels: { role: 'y' } } } });
  const left = await w.next((e) => e.type === 'DELETED');
  assert.equal(left.object.metadata.labels.role, 'x', 'the previous state, as the watch cache sends it');
  await sim.api('PATCH', `${L}/in`, { ...T, body: { metadata: { labels: { role: 'x' } } } });
  await w.next((e) => e.type === 'ADDED', 'ADDED again', 5000, 2);
  await sim.api('POST', L, { ...T, body: lease('out', {}, { metadata: { labels: { role: 'z' } } }) });
  await sim.api('PATCH', `${L}/in`, { ...T, body: { spec: { leaseTransitions: 5 } } });
  await w.next((e) => e.type === 'MODIFIED');
  assert.ok(!w.events.some((e) => e.object.metadata.name === 'out'));
  w.close();
});

test('a single object can be watched with fieldSelector metadata.name', async () => {
  const L = await ns('w10');
  await sim.api('POST', L, { ...T, body: lease('one') });
  await sim.api('POST', L, { ...T, body: lease('two') });
  const w = await sim.watch(`${L}?watch=1&fieldSelector=metadata.name%3Dtwo`, T);
  await w.next((e) => e.type === 'ADDED');
  await sim.api('PATCH', `${L}/one`, { ...T, body: { spec: { leaseTransitions: 1 } } });
  await sim.api('PATCH', `${L}/two`, { ...T, body: { spec: { leaseTransitions: 1 } } });
  await w.next((e) => e.type === 'MODIFIED');
  assert.deepEqual(w.events.map((e) => e.object.metadata.name), ['two', 'two']);
  w.close();
});

test('cutWatch fault aborts a stream mid-way after N events; mode end closes it cleanly', async () => {
  const L = await ns('w11');
  await sim.api('POST', L, { ...T, body: lease('k') });
  const f = await sim.admin('POST', '/faults', { action: 'cutWatch', path: '/namespaces/w11/leases$', afterEvents: 2 });
  assert.equal(f.status, 201);
  const w = await sim.watch(`${L}?watch=1`, T);
  await w.next((e) => e.type === 'ADDED');
  await sim.api('PATCH', `${L}/k`, { ...T, body: { spec: { leaseTransitions: 1 } } });
  await waitFor(() => w.aborted, 'the stream to be cut');
  assert.equal(w.ended, false, 'no terminating chunk');
  assert.equal(w.events.length, 2);
  await sim.admin('POST', '/faults', { action: 'cutWatch', path: '/namespaces/w11/leases$', afterMs: 50, mode: 'end' });
  const w2 = await sim.watch(`${L}?watch=1`, T);
  await waitFor(() => w2.ended, 'a clean end');
  const w3 = await sim.watch(`${L}?watch=1`, T);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(w3.closed, undefined, 'the faults were used up');
  w3.close();
});

test('admin lists open watches and cuts them', async () => {
  const L = await ns('w12');
  const w = await sim.watch(`${L}?watch=1`, T);
  await waitFor(async () => (await sim.admin('GET', '/watches')).body.watches.some((x) => x.path === L), 'the watch to be listed');
  const r = await sim.admin('POST', '/watches/cut', { path: 'namespaces/w12/', mode: 'abort' });
  assert.equal(r.body.cut, 1);
  await waitFor(() => w.aborted, 'the stream to be cut');
});

test('a watch from an unparseable resourceVersion is 400', async () => {
  const r = await sim.api('GET', `${LEASES}?watch=1&resourceVersion=abc`, T);
  assert.equal(r.status, 400);
});
