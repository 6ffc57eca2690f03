'use strict';
// Deployments (generation, defaults, /scale, deletion with preconditions
// and propagation), ReplicaSets (read-only), Pods and the admin-driven
// controllers (notes §4.1, §4.2).

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSim, DEPLOYMENTS, deployment, waitFor } = require('./helpers');

const T = { token: 'admin-token' };
const RS = '/apis/apps/v1/namespaces/ns1/replicasets';
const PODS = '/api/v1/namespaces/ns1/pods';
let sim;

test.before(async () => { sim = await startSim(); });
test.after(async () => { await sim.stop(); });

const create = async (name, replicas, labels) => {
  const r = await sim.api('POST', DEPLOYMENTS, { ...T, body: deployment(name, replicas, labels) });
  assert.equal(r.status, 201, r.text);
  return r.body;
};

test('Deployment create: generation 1, empty status, apps/v1 defaults', async () => {
  const d = await create('gen', 2);
  assert.equal(d.metadata.generation, 1);
  assert.deepEqual(d.status, {});
  assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  const c = d.spec.template.spec.containers[0];
  assert.equal(c.imagePullPolicy, 'IfNotPresent');
  assert.equal(c.terminationMessagePath, '/dev/termination-log');
  assert.equal(d.spec.template.spec.restartPolicy, 'Always');
  const noRep = deployment('gen-default');
  delete noRep.spec.replicas;
  noRep.spec.template.spec.containers[0].image = 'example/x';
  noRep.spec.template.spec.containers[0].env.push({ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
  const r = (await sim.api('POST', DEPLOYMENTS, { ...T, body: noRep })).body;
  assert.equal(r.spec.replicas, 1);
  assert.equal(r.spec.template.spec.containers[0].imagePullPolicy, 'Always', 'untagged image is :latest');
  assert.deepEqual(r.spec.template.spec.containers[0].env[1].valueFrom, { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } });
});

test('Deployment generation bumps on spec and annotation changes, not on label changes; status is ignored', async () => {
  const d = await create('gen2', 1);
  const a = await sim.api('PATCH', `${DEPLOYMENTS}/gen2`, { ...T, body: { metadata: { labels: { x: 'y' } }, status: { replicas: 9 } } });
  assert.equal(a.body.metadata.generation, 1);
  assert.deepEqual(a.body.status, {});
  const b = await sim.api('PATCH', `${DEPLOYMENTS}/gen2`, { ...T, body: { metadata: { annotations: { 'a.example/x': '1' } } } });
  assert.equal(b.body.metadata.generation, 2);
  const c = await sim.api('PATCH', `${DEPLOYMENTS}/gen2`, { ...T, body: { spec: { replicas: 3 } } });
  assert.equal(c.body.metadata.generation, 3);
  // Unconditional PUT is allowed for Deployments.
  const put = { ...c.body, metadata: { ...c.body.metadata } };
  delete put.metadata.resourceVersion;
  put.spec = { ...put.spec, replicas: 4 };
  const p = await sim.api('PUT', `${DEPLOYMENTS}/gen2`, { ...T, body: put });
  assert.equal(p.status, 200);
  assert.equal(p.body.metadata.generation, 4);
  assert.equal(d.metadata.uid, p.body.metadata.uid);
});

test('Deployment selector is immutable', async () => {
  await create('imm', 1);
  const r = await sim.api('PATCH', `${DEPLOYMENTS}/imm`, {
    ...T, body: { spec: { selector: { matchLabels: { app: 'imm', extra: 'x' } }, template: { metadata: { labels: { extra: 'x' } } } } },
  });
  assert.equal(r.status, 422);
  assert.equal(r.body.details.causes[0].message,
    'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"imm", "extra":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable');
});

test('LIST deployments with labelSelector forms', async () => {
  await create('sel-a', 1, { app: 'sel-a', track: 'stable' });
  await create('sel-b', 1, { app: 'sel-b', track: 'canary' });
  await create('sel-c', 1, { app: 'sel-c' });
  const names = async (sel) => (await sim.api('GET', `${DEPLOYMENTS}?labelSelector=${encodeURIComponent(sel)}`, T)).body.items.map((i) => i.metadata.name);
  assert.deepEqual(await names('track=stable'), ['sel-a']);
  assert.deepEqual(await names('track==canary'), ['sel-b']);
  assert.deepEqual(await names('track in (stable,canary)'), ['sel-a', 'sel-b']);
  assert.deepEqual(await names('app in (sel-a,sel-b,sel-c),track notin (canary)'), ['sel-a', 'sel-c']);
  assert.deepEqual(await names('app in (sel-a,sel-b,sel-c),track!=stable'), ['sel-b', 'sel-c']);
  assert.deepEqual(await names('app in (sel-a,sel-b,sel-c),!track'), ['sel-c']);
  assert.deepEqual(await names('app in (sel-a,sel-b,sel-c),track'), ['sel-a', 'sel-b']);
  const bad = await sim.api('GET', `${DEPLOYMENTS}?labelSelector=${encodeURIComponent('track in (')}`, T);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.reason, 'BadRequest');
  const f = await sim.api('GET', `${DEPLOYMENTS}?fieldSelector=spec.replicas%3D1`, T);
  assert.equal(f.status, 400);
  assert.equal(f.body.message, '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"');
  const items = (await sim.api('GET', `${DEPLOYMENTS}?fieldSelector=metadata.name%3Dsel-b`, T)).body.items;
  assert.deepEqual(items.map((i) => i.metadata.name), ['sel-b']);
  assert.equal(items[0].kind, undefined, 'list items carry no kind');
});

