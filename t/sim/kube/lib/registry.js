'use strict';
// Generic registry: create, read, update, patch, delete and list of the
// resources in resources.js, following the order of checks of the real
// request path (apiserver pkg/endpoints/handlers/{create,update,patch,
// delete,get}.go, pkg/registry/generic/registry/store.go, pkg/registry/rest
// {create,update,delete}.go), so that when several things are wrong the
// error a client sees is the one the real server would give first.
//
// Every method either returns a result or throws an ApiError.

const { statuses, field, quote, GoLiteral } = require('./status');
const { decode, DecodeError } = require('./schema');
const { Store, TooOldError } = require('./store');
const P = require('./patch');
const V = require('./validation');
const R = require('./resources');
const S = require('./selector');
const { clone, canonical, uid, generateName, nowTime, isObject } = require('./util');

const OPTIMISTIC_LOCK = 'the object has been modified; please apply your changes to the latest version and try again';
const PATCH_TYPES = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
};
const CONTINUE_TOO_OLD = 'The provided continue parameter is too old to display a consistent list result. ' +
  'You can start a new list without the continue parameter, or use the continue token in this response to ' +
  'retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - ' +
  'objects that were created, modified, or deleted between the time the first chunk was returned and now may ' +
  'show up in the list.';

function apiVersionOf(res) { return res.group ? `${res.group}/${res.version}` : res.version; }

// The key the object has in etcd, as StorageError messages print it.
function etcdKey(res, ns, name) { return `/registry/${res.plural}/${ns}/${name}`; }

class Registry {
  constructor(sim) {
    this.sim = sim;
    this.store = sim.store;
  }

  get minor() { return this.sim.minor; }

  // ---- decoding ----------------------------------------------------------------

  // Decode a create/update body into the resource's type: 400 on errors as
  // handlers.transformDecodeError reports them.
  decodeBody(res, raw, type, opts) {
    const kindName = type.struct;
    const text = raw.toString('utf8');
    let body;
    try {
      body = JSON.parse(text);
    } catch (e) {
      const summary = text.length > 30 ? text.slice(0, 30) + ' ...' : text;
      throw statuses.badRequest(`the object provided is unrecognized (must be of type ${kindName}): ` +
        `couldn't get version/kind; json parse error: ${e.message} (${summary})`);
    }
    const gv = type === R.ScaleType ? 'autoscaling/v1' : apiVersionOf(res);
    const gotVersion = isObject(body) && typeof body.apiVersion === 'string' ? body.apiVersion : gv;
    const gotKind = isObject(body) && typeof body.kind === 'string' && body.kind ? body.kind : kindName;
    const version = gotVersion.split('/').pop();
    if (gotKind !== kindName) {
      throw statuses.badRequest(`${gotKind} in version ${quote(version)} cannot be handled as a ${kindName}: ` +
        `no kind ${quote(gotKind)} is registered for version ${quote(gotVersion)} in scheme "pkg/api/legacyscheme/scheme.go:30"`);
    }
    let decoded;
    try {
      decoded = decode(type, body);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      throw statuses.badRequest(`${gotKind} in version ${quote(version)} cannot be handled as a ${kindName}: ${e.message}`);
    }
    if (gotVersion !== gv) {
      throw statuses.badRequest(`the API version in the data (${gotVersion}) does not match the expected API version (${gv})`);
    }
    this.unknownFields(decoded.unknown, opts);
    const obj = decoded.obj;
    obj.kind = kindName;
    obj.apiVersion = gv;
    obj.metadata = obj.metadata || {};
    return obj;
  }

  // fieldValidation: Strict fails, Warn (the default from 1.27) adds
  // Warning headers, Ignore drops silently.
  unknownFields(unknown, opts) {
    if (!unknown.length) return;
    const mode = opts.fieldValidation || (this.minor >= 27 ? 'Warn' : 'Ignore');
    const msgs = unknown.map((u) => `unknown field ${quote(u)}`);
    if (mode === 'Strict') throw statuses.badRequest(`strict decoding error: ${msgs.join(', ')}`);
    if (mode === 'Warn') opts.warnings.push(...msgs);
  }

