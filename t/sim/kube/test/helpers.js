'use strict';
// Shared test helpers: a throwaway CA and server certificate made with the
// openssl CLI (through ../mkcerts.sh), a simulator child process, small
// HTTPS/admin clients, a watch-stream reader and deadline-bound waiting.

const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');
const http = require('http');
const readline = require('readline');

const SERVER = path.join(__dirname, '..', 'server.js');
const MKCERTS = path.join(__dirname, '..', 'mkcerts.sh');

let certDir = null;

// Generate the CA and server certificate once per test process.
function certs() {
  if (!certDir) {
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kube-sim-certs-'));
    execFileSync('sh', [MKCERTS, certDir], { stdio: ['ignore', 'ignore', 'inherit'] });
    process.on('exit', () => fs.rmSync(certDir, { recursive: true, force: true }));
  }
  return {
    dir: certDir,
    ca: path.join(certDir, 'ca.crt'),
    cert: path.join(certDir, 'server.crt'),
    key: path.join(certDir, 'server.key'),
  };
}

// Poll `fn` until it returns a truthy value; fail after `ms`.
async function waitFor(fn, what, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function request(mod, opts, body) {
  return new Promise((resolve, reject) => {
    const req = mod.request(opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch (e) { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, body: json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    req.end();
  });
}

class SimProcess {
  constructor(child, ports, ca, stderr) {
    this.child = child;
    this.port = ports.port;
    this.adminPort = ports.admin;
    this.caPem = fs.readFileSync(ca);
    this.stderr = stderr;
    this.agent = new https.Agent({ ca: this.caPem, keepAlive: true });
    this.exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  }

  // API request. opts: token, body, contentType, headers.
  api(method, p, opts = {}) {
    const headers = { ...(opts.headers || {}) };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    let body = opts.body;
    if (body !== undefined) {
      headers['Content-Type'] = opts.contentType || (method === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
      if (typeof body !== 'string' && !Buffer.isBuffer(body)) body = JSON.stringify(body);
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    return request(https, {
      host: '127.0.0.1', port: this.port, method, path: p, headers, agent: opts.agent || this.agent,
      servername: 'localhost',
    }, body);
  }

  admin(method, p, body) {
    const headers = body !== undefined
      ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(JSON.stringify(body)) } : {};
    return request(http, { host: '127.0.0.1', port: this.adminPort, method, path: p, headers }, body);
  }

  // Open a watch; resolves once the response headers arrived.
  watch(p, opts = {}) {
    return new Promise((resolve, reject) => {
      const headers = {};
      if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
      const req = https.request({
        host: '127.0.0.1', port: this.port, method: 'GET', path: p, headers,
        agent: new https.Agent({ ca: this.caPem }), servername: 'localhost',
      }, (res) => resolve(new WatchReader(req, res)));
      req.on('error', reject);
      req.end();
    });
  }

  async stop() {
    this.agent.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

// Collects newline-delimited JSON events of a watch response.
class WatchReader {
  constructor(req, res) {
    this.req = req;
    this.res = res;
    this.status = res.statusCode;
    this.headers = res.headers;
    this.events = [];
    this.raw = '';
    this.ended = false;
    this.aborted = false;
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (d) => {
      this.raw += d;
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) this.events.push(JSON.parse(line));
      }
    });
    res.on('end', () => { this.ended = true; });
    res.on('aborted', () => { this.aborted = true; });
    res.on('error', () => { this.aborted = true; });
    res.on('close', () => { if (!this.ended) this.aborted = true; this.closed = true; });
  }

  // Wait for an event satisfying `pred` after index `from`; returns it.
  async next(pred, what = 'watch event', ms = 5000, from = 0) {
    return waitFor(() => this.events.slice(from).find(pred), what, ms);
  }

  close() { this.req.destroy(); }
}

// Start a simulator. opts: tokens ([ 'tok' | 'tok,user' ]), namespaces,
// version, tokenFile, extraArgs.
async function startSim(opts = {}) {
  const c = certs();
  const args = [SERVER, '--cert', c.cert, '--key', c.key];
  for (const t of opts.tokens || ['admin-token,admin']) args.push('--token', t);
  for (const n of opts.namespaces || ['ns1']) args.push('--namespace', n);
  if (opts.version) args.push('--version', opts.version);
  if (opts.tokenFile) args.push('--token-file', opts.tokenFile);
  args.push(...(opts.extraArgs || []));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const rl = readline.createInterface({ input: child.stdout });
  const lines = [];
  const first = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`simulator did not start: ${stderr}`)), 10000);
    rl.on('line', (l) => {
      lines.push(l);
      if (lines.length === 1) { clearTimeout(timer); resolve(l); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`simulator exited ${code}: ${stderr}`)); });
  });
  const sim = new SimProcess(child, JSON.parse(first), c.ca, () => stderr);
  sim.stdoutLines = lines;
  return sim;
}

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/ns1/leases';
const DEPLOYMENTS = '/apis/apps/v1/namespaces/ns1/deployments';

// A six-digit MicroTime for "now".
function micro(ms = Date.now()) {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function lease(name, spec = {}, extra = {}) {
  return {
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
    metadata: { name, ...(extra.metadata || {}) },
    spec: { holderIdentity: 'pod-a', leaseDurationSeconds: 15, acquireTime: micro(), renewTime: micro(), leaseTransitions: 0, ...spec },
  };
}

function deployment(name, replicas = 2, labels = { app: name }) {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, labels: { 'twa.dev/deployment': 'orders', ...labels } },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: { ...labels, 'twa.dev/inject': 'true' } },
        spec: { containers: [{ name: 'worker', image: `example/${name}:1.0`, env: [{ name: 'A', value: '1' }] }] },
      },
    },
  };
}

module.exports = { certs, startSim, waitFor, LEASES, DEPLOYMENTS, micro, lease, deployment, SERVER, MKCERTS };