test('/scale: GET returns an autoscaling/v1 Scale; merge patch and PUT change replicas (notes §4.1, §8)', async () => {
  const d = await create('sc', 2);
  const g = await sim.api('GET', `${DEPLOYMENTS}/sc/scale`, T);
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, {
    kind: 'Scale', apiVersion: 'autoscaling/v1',
    metadata: { name: 'sc', namespace: 'ns1', uid: d.metadata.uid, resourceVersion: d.metadata.resourceVersion, creationTimestamp: d.metadata.creationTimestamp },
    spec: { replicas: 2 }, status: { replicas: 0, selector: 'app=sc' },
  });
  const p = await sim.api('PATCH', `${DEPLOYMENTS}/sc/scale`, { ...T, body: { spec: { replicas: 3 } } });
  assert.equal(p.status, 200);
  assert.equal(p.body.kind, 'Scale');
  assert.equal(p.body.spec.replicas, 3);
  const dep = (await sim.api('GET', `${DEPLOYMENTS}/sc`, T)).body;
  assert.equal(dep.spec.replicas, 3);
  assert.equal(dep.metadata.generation, 2);
  const zero = await sim.api('PATCH', `${DEPLOYMENTS}/sc/scale`, { ...T, body: { spec: { replicas: 0 } } });
  assert.deepEqual(zero.body.spec, {}, 'replicas 0 is omitted in a Scale');
  const jp = await sim.api('PATCH', `${DEPLOYMENTS}/sc/scale`, { ...T, body: [{ op: 'replace', path: '/spec/replicas', value: 1 }], contentType: 'application/json-patch+json' });
  assert.equal(jp.status, 422, 'replace of an omitted field fails');
  const put = await sim.api('PUT', `${DEPLOYMENTS}/sc/scale`, {
    ...T, body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'sc', namespace: 'ns1' }, spec: { replicas: 5 } },
  });
  assert.equal(put.status, 200);
  assert.equal(put.body.spec.replicas, 5);
});

test('/scale: stale resourceVersion conflicts on the Deployment; negative replicas are invalid; missing is 404', async () => {
  const d = await create('sc2', 1);
  await sim.api('PATCH', `${DEPLOYMENTS}/sc2/scale`, { ...T, body: { spec: { replicas: 2 } } });
  const stale = await sim.api('PATCH', `${DEPLOYMENTS}/sc2/scale`, { ...T, body: { metadata: { resourceVersion: d.metadata.resourceVersion }, spec: { replicas: 0 } } });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.message, 'Operation cannot be fulfilled on deployments.apps "sc2": the object has been modified; please apply your changes to the latest version and try again');
  const neg = await sim.api('PATCH', `${DEPLOYMENTS}/sc2/scale`, { ...T, body: { spec: { replicas: -1 } } });
  assert.equal(neg.status, 422);
  assert.equal(neg.body.message, 'Scale.autoscaling "sc2" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
  const missing = await sim.api('GET', `${DEPLOYMENTS}/nope/scale`, T);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.message, 'deployments.apps "nope" not found');
  const bad = await sim.api('DELETE', `${DEPLOYMENTS}/sc2/scale`, T);
  assert.equal(bad.status, 405);
});