  // Re-encode an object the way the Go encoder would after all server-side
  // changes: struct key order, omitempty fields dropped.
  canon(res, obj) {
    const { kind, apiVersion, ...rest } = decode(res.type(this.minor), obj).obj;
    return { kind: res.kind, apiVersion: apiVersionOf(res), ...rest };
  }

  // ---- reads ---------------------------------------------------------------------

  get(res, ns, name) {
    const o = this.store.get(res.plural, ns, name);
    if (!o) throw statuses.notFound(res.group, res.plural, name);
    return clone(o);
  }

  requireNamespace(ns) {
    if (!this.sim.namespaces.has(ns)) throw statuses.notFound('', 'namespaces', ns);
  }

  // LIST with selectors, pagination and resourceVersion semantics.
  list(res, ns, q) {
    const labelReqs = this.labelSelector(q.labelSelector);
    const fieldReqs = this.fieldSelector(res, q.fieldSelector);
    const limit = q.limit ? Number(q.limit) : 0;
    if (q.limit && (!Number.isInteger(limit) || limit < 0)) {
      throw statuses.badRequest(`limit: Invalid value: ${quote(q.limit)}: must be a non-negative integer`);
    }
    let rv = this.store.rv;
    let startKey = null;
    let entries;
    if (q.continue) {
      if (q.resourceVersion) throw statuses.badRequest('specifying resource version is not allowed when using continue');
      const tok = decodeContinue(q.continue);
      rv = tok.rv;
      startKey = tok.start;
      try {
        entries = this.store.snapshot(res.plural, ns, rv);
      } catch (e) {
        if (!(e instanceof TooOldError)) throw e;
        const err = statuses.expired(CONTINUE_TOO_OLD);
        err.status.metadata = { continue: encodeContinue(this.store.rv, startKey) };
        throw err;
      }
    } else if (q.resourceVersion && q.resourceVersionMatch === 'Exact') {
      rv = parseRV(q.resourceVersion);
      if (rv > this.store.rv) throw tooLarge(rv, this.store.rv);
      try {
        entries = this.store.snapshot(res.plural, ns, rv);
      } catch (e) {
        if (!(e instanceof TooOldError)) throw e;
        throw statuses.expired('The resourceVersion for the provided list is too old.');
      }
    } else {
      if (q.resourceVersion && q.resourceVersion !== '0') {
        const want = parseRV(q.resourceVersion);
        if (want > this.store.rv) throw tooLarge(want, this.store.rv);
      }
      entries = this.store.list(res.plural, ns);
    }
    const matching = entries.filter(({ key, obj }) =>
      (startKey === null || key > startKey) &&
      S.matchLabelRequirements(labelReqs, obj.metadata.labels) &&
      S.matchFieldRequirements(fieldReqs, res.fields(obj)));
    const page = limit > 0 ? matching.slice(0, limit) : matching;
    const meta = { resourceVersion: String(rv) };
    if (limit > 0 && matching.length > limit) {
      meta.continue = encodeContinue(rv, page[page.length - 1].key);
      if (!labelReqs.length && !fieldReqs.length) meta.remainingItemCount = matching.length - limit;
    }
    return {
      kind: `${res.kind}List`, apiVersion: apiVersionOf(res), metadata: meta,
      items: page.map(({ obj }) => listItem(obj)),
    };
  }

  labelSelector(s) {
    try {
      return S.parseLabelSelector(s || '');
    } catch (e) {
      if (e instanceof S.SelectorError) throw statuses.badRequest(e.message);
      throw e;
    }
  }

