'use strict';
// A stand-in for the deployment and replica-set controllers, driven from the
// admin API (or automatically when the "autoReconcile" setting is on): it
// makes a Deployment's ReplicaSet and Pods match its spec and writes the
// status a real controller would (replica counts, observedGeneration, the
// Available and Progressing conditions). It exists so end-to-end tests can
// watch pods come and go when something scales or deletes a Deployment.

const { Store } = require('./store');
const { clone, canonical, nowTime, generateName, uid } = require('./util');
const R = require('./resources');

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

// controller.ComputeHash: FNV-32a over the template, written out with
// rand.SafeEncodeString, as in the pod-template-hash label.
function podTemplateHash(template) {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(canonical(template))) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join('');
}

function condition(type, ok, reason, message, prev) {
  const now = nowTime();
  const same = prev && prev.status === (ok ? 'True' : 'False') && prev.reason === reason;
  return {
    type, status: ok ? 'True' : 'False', lastUpdateTime: now,
    lastTransitionTime: same ? prev.lastTransitionTime : now, reason, message,
  };
}

// Deployment status from replica counts (apps/v1 DeploymentStatus).
function deploymentStatus(d, counts, rsName) {
  const old = d.status || {};
  const find = (t) => (old.conditions || []).find((c) => c.type === t);
  const want = d.spec.replicas;
  const available = counts.available !== undefined ? counts.available : counts.availableReplicas >= want;
  const st = {
    observedGeneration: counts.observedGeneration !== undefined ? counts.observedGeneration : d.metadata.generation,
    replicas: counts.replicas, updatedReplicas: counts.updatedReplicas,
    readyReplicas: counts.readyReplicas, availableReplicas: counts.availableReplicas,
    unavailableReplicas: Math.max(0, (counts.replicas || 0) - (counts.availableReplicas || 0)),
  };
  for (const k of Object.keys(st)) if (!st[k] && k !== 'observedGeneration') delete st[k];
  const progressed = counts.updatedReplicas === want && counts.availableReplicas >= want;
  st.conditions = [
    condition('Available', available,
      available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      available ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
      find('Available')),
    condition('Progressing', true,
      progressed ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
      progressed ? `ReplicaSet "${rsName}" has successfully progressed.` : `ReplicaSet "${rsName}" is progressing.`,
      find('Progressing')),
  ];
  return st;
}

class Controllers {
  constructor(sim) {
    this.sim = sim;
    this.pending = new Map();
  }

  get store() { return this.sim.store; }

  // Write an object as a controller would (no API validation) and log it.
  put(resource, obj, prev) {
    const key = Store.key(obj.metadata.namespace, obj.metadata.name);
    const type = prev ? 'MODIFIED' : 'ADDED';
    if (prev && canonical({ ...obj, metadata: { ...obj.metadata, resourceVersion: '' } }) ===
      canonical({ ...prev, metadata: { ...prev.metadata, resourceVersion: '' } })) return prev;
    const out = this.store.commit(resource, type, key, obj, prev);
    this.sim.recordWrite({
      via: 'controller', user: `system:serviceaccount:kube-system:${resource === 'pods' ? 'replicaset' : 'deployment'}-controller`,
      verb: prev ? 'update' : 'create', resource, namespace: obj.metadata.namespace, name: obj.metadata.name,
      code: prev ? 200 : 201, resourceVersion: out.metadata.resourceVersion,
    });
    return out;
  }