test('admin reconcile creates the ReplicaSet and Pods and writes Deployment status', async () => {
  const d = await create('rec', 2);
  const r = await sim.admin('POST', '/deployments/ns1/rec/reconcile', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status.readyReplicas, 2);
  assert.equal(r.body.status.observedGeneration, 1);
  const avail = r.body.status.conditions.find((c) => c.type === 'Available');
  assert.equal(avail.status, 'True');
  assert.equal(avail.reason, 'MinimumReplicasAvailable');
  const rs = (await sim.api('GET', RS, T)).body.items.filter((x) => x.metadata.ownerReferences[0].uid === d.metadata.uid);
  assert.equal(rs.length, 1);
  assert.match(rs[0].metadata.name, /^rec-[bcdfghjklmnpqrstvwxz2456789]+$/);
  const hash = rs[0].metadata.labels['pod-template-hash'];
  const pods = (await sim.api('GET', `${PODS}?labelSelector=${encodeURIComponent(`pod-template-hash=${hash}`)}`, T)).body.items;
  assert.equal(pods.length, 2);
  assert.equal(pods[0].status.phase, 'Running');
  const scaled = await sim.api('GET', `${DEPLOYMENTS}/rec/scale`, T);
  assert.equal(scaled.body.status.replicas, 2);
  // ReplicaSets are read-only through the API.
  assert.equal((await sim.api('DELETE', `${RS}/${rs[0].metadata.name}`, T)).status, 405);
  assert.equal((await sim.api('POST', RS, { ...T, body: {} })).status, 405);
});

test('ReplicaSets created through the admin API are readable and listable by label', async () => {
  const rs = {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name: 'manual-rs', namespace: 'ns1', labels: { app: 'manual' } },
    spec: { replicas: 2, selector: { matchLabels: { app: 'manual' } }, template: { metadata: { labels: { app: 'manual' } }, spec: { containers: [{ name: 'w', image: 'w:1' }] } } },
    status: { replicas: 2, readyReplicas: 1 },
  };
  const c = await sim.admin('POST', '/objects/replicasets', rs);
  assert.equal(c.status, 201, c.text);
  assert.equal(c.body.metadata.generation, 1);
  const g = await sim.api('GET', `${RS}/manual-rs`, T);
  assert.equal(g.status, 200);
  assert.equal(g.body.kind, 'ReplicaSet');
  assert.deepEqual(g.body.status, { replicas: 2, readyReplicas: 1 });
  const l = await sim.api('GET', `${RS}?labelSelector=app%3Dmanual`, T);
  assert.deepEqual(l.body.items.map((x) => x.metadata.name), ['manual-rs']);
  const bad = await sim.admin('POST', '/objects/replicasets', { ...rs, metadata: { name: 'bad-rs', namespace: 'ns1' }, spec: { ...rs.spec, selector: { matchLabels: { app: 'x' } } } });
  assert.equal(bad.status, 422, 'admin objects are validated like API ones');
  assert.equal((await sim.api('PUT', `${RS}/manual-rs`, { ...T, body: g.body })).status, 405);
});

test('admin deployment status sets counts and the Available condition', async () => {
  await create('st', 3);
  const r = await sim.admin('POST', '/deployments/ns1/st/status', { replicas: 3, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 3 });
  assert.equal(r.status, 200);
  const g = (await sim.api('GET', `${DEPLOYMENTS}/st`, T)).body;
  assert.equal(g.status.availableReplicas, 1);
  assert.equal(g.status.unavailableReplicas, 2);
  assert.equal(g.status.conditions.find((c) => c.type === 'Available').status, 'False');
});

