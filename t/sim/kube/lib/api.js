'use strict';
// The API server's HTTP front: request info (the apiserver RequestInfo
// resolver), fault injection, authentication, authorisation, body limits,
// routing to the registry and to watch streams, discovery documents, and
// the request and write logs.

const { ApiError, statuses, statusForCode } = require('./status');
const R = require('./resources');
const { serveWatch } = require('./watch');

const MAX_BODY = 3 * 1024 * 1024; // apiserver MaxRequestBodyBytes (notes §2.1)
const MUTATING = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

// Split a path into the apiserver's RequestInfo.
function requestInfo(method, path, query) {
  const info = { isResource: false, path, verb: method.toLowerCase(), apiGroup: '', apiVersion: '' };
  const parts = path.split('/').filter(Boolean);
  let rest;
  if (parts[0] === 'api' && parts.length >= 3) {
    info.apiVersion = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    info.apiGroup = parts[1];
    info.apiVersion = parts[2];
    rest = parts.slice(3);
  } else {
    return info;
  }
  info.isResource = true;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    info.namespace = rest[1];
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces' && rest.length === 2) {
    info.resource = 'namespaces';
    info.name = rest[1];
    rest = [];
  }
  if (rest.length) {
    info.resource = rest[0];
    if (rest.length >= 2) info.name = rest[1];
    if (rest.length >= 3) info.subresource = rest[2];
    if (rest.length > 3) info.extra = true;
  }
  const watch = query.watch === 'true' || query.watch === '1';
  switch (method) {
    case 'GET': case 'HEAD':
      info.verb = info.name ? 'get' : (watch ? 'watch' : 'list');
      break;
    case 'POST': info.verb = 'create'; break;
    case 'PUT': info.verb = 'update'; break;
    case 'PATCH': info.verb = 'patch'; break;
    case 'DELETE': info.verb = info.name ? 'delete' : 'deletecollection'; break;
    default: info.verb = method.toLowerCase();
  }
  return info;
}

// Does the Accept header allow a JSON answer?
function acceptsJson(accept) {
  if (!accept) return true;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    if (params.some((p) => p.startsWith('as='))) return false;
    return type === 'application/json' || type === '*/*' || type === 'application/*' || type === '';
  });
}

