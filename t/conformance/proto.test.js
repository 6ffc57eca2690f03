'use strict';
// Wire conformance of proto/*.proto against the official Temporal
// descriptors (npm package @temporalio/proto): every message, field name,
// number, type, label (repeated, map, oneof, proto3 optional), deprecated
// flag and every enum value we declare must be exactly upstream's.  A
// self-check then mutates each of our fields and enum values in turn and
// proves the comparison catches it.
//
// Run: node --test t/conformance/proto.test.js (NODE_PATH must reach the
// simulators' node_modules; make check sets it).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const protobuf = require('protobufjs');
const official = require('@temporalio/proto');

const srcdir = process.env.TWA_SRCDIR || path.join(__dirname, '..', '..');
const protoDir = path.join(srcdir, 'proto');

// Load every proto/*.proto with snake_case names kept; imports of our own
// files resolve in proto/, Google's well-known types come with protobufjs.
function loadOurs() {
  const files = fs.readdirSync(protoDir).filter((f) => f.endsWith('.proto')).sort();
  assert.ok(files.length > 0, `no .proto files in ${protoDir}`);
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (target.startsWith('google/protobuf/')) return target;
    return path.join(protoDir, path.basename(target));
  };
  root.loadSync(files.map((f) => path.join(protoDir, f)), { keepCase: true });
  root.resolveAll();
  return { root, files };
}

// All message types and enums under ns, depth first, except google.*.
function collect(ns, out = { types: [], enums: [] }) {
  for (const child of ns.nestedArray || []) {
    if (child.fullName === '.google') continue;
    if (child instanceof protobuf.Type || child.constructor.name === 'Type') out.types.push(child);
    else if (child instanceof protobuf.Enum || child.constructor.name === 'Enum') {
      out.enums.push(child);
      continue;
    }
    if (child.nestedArray) collect(child, out);
  }
  return out;
}

const norm = (s) => (s == null ? null : s.replace(/_/g, '').toLowerCase());
// Snake-case name of an official field (its JSON keeps protoName).
const protoName = (f) => f.protoName || (f.options && f.options.protoName) || f.name;
const typeName = (f) => (f.resolvedType ? f.resolvedType.fullName.replace(/^\./, '') : f.type);
const deprecated = (f) => !!(f.options && f.options.deprecated);
const optional3 = (f) => !!(f.options && f.options.proto3_optional) || !!f.proto3Optional;

// Compare one of our message types with upstream; returns the problems.
function compareType(ours) {
  const problems = [];
  const name = ours.fullName.replace(/^\./, '');
  let theirs;
  try {
    theirs = official.lookupType(name);
  } catch (err) {
    return [`message ${name} does not exist upstream`];
  }
  theirs.resolveAll();
  const byName = new Map(theirs.fieldsArray.map((f) => [protoName(f), f]));
  for (const f of ours.fieldsArray) {
    const where = `${name}.${f.name}`;
    const o = byName.get(f.name);
    if (!o) {
      problems.push(`${where}: no such field upstream`);
      continue;
    }
    if (f.id !== o.id) problems.push(`${where}: number ${f.id}, upstream ${o.id}`);
    if (typeName(f) !== typeName(o)) problems.push(`${where}: type ${typeName(f)}, upstream ${typeName(o)}`);
    if (!!f.map !== !!o.map) problems.push(`${where}: map ${!!f.map}, upstream ${!!o.map}`);
    if (f.map && o.map && f.keyType !== o.keyType) problems.push(`${where}: map key ${f.keyType}, upstream ${o.keyType}`);
    if (!!f.repeated !== !!o.repeated) problems.push(`${where}: repeated ${!!f.repeated}, upstream ${!!o.repeated}`);
    const oneofA = f.partOf && !optional3(f) ? norm(f.partOf.name) : null;
    const oneofB = o.partOf && !optional3(o) ? norm(o.partOf.name) : null;
    if (oneofA !== oneofB) problems.push(`${where}: oneof ${oneofA}, upstream ${oneofB}`);
    if (optional3(f) !== optional3(o)) problems.push(`${where}: proto3 optional ${optional3(f)}, upstream ${optional3(o)}`);
    if (deprecated(f) !== deprecated(o)) problems.push(`${where}: deprecated ${deprecated(f)}, upstream ${deprecated(o)}`);
  }
  return problems;
}

// Compare one of our enums with upstream: same values, same numbers.
function compareEnum(ours) {
  const problems = [];
  const name = ours.fullName.replace(/^\./, '');
  let theirs;
  try {
    theirs = official.lookupEnum(name);
  } catch (err) {
    return [`enum ${name} does not exist upstream`];
  }
  for (const [k, v] of Object.entries(ours.values)) {
    if (!(k in theirs.values)) problems.push(`${name}.${k}: no such value upstream`);
    else if (theirs.values[k] !== v) problems.push(`${name}.${k}: number ${v}, upstream ${theirs.values[k]}`);
  }
  for (const [k, v] of Object.entries(theirs.values)) {
    if (!(k in ours.values)) problems.push(`${name}.${k} = ${v}: upstream value missing here`);
  }
  return problems;
}

