'use strict';
// The gRPC frontend: serves every method of
// temporal.api.workflowservice.v1.WorkflowService from the official
// descriptors, and runs each call through the same pipeline:
//
//   audit wire bytes -> log decoded request -> injected faults ->
//   authentication -> temporal-namespace header -> handler -> response
//
// Unknown field numbers (fields the official schema does not define) and
// impossible wire types are found on the raw bytes before protobufjs drops
// them; such requests are logged with "UNKNOWN FIELDS" and counted in the
// state dump (counters.unknownFieldRequests).

const grpc = require('@grpc/grpc-js');
const schema = require('./schema');
const wire = require('./wire');
const { SimError, Status, codeName, unauthenticated, invalidArgument, internal } = require('./errors');
const { handlerFor, DEPLOYMENT_RPCS } = require('./rpc');

const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

// SDK names whose client-version the server's version checker parses
// (reference §1.2); other names are not checked.
const KNOWN_CLIENT_NAMES = new Set([
  'temporal-go', 'temporal-java', 'temporal-php', 'temporal-typescript', 'temporal-python',
  'temporal-dotnet', 'temporal-ruby', 'temporal-cli', 'temporal-ui', 'temporal-server',
]);
const SEMVER = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const RANGE_COMPARATOR = /^(?:[<>]=?|=|~|\^)?v?(?:\d+|x|\*)(?:\.(?:\d+|x|\*)){0,2}(?:-[0-9A-Za-z.-]+)?$/;

// A semver range as accepted by the server: alternatives separated by
// "||", each a space-separated list of comparators or a hyphen range.
function validSemverRange(s) {
  return s.split('||').every((alt) => {
    const parts = alt.trim().split(/\s+/).filter(Boolean);
    if (!parts.length) return false;
    if (parts.length === 3 && parts[1] === '-') return RANGE_COMPARATOR.test(parts[0]) && RANGE_COMPARATOR.test(parts[2]);
    return parts.every((p) => RANGE_COMPARATOR.test(p));
  });
}

