'use strict';
// The table of modelled RPCs and the release-dependent availability of the
// worker-deployment surface (reference §1.4, §2).

const { unimplemented } = require('../errors');
const schema = require('../schema');
const deployments = require('./deployments');
const workflows = require('./workflows');
const system = require('./system');

const HANDLERS = {
  ...deployments,
  StartWorkflowExecution: workflows.StartWorkflowExecution,
  DescribeWorkflowExecution: workflows.DescribeWorkflowExecution,
  CountWorkflowExecutions: workflows.CountWorkflowExecutions,
  GetSystemInfo: system.GetSystemInfo,
  DescribeTaskQueue: system.DescribeTaskQueue,
};

// RPCs added in 1.27 (SetWorkerDeploymentManager in 1.29).
const DEPLOYMENT_RPCS = new Set(Object.keys(deployments));

// The pre-1.27 family, answered with a fixed UNIMPLEMENTED by current
// servers.
const DEPRECATED_RPCS = new Set([
  'DescribeDeployment',
  'ListDeployments',
  'GetDeploymentReachability',
  'GetCurrentDeployment',
  'SetCurrentDeployment',
]);

// grpc-go's answer for a method the server binary does not know.
function unknownMethod(name) {
  return unimplemented(`unknown method ${name} for service ${schema.SERVICE_NAME}`);
}

// The handler for `name` under the given release profile; returns a
// function (ctx, req) -> response that may throw SimError.
function handlerFor(name, profile) {
  if (DEPLOYMENT_RPCS.has(name)) {
    if (!profile.hasDeploymentApis) return () => { throw unknownMethod(name); };
    if (name === 'SetWorkerDeploymentManager' && !profile.hasManagerApi) return () => { throw unknownMethod(name); };
  }
  if (HANDLERS[name]) return HANDLERS[name];
  if (DEPRECATED_RPCS.has(name)) return (ctx) => { throw unimplemented(ctx.sim.profile.text.deprecatedDeployments); };
  return () => { throw unimplemented(`method ${name} is not implemented by the Temporal simulator`); };
}

function modelledMethods() {
  return Object.keys(HANDLERS);
}

module.exports = { handlerFor, modelledMethods, DEPLOYMENT_RPCS };
