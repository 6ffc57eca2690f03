'use strict';
// The official Temporal API schema, as shipped in the npm package
// @temporalio/proto (protobufjs JSON descriptors).  Everything on the wire
// goes through these descriptors: the simulator never carries a copy of the
// .proto files, so what it accepts and emits is exactly the upstream schema.

const root = require('@temporalio/proto');

const SERVICE_NAME = 'temporal.api.workflowservice.v1.WorkflowService';
const service = root.lookupService(SERVICE_NAME);

// Resolve the field types of T and of every message type reachable from
// it (much cheaper than root.resolveAll(), which also resolves the SDK's
// internal packages).
const resolved = new Set();

function resolveReachable(T) {
  if (resolved.has(T)) return;
  resolved.add(T);
  for (const f of T.fieldsArray) {
    f.resolve();
    if (f.resolvedType && f.resolvedType.fieldsArray) resolveReachable(f.resolvedType);
  }
}

service.resolveAll();
for (const m of Object.values(service.methods)) {
  resolveReachable(m.resolvedRequestType);
  resolveReachable(m.resolvedResponseType);
}
resolveReachable(root.lookupType('google.rpc.Status'));

// Look up a message type by its full name (without the leading dot).
function type(fullName) {
  const T = root.lookupType(fullName);
  resolveReachable(T);
  return T;
}

// Look up an enum by its full name; returns the protobufjs Enum.
function enumType(fullName) {
  return root.lookupEnum(fullName);
}

// The values of an official enum keyed by name without the common prefix:
// enumValues('temporal.api.enums.v1.TaskQueueType', 'TASK_QUEUE_TYPE_')
// -> {UNSPECIFIED: 0, WORKFLOW: 1, ACTIVITY: 2, NEXUS: 3}.  The model uses
// these so that every number it emits comes from the descriptors.
function enumValues(fullName, prefix) {
  const out = {};
  for (const [name, value] of Object.entries(enumType(fullName).values)) {
    if (!name.startsWith(prefix)) throw new Error(`${fullName}.${name} lacks prefix ${prefix}`);
    out[name.slice(prefix.length)] = value;
  }
  return Object.freeze(out);
}

// Names of all methods of the WorkflowService in descriptor order.
function methodNames() {
  return Object.keys(service.methods);
}

// The protobufjs Method object of one RPC.
function method(name) {
  const m = service.methods[name];
  if (!m) throw new Error(`no such method ${name}`);
  return m;
}

function methodPath(name) {
  return `/${SERVICE_NAME}/${name}`;
}

// Encode a plain object (camelCase field names, timestamps as
// {seconds, nanos}, bytes as Buffer) with the given type.
function encode(T, obj) {
  return Buffer.from(T.encode(T.fromObject(obj || {})).finish());
}

// Convert a decoded message into a JSON-friendly object for logs and tests:
// enums by name, 64-bit integers as strings, bytes as base64, oneof case
// names included, unset fields left out.
function toJSON(T, msg) {
  return T.toObject(msg, { enums: String, longs: String, bytes: String, oneofs: true, defaults: false });
}

// Build a @grpc/grpc-js service definition for every method of the
// WorkflowService, using protobufjs for (de)serialisation.  A server may
// pass `decodeRequest(name, RequestType, bytes)` to see the raw request
// bytes (for unknown-field detection) and to decide what a request that
// does not decode becomes.
function grpcServiceDefinition({ decodeRequest } = {}) {
  const def = {};
  for (const name of methodNames()) {
    const m = method(name);
    const Req = m.resolvedRequestType;
    const Res = m.resolvedResponseType;
    def[name] = {
      path: methodPath(name),
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      originalName: name,
      requestSerialize: (obj) => (Buffer.isBuffer(obj) ? obj : encode(Req, obj)),
      requestDeserialize: (buf) => (decodeRequest ? decodeRequest(name, Req, buf) : Req.decode(buf)),
      responseSerialize: (obj) => encode(Res, obj),
      responseDeserialize: (buf) => Res.decode(buf),
    };
  }
  return def;
}

module.exports = {
  root,
  SERVICE_NAME,
  service,
  type,
  enumType,
  enumValues,
  method,
  methodNames,
  methodPath,
  encode,
  toJSON,
  grpcServiceDefinition,
};
