#!/usr/bin/env node
'use strict';
// Kubernetes API server simulator (test instrument).
//
//   node t/sim/kube/server.js --cert F --key F [--port N] [--admin-port N]
//        [--token T[,USER]]... [--token-file F] [--namespace NS]...
//        [--version 1.30]
//
// Serves HTTPS on 127.0.0.1 and a plain-HTTP admin API on a second loopback
// port. When both listen it prints exactly one line to stdout,
// {"port":<https port>,"admin":<admin port>}, and nothing else; logs go to
// stderr. SIGTERM and SIGINT close both servers and exit 0.

const fs = require('fs');
const { Sim } = require('./lib/sim');

const USAGE = 'usage: server.js --cert FILE --key FILE [--port N] [--admin-port N] ' +
  '[--token TOKEN[,USER]]... [--token-file FILE] [--namespace NS]... [--version X.Y[.Z]]';

class UsageError extends Error {}

function usage(msg) { throw new UsageError(msg); }

function parsePort(v, flag) {
  if (!/^[0-9]+$/.test(v || '') || Number(v) > 65535) usage(`${flag} needs a port number 0-65535, got ${JSON.stringify(v)}`);
  return Number(v);
}

// Parse the command line; throws UsageError naming the bad argument.
function parseArgs(argv) {
  const o = { tokens: [], namespaces: [], port: 0, adminPort: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--cert': o.cert = value(); break;
      case '--key': o.key = value(); break;
      case '--port': o.port = parsePort(value(), flag); break;
      case '--admin-port': o.adminPort = parsePort(value(), flag); break;
      case '--token': o.tokens.push(value()); break;
      case '--token-file': o.tokenFile = value(); break;
      case '--namespace': o.namespaces.push(value()); break;
      case '--version': o.version = value(); break;
      case '-h': case '--help': o.help = true; break;
      default: usage(`unknown argument ${JSON.stringify(a)}`);
    }
  }
  if (!o.help && (!o.cert || !o.key)) usage('--cert and --key are required');
  return o;
}

// Everything that can be wrong before listening: arguments, files, version.
function prepare(argv) {
  const o = parseArgs(argv);
  if (o.help) return { help: true };
  let cert;
  let key;
  try {
    cert = fs.readFileSync(o.cert);
    key = fs.readFileSync(o.key);
  } catch (e) {
    usage(`cannot read certificate or key: ${e.message}`);
  }
  try {
    const sim = new Sim({ version: o.version, tokens: o.tokens, tokenFile: o.tokenFile, namespaces: o.namespaces });
    return { sim, cert, key, o };
  } catch (e) {
    return usage(e.message);
  }
}

async function main() {
  let prep;
  try {
    prep = prepare(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`kube-sim: ${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (prep.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const { sim, cert, key, o } = prep;
  const ports = await sim.listen({ cert, key, port: o.port, adminPort: o.adminPort });
  process.stdout.write(JSON.stringify({ port: ports.port, admin: ports.admin }) + '\n');
  sim.log(`serving ${sim.versionInfo().gitVersion} on https://127.0.0.1:${ports.port}, admin on http://127.0.0.1:${ports.admin}`);
  let stopping = false;
  const stop = (sig) => {
    if (stopping) return;
    stopping = true;
    sim.log(`${sig}: shutting down`);
    sim.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`kube-sim: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  });
}

module.exports = { prepare, parseArgs, UsageError };