  // Set a Deployment's status from explicit counts (admin API).
  setDeploymentStatus(ns, name, counts) {
    const d = this.store.get('deployments', ns, name);
    if (!d) return null;
    const n = clone(d);
    const c = { ...counts };
    for (const k of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas']) if (c[k] === undefined) c[k] = 0;
    n.status = deploymentStatus(d, c, `${name}-${podTemplateHash(d.spec.template)}`);
    return this.put('deployments', n, d);
  }

  // Make ReplicaSets and Pods match the Deployment, then write its status.
  reconcile(ns, name, { ready = true } = {}) {
    const d = this.store.get('deployments', ns, name);
    if (!d || d.metadata.deletionTimestamp) return null;
    const hash = podTemplateHash(d.spec.template);
    const rsName = `${name}-${hash}`;
    const owned = (o, owner) => (o.metadata.ownerReferences || []).some((r) => r.uid === owner.metadata.uid);
    const want = d.spec.replicas;
    let current = null;
    for (const { obj: rs } of this.store.list('replicasets', ns)) {
      if (!owned(rs, d)) continue;
      if (rs.metadata.name === rsName) { current = rs; continue; }
      if (rs.spec.replicas !== 0) {
        const n = clone(rs);
        n.spec.replicas = 0;
        this.put('replicasets', n, rs);
      }
      this.syncPods(this.store.get('replicasets', ns, rs.metadata.name), ready);
    }
    const template = clone(d.spec.template);
    template.metadata = template.metadata || {};
    template.metadata.labels = { ...(template.metadata.labels || {}), 'pod-template-hash': hash };
    if (!current) {
      const rs = {
        kind: 'ReplicaSet', apiVersion: 'apps/v1',
        metadata: {
          name: rsName, namespace: ns, uid: uid(), creationTimestamp: nowTime(), generation: 1,
          labels: template.metadata.labels,
          annotations: { 'deployment.kubernetes.io/desired-replicas': String(want), 'deployment.kubernetes.io/max-replicas': String(want) },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }],
        },
        spec: {
          replicas: want,
          selector: { ...d.spec.selector, matchLabels: { ...(d.spec.selector.matchLabels || {}), 'pod-template-hash': hash } },
          template,
        },
        status: { replicas: 0 },
      };
      current = this.put('replicasets', rs, null);
    } else if (current.spec.replicas !== want) {
      const n = clone(current);
      n.spec.replicas = want;
      n.metadata.generation = (n.metadata.generation || 1) + 1;
      current = this.put('replicasets', n, current);
    }
    const counts = this.syncPods(current, ready);
    const all = this.store.list('pods', ns).filter(({ obj }) =>
      this.store.list('replicasets', ns).some(({ obj: rs }) => owned(rs, d) && owned(obj, rs)) && !obj.metadata.deletionTimestamp);
    const n = clone(this.store.get('deployments', ns, name));
    n.status = deploymentStatus(n, {
      replicas: all.length, updatedReplicas: counts.replicas,
      readyReplicas: counts.ready, availableReplicas: counts.ready,
    }, rsName);
    return this.put('deployments', n, this.store.get('deployments', ns, name));
  }

  // Create or delete Pods of a ReplicaSet to match spec.replicas; update its
  // status. Returns { replicas, ready }.
  syncPods(rs, ready) {
    const ns = rs.metadata.namespace;
    const pods = this.store.list('pods', ns).map((e) => e.obj).filter((p) =>
      (p.metadata.ownerReferences || []).some((r) => r.uid === rs.metadata.uid) && !p.metadata.deletionTimestamp);
    for (let i = pods.length; i < rs.spec.replicas; i++) {
      const t = clone(rs.spec.template);
      const spec = t.spec || {};
      R.defaultPodSpec(spec);
      spec.nodeName = 'sim-node-1';
      const pod = {
        kind: 'Pod', apiVersion: 'v1',
        metadata: {
          name: generateName(`${rs.metadata.name}-`), namespace: ns, uid: uid(), creationTimestamp: nowTime(),
          labels: (t.metadata && t.metadata.labels) || {}, annotations: (t.metadata && t.metadata.annotations) || undefined,
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }],
        },
        spec,
        status: {
          phase: 'Running', podIP: `10.244.0.${1 + (i % 250)}`, startTime: nowTime(), qosClass: 'BestEffort',
          conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: nowTime() }],
        },
      };
      if (!pod.metadata.annotations) delete pod.metadata.annotations;
      pods.push(this.put('pods', pod, null));
    }
    while (pods.length > rs.spec.replicas) {
      const p = pods.pop();
      this.sim.gc.delete(R.pods, ns, p.metadata.name, p, 'Background', {}, {});
      this.sim.recordWrite({ via: 'controller', user: 'system:serviceaccount:kube-system:replicaset-controller', verb: 'delete', resource: 'pods', namespace: ns, name: p.metadata.name, code: 200 });
    }
    const readyCount = pods.filter((p) => (p.status.conditions || []).some((c) => c.type === 'Ready' && c.status === 'True')).length;
    const cur = this.store.get('replicasets', ns, rs.metadata.name);
    const n = clone(cur);
    n.status = { replicas: pods.length, fullyLabeledReplicas: pods.length, readyReplicas: readyCount, availableReplicas: readyCount, observedGeneration: cur.metadata.generation };
    for (const k of ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas']) if (!n.status[k]) delete n.status[k];
    this.put('replicasets', n, cur);
    return { replicas: pods.length, ready: readyCount };
  }

  // autoReconcile: react to Deployment changes whose generation the status
  // has not observed yet.
  onEvent(ev) {
    if (!this.sim.settings.autoReconcile || ev.resource !== 'deployments' || ev.type === 'DELETED') return;
    const d = ev.object;
    if (d.status && d.status.observedGeneration === d.metadata.generation) return;
    const key = ev.key;
    if (this.pending.has(key)) return;
    this.pending.set(key, setTimeout(() => {
      this.pending.delete(key);
      this.reconcile(d.metadata.namespace, d.metadata.name);
    }, this.sim.settings.reconcileDelayMs));
  }

  cancel() {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }
}

module.exports = { Controllers, podTemplateHash };
