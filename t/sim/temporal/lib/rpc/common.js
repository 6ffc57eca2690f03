'use strict';
// Checks shared by the RPC handlers: the frontend's namespace handling and
// the parsing of version arguments (reference §5, §6.5).

const {
  invalidArgument,
  permissionDenied,
  namespaceNotFound,
  resourceExhausted,
} = require('../errors');
const { enumValues } = require('../schema');
const { UNVERSIONED, parseLegacyVersion } = require('../model/deployment');

const CAUSE_RPS_LIMIT = enumValues('temporal.api.enums.v1.ResourceExhaustedCause', 'RESOURCE_EXHAUSTED_CAUSE_').RPS_LIMIT;
const SCOPE_NAMESPACE = enumValues('temporal.api.enums.v1.ResourceExhaustedScope', 'RESOURCE_EXHAUSTED_SCOPE_').NAMESPACE;

// Namespace handling of the frontend for the RPCs that check it themselves
// (Describe*, Set{Current,Ramping}, List, workflow and task queue RPCs):
// empty -> INVALID_ARGUMENT, versioning disabled -> PERMISSION_DENIED (only
// for worker-deployment RPCs), unknown -> NOT_FOUND (NamespaceNotFound).
function frontendNamespace(ctx, name, { versioning = false } = {}) {
  const p = ctx.sim.profile;
  if (!name) throw invalidArgument(p.text.namespaceNotSet);
  if (versioning && !p.versioningEnabled) throw permissionDenied(p.text.versioningDisabled);
  return existingNamespace(ctx, name);
}

// RPCs without their own empty-namespace check (SetManager, the two Delete
// RPCs, UpdateVersionMetadata; §3.8): only the registry lookup.
function existingNamespace(ctx, name) {
  const ns = ctx.sim.namespace(name);
  if (!ns) throw namespaceNotFound(name);
  return ns;
}

// The shared Describe* read rate limit (§3.1).
function readRateLimit(ctx, ns) {
  if (!ctx.sim.takeReadToken(ns.name)) {
    throw resourceExhausted(ctx.sim.profile.text.readRateLimited(ns.name), CAUSE_RPS_LIMIT, SCOPE_NAMESPACE);
  }
}

// Target of SetCurrent/SetRamping after legacy-field precedence (§5): a
// non-empty `version` wins over `build_id`.  Returns {unversioned, key,
// buildId} where key is the string the deployment workflow looks up.
function setTarget(version, buildId, deploymentName, { strictDeploymentMatch }) {
  if (version) {
    let parsed;
    try {
      parsed = parseLegacyVersion(version);
    } catch (err) {
      throw invalidArgument(`invalid version string: ${err.message}`);
    }
    if (parsed.unversioned) return { unversioned: true, key: UNVERSIONED, buildId: null };
    const mismatch = strictDeploymentMatch
      ? parsed.deploymentName !== deploymentName
      : parsed.deploymentName !== '' && parsed.deploymentName !== deploymentName;
    if (mismatch) {
      throw invalidArgument(`invalid version string '${version}' does not match deployment name '${deploymentName}'`);
    }
    return { unversioned: false, key: version, buildId: parsed.buildId };
  }
  if (!buildId) return { unversioned: true, key: UNVERSIONED, buildId: null };
  return { unversioned: false, key: `${deploymentName}.${buildId}`, buildId };
}

// (deployment, build) of Describe/Delete/UpdateMetadata requests.  `prefer`
// says which field wins when both are given: 'legacy' (Describe) or
// 'structured' (Delete, UpdateMetadata).  Returns null when neither is set
// or the legacy string is unusable; the caller picks the error.
function addressedVersion(req, prefer) {
  const fromStructured = () => (req.deploymentVersion
    ? { deploymentName: req.deploymentVersion.deploymentName || '', buildId: req.deploymentVersion.buildId || '', text: `${req.deploymentVersion.deploymentName || ''}.${req.deploymentVersion.buildId || ''}` }
    : null);
  const fromLegacy = () => {
    if (!req.version) return null;
    try {
      const p = parseLegacyVersion(req.version);
      if (p.unversioned) return { unversioned: true, text: req.version };
      return { deploymentName: p.deploymentName, buildId: p.buildId, text: req.version };
    } catch (err) {
      return { invalid: true, text: req.version, error: err.message };
    }
  };
  if (prefer === 'legacy') return fromLegacy() || fromStructured();
  return fromStructured() || fromLegacy();
}

function bytes(b) {
  return b && b.length ? Buffer.from(b) : null;
}

module.exports = { frontendNamespace, existingNamespace, readRateLimit, setTarget, addressedVersion, bytes };