  fieldSelector(res, s) {
    let reqs;
    try {
      reqs = S.parseFieldSelector(s || '');
    } catch (e) {
      if (e instanceof S.SelectorError) throw statuses.badRequest(e.message);
      throw e;
    }
    for (const r of reqs) if (!res.fieldLabels.includes(r.field)) throw statuses.badRequest(res.fieldError(r.field));
    return reqs;
  }

  // ---- create --------------------------------------------------------------------

  create(res, ns, rawBody, opts) {
    const obj = this.decodeBody(res, rawBody, res.type(this.minor), opts);
    // Admission (NamespaceLifecycle) runs before the registry.
    this.requireNamespace(ns);
    this.beforeCreate(res, ns, obj, opts);
    const rv = obj.metadata.resourceVersion;
    if (rv && /^[0-9]+$/.test(rv) && Number(rv) !== 0) {
      throw statuses.unknown('resourceVersion should not be set on objects to be created');
    }
    if (this.store.get(res.plural, ns, obj.metadata.name)) {
      throw statuses.alreadyExists(res.group, res.plural, obj.metadata.name);
    }
    return { code: 201, obj: this.commitCreate(res, ns, obj, opts) };
  }

  // rest.BeforeCreate: namespace check, system fields, generateName,
  // strategy preparation, validation.
  beforeCreate(res, ns, obj, opts) {
    const m = obj.metadata;
    if (m.namespace && m.namespace !== ns) {
      throw statuses.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    m.namespace = ns;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.selfLink;
    delete m.managedFields;
    m.uid = uid();
    m.creationTimestamp = nowTime();
    if (m.generateName && !m.name) m.name = generateName(m.generateName);
    delete m.generation;
    if (res.defaults) res.defaults(obj);
    if (res.prepareForCreate) res.prepareForCreate(obj, opts);
    const errs = V.validateObjectMeta(m, V.nameIsDNSSubdomain, this.minor);
    if (res.validate) errs.push(...res.validate(obj, { minor: this.minor }));
    if (errs.length) throw this.invalid(res, m.name || '', errs);
  }

  invalid(res, name, errs) {
    const group = res.invalidGroup !== undefined ? res.invalidGroup : res.group;
    return statuses.invalid(group, res.kind, name, errs);
  }

  commitCreate(res, ns, obj, opts) {
    const out = this.canon(res, obj);
    delete out.metadata.resourceVersion;
    if (opts.dryRun) return out;
    return clone(this.store.commit(res.plural, 'ADDED', Store.key(ns, out.metadata.name), out, null));
  }

  // ---- update (PUT) --------------------------------------------------------------

  update(res, ns, name, rawBody, opts) {
    const obj = this.decodeBody(res, rawBody, res.type(this.minor), opts);
    checkName(obj, ns, name);
    const existing = this.store.get(res.plural, ns, name);
    if (!existing) {
      if (!res.allowCreateOnUpdate) throw statuses.notFound(res.group, res.plural, name);
      this.requireNamespace(ns);
      this.beforeCreate(res, ns, obj, opts);
      return { code: 201, obj: this.commitCreate(res, ns, obj, opts) };
    }
    // Storage preconditions: a uid in the object must match.
    if (obj.metadata.uid && obj.metadata.uid !== existing.metadata.uid) {
      throw statuses.conflict(res.group, res.plural, name,
        `StorageError: invalid object, Code: 4, Key: ${etcdKey(res, ns, name)}, ResourceVersion: 0, ` +
        `AdditionalErrorMsg: Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${existing.metadata.uid}`);
    }
    return this.updateExisting(res, ns, name, obj, existing, opts);
  }

  // store.Update from the resourceVersion checks on.
  updateExisting(res, ns, name, obj, existing, opts) {
    const rvText = obj.metadata.resourceVersion || '';
    let rv = 0;
    if (rvText) {
      if (!/^[0-9]+$/.test(rvText)) throw statuses.unknown(`strconv.ParseUint: parsing ${quote(rvText)}: invalid syntax`);
      rv = Number(rvText);
    }
    if (rv === 0) {
      if (!res.allowUnconditionalUpdate) {
        throw statuses.invalid(res.group, res.plural, name,
          [field.invalid('metadata.resourceVersion', new GoLiteral('0x0'), 'must be specified for an update')]);
      }
      obj.metadata.resourceVersion = existing.metadata.resourceVersion;
    } else if (rvText !== existing.metadata.resourceVersion) {
      throw statuses.conflict(res.group, res.plural, name, OPTIMISTIC_LOCK);
    }
    this.beforeUpdate(res, ns, obj, existing, opts);
    return this.commitUpdate(res, ns, name, obj, existing, opts);
  }

  // rest.BeforeUpdate.
  beforeUpdate(res, ns, obj, old, opts) {
    const m = obj.metadata;
    const om = old.metadata;
    if (m.namespace && m.namespace !== ns) {
      throw statuses.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    m.namespace = ns;
    if (om.generation !== undefined) m.generation = om.generation;
    else delete m.generation;
    if (res.defaults) res.defaults(obj);
    if (res.prepareForUpdate) res.prepareForUpdate(obj, old, opts);
    if (!m.uid) m.uid = om.uid;
    m.creationTimestamp = om.creationTimestamp;
    if (om.deletionTimestamp) m.deletionTimestamp = om.deletionTimestamp;
    if (om.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
    delete m.managedFields;
    const errs = V.validateObjectMetaUpdate(m, om, this.minor);
    if (res.validateUpdate) errs.push(...res.validateUpdate(obj, old, { minor: this.minor }));
    if (errs.length) throw this.invalid(res, m.name || '', errs);
  }

  // Write unless nothing changed (etcd3 skips identical bytes, so a no-op
  // update keeps the resourceVersion and sends no watch event).
  commitUpdate(res, ns, name, obj, existing, opts) {
    const out = this.canon(res, obj);
    out.metadata.resourceVersion = existing.metadata.resourceVersion;
    if (canonical(out) === canonical(existing)) return { code: 200, obj: clone(existing), noop: true };
    if (opts.dryRun) return { code: 200, obj: out };
    const key = Store.key(ns, name);
    if (out.metadata.deletionTimestamp && !(out.metadata.finalizers || []).length) {
      // The last finalizer went away: the object is deleted by this update.
      this.store.commit(res.plural, 'MODIFIED', key, out, existing);
      const gone = this.store.commit(res.plural, 'DELETED', key, out, out);
      return { code: 200, obj: clone(gone) };
    }
    return { code: 200, obj: clone(this.store.commit(res.plural, 'MODIFIED', key, out, existing)) };
  }

  // ---- patch -----------------------------------------------------------------------

  patchType(contentType) {
    const ct = (contentType || '').split(';')[0].trim();
    const t = PATCH_TYPES[ct];
    if (!t) {
      throw statuses.unsupportedMediaType(Object.keys(PATCH_TYPES));
    }
    return t;
  }

  // Parse and apply a patch document to `current` (a plain object).
  applyPatch(type, rawBody, current) {
    const text = rawBody.toString('utf8');
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw statuses.badRequest(`error decoding patch: ${e.message}`);
    }
    if (type === 'json') {
      let ops;
      try {
        ops = P.decodeJsonPatch(doc);
      } catch (e) {
        throw statuses.badRequest(e.message);
      }
      if (ops.length > P.MAX_JSON_PATCH_OPS) {
        throw statuses.entityTooLarge(`The allowed maximum operations in a JSON patch is ${P.MAX_JSON_PATCH_OPS}, got ${ops.length}`);
      }
      try {
        return P.applyJsonPatch(current, ops);
      } catch (e) {
        if (e instanceof P.PatchError) {
          // notes §8: a failed `test` (or any failed operation) is a 422
          // Invalid carrying only the generic message.
          const err = statuses.generic(422);
          err.detail = e.message;
          throw err;
        }
        throw e;
      }
    }
    if (!isObject(doc)) {
      throw statuses.badRequest(`error decoding patch: json: cannot unmarshal ${Array.isArray(doc) ? 'array' : typeof doc} into Go value of type map[string]interface {}`);
    }
    if (type === 'merge') return P.mergePatch(current, doc);
    try {
      return P.strategicMergePatch(current, doc);
    } catch (e) {
      if (e instanceof P.PatchFormatError) throw statuses.badRequest(e.message);
      throw e;
    }
  }

  // Decode a patched object: failures are 422 with the patched JSON as the
  // invalid value (jsonPatcher.applyPatchToCurrentObject).
  decodePatched(res, type, patched, opts) {
    try {
      const d = decode(type, patched);
      this.unknownFields(d.unknown, opts);
      return d.obj;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      const group = type === R.ScaleType ? 'autoscaling' : (res.invalidGroup !== undefined ? res.invalidGroup : res.group);
      throw statuses.invalid(group, type.struct, '', [field.invalid('patch', canonical(patched), e.message)]);
    }
  }

  patch(res, ns, name, contentType, rawBody, opts) {
    const type = this.patchType(contentType);
    const existing = this.store.get(res.plural, ns, name);
    if (!existing) throw statuses.notFound(res.group, res.plural, name);
    const patched = this.applyPatch(type, rawBody, clone(existing));
    const obj = this.decodePatched(res, res.type(this.minor), patched, opts);
    obj.metadata = obj.metadata || {};
    checkName(obj, ns, name);
    obj.kind = res.kind;
    obj.apiVersion = apiVersionOf(res);
    return this.updateExisting(res, ns, name, obj, existing, opts);
  }

  // ---- scale subresource --------------------------------------------------------

  getScale(res, ns, name) {
    return R.deploymentToScale(this.get(res, ns, name));
  }

  updateScale(res, ns, name, scale, existing, opts) {
    const errs = R.validateScale(scale);
    if (errs.length) throw statuses.invalid('autoscaling', 'Scale', name, errs);
    const d = clone(existing);
    d.spec.replicas = (scale.spec && scale.spec.replicas) || 0;
    // A resourceVersion in the Scale is a precondition on the Deployment.
    d.metadata.resourceVersion = scale.metadata && scale.metadata.resourceVersion ? scale.metadata.resourceVersion : '';
    const r = this.updateExisting(res, ns, name, d, existing, opts);
    return { code: 200, obj: R.deploymentToScale(r.obj), noop: r.noop };
  }

  putScale(res, ns, name, rawBody, opts) {
    const scale = this.decodeBody(res, rawBody, R.ScaleType, opts);
    checkName(scale, ns, name);
    const existing = this.store.get(res.plural, ns, name);
    if (!existing) throw statuses.notFound(res.group, res.plural, name);
    return this.updateScale(res, ns, name, scale, existing, opts);
  }

  patchScale(res, ns, name, contentType, rawBody, opts) {
    const type = this.patchType(contentType);
    const existing = this.store.get(res.plural, ns, name);
    if (!existing) throw statuses.notFound(res.group, res.plural, name);
    const current = R.deploymentToScale(existing);
    const patched = this.applyPatch(type, rawBody, current);
    const scale = this.decodePatched(res, R.ScaleType, patched, opts);
    scale.metadata = scale.metadata || {};
    checkName(scale, ns, name);
    return this.updateScale(res, ns, name, scale, existing, opts);
  }

  // ---- delete ---------------------------------------------------------------------

  delete(res, ns, name, rawBody, query, opts) {
    let options = {};
    if (rawBody && rawBody.length) {
      try {
        options = JSON.parse(rawBody.toString('utf8'));
      } catch (e) {
        throw statuses.badRequest(`the object provided is unrecognized (must be of type DeleteOptions): ${e.message}`);
      }
      if (!isObject(options)) throw statuses.badRequest('the object provided is unrecognized (must be of type DeleteOptions): not a JSON object');
    }
    if (query.propagationPolicy) options.propagationPolicy = query.propagationPolicy;
    if (query.gracePeriodSeconds !== undefined) options.gracePeriodSeconds = Number(query.gracePeriodSeconds);
    if (query.dryRun === 'All' || (Array.isArray(options.dryRun) && options.dryRun.includes('All'))) opts.dryRun = true;
    const existing = this.store.get(res.plural, ns, name);
    if (!existing) throw statuses.notFound(res.group, res.plural, name);
    // rest.BeforeDelete: options first, then the early precondition checks.
    const errs = [];
    const pp = options.propagationPolicy;
    if (options.orphanDependents !== undefined && pp !== undefined) {
      errs.push(field.invalid('propagationPolicy', pp, 'orphanDependents and deletionPropagation cannot be both set'));
    }
    if (pp !== undefined && pp !== null && !['Foreground', 'Background', 'Orphan'].includes(pp)) {
      errs.push(field.notSupported('propagationPolicy', pp, ['Foreground', 'Background', 'Orphan', 'nil']));
    }
    if (errs.length) throw statuses.invalid('', '', '', errs);
    const pre = options.preconditions || {};
    const kindGroup = res.invalidGroup !== undefined ? res.invalidGroup : res.group;
    if (pre.uid && pre.uid !== existing.metadata.uid) {
      throw statuses.conflict(kindGroup, res.kind, name,
        `the UID in the precondition (${pre.uid}) does not match the UID in record (${existing.metadata.uid}). The object might have been deleted and then recreated`);
    }
    if (pre.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion) {
      throw statuses.conflict(kindGroup, res.kind, name,
        `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${existing.metadata.resourceVersion}). The object might have been modified`);
    }
    let policy = pp || (options.orphanDependents === true ? 'Orphan' : options.orphanDependents === false ? 'Background' : null);
    if (!policy) policy = res.gcDefault || 'Background';
    return this.sim.gc.delete(res, ns, name, existing, policy, options, opts);
  }
}

// handlers.checkName for PUT and PATCH: the object's name must be the one in
// the URL, and a namespace, when given, the request's.
function checkName(obj, ns, name) {
  const m = obj.metadata;
  if ((m.name || '') !== name) {
    throw statuses.badRequest(`the name of the object (${m.name || ''}) does not match the name on the URL (${name})`);
  }
  if (m.namespace && m.namespace !== ns) {
    throw statuses.badRequest(`the namespace of the object (${m.namespace}) does not match the namespace on the request (${ns})`);
  }
}

// List items are encoded without kind and apiVersion.
function listItem(obj) {
  const o = clone(obj);
  delete o.kind;
  delete o.apiVersion;
  return o;
}

function parseRV(s) {
  if (!/^[0-9]+$/.test(s)) {
    throw statuses.badRequest(`resourceVersion: Invalid value: ${quote(s)}: must be a non-negative integer`);
  }
  return Number(s);
}

function tooLarge(want, have) {
  return statuses.timeout(`Too large resource version: ${want}, current: ${have}`, 1,
    [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }]);
}

// Continue tokens are base64 of {"v":"meta.k8s.io/v1","rv":N,"start":KEY\0}
// like the etcd3 store's.
function encodeContinue(rv, key) {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: key + '\u0000' })).toString('base64url');
}

function decodeContinue(tok) {
  let c;
  try {
    c = JSON.parse(Buffer.from(tok, 'base64url').toString('utf8'));
  } catch (e) {
    throw statuses.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  if (!c || c.v !== 'meta.k8s.io/v1') throw statuses.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (typeof c.start !== 'string' || !c.start) throw statuses.badRequest('continue key is not valid: encoded start key is invalid');
  if (!Number.isInteger(c.rv) || c.rv <= 0) throw statuses.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  return { rv: c.rv, start: c.start.replace(/\u0000$/, '') };
}

module.exports = { Registry, apiVersionOf };
