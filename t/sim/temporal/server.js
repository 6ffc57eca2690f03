#!/usr/bin/env node
'use strict';
// Temporal frontend simulator: the worker-deployment API of
// temporal.api.workflowservice.v1.WorkflowService over real gRPC, plus an
// admin HTTP API for tests.  See README.md.
//
// stdout protocol: exactly one line, {"grpc":<port>,"admin":<port>}, once
// both listeners are up; nothing else is ever written to stdout.  Logs go to
// stderr.  SIGTERM/SIGINT shut down cleanly (exit status 0).

const { parseArgs, usage } = require('./lib/options');
const { Logger } = require('./lib/log');
const { Simulator } = require('./lib/model/simulator');
const { GrpcFrontend } = require('./lib/grpc-server');
const { AdminServer } = require('./lib/admin');

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`temporal-sim: ${err.message}\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stderr.write(usage());
    process.exit(0);
  }
  const log = new Logger(opts.logLevel);
  let sim;
  try {
    sim = new Simulator(opts, log);
  } catch (err) {
    process.stderr.write(`temporal-sim: ${err.message}\n`);
    process.exit(2);
  }
  const grpcFrontend = new GrpcFrontend(sim);
  const admin = new AdminServer(sim);
  let grpcPort;
  let adminPort;
  try {
    grpcPort = await grpcFrontend.start(opts.grpcPort);
    adminPort = await admin.start(opts.adminPort);
  } catch (err) {
    log.error(`cannot listen: ${err.message}`);
    process.exit(1);
  }

  let stopping = false;
  const shutdown = async (signal) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    sim.scheduler.clear();
    await Promise.all([grpcFrontend.stop(), admin.stop()]);
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  log.info(`serving Temporal ${sim.profile.serverVersion} frontend on 127.0.0.1:${grpcPort}`
    + `${opts.tlsCert ? (opts.tlsCa ? ' (mTLS)' : ' (TLS)') : ''}, admin on 127.0.0.1:${adminPort},`
    + ` namespaces ${[...sim.namespaces.keys()].join(',')}`);
  process.stdout.write(`${JSON.stringify({ grpc: grpcPort, admin: adminPort })}\n`);
}

main().catch((err) => {
  process.stderr.write(`temporal-sim: fatal: ${err.stack || err}\n`);
  process.exit(1);
});
