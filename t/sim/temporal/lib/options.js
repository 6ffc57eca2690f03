'use strict';
// Command-line options, declared once in a table that drives parsing,
// validation and --help.

const fs = require('fs');
const { parseServerVersion } = require('./profile');
const { LEVELS } = require('./log');

const OPTIONS = [
  { name: 'grpc-port', key: 'grpcPort', type: 'port', arg: 'N', def: 0, help: 'gRPC port on 127.0.0.1 (0 = pick a free port)' },
  { name: 'admin-port', key: 'adminPort', type: 'port', arg: 'N', def: 0, help: 'admin HTTP port on 127.0.0.1 (0 = pick a free port)' },
  { name: 'tls-cert', key: 'tlsCert', type: 'file', arg: 'FILE', help: 'serve gRPC over TLS with this PEM certificate chain' },
  { name: 'tls-key', key: 'tlsKey', type: 'file', arg: 'FILE', help: 'PEM private key for --tls-cert' },
  { name: 'tls-ca', key: 'tlsCa', type: 'file', arg: 'FILE', help: 'PEM CA bundle; clients must present a certificate it signed (mTLS)' },
  { name: 'api-key', key: 'apiKey', type: 'string', arg: 'KEY', help: 'require "authorization: Bearer KEY" on every call' },
  { name: 'namespace', key: 'namespaces', type: 'string', arg: 'NS', repeat: true, def: ['default'], help: 'a namespace that exists (repeatable)' },
  { name: 'server-version', key: 'serverVersion', type: 'version', arg: 'V', def: '1.29.0', help: 'OSS release to behave like (GetSystemInfo and release-dependent rules)' },
  { name: 'drainage-grace', key: 'drainageGraceMs', type: 'ms', arg: 'MS', def: 180000, help: 'visibility grace before the first drainage check' },
  { name: 'drainage-refresh', key: 'drainageRefreshMs', type: 'ms', arg: 'MS', def: 180000, help: 'interval between later drainage checks' },
  { name: 'poller-ttl', key: 'pollerTtlMs', type: 'ms', arg: 'MS', def: 300000, help: 'how long a poller counts as live after its last poll' },
  { name: 'reactivation', key: 'reactivation', type: 'onoff', arg: 'on|off', help: 'pinned starts reopen DRAINED/INACTIVE versions (default: on from 1.32)' },
  { name: 'summary-drainage-while-active', key: 'summaryDrainageWhileActive', type: 'onoff', arg: 'on|off', def: true, help: 'summaries of versions made Current/Ramping carry an UNSPECIFIED drainage_info (reference §10); off omits it, as the proto comment says' },
  { name: 'propagation-delay', key: 'propagationDelayMs', type: 'ms', arg: 'MS', def: 0, help: 'asynchronous routing propagation time (1.31+)' },
  { name: 'read-rps', key: 'readRps', type: 'count', arg: 'N', def: 0, help: 'Describe* calls per namespace and second (0 = unlimited)' },
  { name: 'max-deployments', key: 'maxDeployments', type: 'count', arg: 'N', def: 100, help: 'deployments per namespace' },
  { name: 'max-versions', key: 'maxVersions', type: 'count', arg: 'N', def: 100, help: 'versions per deployment' },
  { name: 'max-task-queues', key: 'maxTaskQueuesPerVersion', type: 'count', arg: 'N', def: 100, help: 'task queues per version' },
  { name: 'require-namespace-header', key: 'requireNamespaceHeader', type: 'flag', help: 'reject namespaced calls without a matching temporal-namespace header, and GetSystemInfo with one' },
  { name: 'versioning-disabled', key: 'versioningDisabled', type: 'flag', help: 'behave as if system.enableDeploymentVersions were false' },
  { name: 'log-level', key: 'logLevel', type: 'level', arg: 'LEVEL', def: 'info', help: 'debug, info, warn or error' },
  { name: 'help', key: 'help', type: 'flag', help: 'print this help' },
];

const MAX_MS = 365 * 24 * 3600 * 1000;

function parseValue(opt, raw) {
  const bad = (what) => new Error(`--${opt.name}: ${what}, got ${JSON.stringify(raw)}`);
  switch (opt.type) {
    case 'port': {
      if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw bad('expected a port number 0..65535');
      return Number(raw);
    }
    case 'ms': {
      if (!/^\d+$/.test(raw) || Number(raw) > MAX_MS) throw bad('expected milliseconds as a non-negative integer');
      return Number(raw);
    }
    case 'count': {
      if (!/^\d+$/.test(raw) || Number(raw) > 1e9) throw bad('expected a non-negative integer');
      return Number(raw);
    }
    case 'onoff': {
      if (raw === 'on' || raw === 'true') return true;
      if (raw === 'off' || raw === 'false') return false;
      throw bad('expected on or off');
    }
    case 'version': {
      parseServerVersion(raw);
      return raw;
    }
    case 'level': {
      if (!(raw in LEVELS)) throw bad(`expected one of ${Object.keys(LEVELS).join(', ')}`);
      return raw;
    }
    case 'file': {
      if (!raw) throw bad('expected a file name');
      return raw;
    }
    default:
      if (raw === '') throw bad('expected a non-empty value');
      return raw;
  }
}

