'use strict';
// The simulator instance: wires the store, registry, garbage collector,
// controllers, authentication, faults and logs together, and runs the
// HTTPS API server and the plain-HTTP admin server on loopback.

const https = require('https');
const http = require('http');
const crypto = require('crypto');
const { Store } = require('./store');
const { Registry } = require('./registry');
const { GC } = require('./gc');
const { Controllers } = require('./controllers');
const { Auth } = require('./auth');
const { Faults } = require('./faults');
const { Journal } = require('./journal');
const { Api } = require('./api');
const { Admin } = require('./admin');

const DEFAULT_SETTINGS = {
  bookmarkIntervalMs: 5000,
  // "event": 200 stream with one ERROR event carrying a 410 Expired Status;
  // "http": plain HTTP 410 answer (notes §3.3).
  expiredWatchForm: 'event',
  defaultWatchTimeoutSeconds: 1800,
  gcDelayMs: 20,
  podTerminationDelayMs: 100,
  autoReconcile: false,
  reconcileDelayMs: 50,
};

const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

// Go release each Kubernetes minor was built with, for /version.
const GO_VERSIONS = {
  24: 'go1.18.1', 25: 'go1.19.1', 26: 'go1.19.5', 27: 'go1.20.3', 28: 'go1.20.5', 29: 'go1.21.5',
  30: 'go1.22.2', 31: 'go1.22.5', 32: 'go1.23.3', 33: 'go1.24.2', 34: 'go1.24.6',
};

function parseVersion(s) {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(String(s));
  if (!m) throw new Error(`--version must look like 1.30 or v1.30.2, got ${JSON.stringify(s)}`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] || 0) };
}

class Sim {
  constructor(opts) {
    this.version = parseVersion(opts.version || '1.30');
    this.minor = this.version.minor;
    this.settings = { ...DEFAULT_SETTINGS };
    this.store = new Store();
    this.registry = new Registry(this);
    this.gc = new GC(this);
    this.controllers = new Controllers(this);
    this.auth = new Auth();
    this.faults = new Faults();
    this.journal = new Journal();
    this.watches = new Set();
    this.extraNamespaces = opts.namespaces || [];
    this.namespaces = new Set([...BUILTIN_NAMESPACES, ...this.extraNamespaces]);
    this.flowSchemaUid = crypto.randomUUID();
    this.priorityLevelUid = crypto.randomUUID();
    this.log = opts.log || ((m) => process.stderr.write(`kube-sim: ${m}\n`));
    for (const t of opts.tokens || []) this.auth.addFlag(t);
    if (opts.tokenFile) this.auth.loadFile(opts.tokenFile);
    this.store.subscribe((ev) => this.controllers.onEvent(ev));
    this.api = new Api(this);
    this.admin = new Admin(this);
  }

  versionInfo() {
    const { major, minor, patch } = this.version;
    const git = `v${major}.${minor}.${patch}`;
    return {
      major: String(major), minor: String(minor), gitVersion: git,
      gitCommit: crypto.createHash('sha1').update(git).digest('hex'),
      gitTreeState: 'clean', buildDate: '2024-04-17T17:27:03Z',
      goVersion: GO_VERSIONS[minor] || 'go1.22.2', compiler: 'gc', platform: 'linux/amd64',
    };
  }

  // Headers every API response carries.
  headers(extra) {
    return {
      'Audit-Id': crypto.randomUUID(),
      'Cache-Control': 'no-cache, private',
      'X-Kubernetes-Pf-Flowschema-Uid': this.flowSchemaUid,
      'X-Kubernetes-Pf-Prioritylevel-Uid': this.priorityLevelUid,
      ...extra,
    };
  }

  // Write-log entry for changes not made through the API (admin, garbage
  // collector, controllers).
  recordWrite(entry) {
    if (entry.resource === 'leases' && entry.leaseSpec === undefined) {
      const cur = this.store.get('leases', entry.namespace, entry.name);
      entry.leaseSpec = cur ? cur.spec : null;
    }
    this.journal.write(entry);
  }

  cutWatches(pathRe, mode) {
    let n = 0;
    for (const w of [...this.watches]) {
      if (pathRe && !pathRe.test(w.info.path)) continue;
      w.cut(mode);
      n += 1;
    }
    return n;
  }

  reset() {
    this.cutWatches(null, 'end');
    this.gc.cancel();
    this.controllers.cancel();
    this.store.reset();
    this.faults.clear();
    this.journal.reset();
    this.auth.reset();
    this.settings = { ...DEFAULT_SETTINGS };
    this.namespaces = new Set([...BUILTIN_NAMESPACES, ...this.extraNamespaces]);
  }

  // Start both listeners on loopback. Resolves to { port, admin }.
  async listen({ cert, key, port = 0, adminPort = 0 }) {
    this.server = https.createServer({ cert, key }, (req, res) => {
      this.api.handle(req, res).catch((e) => {
        this.log(`unhandled: ${e && e.stack}`);
        res.destroy();
      });
    });
    this.adminServer = http.createServer((req, res) => this.admin.handle(req, res));
    // Long-running watches must not be cut by Node's request timeouts.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 60000;
    this.server.keepAliveTimeout = 60000;
    this.sockets = new Set();
    for (const s of [this.server, this.adminServer]) {
      s.on('connection', (sock) => {
        this.sockets.add(sock);
        sock.on('close', () => this.sockets.delete(sock));
      });
    }
    // TLS sockets are tracked by the secure connection event.
    this.server.on('secureConnection', (sock) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve, reject) => {
      this.adminServer.once('error', reject);
      this.adminServer.listen(adminPort, '127.0.0.1', resolve);
    });
    return { port: this.server.address().port, admin: this.adminServer.address().port };
  }

  async close() {
    this.cutWatches(null, 'end');
    this.gc.cancel();
    this.controllers.cancel();
    const closing = [this.server, this.adminServer].filter(Boolean).map((s) => new Promise((r) => s.close(() => r())));
    for (const sock of this.sockets || []) sock.destroy();
    await Promise.all(closing);
  }
}

module.exports = { Sim, DEFAULT_SETTINGS, parseVersion };