function compareAll(root) {
  const { types, enums } = collect(root);
  return {
    types,
    enums,
    problems: [...types.flatMap(compareType), ...enums.flatMap(compareEnum)],
  };
}

test('proto/ declares the packages the design needs', () => {
  const { root } = loadOurs();
  for (const pkg of ['workflowservice', 'deployment', 'enums', 'common', 'taskqueue', 'workflow']) {
    assert.ok(root.lookup(`temporal.api.${pkg}.v1`), `package temporal.api.${pkg}.v1 is missing`);
  }
  for (const m of [
    'DescribeWorkerDeployment', 'SetWorkerDeploymentCurrentVersion', 'SetWorkerDeploymentRampingVersion',
    'DescribeWorkerDeploymentVersion', 'DeleteWorkerDeploymentVersion', 'SetWorkerDeploymentManager',
    'DescribeTaskQueue', 'StartWorkflowExecution', 'DescribeWorkflowExecution',
    'CountWorkflowExecutions', 'GetSystemInfo',
  ]) {
    for (const suffix of ['Request', 'Response']) {
      const n = `temporal.api.workflowservice.v1.${m}${suffix}`;
      assert.ok(root.lookupType(n), `${n} is missing`);
      // The method exists upstream with exactly these types.
      const svc = official.lookupService('temporal.api.workflowservice.v1.WorkflowService');
      const method = svc.methods[m];
      assert.ok(method, `upstream has no method ${m}`);
      const t = suffix === 'Request' ? method.requestType : method.responseType;
      assert.equal(t.replace(/^\./, '').replace(/^temporal\.api\.workflowservice\.v1\./, ''), `${m}${suffix}`);
    }
  }
});

test('every message, field and enum value matches the official descriptors', () => {
  const { root } = loadOurs();
  const { types, enums, problems } = compareAll(root);
  assert.ok(types.length >= 40, `only ${types.length} messages found`);
  assert.ok(enums.length >= 10, `only ${enums.length} enums found`);
  assert.deepEqual(problems, []);
});

test('the comparison catches any changed field number, type, label or enum value', () => {
  const { root } = loadOurs();
  const { types, enums } = collect(root);
  let checked = 0;
  for (const t of types) {
    for (const f of t.fieldsArray) {
      const id = f.id;
      f.id = id + 1000;
      assert.ok(compareType(t).some((p) => p.includes(`${f.name}: number`)), `renumbering ${t.fullName}.${f.name} went unnoticed`);
      f.id = id;
      const rep = f.repeated;
      f.repeated = !rep;
      assert.ok(compareType(t).length > 0, `relabelling ${t.fullName}.${f.name} went unnoticed`);
      f.repeated = rep;
      const rt = f.resolvedType;
      const ty = f.type;
      f.resolvedType = null;
      f.type = ty === 'int64' ? 'int32' : 'int64';
      assert.ok(compareType(t).length > 0, `retyping ${t.fullName}.${f.name} went unnoticed`);
      f.type = ty;
      f.resolvedType = rt;
      checked += 1;
    }
    assert.deepEqual(compareType(t), []);
  }
  for (const e of enums) {
    for (const k of Object.keys(e.values)) {
      const v = e.values[k];
      e.values[k] = v + 100;
      assert.ok(compareEnum(e).length > 0, `renumbering ${e.fullName}.${k} went unnoticed`);
      e.values[k] = v;
    }
  }
  assert.ok(checked > 150, `only ${checked} fields checked`);
});

test('our encoding of a pinned override and a JSON payload is the reference encoding', () => {
  const { root } = loadOurs();
  const Payloads = root.lookupType('temporal.api.common.v1.Payloads');
  const payloads = Payloads.encode(Payloads.fromObject({
    payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"a":1}') }],
  })).finish();
  assert.equal(Buffer.from(payloads).toString('hex'),
    '0a21' + '0a16' + '0a08656e636f64696e67' + '120a6a736f6e2f706c61696e' + '12077b2261223a317d');
  const Override = root.lookupType('temporal.api.workflow.v1.VersioningOverride');
  const ov = Override.encode(Override.fromObject({
    pinned: { behavior: 1, version: { deployment_name: 'd', build_id: 'b1' } },
  })).finish();
  assert.equal(Buffer.from(ov).toString('hex'), '1a0b' + '0801' + '1207' + '0a026231' + '120164');
  // And upstream decodes both to the same values.
  const o = official.lookupType('temporal.api.workflow.v1.VersioningOverride').decode(ov);
  assert.equal(o.pinned.version.deploymentName, 'd');
  assert.equal(o.pinned.version.buildId, 'b1');
});