// A missing Content-Type is read as JSON, as the server's negotiation does.
function isJsonBody(contentType) {
  const t = (contentType || '').split(';')[0].trim().toLowerCase();
  return t === '' || t === 'application/json';
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', () => (tooBig
      ? reject(statuses.entityTooLarge(`limit is ${MAX_BODY}`))
      : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Api {
  constructor(sim) {
    this.sim = sim;
  }

  async handle(req, res) {
    const sim = this.sim;
    const started = Date.now();
    const url = new URL(req.url, 'https://127.0.0.1');
    const query = {};
    for (const [k, v] of url.searchParams) if (!(k in query)) query[k] = v;
    const queryString = url.search.slice(1);
    const info = requestInfo(req.method, url.pathname, query);
    const entry = {
      method: req.method, verb: info.verb, path: url.pathname, query: queryString,
      resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name,
      user: null, token: null,
    };
    const finish = (code) => {
      entry.code = code;
      entry.durationMs = Date.now() - started;
      sim.journal.request(entry);
    };
    let who = null;
    let body = null;
    let leaseBefore;
    try {
      // Faults come first: they stand for the network and the server's
      // health, before any of the request is looked at.
      const fault = sim.faults.take(req.method, url.pathname, queryString, false);
      if (fault) {
        if (fault.action === 'delay') {
          await sleep(fault.delayMs);
        } else {
          const caller = sim.auth.authenticate(req);
          entry.user = caller ? caller.user : null;
          entry.token = caller ? caller.token : null;
          const code = this.serveFault(fault, req, res, entry, finish);
          if (MUTATING.has(info.verb) && info.isResource) {
            this.logWrite(info, caller, req, code, null, undefined, false, null, fault.id);
          }
          return undefined;
        }
      }
      who = sim.auth.authenticate(req);
      if (!who) throw statuses.unauthorized();
      entry.user = who.user;
      entry.token = who.token;
      const denied = sim.auth.authorize(who, info);
      if (denied) {
        throw info.isResource
          ? statuses.forbidden(info.apiGroup, info.resource, info.name || '', denied)
          : statuses.forbidden('', '', '', denied);
      }
      if (!info.isResource) return this.serveNonResource(req, res, url.pathname, finish);
      if (!acceptsJson(req.headers.accept)) {
        throw statuses.notAcceptable(['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']);
      }
      const rsrc = this.resolve(info);
      if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(req.method)) body = await readBody(req);
      if ((req.method === 'POST' || req.method === 'PUT') && !isJsonBody(req.headers['content-type'])) {
        // Only JSON bodies are modelled (the real server also takes YAML
        // and protobuf).
        throw statuses.unsupportedMediaType(['application/json']);
      }
      if (rsrc === R.leases && MUTATING.has(info.verb)) {
        const cur = sim.store.get('leases', info.namespace, targetName(info, body));
        leaseBefore = cur ? cur.spec : null;
      }
      if (info.verb === 'watch') {
        // A watch is logged when it ends.
        await serveWatch(sim, req, res, rsrc, info.namespace, query, {
          path: url.pathname, query: queryString, user: who.user, onClose: () => finish(200),
        });
        return undefined;
      }
      const opts = { warnings: [], dryRun: query.dryRun === 'All', fieldValidation: query.fieldValidation };
      const result = this.dispatch(rsrc, info, req, body, query, opts);
      this.send(res, result.code, result.obj, opts.warnings);
      finish(result.code);
      if (MUTATING.has(info.verb)) this.logWrite(info, who, req, result.code, result.obj, leaseBefore, result.noop, body);
    } catch (err) {
      const e = err instanceof ApiError ? err : statuses.internal(err && err.message ? err.message : String(err));
      if (!(err instanceof ApiError)) sim.log(`internal error on ${req.method} ${req.url}: ${err && err.stack}`);
      if (res.headersSent) {
        res.destroy();
      } else {
        this.send(res, e.code, e.status, [], e.headers);
      }
      finish(e.code);
      if (MUTATING.has(info.verb) && info.isResource) {
        this.logWrite(info, who, req, e.code, e.status, leaseBefore, false, body);
      }
    }
    return undefined;
  }

  // Map a resource request to its definition, or throw 404/405 as the real
  // server does for paths and methods it does not serve.
  resolve(info) {
    const rsrc = info.resource ? R.lookup(info.apiGroup, info.apiVersion, info.resource) : null;
    if (!rsrc || info.extra || (!info.namespace && info.name)) throw statuses.generic(404);
    // There is no POST route on a named object, and no PUT, PATCH or DELETE
    // on a collection.
    if (info.verb === 'create' && info.name) throw statuses.generic(405);
    if (['update', 'patch', 'deletecollection'].includes(info.verb) && !info.name) throw statuses.generic(405);
    if (info.subresource && !(rsrc.subresources || []).includes(info.subresource)) throw statuses.generic(404);
    if (info.subresource === 'scale' && !['get', 'update', 'patch'].includes(info.verb)) throw statuses.generic(405);
    if (info.subresource === 'status' && info.verb !== 'get') throw statuses.generic(405);
    if (!info.subresource && !rsrc.verbs.includes(info.verb)) throw statuses.generic(405);
    return rsrc;
  }

  dispatch(rsrc, info, req, body, query, opts) {
    const reg = this.sim.registry;
    const ns = info.namespace;
    if (info.subresource === 'scale') {
      if (info.verb === 'get') return { code: 200, obj: reg.getScale(rsrc, ns, info.name) };
      if (info.verb === 'update') return reg.putScale(rsrc, ns, info.name, body, opts);
      return reg.patchScale(rsrc, ns, info.name, req.headers['content-type'], body, opts);
    }
    switch (info.verb) {
      case 'get': return { code: 200, obj: reg.get(rsrc, ns, info.name) };
      case 'list': return { code: 200, obj: reg.list(rsrc, ns, query) };
      case 'create': {
        if (!ns) throw statuses.generic(405);
        return reg.create(rsrc, ns, body, opts);
      }
      case 'update': return reg.update(rsrc, ns, info.name, body, opts);
      case 'patch': return reg.patch(rsrc, ns, info.name, req.headers['content-type'], body, opts);
      case 'delete': return reg.delete(rsrc, ns, info.name, body, query, opts);
      default: throw statuses.generic(405);
    }
  }

  serveFault(fault, req, res, entry, finish) {
    entry.fault = fault.id;
    if (fault.action === 'drop') {
      req.socket.destroy();
      finish(0);
      return 0;
    }
    const headers = {};
    if (fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter);
    if (fault.action === 'throttle' && fault.form === 'text') {
      // The max-in-flight and APF filters answer with http.Error.
      res.writeHead(429, this.sim.headers({ 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...headers }));
      res.end('Too many requests, please try again later.\n');
      finish(429);
      return 429;
    }
    if (fault.body !== undefined) {
      res.writeHead(fault.code, this.sim.headers({ 'Content-Type': fault.contentType || 'text/plain; charset=utf-8', ...headers }));
      res.end(fault.body);
      finish(fault.code);
      return fault.code;
    }
    const status = statusForCode(fault.code, fault.message, fault.reason);
    if (fault.retryAfter !== undefined) status.details = { ...(status.details || {}), retryAfterSeconds: fault.retryAfter };
    this.send(res, fault.code, reorderStatus(status), [], headers);
    finish(fault.code);
    return fault.code;
  }

  serveNonResource(req, res, path, finish) {
    const doc = this.discovery(path, req);
    if (doc === undefined) {
      res.writeHead(404, this.sim.headers({ 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }));
      res.end('404 page not found\n');
      finish(404);
      return undefined;
    }
    if (typeof doc === 'string') {
      res.writeHead(200, this.sim.headers({ 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }));
      res.end(doc);
    } else {
      this.send(res, 200, doc, []);
    }
    finish(200);
    return undefined;
  }

  // /version and the discovery documents (enough for a client to learn the
  // server version and which resources and verbs exist).
  discovery(path, req) {
    const p = path.replace(/\/+$/, '') || '/';
    const sim = this.sim;
    if (p === '/version') return sim.versionInfo();
    if (p === '/healthz' || p === '/livez' || p === '/readyz') return 'ok';
    if (p === '/api') {
      return {
        kind: 'APIVersions', versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `${req.socket.localAddress}:${req.socket.localPort}` }],
      };
    }
    const groups = [...new Set(R.ALL.filter((r) => r.group).map((r) => r.group))].sort();
    const groupDoc = (g) => ({
      name: g, versions: [{ groupVersion: `${g}/v1`, version: 'v1' }],
      preferredVersion: { groupVersion: `${g}/v1`, version: 'v1' },
    });
    if (p === '/apis') return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupDoc) };
    const m = /^\/apis\/([^/]+)$/.exec(p);
    if (m && groups.includes(m[1])) return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(m[1]) };
    const gv = p === '/api/v1' ? ['', 'v1'] : (/^\/apis\/([^/]+)\/([^/]+)$/.exec(p) || []).slice(1);
    if (gv.length === 2) {
      const list = R.ALL.filter((r) => r.group === gv[0] && r.version === gv[1]);
      if (!list.length) return undefined;
      const resources = [];
      for (const r of list) {
        resources.push({
          name: r.plural, singularName: r.singular, namespaced: true, kind: r.kind,
          verbs: r.verbs, ...(r.shortNames ? { shortNames: r.shortNames } : {}),
        });
        if ((r.subresources || []).includes('scale')) {
          resources.push({ name: `${r.plural}/scale`, singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
        }
        if ((r.subresources || []).includes('status')) {
          resources.push({ name: `${r.plural}/status`, singularName: '', namespaced: true, kind: r.kind, verbs: ['get'] });
        }
      }
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv[0] ? `${gv[0]}/${gv[1]}` : 'v1', resources };
    }
    return undefined;
  }

  send(res, code, obj, warnings, extra = {}) {
    const headers = this.sim.headers({ 'Content-Type': 'application/json', ...extra });
    if (warnings && warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    res.writeHead(code, headers);
    res.end(JSON.stringify(obj) + '\n');
  }

  logWrite(info, who, req, code, obj, leaseBefore, noop, body, faultId) {
    const ok = code >= 200 && code < 300;
    const meta = obj && obj.metadata;
    const name = (ok && meta && meta.name) || targetName(info, body);
    const entry = {
      via: 'api', method: req.method, verb: info.verb, path: info.path,
      resource: info.resource, subresource: info.subresource, namespace: info.namespace,
      name,
      user: who ? who.user : null, token: who ? who.token : null,
      contentType: req.headers['content-type'], code,
      reason: ok ? undefined : obj && obj.reason,
      resourceVersion: ok && meta && meta.resourceVersion ? meta.resourceVersion : undefined,
      noop: noop || undefined,
      fault: faultId,
    };
    if (info.resource === 'leases') {
      entry.leaseSpecBefore = leaseBefore === undefined ? undefined : leaseBefore;
      if (ok) {
        const cur = this.sim.store.get('leases', info.namespace, name);
        entry.leaseSpec = cur ? cur.spec : null;
      }
    }
    this.sim.journal.write(entry);
  }
}

// The object a request is about: from the URL, or for a create from the
// body (so failed creates are logged under the name they asked for).
function targetName(info, body) {
  if (info.name) return info.name;
  if (!body || !body.length) return undefined;
  try {
    const m = JSON.parse(body.toString('utf8')).metadata;
    return m && typeof m.name === 'string' ? m.name : undefined;
  } catch (e) {
    return undefined;
  }
}

// statusForCode builds details after code; keep the encoder's field order.
function reorderStatus(s) {
  const { kind, apiVersion, metadata, status, message, reason, details, code } = s;
  const out = { kind, apiVersion, metadata, status };
  if (message) out.message = message;
  if (reason) out.reason = reason;
  if (details) out.details = details;
  out.code = code;
  return out;
}

module.exports = { Api, requestInfo };
