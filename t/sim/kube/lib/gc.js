'use strict';
// Deletion semantics: finalizers, graceful pod deletion and the garbage
// collector's propagation policies (notes §4.2; apiserver
// pkg/registry/generic/registry/store.go Delete, kube-controller-manager
// garbagecollector).
//
// - Background (the apps/v1 default): the object goes at once, its
//   dependents (objects whose ownerReferences carry its uid) shortly after.
// - Foreground: the object gets deletionTimestamp and the
//   foregroundDeletion finalizer, dependents go, then the object.
// - Orphan: deletionTimestamp and the orphan finalizer; dependents lose
//   their ownerReference and stay; then the object goes.
// - An object with other finalizers stays, marked for deletion, until an
//   update removes the last finalizer.
// - A pod bound to a node is deleted gracefully (deletionTimestamp now +
//   grace period) and removed when the simulated kubelet finishes; an
//   unscheduled pod is deleted at once.

const { Store } = require('./store');
const { clone, nowTime } = require('./util');
const R = require('./resources');

const GC_USER = 'system:serviceaccount:kube-system:generic-garbage-collector';

class GC {
  constructor(sim) {
    this.sim = sim;
    this.timers = new Set();
  }

  get store() { return this.sim.store; }

  later(ms, fn) {
    const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
    this.timers.add(t);
  }

  cancel() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // Delete through the API. Returns { code, obj } where obj is the body.
  delete(res, ns, name, existing, policy, options, opts) {
    const key = Store.key(ns, name);
    if (existing.metadata.deletionTimestamp) return { code: 200, obj: clone(existing) };
    if (res === R.pods) {
      const spec = existing.spec || {};
      let grace = options.gracePeriodSeconds !== undefined ? options.gracePeriodSeconds
        : (spec.terminationGracePeriodSeconds !== undefined ? spec.terminationGracePeriodSeconds : 30);
      if (!spec.nodeName) grace = 0;
      if (grace > 0) {
        if (opts.dryRun) return { code: 200, obj: clone(existing) };
        const o = clone(existing);
        o.metadata.deletionTimestamp = nowTime(Date.now() + grace * 1000);
        o.metadata.deletionGracePeriodSeconds = grace;
        const out = this.store.commit(res.plural, 'MODIFIED', key, o, existing);
        this.later(Math.min(grace * 1000, this.sim.settings.podTerminationDelayMs), () => this.finishPod(ns, name));
        return { code: 200, obj: clone(out) };
      }
    }
    const finalizers = existing.metadata.finalizers || [];
    const addFinalizer = policy === 'Foreground' ? 'foregroundDeletion' : policy === 'Orphan' ? 'orphan' : null;
    if (addFinalizer || finalizers.length) {
      if (opts.dryRun) return { code: 200, obj: clone(existing) };
      const o = clone(existing);
      o.metadata.deletionTimestamp = nowTime();
      o.metadata.deletionGracePeriodSeconds = 0;
      if (addFinalizer && !finalizers.includes(addFinalizer)) o.metadata.finalizers = [...finalizers, addFinalizer];
      const out = this.store.commit(res.plural, 'MODIFIED', key, o, existing);
      if (addFinalizer) this.later(this.sim.settings.gcDelayMs, () => this.collect(res, ns, name, out.metadata.uid, policy));
      return { code: 200, obj: clone(out) };
    }
    if (opts.dryRun) return { code: 200, obj: res.returnDeletedObject ? clone(existing) : successStatus(res, existing) };
    const gone = this.store.commit(res.plural, 'DELETED', key, existing, existing);
    this.later(this.sim.settings.gcDelayMs, () => this.collect(null, ns, name, existing.metadata.uid, 'Background'));
    return { code: 200, obj: res.returnDeletedObject ? clone(gone) : successStatus(res, existing) };
  }

  finishPod(ns, name) {
    const cur = this.store.get('pods', ns, name);
    if (!cur || !cur.metadata.deletionTimestamp || (cur.metadata.finalizers || []).length) return;
    this.store.commit('pods', 'DELETED', Store.key(ns, name), cur, cur);
    this.sim.recordWrite({ via: 'gc', user: 'system:node', verb: 'delete', resource: 'pods', namespace: ns, name, code: 200 });
  }

  // Objects (any resource) owned by `ownerUid`.
  dependents(ownerUid) {
    const out = [];
    for (const res of R.ALL) {
      for (const { obj } of this.store.list(res.plural)) {
        if ((obj.metadata.ownerReferences || []).some((r) => r.uid === ownerUid)) out.push({ res, obj });
      }
    }
    return out;
  }

  // Process the dependents of a deleted (or deleting) owner, then release
  // the owner's GC finalizer.
  collect(ownerRes, ns, name, ownerUid, policy) {
    for (const { res, obj } of this.dependents(ownerUid)) {
      const dns = obj.metadata.namespace;
      const dname = obj.metadata.name;
      const key = Store.key(dns, dname);
      const cur = this.store.get(res.plural, dns, dname);
      if (!cur) continue;
      if (policy === 'Orphan') {
        const o = clone(cur);
        o.metadata.ownerReferences = o.metadata.ownerReferences.filter((r) => r.uid !== ownerUid);
        if (!o.metadata.ownerReferences.length) delete o.metadata.ownerReferences;
        this.store.commit(res.plural, 'MODIFIED', key, o, cur);
        this.sim.recordWrite({ via: 'gc', user: GC_USER, verb: 'patch', resource: res.plural, namespace: dns, name: dname, code: 200 });
      } else if (!cur.metadata.deletionTimestamp) {
        this.delete(res, dns, dname, cur, 'Background', {}, {});
        this.sim.recordWrite({ via: 'gc', user: GC_USER, verb: 'delete', resource: res.plural, namespace: dns, name: dname, code: 200 });
      }
    }
    if (!ownerRes) return;
    const owner = this.store.get(ownerRes.plural, ns, name);
    if (!owner || owner.metadata.uid !== ownerUid) return;
    const fin = policy === 'Orphan' ? 'orphan' : 'foregroundDeletion';
    const o = clone(owner);
    o.metadata.finalizers = (o.metadata.finalizers || []).filter((f) => f !== fin);
    if (!o.metadata.finalizers.length) delete o.metadata.finalizers;
    const key = Store.key(ns, name);
    if (!(o.metadata.finalizers || []).length) {
      this.store.commit(ownerRes.plural, 'MODIFIED', key, o, owner);
      this.store.commit(ownerRes.plural, 'DELETED', key, o, o);
    } else {
      this.store.commit(ownerRes.plural, 'MODIFIED', key, o, owner);
    }
    this.sim.recordWrite({ via: 'gc', user: GC_USER, verb: 'delete', resource: ownerRes.plural, namespace: ns, name, code: 200 });
  }
}

// The Status a DELETE answers with when the object went at once
// (store.finalizeDelete: details.kind carries the resource name).
function successStatus(res, obj) {
  return {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success',
    details: { name: obj.metadata.name, group: res.group || undefined, kind: res.plural, uid: obj.metadata.uid },
  };
}

module.exports = { GC, successStatus };
