'use strict';
// The admin API: plain HTTP + JSON on a second loopback port, for tests to
// shape the simulated cluster and inspect what clients did. Every endpoint
// is listed in t/sim/kube/README.md.

const { ApiError, statuses } = require('./status');
const { decode, DecodeError } = require('./schema');
const { Store } = require('./store');
const { checkRules } = require('./auth');
const { mergePatch } = require('./patch');
const V = require('./validation');
const R = require('./resources');
const { clone, canonical, deepEqual, uid, nowTime, generateName } = require('./util');

class AdminError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const bad = (m) => new AdminError(400, m);
const notFound = (m) => new AdminError(404, m);

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (!text) return resolve({});
      try {
        return resolve(JSON.parse(text));
      } catch (e) {
        return reject(bad(`request body is not JSON: ${e.message}`));
      }
    });
    req.on('error', reject);
  });
}

function resourceOf(name) {
  const r = R.BY_PLURAL.get(name);
  if (!r) throw notFound(`unknown resource ${JSON.stringify(name)}; known: ${R.ALL.map((x) => x.plural).join(', ')}`);
  return r;
}

const num = (v, what, min = 0) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw bad(`${what} must be a number >= ${min}`);
  return n;
};

class Admin {
  constructor(sim) {
    this.sim = sim;
    // [method, pattern, handler(params, body, query)]
    this.routes = [
      ['GET', /^\/healthz$/, () => ({ ok: true })],
      ['GET', /^\/state$/, () => this.state()],
      ['POST', /^\/reset$/, () => { this.sim.reset(); return { ok: true }; }],
      ['GET', /^\/settings$/, () => this.settings()],
      ['PATCH', /^\/settings$/, (p, b) => this.patchSettings(b)],
      ['POST', /^\/compact$/, () => { this.sim.store.compact(); return { compactedResourceVersion: String(this.sim.store.compactedRV) }; }],
      ['GET', /^\/namespaces$/, () => ({ namespaces: [...this.sim.namespaces].sort() })],
      ['POST', /^\/namespaces$/, (p, b) => this.addNamespace(b)],
      ['GET', /^\/tokens$/, () => ({ tokens: this.sim.auth.list() })],
      ['POST', /^\/tokens$/, (p, b) => this.addToken(b)],
      ['DELETE', /^\/tokens\/([^/]+)$/, (p) => this.revokeToken(p[0])],
      ['POST', /^\/tokens\/([^/]+)\/expire$/, (p) => this.expireToken(p[0])],
      ['PUT', /^\/tokens\/([^/]+)\/rules$/, (p, b) => this.setRules(p[0], b)],
      ['GET', /^\/faults$/, () => ({ faults: this.sim.faults.list() })],
      ['POST', /^\/faults$/, (p, b) => this.addFault(b)],
      ['DELETE', /^\/faults$/, () => { this.sim.faults.clear(); return { ok: true }; }],
      ['DELETE', /^\/faults\/(\d+)$/, (p) => this.removeFault(Number(p[0]))],
      ['GET', /^\/watches$/, () => ({ watches: [...this.sim.watches].map((w) => w.summary()) })],
      ['POST', /^\/watches\/cut$/, (p, b) => this.cutWatches(b)],
      ['GET', /^\/objects\/([^/]+)$/, (p, b, q) => this.listObjects(p[0], q)],
      ['GET', /^\/objects\/([^/]+)\/([^/]+)\/([^/]+)$/, (p) => this.getObject(...p)],
      ['POST', /^\/objects\/([^/]+)$/, (p, b, q) => this.createObject(p[0], b, q)],
      ['PUT', /^\/objects\/([^/]+)\/([^/]+)\/([^/]+)$/, (p, b) => this.putObject(...p, b)],
      ['PATCH', /^\/objects\/([^/]+)\/([^/]+)\/([^/]+)$/, (p, b) => this.patchObject(...p, b)],
      ['DELETE', /^\/objects\/([^/]+)\/([^/]+)\/([^/]+)$/, (p, b, q) => this.deleteObject(...p, q)],
      ['POST', /^\/deployments\/([^/]+)\/([^/]+)\/status$/, (p, b) => this.deploymentStatus(p[0], p[1], b)],
      ['POST', /^\/deployments\/([^/]+)\/([^/]+)\/reconcile$/, (p, b) => this.reconcile(p[0], p[1], b)],
      ['GET', /^\/writes$/, (p, b, q) => this.writes(q)],
      ['DELETE', /^\/writes$/, () => { this.sim.journal.writes.clear(); return { ok: true }; }],
      ['GET', /^\/requests$/, (p, b, q) => this.requests(q)],
      ['GET', /^\/requests\/summary$/, (p, b, q) => ({ users: this.sim.journal.summary(q.windowMs ? num(q.windowMs, 'windowMs') : 0) })],
      ['DELETE', /^\/requests$/, () => { this.sim.journal.requests.clear(); return { ok: true }; }],
    ];
  }

