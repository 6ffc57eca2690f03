'use strict';
// Admin HTTP API (JSON) for tests: drive the simulated world (pollers,
// pinned workflows, gate outcomes, clock, drainage checks, task queue
// statistics), inject faults, dump and reset state.  Every endpoint is
// documented in README.md.  Errors are {"error": "..."} with a 4xx status;
// errors a real server would raise (e.g. poll validation) also carry
// "grpcCode".

const http = require('http');
const { SimError, parseCode } = require('./errors');
const { TaskQueueType, DrainageStatus } = require('./model/deployment');
const { WorkerVersioningMode } = require('./model/namespace');
const { ExecutionStatus, OUTCOMES } = require('./model/workflows');
const views = require('./views');
const { applyRuntimeOverrides } = require('./options');

const MAX_BODY = 1024 * 1024;

class HttpError extends Error {
  constructor(status, message, extra = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
  }
}

const bad = (msg) => new HttpError(400, msg);

function str(body, key, { required = false, def } = {}) {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw bad(`"${key}" is required`);
    return def;
  }
  if (typeof v !== 'string') throw bad(`"${key}" must be a string`);
  return v;
}

function int(body, key, { min = 0, max = Number.MAX_SAFE_INTEGER, def } = {}) {
  const v = body[key];
  if (v === undefined || v === null) return def;
  if (!Number.isInteger(v) || v < min || v > max) throw bad(`"${key}" must be an integer in ${min}..${max}`);
  return v;
}

