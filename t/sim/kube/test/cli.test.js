'use strict';
// The command line: the one-line stdout protocol, clean exit on SIGTERM,
// argument errors, TLS with the test CA from mkcerts.sh.

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync, execFileSync } = require('child_process');
const { prepare, UsageError } = require('../server');
const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');
const net = require('net');
const { startSim, certs, SERVER, MKCERTS, LEASES, waitFor } = require('./helpers');

test('stdout carries exactly one JSON line; TLS verifies with the test CA only; SIGTERM exits 0 with a watch open', async () => {
  const sim = await startSim();
  assert.equal(sim.stdoutLines.length, 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kube-sim-other-'));
  try {
    execFileSync('sh', [MKCERTS, dir]);
    const get = (ca) => new Promise((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: sim.port, path: '/version', ca, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      }).on('error', reject);
    });
    assert.equal(await get(sim.caPem), 200);
    await assert.rejects(get(fs.readFileSync(path.join(dir, 'ca.crt'))), /self[- ]signed|unable to verify|certificate/i);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(Object.keys(JSON.parse(sim.stdoutLines[0])), ['port', 'admin']);
  assert.notEqual(sim.port, sim.adminPort);
  const w = await sim.watch(`${LEASES}?watch=1`, { token: 'admin-token' });
  assert.equal((await sim.admin('GET', '/healthz')).body.ok, true);
  const exit = await sim.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
  await waitFor(() => w.closed, 'the watch to close');
  assert.equal(sim.stdoutLines.length, 1, 'nothing else on stdout');
  assert.match(sim.stderr(), /SIGTERM: shutting down/);
});

test('listens on loopback only, on the requested ports', async () => {
  const free = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const sim = await startSim({ extraArgs: ['--port', String(free)] });
  try {
    assert.equal(sim.port, free);
    // Linux lists listening sockets in /proc/net/tcp{,6}: local address
    // 0100007F is 127.0.0.1, state 0A is LISTEN.
    const table = ['/proc/net/tcp', '/proc/net/tcp6'].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    const hex = free.toString(16).toUpperCase().padStart(4, '0');
    const listening = table.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[1] && f[1].endsWith(`:${hex}`) && f[3] === '0A');
    assert.equal(listening.length, 1, 'one listening socket on the port');
    assert.equal(listening[0][1], `0100007F:${hex}`, 'bound to 127.0.0.1');
  } finally {
    await sim.stop();
  }
});

test('argument errors name the problem', () => {
  const c = certs();
  const cases = [
    [[], /--cert and --key are required/],
    [['--cert', c.cert, '--key', c.key, '--port', 'http'], /--port needs a port number/],
    [['--cert', c.cert, '--key', c.key, '--port', '70000'], /--port needs a port number/],
    [['--cert', c.cert, '--key', c.key, '--bogus'], /unknown argument "--bogus"/],
    [['--cert', c.cert, '--key'], /--key needs a value/],
    [['--cert', c.cert, '--key', c.key, '--version', 'latest'], /--version must look like 1.30/],
    [['--cert', '/nonexistent', '--key', c.key], /cannot read certificate or key/],
    [['--cert', c.cert, '--key', c.key, '--token-file', '/nonexistent'], /ENOENT/],
  ];
  for (const [args, re] of cases) assert.throws(() => prepare(args), (e) => e instanceof UsageError && re.test(e.message), args.join(' '));
  const ok = prepare(['--cert', c.cert, '--key', c.key, '--token=t1,u1', '--namespace', 'a', '--version', 'v1.29.3']);
  assert.equal(ok.o.tokens[0], 't1,u1');
  assert.equal(ok.sim.versionInfo().gitVersion, 'v1.29.3');
  assert.ok(ok.sim.namespaces.has('a'));
});

test('an argument error exits 2 with the message on stderr and nothing on stdout', async () => {
  const r = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER, '--cert', certs().cert, '--key', certs().key, '--bogus']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown argument "--bogus"\nusage: server\.js/);
  assert.equal(r.stdout, '');
});

test('mkcerts.sh writes a CA and a server certificate for 127.0.0.1, ::1 and localhost', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kube-sim-mk-'));
  try {
    execFileSync('sh', [MKCERTS, dir]);
    for (const f of ['ca.crt', 'server.crt', 'server.key']) assert.ok(fs.existsSync(path.join(dir, f)), f);
    execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.crt'), path.join(dir, 'server.crt')]);
    const text = execFileSync('openssl', ['x509', '-in', path.join(dir, 'server.crt'), '-noout', '-text']).toString();
    assert.match(text, /IP Address:127\.0\.0\.1/);
    assert.match(text, /IP Address:0:0:0:0:0:0:0:1/);
    assert.match(text, /DNS:localhost/);
    const usage = spawnSync('sh', [MKCERTS], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