  async handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    let code = 200;
    let out;
    try {
      const path = url.pathname.replace(/\/+$/, '') || '/';
      let route = null;
      let params = null;
      let pathMatched = false;
      for (const [m, re, fn] of this.routes) {
        const match = re.exec(path);
        if (!match) continue;
        pathMatched = true;
        if (m !== req.method) continue;
        route = fn;
        params = match.slice(1).map(decodeURIComponent);
        break;
      }
      if (!route) throw new AdminError(pathMatched ? 405 : 404, `no admin endpoint ${req.method} ${url.pathname}`);
      const body = ['POST', 'PUT', 'PATCH'].includes(req.method) ? await readJson(req) : {};
      out = await route(params, body, query);
      if (out && out.__code) { code = out.__code; delete out.__code; }
    } catch (e) {
      if (e instanceof ApiError) { code = e.code; out = e.status; } else if (e instanceof AdminError) { code = e.code; out = { error: e.message }; } else {
        code = 500;
        out = { error: e && e.message ? e.message : String(e) };
        this.sim.log(`admin error on ${req.method} ${req.url}: ${e && e.stack}`);
      }
    }
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(out) + '\n');
  }

  state() {
    const objects = {};
    for (const r of R.ALL) objects[r.plural] = this.sim.store.list(r.plural).map((e) => e.obj);
    return {
      resourceVersion: String(this.sim.store.rv),
      compactedResourceVersion: String(this.sim.store.compactedRV),
      retainedEvents: this.sim.store.retained,
      namespaces: [...this.sim.namespaces].sort(),
      settings: this.settings(),
      tokens: this.sim.auth.list(),
      faults: this.sim.faults.list(),
      watches: [...this.sim.watches].map((w) => w.summary()),
      objects,
    };
  }

  settings() {
    return {
      ...this.sim.settings,
      anonymousAuth: this.sim.auth.anonymous,
      watchWindow: { ...this.sim.store.window },
      version: this.sim.versionInfo().gitVersion,
    };
  }

  patchSettings(b) {
    const s = this.sim.settings;
    for (const k of ['bookmarkIntervalMs', 'defaultWatchTimeoutSeconds', 'gcDelayMs', 'podTerminationDelayMs', 'reconcileDelayMs']) {
      if (b[k] !== undefined) s[k] = num(b[k], k, k === 'bookmarkIntervalMs' ? 10 : 0);
    }
    if (b.expiredWatchForm !== undefined) {
      if (!['event', 'http'].includes(b.expiredWatchForm)) throw bad('expiredWatchForm must be "event" or "http"');
      s.expiredWatchForm = b.expiredWatchForm;
    }
    if (b.autoReconcile !== undefined) s.autoReconcile = !!b.autoReconcile;
    if (b.anonymousAuth !== undefined) this.sim.auth.anonymous = !!b.anonymousAuth;
    if (b.watchWindow !== undefined) {
      const w = {};
      if (b.watchWindow.maxEvents !== undefined) w.maxEvents = num(b.watchWindow.maxEvents, 'watchWindow.maxEvents');
      if (b.watchWindow.maxAgeMs !== undefined) w.maxAgeMs = num(b.watchWindow.maxAgeMs, 'watchWindow.maxAgeMs');
      this.sim.store.setWindow(w);
    }
    return this.settings();
  }

  addNamespace(b) {
    const name = b.name;
    if (typeof name !== 'string' || V.isDNS1123Label(name).length) throw bad(`namespace name ${JSON.stringify(name)} is not a DNS-1123 label`);
    this.sim.namespaces.add(name);
    return { namespaces: [...this.sim.namespaces].sort() };
  }

  addToken(b) {
    try {
      const rec = this.sim.auth.add({
        token: b.token, user: b.user, uid: b.uid, groups: b.groups, rules: checkRules(b.rules === undefined ? null : b.rules),
        expiresAt: b.expiresInMs !== undefined ? Date.now() + num(b.expiresInMs, 'expiresInMs') : null,
      });
      return { __code: 201, ...rec };
    } catch (e) {
      throw bad(e.message);
    }
  }

  revokeToken(token) {
    if (!this.sim.auth.revoke(token)) throw notFound(`no token ${JSON.stringify(token)}`);
    return { revoked: token };
  }

  expireToken(token) {
    if (!this.sim.auth.expire(token)) throw notFound(`no token ${JSON.stringify(token)}`);
    return { expired: token };
  }

  setRules(token, b) {
    const rec = this.sim.auth.get(token);
    if (!rec) throw notFound(`no token ${JSON.stringify(token)}`);
    try {
      rec.rules = checkRules(b.rules === undefined ? null : b.rules);
    } catch (e) {
      throw bad(e.message);
    }
    return { ...rec };
  }

  addFault(b) {
    try {
      const r = this.sim.faults.add(b);
      return { __code: 201, ...this.sim.faults.list().find((x) => x.id === r.id) };
    } catch (e) {
      throw bad(e.message);
    }
  }

  removeFault(id) {
    if (!this.sim.faults.remove(id)) throw notFound(`no fault ${id}`);
    return { removed: id };
  }

  cutWatches(b) {
    let re = null;
    try {
      re = b.path ? new RegExp(b.path) : null;
    } catch (e) {
      throw bad(`path: ${e.message}`);
    }
    const mode = b.mode || 'abort';
    if (!['abort', 'end'].includes(mode)) throw bad('mode must be "abort" or "end"');
    return { cut: this.sim.cutWatches(re, mode) };
  }

  // ---- objects -----------------------------------------------------------------

  listObjects(resource, q) {
    const r = resourceOf(resource);
    return { items: this.sim.store.list(r.plural, q.namespace).map((e) => e.obj) };
  }

  getObject(resource, ns, name) {
    const r = resourceOf(resource);
    const o = this.sim.store.get(r.plural, ns, name);
    if (!o) throw statuses.notFound(r.group, r.plural, name);
    return o;
  }

  // Decode through the resource's type; errors as the API would give.
  decodeAdmin(r, body) {
    try {
      const d = decode(r.type(this.sim.minor), body);
      d.obj.metadata = d.obj.metadata || {};
      return d.obj;
    } catch (e) {
      if (e instanceof DecodeError) throw bad(e.message);
      throw e;
    }
  }

  validateAdmin(r, obj, old) {
    const ctx = { minor: this.sim.minor };
    const errs = old
      ? [...V.validateObjectMetaUpdate(obj.metadata, old.metadata, this.sim.minor), ...(r.validateUpdate ? r.validateUpdate(obj, old, ctx) : [])]
      : [...V.validateObjectMeta(obj.metadata, V.nameIsDNSSubdomain, this.sim.minor), ...(r.validate ? r.validate(obj, ctx) : [])];
    if (errs.length) throw this.sim.registry.invalid(r, obj.metadata.name || '', errs);
  }

  commit(r, type, obj, prev) {
    const out = this.sim.registry.canon(r, obj);
    if (prev && canonical({ ...out, metadata: { ...out.metadata, resourceVersion: prev.metadata.resourceVersion } }) === canonical(prev)) {
      return prev;
    }
    const key = Store.key(out.metadata.namespace, out.metadata.name);
    const res = this.sim.store.commit(r.plural, type, key, out, prev);
    this.sim.recordWrite({
      via: 'admin', user: 'admin', verb: prev ? 'update' : 'create', resource: r.plural,
      namespace: out.metadata.namespace, name: out.metadata.name, code: prev ? 200 : 201,
      resourceVersion: res.metadata.resourceVersion,
    });
    return res;
  }

  createObject(resource, body, q) {
    const r = resourceOf(resource);
    const obj = this.decodeAdmin(r, body);
    const m = obj.metadata;
    m.namespace = m.namespace || q.namespace || 'default';
    if (!this.sim.namespaces.has(m.namespace)) throw notFound(`namespace ${JSON.stringify(m.namespace)} does not exist; POST /namespaces first`);
    if (!m.name && m.generateName) m.name = generateName(m.generateName);
    m.uid = m.uid || uid();
    m.creationTimestamp = m.creationTimestamp || nowTime();
    delete m.resourceVersion;
    if (r.hasGeneration) m.generation = m.generation || 1;
    if (r.defaults) r.defaults(obj);
    if (r === R.pods && !obj.status) obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
    if (q.validate !== 'false') this.validateAdmin(r, obj, null);
    if (this.sim.store.get(r.plural, m.namespace, m.name)) throw statuses.alreadyExists(r.group, r.plural, m.name);
    return { __code: 201, ...this.commit(r, 'ADDED', obj, null) };
  }

  // Replace an object wholesale, status included; uid, creationTimestamp
  // and generation are kept (generation bumps on a spec change).
  replace(r, ns, name, obj, existing) {
    const m = obj.metadata;
    m.name = name;
    m.namespace = ns;
    m.uid = m.uid || existing.metadata.uid;
    m.creationTimestamp = m.creationTimestamp || existing.metadata.creationTimestamp;
    if (r.hasGeneration) {
      m.generation = existing.metadata.generation + (deepEqual(obj.spec, existing.spec) ? 0 : 1);
    }
    if (r.defaults) r.defaults(obj);
    this.validateAdmin(r, obj, existing);
    const out = this.commit(r, 'MODIFIED', obj, existing);
    if (out.metadata.deletionTimestamp && !(out.metadata.finalizers || []).length) {
      this.sim.store.commit(r.plural, 'DELETED', Store.key(ns, name), out, out);
    }
    return out;
  }

  putObject(resource, ns, name, body) {
    const r = resourceOf(resource);
    const existing = this.sim.store.get(r.plural, ns, name);
    if (!existing) throw statuses.notFound(r.group, r.plural, name);
    return this.replace(r, ns, name, this.decodeAdmin(r, body), existing);
  }

  patchObject(resource, ns, name, body) {
    const r = resourceOf(resource);
    const existing = this.sim.store.get(r.plural, ns, name);
    if (!existing) throw statuses.notFound(r.group, r.plural, name);
    return this.replace(r, ns, name, this.decodeAdmin(r, mergePatch(clone(existing), body)), existing);
  }

  deleteObject(resource, ns, name, q) {
    const r = resourceOf(resource);
    const existing = this.sim.store.get(r.plural, ns, name);
    if (!existing) throw statuses.notFound(r.group, r.plural, name);
    let result;
    if (q.force === 'true') {
      this.sim.store.commit(r.plural, 'DELETED', Store.key(ns, name), existing, existing);
      result = { deleted: true };
    } else {
      const policy = q.propagationPolicy || r.gcDefault || 'Background';
      if (!['Foreground', 'Background', 'Orphan'].includes(policy)) throw bad('propagationPolicy must be Foreground, Background or Orphan');
      result = this.sim.gc.delete(r, ns, name, existing, policy, {}, {}).obj;
    }
    this.sim.recordWrite({ via: 'admin', user: 'admin', verb: 'delete', resource: r.plural, namespace: ns, name, code: 200 });
    return result;
  }

  deploymentStatus(ns, name, b) {
    const counts = {};
    for (const k of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration']) {
      if (b[k] !== undefined) counts[k] = num(b[k], k);
    }
    if (b.available !== undefined) counts.available = !!b.available;
    const out = this.sim.controllers.setDeploymentStatus(ns, name, counts);
    if (!out) throw statuses.notFound('apps', 'deployments', name);
    return out;
  }

  reconcile(ns, name, b) {
    const out = this.sim.controllers.reconcile(ns, name, { ready: b.ready === undefined ? true : !!b.ready });
    if (!out) throw statuses.notFound('apps', 'deployments', name);
    return out;
  }

  writes(q) {
    const since = q.since ? num(q.since, 'since') : 0;
    const items = this.sim.journal.writes.query(since, {
      resource: q.resource, namespace: q.namespace, name: q.name, via: q.via, user: q.user, verb: q.verb,
    });
    return { writes: items, last: this.sim.journal.writes.seq };
  }

  requests(q) {
    const since = q.since ? num(q.since, 'since') : 0;
    const items = this.sim.journal.requests.query(since, {
      user: q.user, verb: q.verb, resource: q.resource, code: q.code, token: q.token,
    });
    return { requests: items, last: this.sim.journal.requests.seq };
  }
}

module.exports = { Admin };
