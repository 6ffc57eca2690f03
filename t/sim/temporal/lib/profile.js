'use strict';
// Release-dependent behaviour of the Temporal server.
//
// The worker-deployment API changed between OSS releases (reference §1.4 and
// §7): which RPCs exist, which response fields are filled, how errors are
// worded, whether pinned starts are checked, whether routing changes are
// propagated asynchronously.  The simulator picks one release with
// --server-version and derives every such switch here, so a client can be
// tested against each release it claims to support.

const { invalidArgument } = require('./errors');

// Parse "1.29.0", "v1.29.1" or "1.32.0-162.0" into numbers.
function parseServerVersion(s) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/.exec(String(s));
  if (!m) throw new Error(`invalid --server-version ${JSON.stringify(s)}: expected MAJOR.MINOR.PATCH`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

// Error texts of the releases.  1.28 and 1.29 share one wording, 1.30 and
// later another (reference §7).  Codes never differ except where noted.
const WORDING = {
  legacy: {
    deploymentNotFoundOnSet: (d) => `no Worker Deployment found with name ${d}; does your Worker Deployment have pollers?`,
    deploymentNotFoundOnDescribe: () => 'Worker Deployment not found',
    buildNotFound: () => 'Version not found in deployment',
    deleteCurrentOrRamping: () => 'Version cannot be deleted since it is current or ramping.',
    deleteDraining: () => 'Version cannot be deleted since it is draining.',
    deleteHasPollers: () => 'Version cannot be deleted since it has active pollers.',
    missingTaskQueues: (kind) => `proposed ${kind} version is missing active task queues from the current version; these would become unversioned if it is set as the ${kind} version`,
    // Only the beginning of this text is known (reference §6.1).
    tooManyRequests: (d, rpc) => `Too many ${rpc} requests have been issued in rapid succession.`,
  },
  current: {
    deploymentNotFoundOnSet: (d) => `no Worker Deployment found with name '${d}'; does your Worker Deployment have pollers?`,
    deploymentNotFoundOnDescribe: (d) => `no Worker Deployment found with name '${d}'; does your Worker Deployment have pollers?`,
    buildNotFound: (d, b) => `build ID '${b}' not found in Worker Deployment '${d}'`,
    deleteCurrentOrRamping: (d, b) => `version '${d}:${b}' cannot be deleted since it is current or ramping`,
    deleteDraining: (d, b) => `version '${d}:${b}' cannot be deleted since it is draining`,
    deleteHasPollers: (d, b) => `version '${d}:${b}' cannot be deleted since it has active pollers`,
    missingTaskQueues: (kind, d, b) => `proposed ${kind} version '${d}:${b}' is missing active task queues from the current version; these would become unversioned if it is set as the ${kind} version`,
    tooManyRequests: (d) => `too many requests issued to Worker Deployment '${d}'. Please try again later`,
  },
};

// Texts that are the same in every release that has the API.
const COMMON_TEXT = {
  namespaceNotSet: 'Namespace is not set on request.',
  versioningDisabled: 'Worker Deployment Versions are disabled on this namespace.',
  conflictTokenMismatch: 'conflict token mismatch',
  percentageRange: 'Percentage must be between 0 and 100 (inclusive)',
  deploymentHasVersions: "deployment has versions, can't be deleted",
  versionNotFound: 'Worker Deployment Version not found',
  deploymentVersionEmpty: 'deployment version cannot be empty',
  deploymentNameEmpty: 'deployment name cannot be empty',
  identityRequired: 'Identity is required',
  metadataEmpty: 'At least one of remove_entries or upsert_entries must be provided',
  deprecatedDeployments: 'Deployments are deprecated and no longer supported, use Worker Deployments instead',
  rampAlreadyCurrent: (v) => `requested ramping version ${v} is already current`,
  managerMismatch: (m, i) => `ManagerIdentity '${m}' is set and does not match user identity '${i}'; to proceed, set your own identity as the ManagerIdentity, remove the ManagerIdentity, or wait for the other client to do so`,
  pinnedNotInQueue: (d, b, tq) => `Pinned version '${d}:${b}' is not present in task queue '${tq}' of type 'Workflow'`,
  readRateLimited: (ns) => `Worker Deployment Read API rate limit exceeded for namespace "${ns}"`,
  invalidDeleteVersion: (v) => `invalid version string ${JSON.stringify(v)}, expected format is "<deployment_name>.<build_id>"`,
  // The server wraps missing system workflows in the history service's
  // NotFound; its exact wording is unverified (reference §9).
  systemWorkflowNotFound: (id) => `workflow not found for ID: ${id}`,
};

// Build the behaviour profile for one server release.  `opts` may override
// the derived switches (reactivation, versioningDisabled).
function makeProfile(serverVersion, opts = {}) {
  const v = parseServerVersion(serverVersion);
  if (v.major !== 1) throw new Error(`unsupported --server-version ${serverVersion}: only 1.x releases exist`);
  const at = (minor) => v.minor >= minor;
  const p = {
    serverVersion: String(serverVersion).replace(/^v/, ''),
    ...v,
    // 1.27 introduced the RPCs, behind flags that are off by default.
    hasDeploymentApis: at(27),
    versioningEnabled: at(28) && !opts.versioningDisabled,
    hasManagerApi: at(29),
    hasAllowNoPollers: at(29),
    hasVersionTaskQueues: at(29),
    // 1.29 answered Set* on a missing deployment with FAILED_PRECONDITION.
    setOnMissingDeploymentIsPrecondition: v.minor === 29,
    // 1.30: pinned overrides must name a version present in the task queue.
    pinnedStartMembershipCheck: at(30),
    hasRevisionNumber: at(30),
    hasRoutingUpdateState: at(30),
    hasLastCurrentTime: at(30),
    // §10: allow_no_pollers with an empty build is rejected before 1.31.
    allowNoPollersEmptyBuild: at(31),
    // 1.31 turned on asynchronous routing propagation.
    asyncRouting: at(31),
    hasVersionLastModifier: at(31),
    // Reactivation of DRAINED/INACTIVE versions by pinned starts: handler in
    // 1.31 but off; on by default after 1.31.
    reactivation: opts.reactivation !== undefined ? !!opts.reactivation : at(32),
    wording: at(30) ? WORDING.current : WORDING.legacy,
    text: COMMON_TEXT,
  };
  return p;
}

// The limits of deployment and build names (reference §5): the internal
// workflow id "temporal-sys-worker-deployment-version:<d>:<b>" must fit in
// limit.maxIDLength (1000), hence (1000 - 39) / 2 = 480 bytes each.
const MAX_NAME_BYTES = Math.floor((1000 - 39) / 2);

// The server's validateVersionWfParams: fieldName is "WorkerDeploymentName"
// or "BuildID".  Throws INVALID_ARGUMENT with the server's wording.
function validateNameField(fieldName, value) {
  if (!value) throw invalidArgument(`${fieldName} cannot be empty`);
  if (Buffer.byteLength(value) > MAX_NAME_BYTES) throw invalidArgument(`size of ${fieldName} larger than the maximum allowed`);
  if (fieldName === 'WorkerDeploymentName') {
    for (const ch of ['.', ':']) {
      if (value.includes(ch)) throw invalidArgument(`worker deployment name cannot contain '${ch}'`);
    }
  }
  if (value.startsWith('__')) throw invalidArgument(`${fieldName} cannot start with '__'`);
}

module.exports = { makeProfile, parseServerVersion, validateNameField, MAX_NAME_BYTES, COMMON_TEXT };