// Stands in for a request whose bytes protobufjs could not decode.
class UndecodableRequest {
  constructor(reason) {
    this.reason = reason;
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function firstMetadata(md, key) {
  const v = md.get(key);
  return v.length ? String(v[0]) : null;
}

// Deployment name a request addresses, for the realistic RESOURCE_EXHAUSTED
// text of injected faults.
function deploymentOf(req) {
  if (!req) return '';
  if (req.deploymentName) return req.deploymentName;
  if (req.deploymentVersion && req.deploymentVersion.deploymentName) return req.deploymentVersion.deploymentName;
  if (req.version && /[.:]/.test(req.version)) return req.version.split(/[.:]/)[0];
  return '';
}

class GrpcFrontend {
  constructor(sim) {
    this.sim = sim;
    this.audits = new WeakMap();
    this.server = null;
    this.port = null;
  }

  // Bind 127.0.0.1:port (0 = free port) and start serving; resolves to the
  // bound port.
  start(port) {
    const o = this.sim.options;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
    const definition = schema.grpcServiceDefinition({ decodeRequest: (name, Req, buf) => this.decodeRequest(Req, buf) });
    const impl = {};
    for (const name of Object.keys(definition)) {
      impl[name] = (call, callback) => {
        this.handle(name, call, callback).catch((err) => {
          this.sim.log.error(`rpc ${name}: unexpected failure: ${err.stack || err}`);
          callback(internal(String(err.message || err)).toGrpc());
        });
      };
    }
    this.server.addService(definition, impl);
    let creds;
    if (o.tlsCertPem) {
      creds = grpc.ServerCredentials.createSsl(
        o.tlsCaPem || null,
        [{ cert_chain: o.tlsCertPem, private_key: o.tlsKeyPem }],
        !!o.tlsCaPem,
      );
    } else {
      creds = grpc.ServerCredentials.createInsecure();
    }
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`127.0.0.1:${port}`, creds, (err, bound) => {
        if (err) return reject(err);
        this.port = bound;
        return resolve(bound);
      });
    });
  }

  // Audit the raw bytes against the descriptor, then decode.  Never throws:
  // an undecodable request is answered like grpc-go does (INTERNAL).
  decodeRequest(Req, buf) {
    const findings = wire.audit(Req, buf);
    let msg;
    try {
      msg = Req.decode(buf);
    } catch (err) {
      msg = new UndecodableRequest(err.message);
      if (!findings.length) findings.push({ kind: 'malformed', path: Req.name, error: err.message });
    }
    this.audits.set(msg, findings);
    return msg;
  }

  stop() {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.tryShutdown(() => resolve());
      setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000).unref();
      return undefined;
    });
  }

  describeMetadata(md) {
    const parts = [];
    const ns = firstMetadata(md, 'temporal-namespace');
    if (ns !== null) parts.push(`temporal-namespace=${JSON.stringify(ns)}`);
    if (md.get('authorization').length) parts.push('authorization=<redacted>');
    for (const k of ['client-name', 'client-version', 'supported-server-versions', 'temporal-resource-id']) {
      const v = firstMetadata(md, k);
      if (v !== null) parts.push(`${k}=${JSON.stringify(v)}`);
    }
    return parts.join(' ');
  }

  // API key check (§1.2): "authorization: Bearer <key>", scheme compared
  // without regard to case.
  authenticate(md) {
    const key = this.sim.options.apiKey;
    if (!key) return;
    const h = firstMetadata(md, 'authorization');
    const m = h && /^bearer\s+(.+)$/i.exec(h.trim());
    if (!m || m[1] !== key) {
      this.sim.counters.unauthenticated += 1;
      throw unauthenticated(h ? 'Request unauthenticated: invalid API key.' : 'Request unauthenticated: missing authorization header.');
    }
  }

  // temporal-namespace (§1.2): expected on every request that has a
  // `namespace` field, never on GetSystemInfo.  Counted always; enforced
  // only with --require-namespace-header (Cloud-like behaviour).
  checkNamespaceHeader(name, Req, req, md) {
    const c = this.sim.counters.namespaceHeader;
    const header = firstMetadata(md, 'temporal-namespace');
    const enforce = this.sim.options.requireNamespaceHeader;
    if (name === 'GetSystemInfo') {
      if (header !== null) {
        c.onGetSystemInfo += 1;
        if (enforce) throw invalidArgument('temporal-namespace header must not be sent on GetSystemInfo');
      }
      return;
    }
    if (!Req.fields.namespace) return;
    if (header === null) {
      c.missing += 1;
      if (enforce) throw invalidArgument('temporal-namespace header is required');
    } else if (header !== req.namespace) {
      c.mismatch += 1;
      if (enforce) throw invalidArgument(`temporal-namespace header ${JSON.stringify(header)} does not match request namespace ${JSON.stringify(req.namespace)}`);
    } else {
      c.present += 1;
    }
  }

  // client-name / client-version / supported-server-versions (§1.2):
  // recorded always; a known SDK name with a version that is not semver,
  // or a malformed supported-server-versions range, is INVALID_ARGUMENT.
  checkClientHeaders(md) {
    const name = firstMetadata(md, 'client-name');
    const version = firstMetadata(md, 'client-version');
    if (name !== null || version !== null) {
      const key = `${name ?? ''}/${version ?? ''}`;
      this.sim.counters.clients[key] = (this.sim.counters.clients[key] || 0) + 1;
    }
    if (name !== null && KNOWN_CLIENT_NAMES.has(name) && !SEMVER.test(version || '')) {
      throw invalidArgument('Unable to parse client version');
    }
    const range = firstMetadata(md, 'supported-server-versions');
    if (range !== null && !validSemverRange(range)) throw invalidArgument('Unable to parse supported server versions');
  }

  faultError(rule, name, req) {
    if (rule.message !== undefined) return new SimError(rule.code, rule.message);
    if (rule.code === Status.RESOURCE_EXHAUSTED && DEPLOYMENT_RPCS.has(name) && deploymentOf(req)) {
      return new SimError(rule.code, this.sim.profile.wording.tooManyRequests(deploymentOf(req), name));
    }
    return new SimError(rule.code, `injected fault: ${codeName(rule.code)}`);
  }

  async handle(name, call, callback) {
    const { sim } = this;
    const started = process.hrtime.bigint();
    const m = schema.method(name);
    const Req = m.resolvedRequestType;
    const req = call.request;
    const md = call.metadata;

    const findings = this.audits.get(req) || [];
    const decoded = !(req instanceof UndecodableRequest);
    sim.log.info(`rpc ${name} ${this.describeMetadata(md)} req=${decoded ? JSON.stringify(schema.toJSON(Req, req)) : `<undecodable: ${req.reason}>`}`);
    if (findings.length) {
      sim.recordUnknownFields(name, findings);
      sim.log.warn(`UNKNOWN FIELDS in ${name} request: ${findings.map((f) => `${f.path} (${f.kind}${f.wireType === undefined ? '' : `, wire type ${f.wireType}`})`).join(', ')}`);
    }
    if (!decoded) {
      const err = internal(`grpc: error unmarshalling request: ${req.reason}`);
      sim.recordCall(name, err.codeName);
      callback(err.toGrpc());
      return;
    }

    let code = 'OK';
    try {
      const fault = sim.faults.take(name);
      if (fault.delayMs) {
        sim.counters.delaysInjected += 1;
        sim.log.info(`rpc ${name}: injected delay ${fault.delayMs} ms`);
        await sleep(fault.delayMs);
      }
      let afterError = null;
      if (fault.rule) {
        sim.counters.faultsInjected += 1;
        const err = this.faultError(fault.rule, name, req);
        if (fault.rule.phase === 'after') afterError = err;
        else throw err;
      }
      this.authenticate(md);
      this.checkClientHeaders(md);
      this.checkNamespaceHeader(name, Req, req, md);
      const res = handlerFor(name, sim.profile)({ sim, method: name, metadata: md }, req);
      if (afterError) throw afterError;
      if (call.cancelled) {
        code = 'CANCELLED';
        return;
      }
      if (sim.log.enabled('debug')) {
        const Res = m.resolvedResponseType;
        sim.log.debug(`rpc ${name} -> OK res=${JSON.stringify(schema.toJSON(Res, Res.fromObject(res)))}`);
      }
      callback(null, res);
    } catch (err) {
      if (!(err instanceof SimError)) throw err;
      code = err.codeName;
      callback(err.toGrpc());
      sim.log.info(`rpc ${name} -> ${code}: ${err.message}`);
    } finally {
      sim.recordCall(name, code);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      sim.log.debug(`rpc ${name} done ${code} in ${ms.toFixed(1)} ms`);
    }
  }
}

module.exports = { GrpcFrontend };