test('DELETE Deployment with a uid precondition; Background deletion removes ReplicaSets and Pods', async () => {
  const d = await create('del', 2);
  await sim.admin('POST', '/deployments/ns1/del/reconcile', {});
  const wrong = await sim.api('DELETE', `${DEPLOYMENTS}/del`, { ...T, body: { preconditions: { uid: 'x' } } });
  assert.equal(wrong.status, 409);
  assert.match(wrong.body.message, /^Operation cannot be fulfilled on Deployment\.apps "del": the UID in the precondition \(x\) does not match/);
  const ok = await sim.api('DELETE', `${DEPLOYMENTS}/del`, {
    ...T, body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', preconditions: { uid: d.metadata.uid } },
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body.details, { name: 'del', group: 'apps', kind: 'deployments', uid: d.metadata.uid });
  await waitFor(async () => {
    const rs = (await sim.api('GET', RS, T)).body.items.filter((x) => x.metadata.name.startsWith('del-'));
    const pods = (await sim.api('GET', PODS, T)).body.items.filter((x) => x.metadata.name.startsWith('del-'));
    return rs.length === 0 && pods.length === 0;
  }, 'ReplicaSets and Pods of the deleted Deployment to go');
});

test('DELETE Deployment Foreground returns the object with a finalizer; Orphan keeps dependents', async () => {
  await create('fg', 1);
  await sim.admin('POST', '/deployments/ns1/fg/reconcile', {});
  const fg = await sim.api('DELETE', `${DEPLOYMENTS}/fg?propagationPolicy=Foreground`, T);
  assert.equal(fg.status, 200);
  assert.equal(fg.body.kind, 'Deployment');
  assert.ok(fg.body.metadata.deletionTimestamp);
  assert.deepEqual(fg.body.metadata.finalizers, ['foregroundDeletion']);
  await waitFor(async () => (await sim.api('GET', `${DEPLOYMENTS}/fg`, T)).status === 404, 'foreground deletion to finish');
  const orphan = await create('orph', 1);
  await sim.admin('POST', '/deployments/ns1/orph/reconcile', {});
  const o = await sim.api('DELETE', `${DEPLOYMENTS}/orph`, { ...T, body: { propagationPolicy: 'Orphan' } });
  assert.deepEqual(o.body.metadata.finalizers, ['orphan']);
  await waitFor(async () => (await sim.api('GET', `${DEPLOYMENTS}/orph`, T)).status === 404, 'orphan deletion to finish');
  const rs = (await sim.api('GET', RS, T)).body.items.filter((x) => x.metadata.name.startsWith('orph-'));
  assert.equal(rs.length, 1);
  assert.equal(rs[0].metadata.ownerReferences, undefined);
  assert.ok(orphan.metadata.uid);
});

test('autoReconcile follows a scale to zero', async () => {
  await sim.admin('PATCH', '/settings', { autoReconcile: true });
  try {
    await create('auto', 2);
    const podsOf = async () => (await sim.api('GET', PODS, T)).body.items.filter((p) => p.metadata.name.startsWith('auto-') && !p.metadata.deletionTimestamp);
    await waitFor(async () => (await podsOf()).length === 2, 'two pods');
    await sim.api('PATCH', `${DEPLOYMENTS}/auto/scale`, { ...T, body: { spec: { replicas: 0 } } });
    await waitFor(async () => (await sim.api('GET', PODS, T)).body.items.filter((p) => p.metadata.name.startsWith('auto-')).length === 0, 'pods to go');
    const d = (await sim.api('GET', `${DEPLOYMENTS}/auto`, T)).body;
    assert.equal(d.status.observedGeneration, d.metadata.generation);
  } finally {
    await sim.admin('PATCH', '/settings', { autoReconcile: false });
  }
});

test('Pods: create via API and admin, list with labelSelector and fieldSelector, delete', async () => {
  const pod = (name, labels) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'w', image: 'w:1' }] } });
  const a = await sim.api('POST', PODS, { ...T, body: pod('pa', { role: 'worker' }) });
  assert.equal(a.status, 201);
  assert.equal(a.body.status.phase, 'Pending');
  const b = await sim.admin('POST', '/objects/pods', { ...pod('pb', { role: 'worker' }), metadata: { name: 'pb', namespace: 'ns1', labels: { role: 'worker' } }, status: { phase: 'Running' } });
  assert.equal(b.status, 201, b.text);
  const byName = (await sim.api('GET', `${PODS}?fieldSelector=metadata.name%3Dpb`, T)).body.items;
  assert.deepEqual(byName.map((p) => p.metadata.name), ['pb']);
  const running = (await sim.api('GET', `${PODS}?labelSelector=role%3Dworker&fieldSelector=status.phase%3DRunning`, T)).body.items;
  assert.deepEqual(running.map((p) => p.metadata.name), ['pb']);
  const unsupported = await sim.api('GET', `${PODS}?fieldSelector=spec.image%3Dx`, T);
  assert.equal(unsupported.status, 400);
  assert.equal(unsupported.body.message, 'field label not supported: spec.image');
  const noContainers = await sim.api('POST', PODS, { ...T, body: { metadata: { name: 'pc' }, spec: {} } });
  assert.equal(noContainers.status, 422);
  assert.equal(noContainers.body.message, 'Pod "pc" is invalid: spec.containers: Required value');
  const del = await sim.api('DELETE', `${PODS}/pa`, T);
  assert.equal(del.status, 200);
  assert.equal(del.body.kind, 'Pod', 'pod deletion returns the pod');
  assert.equal((await sim.api('GET', `${PODS}/pa`, T)).status, 404);
});

test('a Pod bound to a node is deleted gracefully', async () => {
  await sim.admin('POST', '/objects/pods', {
    metadata: { name: 'bound', namespace: 'ns1' }, spec: { nodeName: 'n1', containers: [{ name: 'w', image: 'w:1' }] },
  });
  const del = await sim.api('DELETE', `${PODS}/bound`, T);
  assert.equal(del.status, 200);
  assert.ok(del.body.metadata.deletionTimestamp);
  assert.equal(del.body.metadata.deletionGracePeriodSeconds, 30);
  assert.equal((await sim.api('GET', `${PODS}/bound`, T)).status, 200, 'still there while terminating');
  await waitFor(async () => (await sim.api('GET', `${PODS}/bound`, T)).status === 404, 'the pod to go');
});
