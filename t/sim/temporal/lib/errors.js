'use strict';
// gRPC errors as the Temporal frontend returns them.
//
// Temporal's serviceerror package (api-go) maps each error class to one gRPC
// status code and, for some classes, attaches a typed failure message in
// `grpc-status-details-bin` (a google.rpc.Status whose `details` holds an
// Any).  Reference §1.3 lists the mapping; this module reproduces it so that
// clients can be tested against the same trailers a real server sends.

const { status: Status, Metadata } = require('@grpc/grpc-js');
const schema = require('./schema');

const RpcStatus = schema.type('google.rpc.Status');

const CODE_NAMES = Object.fromEntries(Object.entries(Status).map(([k, v]) => [v, k]));

// Parse a status code given as a number or a name ("UNAVAILABLE",
// "unavailable", "14").  Returns the number or throws.
function parseCode(code) {
  if (typeof code === 'number' && CODE_NAMES[code] !== undefined) return code;
  if (typeof code === 'string') {
    if (/^\d+$/.test(code) && CODE_NAMES[Number(code)] !== undefined) return Number(code);
    const up = code.toUpperCase();
    if (Status[up] !== undefined) return Status[up];
  }
  throw new Error(`unknown gRPC status code ${JSON.stringify(code)}`);
}

function codeName(code) {
  return CODE_NAMES[code] || String(code);
}

// An error to be returned to a gRPC caller.  `details` is a list of
// {type: '<full message name>', value: {...}} to put into
// grpc-status-details-bin.
class SimError extends Error {
  constructor(code, message, details = []) {
    super(message);
    this.code = code;
    this.details = details;
  }

  get codeName() {
    return codeName(this.code);
  }

  // The object @grpc/grpc-js expects as the first callback argument.
  toGrpc() {
    const metadata = new Metadata();
    const st = {
      code: this.code,
      message: this.message,
      details: this.details.map((d) => ({
        type_url: `type.googleapis.com/${d.type}`,
        value: schema.encode(schema.type(d.type), d.value),
      })),
    };
    metadata.set('grpc-status-details-bin', schema.encode(RpcStatus, st));
    return { code: this.code, details: this.message, metadata };
  }
}

const invalidArgument = (msg) => new SimError(Status.INVALID_ARGUMENT, msg);
const failedPrecondition = (msg) => new SimError(Status.FAILED_PRECONDITION, msg);
const permissionDenied = (msg, reason = '') => new SimError(Status.PERMISSION_DENIED, msg, [
  { type: 'temporal.api.errordetails.v1.PermissionDeniedFailure', value: { reason } },
]);
const unimplemented = (msg) => new SimError(Status.UNIMPLEMENTED, msg);
const unauthenticated = (msg) => new SimError(Status.UNAUTHENTICATED, msg);
const internal = (msg) => new SimError(Status.INTERNAL, msg);
const unavailable = (msg) => new SimError(Status.UNAVAILABLE, msg);

// NotFound carries NotFoundFailure{current_cluster, active_cluster}; a
// single-cluster server fills both with its cluster name ("active").
function notFound(msg) {
  return new SimError(Status.NOT_FOUND, msg, [
    { type: 'temporal.api.errordetails.v1.NotFoundFailure', value: { currentCluster: 'active', activeCluster: 'active' } },
  ]);
}

// serviceerror.NewNamespaceNotFound: fixed wording, typed detail.
function namespaceNotFound(ns) {
  return new SimError(Status.NOT_FOUND, `Namespace ${ns} is not found.`, [
    { type: 'temporal.api.errordetails.v1.NamespaceNotFoundFailure', value: { namespace: ns } },
  ]);
}

function resourceExhausted(msg, cause = 0, scope = 0) {
  return new SimError(Status.RESOURCE_EXHAUSTED, msg, [
    { type: 'temporal.api.errordetails.v1.ResourceExhaustedFailure', value: { cause, scope } },
  ]);
}

function workflowAlreadyStarted(msg, startRequestId, runId) {
  return new SimError(Status.ALREADY_EXISTS, msg, [
    {
      type: 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure',
      value: { startRequestId, runId, firstExecutionRunId: runId },
    },
  ]);
}

module.exports = {
  Status,
  SimError,
  parseCode,
  codeName,
  invalidArgument,
  failedPrecondition,
  permissionDenied,
  unimplemented,
  unauthenticated,
  internal,
  unavailable,
  notFound,
  namespaceNotFound,
  resourceExhausted,
  workflowAlreadyStarted,
};
