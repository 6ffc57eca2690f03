'use strict';
// Test harness: start the simulator as a child process on free ports, talk
// to it over gRPC with clients built from the same official descriptors,
// and drive it through the admin HTTP API.

const { spawn } = require('child_process');
const http = require('http');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const schema = require('./lib/schema');

const SERVER = path.join(__dirname, 'server.js');

// Poll `fn` until it returns a truthy value or the deadline passes.
async function waitFor(fn, { timeoutMs = 15000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last value: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// A gRPC client for WorkflowService whose responses are plain objects
// (enums as names, 64-bit integers as numbers, bytes as Buffer).
function makeClient(address, credentials = grpc.credentials.createInsecure(), options = {}) {
  const def = schema.grpcServiceDefinition();
  const Ctor = grpc.makeGenericClientConstructor(def, 'WorkflowService');
  return new Ctor(address, credentials, options);
}

function toPlain(name, msg) {
  const Res = schema.method(name).resolvedResponseType;
  return Res.toObject(msg, { enums: String, longs: Number, defaults: false, arrays: true, oneofs: true });
}

class Sim {
  constructor(child, ports, stderrLines, stdout) {
    this.child = child;
    this.stdout = stdout; // {text}: everything written to stdout so far
    this.grpcPort = ports.grpc;
    this.adminPort = ports.admin;
    this.stderrLines = stderrLines;
    this.clients = [];
    this.defaultMetadata = {};
  }

  address() {
    return `127.0.0.1:${this.grpcPort}`;
  }

  client(credentials, options) {
    const c = makeClient(this.address(), credentials, options);
    this.clients.push(c);
    return c;
  }

  // Unary call; resolves to the plain response, rejects with the gRPC error
  // (code, details, metadata).  `metadata` is an object of header values;
  // temporal-namespace is added automatically from req.namespace unless
  // `noNamespaceHeader` is set.
  call(method, req = {}, { metadata = {}, client, deadlineMs = 5000, noNamespaceHeader = false } = {}) {
    const c = client || this.defaultClient || (this.defaultClient = this.client());
    const md = new grpc.Metadata();
    if (req.namespace && !noNamespaceHeader && metadata['temporal-namespace'] === undefined) md.set('temporal-namespace', req.namespace);
    for (const [k, v] of Object.entries({ ...this.defaultMetadata, ...metadata })) md.set(k, v);
    return new Promise((resolve, reject) => {
      c[method](req, md, { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err) reject(err);
        else resolve(toPlain(method, res));
      });
    });
  }

  admin(method, urlPath, body) {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
      const req = http.request({
        host: '127.0.0.1',
        port: this.adminPort,
        method,
        path: urlPath,
        headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {},
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch (err) {
            reject(new Error(`admin ${method} ${urlPath}: bad JSON ${text}`));
            return;
          }
          if (res.statusCode >= 400) {
            const e = new Error(`admin ${method} ${urlPath}: ${res.statusCode} ${json.error}`);
            e.status = res.statusCode;
            e.body = json;
            reject(e);
          } else {
            resolve(json);
          }
        });
      });
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  post(urlPath, body = {}) {
    return this.admin('POST', urlPath, body);
  }

  state() {
    return this.admin('GET', '/state');
  }

  // Register a version by simulating a versioned poll.
  poll(deploymentName, buildId, taskQueue = 'tq', extra = {}) {
    return this.post('/pollers', { deploymentName, buildId, taskQueue, ...extra });
  }

  async stop() {
    for (const c of this.clients) c.close();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    return new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.kill('SIGTERM');
    });
  }

  log() {
    return this.stderrLines.join('\n');
  }
}

// Start a simulator with the given extra arguments; resolves once it
// printed its ports.
function startSim(args = [], { timeoutMs = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    const stderrLines = [];
    const stdout = { text: '' };
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(new Error(`simulator did not start in ${timeoutMs} ms:\n${stderrLines.join('\n')}`));
    }, timeoutMs);
    let partial = '';
    child.stderr.on('data', (d) => {
      partial += d.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop();
      stderrLines.push(...lines);
    });
    child.stdout.on('data', (d) => {
      stdout.text += d.toString('utf8');
      const nl = stdout.text.indexOf('\n');
      if (nl >= 0 && !done) {
        done = true;
        clearTimeout(timer);
        try {
          resolve(new Sim(child, JSON.parse(stdout.text.slice(0, nl)), stderrLines, stdout));
        } catch (err) {
          reject(new Error(`bad ready line ${JSON.stringify(stdout.text)}`));
        }
      }
    });
    child.on('exit', (code, signal) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`simulator exited (${code ?? signal}) before ready:\n${stderrLines.join('\n')}${partial}`));
    });
  });
}

// Assert that a promise rejects with the given gRPC code (name) and, when
// given, a message matching `message` (string = exact, RegExp = test).
async function expectGrpcError(promise, code, message) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  if (!err) throw new Error(`expected ${code} but the call succeeded`);
  if (err.code !== grpc.status[code]) {
    throw new Error(`expected ${code} but got ${err.code} (${grpc.status[err.code] || '?'}): ${err.details}`);
  }
  if (message instanceof RegExp && !message.test(err.details)) throw new Error(`message ${JSON.stringify(err.details)} does not match ${message}`);
  if (typeof message === 'string' && err.details !== message) throw new Error(`message ${JSON.stringify(err.details)} !== ${JSON.stringify(message)}`);
  return err;
}

// Decode grpc-status-details-bin into [{type, value}].
function statusDetails(err) {
  const raw = err.metadata && err.metadata.get('grpc-status-details-bin');
  if (!raw || !raw.length) return [];
  const Status = schema.type('google.rpc.Status');
  const st = Status.decode(raw[0]);
  return st.details.map((any) => {
    const type = any.type_url.replace(/^type\.googleapis\.com\//, '');
    const T = schema.type(type);
    return { type, value: T.toObject(T.decode(any.value), { defaults: false }) };
  });
}

function tsMs(t) {
  if (!t) return null;
  return Number(t.seconds) * 1000 + Math.floor((t.nanos || 0) / 1e6);
}

module.exports = { startSim, waitFor, expectGrpcError, statusDetails, makeClient, tsMs, grpc, schema };