// Parse argv (without node and script).  Returns the options object or
// throws with a message naming the offending option.
function parseArgs(argv) {
  const out = {};
  for (const o of OPTIONS) {
    if (o.repeat) out[o.key] = undefined;
    else out[o.key] = o.type === 'flag' ? false : o.def;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    const opt = OPTIONS.find((o) => o.name === m[1]);
    if (!opt) throw new Error(`unknown option --${m[1]} (see --help)`);
    if (opt.type === 'flag') {
      if (m[2] !== undefined) throw new Error(`--${opt.name} takes no value`);
      out[opt.key] = true;
      continue;
    }
    let raw = m[2];
    if (raw === undefined) {
      if (i + 1 >= argv.length) throw new Error(`--${opt.name} needs a value`);
      raw = argv[++i];
    }
    const value = parseValue(opt, raw);
    if (opt.repeat) out[opt.key] = (out[opt.key] || []).concat(value);
    else out[opt.key] = value;
  }
  for (const o of OPTIONS) {
    if (o.repeat && out[o.key] === undefined) out[o.key] = o.def.slice();
  }
  if (out.help) return out;
  if (!!out.tlsCert !== !!out.tlsKey) throw new Error('--tls-cert and --tls-key go together');
  if (out.tlsCa && !out.tlsCert) throw new Error('--tls-ca needs --tls-cert and --tls-key');
  for (const k of ['tlsCert', 'tlsKey', 'tlsCa']) {
    if (out[k]) {
      try {
        out[`${k}Pem`] = fs.readFileSync(out[k]);
      } catch (err) {
        throw new Error(`cannot read ${out[k]}: ${err.message}`);
      }
    }
  }
  for (const ns of out.namespaces) {
    if (!ns) throw new Error('--namespace needs a non-empty name');
  }
  out.namespaces = [...new Set(out.namespaces)];
  return out;
}

// Options that POST /reset may change at run time (everything except
// listeners, TLS and the API key).
const RUNTIME_KEYS = new Set([
  'namespaces', 'serverVersion', 'drainageGraceMs', 'drainageRefreshMs', 'pollerTtlMs', 'reactivation',
  'propagationDelayMs', 'readRps', 'maxDeployments', 'maxVersions', 'maxTaskQueuesPerVersion', 'summaryDrainageWhileActive',
  'requireNamespaceHeader', 'versioningDisabled',
]);

// Return a copy of `current` with the JSON `overrides` applied (keys as in
// OPTIONS[].key).  Throws with a message naming the offending key.
function applyRuntimeOverrides(current, overrides) {
  const out = { ...current };
  for (const [key, value] of Object.entries(overrides || {})) {
    const opt = OPTIONS.find((o) => o.key === key);
    if (!opt || !RUNTIME_KEYS.has(key)) throw new Error(`"${key}" cannot be changed at run time`);
    const bad = (what) => new Error(`"${key}": ${what}, got ${JSON.stringify(value)}`);
    switch (opt.type) {
      case 'ms':
      case 'count':
        if (!Number.isInteger(value) || value < 0 || value > (opt.type === 'ms' ? MAX_MS : 1e9)) throw bad('expected a non-negative integer');
        out[key] = value;
        break;
      case 'flag':
        if (typeof value !== 'boolean') throw bad('expected true or false');
        out[key] = value;
        break;
      case 'onoff':
        if (value !== null && typeof value !== 'boolean') throw bad('expected true, false or null (default)');
        out[key] = value === null ? opt.def : value;
        break;
      case 'version':
        if (typeof value !== 'string') throw bad('expected a version string');
        parseServerVersion(value);
        out[key] = value;
        break;
      default: // namespaces
        if (!Array.isArray(value) || !value.length || !value.every((n) => typeof n === 'string' && n)) throw bad('expected a non-empty list of names');
        out[key] = [...new Set(value)];
    }
  }
  return out;
}

function usage() {
  const lines = ['usage: node server.js [options]', '', 'Temporal frontend simulator (worker deployment API).', ''];
  for (const o of OPTIONS) {
    let def = '';
    if (o.def !== undefined && o.type !== 'flag') {
      const v = o.type === 'onoff' ? (o.def ? 'on' : 'off') : [].concat(o.def).join(',');
      def = ` (default ${v})`;
    }
    const head = `  --${o.name}${o.arg ? ` ${o.arg}` : ''}`;
    lines.push(head.length < 40 ? head.padEnd(40) + o.help + def : `${head}\n${' '.repeat(40)}${o.help}${def}`);
  }
  lines.push('', 'When ready, prints one line {"grpc":<port>,"admin":<port>} on stdout; logs go to stderr.');
  return `${lines.join('\n')}\n`;
}

module.exports = { parseArgs, usage, applyRuntimeOverrides, OPTIONS };