function num(body, key, { min = 0, def } = {}) {
  const v = body[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw bad(`"${key}" must be a number >= ${min}`);
  return v;
}

function taskQueueType(body, key = 'type', def = 'workflow') {
  const raw = str(body, key, { def });
  const t = { workflow: TaskQueueType.WORKFLOW, activity: TaskQueueType.ACTIVITY, nexus: TaskQueueType.NEXUS }[raw.toLowerCase()];
  if (!t) throw bad(`"${key}" must be workflow, activity or nexus`);
  return t;
}

function optionalTaskQueueType(body) {
  return body.type === undefined ? undefined : taskQueueType(body);
}

function closeStatus(body, key, def) {
  const raw = str(body, key, { def });
  const st = OUTCOMES[raw.toLowerCase()];
  if (!st) throw bad(`"${key}" must be one of ${Object.keys(OUTCOMES).join(', ')}`);
  return st;
}

class AdminServer {
  constructor(sim) {
    this.sim = sim;
    this.server = null;
    this.port = null;
    this.seq = 0;
    this.routes = {
      'GET /healthz': () => ({ ok: true }),
      'GET /state': () => views.dumpState(this.sim),
      'POST /reset': (b) => this.reset(b),
      'POST /namespaces': (b) => this.addNamespace(b),
      'GET /clock': () => this.clockView(),
      'POST /clock/advance': (b) => this.advanceClock(b),
      'POST /clock/set': (b) => this.setClock(b),
      'POST /clock/freeze': () => { this.sim.clock.freeze(); return this.clockView(); },
      'POST /clock/resume': () => { this.sim.clock.resume(); return this.clockView(); },
      'POST /pollers': (b) => this.addPoller(b),
      'POST /pollers/expire': (b) => this.expirePollers(b),
      'POST /workflows/start': (b) => this.startWorkflows(b),
      'POST /workflows/finish': (b) => this.finishWorkflows(b),
      'POST /gate-outcomes': (b) => this.setGateOutcome(b),
      'POST /drainage/check': (b) => this.checkDrainage(b),
      'POST /task-queue-stats': (b) => this.setTaskQueueStats(b),
      'GET /faults': () => ({ faults: this.sim.faults.list() }),
      'POST /faults': (b) => this.addFault(b),
      'DELETE /faults': () => { this.sim.faults.clear(); return { ok: true }; },
    };
  }

  start(port) {
    this.server = http.createServer((req, res) => this.serve(req, res));
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.port = this.server.address().port;
        resolve(this.port);
      });
    });
  }

  stop() {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      return undefined;
    });
  }

  serve(req, res) {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        this.reply(res, 413, { error: 'request body too large' });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      const url = new URL(req.url, 'http://admin');
      try {
        let body = {};
        const text = Buffer.concat(chunks).toString('utf8');
        if (text.trim()) {
          try {
            body = JSON.parse(text);
          } catch (err) {
            throw bad(`invalid JSON body: ${err.message}`);
          }
          if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('body must be a JSON object');
        }
        const m = /^\/faults\/(\d+)$/.exec(url.pathname);
        let out;
        if (m && req.method === 'DELETE') {
          if (!this.sim.faults.remove(Number(m[1]))) throw new HttpError(404, `no fault ${m[1]}`);
          out = { ok: true };
        } else {
          const route = this.routes[`${req.method} ${url.pathname}`];
          if (!route) throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
          out = route(body);
        }
        this.sim.log.debug(`admin ${req.method} ${url.pathname} ${text.trim()}`);
        this.reply(res, 200, out);
      } catch (err) {
        if (err instanceof HttpError) {
          this.reply(res, err.status, { error: err.message, ...err.extra });
        } else if (err instanceof SimError) {
          const status = { RESOURCE_EXHAUSTED: 429, NOT_FOUND: 404 }[err.codeName] || 400;
          this.reply(res, status, { error: err.message, grpcCode: err.codeName });
        } else {
          this.sim.log.error(`admin ${req.method} ${url.pathname}: ${err.stack || err}`);
          this.reply(res, 500, { error: String(err.message || err) });
        }
      }
    });
  }

  reply(res, status, obj) {
    const body = `${JSON.stringify(obj, null, 1)}\n`;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  ns(body) {
    const name = str(body, 'namespace', { def: this.sim.options.namespaces[0] || 'default' });
    const ns = this.sim.namespace(name);
    if (!ns) throw new HttpError(404, `namespace ${name} does not exist`, { grpcCode: 'NOT_FOUND' });
    return ns;
  }

  reset(body) {
    let options;
    if (Object.keys(body).length) {
      try {
        options = applyRuntimeOverrides(this.sim.options, body);
      } catch (err) {
        throw bad(err.message);
      }
    }
    this.sim.reset(options);
    return { ok: true, serverVersion: this.sim.profile.serverVersion, namespaces: [...this.sim.namespaces.keys()] };
  }

  addNamespace(body) {
    const name = str(body, 'name', { required: true });
    if (!name) throw bad('"name" must not be empty');
    this.sim.addNamespace(name);
    return { namespaces: [...this.sim.namespaces.keys()] };
  }

  clockView() {
    const now = this.sim.now();
    return { now: new Date(now).toISOString(), nowMs: now, frozen: this.sim.clock.frozen };
  }

  advanceClock(body) {
    const ms = int(body, 'ms', { min: 0 });
    if (ms === undefined) throw bad('"ms" is required');
    this.sim.clock.advance(ms);
    this.sim.scheduler.runDue();
    return this.clockView();
  }

  setClock(body) {
    let ms;
    if (typeof body.time === 'string') {
      ms = Date.parse(body.time);
      if (Number.isNaN(ms)) throw bad('"time" must be an RFC 3339 timestamp');
    } else if (Number.isInteger(body.timeMs)) {
      ms = body.timeMs;
    } else {
      throw bad('give "time" (RFC 3339) or "timeMs" (epoch milliseconds)');
    }
    this.sim.clock.set(ms);
    this.sim.scheduler.runDue();
    return this.clockView();
  }

  addPoller(body) {
    const ns = this.ns(body);
    const deploymentName = str(body, 'deploymentName', { def: '' });
    const buildId = str(body, 'buildId', { def: '' });
    const modeRaw = str(body, 'versioningMode', { def: deploymentName || buildId ? 'versioned' : 'unversioned' });
    const versioningMode = { versioned: WorkerVersioningMode.VERSIONED, unversioned: WorkerVersioningMode.UNVERSIONED }[modeRaw];
    if (!versioningMode) throw bad('"versioningMode" must be versioned or unversioned');
    const { poller, registered } = ns.poll({
      taskQueue: str(body, 'taskQueue', { required: true }),
      type: taskQueueType(body),
      identity: str(body, 'identity', { def: '' }),
      deploymentName,
      buildId,
      versioningMode,
    });
    return {
      registered,
      poller: {
        taskQueue: poller.taskQueue,
        type: body.type ? body.type.toLowerCase() : 'workflow',
        identity: poller.identity,
        versioningMode: modeRaw,
        deploymentName: poller.deploymentName,
        buildId: poller.buildId,
        lastAccessTime: new Date(poller.lastAccessMs).toISOString(),
      },
    };
  }

  expirePollers(body) {
    const ns = this.ns(body);
    const expired = ns.expirePollers({
      taskQueue: str(body, 'taskQueue'),
      type: optionalTaskQueueType(body),
      deploymentName: str(body, 'deploymentName'),
      buildId: str(body, 'buildId'),
      identity: str(body, 'identity'),
    });
    return { expired };
  }

  startWorkflows(body) {
    const ns = this.ns(body);
    const deploymentName = str(body, 'deploymentName', { required: true });
    const buildId = str(body, 'buildId', { required: true });
    const count = int(body, 'count', { min: 1, max: 10000, def: 1 });
    const dep = ns.deployments.get(deploymentName);
    const v = dep && dep.versions.get(buildId);
    const defaultTq = v && v.taskQueues.find((tq) => tq.type === TaskQueueType.WORKFLOW);
    const taskQueue = str(body, 'taskQueue', { def: defaultTq ? defaultTq.name : 'temporal-sim-task-queue' });
    const workflowType = str(body, 'workflowType', { def: 'TemporalSimPinnedWorkflow' });
    const baseId = str(body, 'workflowId');
    if (baseId && count > 1) throw bad('"workflowId" needs "count" 1');
    const started = [];
    for (let i = 0; i < count; i++) {
      const workflowId = baseId || `temporal-sim-pinned-${++this.seq}`;
      const { run } = this.sim.workflows.start(ns, {
        workflowId,
        workflowType,
        taskQueue,
        pinned: { deploymentName, buildId },
        override: { pinned: { behavior: 'PINNED_OVERRIDE_BEHAVIOR_PINNED', version: { deploymentName, buildId } } },
        origin: 'admin',
      });
      started.push({ workflowId: run.workflowId, runId: run.runId });
    }
    return { workflows: started };
  }

  finishWorkflows(body) {
    const ns = this.ns(body);
    const status = closeStatus(body, 'status', 'completed');
    const workflowId = str(body, 'workflowId');
    const runId = str(body, 'runId');
    const deploymentName = str(body, 'deploymentName');
    const buildId = str(body, 'buildId');
    const count = int(body, 'count', { min: 1 });
    if (!workflowId && !runId && !deploymentName) throw bad('select workflows with "workflowId", "runId" or "deploymentName"/"buildId"');
    const finished = [];
    for (const run of ns.runs.values()) {
      if (count !== undefined && finished.length >= count) break;
      if (run.status !== ExecutionStatus.RUNNING) continue;
      if (workflowId && run.workflowId !== workflowId) continue;
      if (runId && run.runId !== runId) continue;
      if (deploymentName && (!run.pinned || run.pinned.deploymentName !== deploymentName)) continue;
      if (buildId && (!run.pinned || run.pinned.buildId !== buildId)) continue;
      this.sim.workflows.finish(ns, run, status, 'admin');
      finished.push({ workflowId: run.workflowId, runId: run.runId });
    }
    return { finished };
  }

  setGateOutcome(body) {
    const ns = this.ns(body);
    const workflowType = str(body, 'workflowType', { required: true });
    const outcome = str(body, 'outcome', { required: true });
    if (outcome === 'none') {
      ns.gateOutcomes.delete(workflowType);
      return { workflowType, outcome: 'none' };
    }
    const status = closeStatus(body, 'outcome');
    const delayMs = int(body, 'delayMs', { min: 0, def: 0 });
    ns.gateOutcomes.set(workflowType, { status, delayMs });
    return { workflowType, outcome, delayMs };
  }

  checkDrainage(body) {
    const ns = this.ns(body);
    const deploymentName = str(body, 'deploymentName');
    const buildId = str(body, 'buildId');
    const checked = [];
    for (const dep of ns.deployments.values()) {
      if (deploymentName && dep.name !== deploymentName) continue;
      for (const v of [...dep.versions.values()]) {
        if (buildId && v.buildId !== buildId) continue;
        const r = this.sim.drainage.check(ns, dep, v);
        if (r) {
          checked.push({
            deploymentName: dep.name,
            buildId: v.buildId,
            status: r.status === DrainageStatus.DRAINED ? 'DRAINED' : 'DRAINING',
            runningPinnedWorkflows: r.running,
          });
        }
      }
    }
    return { checked };
  }

  setTaskQueueStats(body) {
    const ns = this.ns(body);
    const taskQueue = str(body, 'taskQueue', { required: true });
    const type = taskQueueType(body);
    const key = ns.statsKey(taskQueue, type, str(body, 'deploymentName', { def: '' }), str(body, 'buildId', { def: '' }));
    const stats = {
      approximateBacklogCount: int(body, 'backlogCount', { def: 0 }),
      approximateBacklogAgeMs: int(body, 'backlogAgeMs', { def: 0 }),
      tasksAddRate: num(body, 'addRate', { def: 0 }),
      tasksDispatchRate: num(body, 'dispatchRate', { def: 0 }),
    };
    ns.tqStats.set(key, stats);
    return { taskQueue, stats };
  }

  addFault(body) {
    try {
      if (body.code !== undefined) parseCode(body.code);
      const fault = this.sim.faults.add(body);
      this.sim.log.info(`fault added: ${JSON.stringify(fault)}`);
      return fault;
    } catch (err) {
      throw bad(err.message);
    }
  }
}

module.exports = { AdminServer };
