'use strict';
// The resources the simulator serves and their registry strategies: Go
// types (for decoding), defaulting, create/update preparation, validation,
// field selectors and update rules (notes §1.9 Lease, §4.1-§4.3 Deployments,
// Scale and Events; kubernetes pkg/registry/*/strategy.go and
// pkg/apis/*/validation).

const { struct, array, object, LabelSelector, ObjectMeta } = require('./schema');
const { field, GoLiteral, goStringMap, quote } = require('./status');
const V = require('./validation');
const { labelSelectorMatches, labelSelectorString } = require('./selector');
const { clone, deepEqual } = require('./util');

// ---- Go types ---------------------------------------------------------------

const leaseTypes = new Map();
function leaseType(minor) {
  if (!leaseTypes.has(minor)) leaseTypes.set(minor, buildLeaseType(minor));
  return leaseTypes.get(minor);
}

function buildLeaseType(minor) {
  const spec = {
    holderIdentity: 'string', leaseDurationSeconds: 'int32', acquireTime: 'microtime',
    renewTime: 'microtime', leaseTransitions: 'int32',
  };
  // strategy and preferredHolder joined LeaseSpec in 1.31 (coordinated
  // leader election, notes §1.10); older servers drop them as unknown.
  if (minor >= 31) Object.assign(spec, { strategy: 'string', preferredHolder: 'string' });
  return object('Lease', { spec: struct('LeaseSpec', spec) });
}

const EnvVar = struct('EnvVar', {
  name: 'string', value: 'string?',
  valueFrom: struct('EnvVarSource', {
    fieldRef: struct('ObjectFieldSelector', { apiVersion: 'string?', fieldPath: 'string' }),
  }, { open: true }),
});
const ContainerPort = struct('ContainerPort', {
  name: 'string?', hostPort: 'int32?', containerPort: 'int32', protocol: 'string?', hostIP: 'string?',
});
const Container = struct('Container', {
  name: 'string', image: 'string?', command: array('string'), args: array('string'),
  workingDir: 'string?', ports: array(ContainerPort), env: array(EnvVar),
}, { open: true });
const PodSpec = struct('PodSpec', {
  initContainers: array(Container), containers: array(Container), restartPolicy: 'string?',
  terminationGracePeriodSeconds: 'int64', nodeName: 'string?', serviceAccountName: 'string?',
}, { open: true });
const PodTemplateSpec = struct('PodTemplateSpec', { metadata: ObjectMeta, spec: PodSpec });

const DeploymentType = object('Deployment', {
  spec: struct('DeploymentSpec', {
    replicas: 'int32', selector: LabelSelector, template: PodTemplateSpec,
    strategy: 'any', minReadySeconds: 'int32?', revisionHistoryLimit: 'int32',
    paused: 'bool?', progressDeadlineSeconds: 'int32',
  }),
  status: 'any',
});
const ReplicaSetType = object('ReplicaSet', {
  spec: struct('ReplicaSetSpec', {
    replicas: 'int32', minReadySeconds: 'int32?', selector: LabelSelector, template: PodTemplateSpec,
  }),
  status: 'any',
});
const PodType = object('Pod', { spec: PodSpec, status: 'any' });

const ObjectReference = struct('ObjectReference', {
  kind: 'string?', namespace: 'string?', name: 'string?', uid: 'string?',
  apiVersion: 'string?', resourceVersion: 'string?', fieldPath: 'string?',
});
const EventType = object('Event', {
  eventTime: 'microtime',
  series: struct('EventSeries', { count: 'int32', lastObservedTime: 'microtime' }),
  reportingController: 'string?', reportingInstance: 'string?', action: 'string?', reason: 'string?',
  regarding: ObjectReference, related: ObjectReference, note: 'string?', type: 'string?',
  deprecatedSource: struct('EventSource', { component: 'string?', host: 'string?' }),
  deprecatedFirstTimestamp: 'time', deprecatedLastTimestamp: 'time', deprecatedCount: 'int32?',
});

const ScaleType = object('Scale', {
  spec: struct('ScaleSpec', { replicas: 'int32?' }),
  status: struct('ScaleStatus', { replicas: 'int32', selector: 'string?' }),
});

// ---- pod spec defaulting and validation ----------------------------------------

// SetDefaults_PodSpec / SetDefaults_Container for the fields a client can see
// in what it reads back.
function defaultPodSpec(spec) {
  if (!spec) return;
  if (spec.dnsPolicy === undefined) spec.dnsPolicy = 'ClusterFirst';
  if (spec.restartPolicy === undefined) spec.restartPolicy = 'Always';
  if (spec.terminationGracePeriodSeconds === undefined) spec.terminationGracePeriodSeconds = 30;
  if (spec.securityContext === undefined) spec.securityContext = {};
  if (spec.schedulerName === undefined) spec.schedulerName = 'default-scheduler';
  if (spec.enableServiceLinks === undefined) spec.enableServiceLinks = true;
  for (const c of [...(spec.initContainers || []), ...(spec.containers || [])]) {
    if (c.terminationMessagePath === undefined) c.terminationMessagePath = '/dev/termination-log';
    if (c.terminationMessagePolicy === undefined) c.terminationMessagePolicy = 'File';
    if (c.imagePullPolicy === undefined) c.imagePullPolicy = pullPolicy(c.image || '');
    if (c.resources === undefined) c.resources = {};
    for (const p of c.ports || []) if (p.protocol === undefined) p.protocol = 'TCP';
    for (const e of c.env || []) {
      if (e.valueFrom && e.valueFrom.fieldRef && e.valueFrom.fieldRef.apiVersion === undefined) {
        e.valueFrom.fieldRef.apiVersion = 'v1';
      }
    }
  }
}

// An image without tag or digest is ":latest", pulled Always.
function pullPolicy(image) {
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function validatePodSpec(spec, path) {
  const errs = [];
  spec = spec || {};
  const containers = spec.containers || [];
  if (!containers.length) errs.push(field.required(path + '.containers', ''));
  const names = new Set();
  const check = (list, what) => list.forEach((c, i) => {
    const p = `${path}.${what}[${i}]`;
    if (!c.name) errs.push(field.required(p + '.name', ''));
    else {
      for (const m of V.isDNS1123Label(c.name)) errs.push(field.invalid(p + '.name', c.name, m));
      if (names.has(c.name)) errs.push(field.duplicate(p + '.name', c.name));
      names.add(c.name);
    }
    if (!c.image) errs.push(field.required(p + '.image', ''));
    (c.env || []).forEach((e, j) => {
      if (!e.name) errs.push(field.required(`${p}.env[${j}].name`, ''));
    });
  });
  check(spec.initContainers || [], 'initContainers');
  check(containers, 'containers');
  const rp = spec.restartPolicy;
  if (rp && !['Always', 'OnFailure', 'Never'].includes(rp)) {
    errs.push(field.notSupported(path + '.restartPolicy', rp, ['Always', 'OnFailure', 'Never']));
  }
  return errs;
}

// %#v of a *metav1.LabelSelector as validation messages print it.
function goLabelSelector(sel) {
  const ml = sel.matchLabels ? goStringMap(sel.matchLabels).text : 'map[string]string(nil)';
  const me = sel.matchExpressions && sel.matchExpressions.length
    ? '[]v1.LabelSelectorRequirement{' + sel.matchExpressions.map((e) =>
      `v1.LabelSelectorRequirement{Key:${quote(e.key || '')}, Operator:${quote(e.operator || '')}, Values:[]string{${(e.values || []).map(quote).join(', ')}}}`).join(', ') + '}'
    : '[]v1.LabelSelectorRequirement(nil)';
  return new GoLiteral(`v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:${me}}`);
}

// ValidateDeploymentSpec / ValidateReplicaSetSpec: the selector and the
// template it must match.
function validateWorkloadSpec(spec, kind, minor) {
  const errs = [];
  spec = spec || {};
  if (spec.replicas !== undefined && spec.replicas < 0) {
    errs.push(field.invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  }
  const sel = spec.selector;
  if (!sel) {
    errs.push(field.required('spec.selector', ''));
  } else {
    const exprs = sel.matchExpressions || [];
    exprs.forEach((e, i) => {
      const p = `spec.selector.matchExpressions[${i}]`;
      if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) {
        errs.push(field.invalid(p + '.operator', e.operator || '', 'not a valid selector operator'));
      }
    });
    errs.push(...V.validateLabels(sel.matchLabels, 'spec.selector.matchLabels'));
    if (Object.keys(sel.matchLabels || {}).length + exprs.length === 0) {
      errs.push(field.invalid('spec.selector', goLabelSelector(sel), `empty selector is invalid for ${kind}`));
    }
  }
  const tmpl = spec.template || {};
  const labels = (tmpl.metadata && tmpl.metadata.labels) || {};
  if (sel && !labelSelectorMatches(sel, labels) &&
      Object.keys(sel.matchLabels || {}).length + (sel.matchExpressions || []).length > 0) {
    errs.push(field.invalid('spec.template.metadata.labels', goStringMap(labels), '`selector` does not match template `labels`'));
  }
  errs.push(...V.validateLabels(labels, 'spec.template.metadata.labels'));
  errs.push(...V.validateAnnotations((tmpl.metadata && tmpl.metadata.annotations) || {}, 'spec.template.metadata.annotations', minor));
  errs.push(...validatePodSpec(tmpl.spec, 'spec.template.spec'));
  const rp = tmpl.spec && tmpl.spec.restartPolicy;
  if (rp !== 'Always') errs.push(field.notSupported('spec.template.spec.restartPolicy', rp || '', ['Always']));
  return errs;
}

// ---- resource table -----------------------------------------------------------

const genericFieldLabels = ['metadata.name', 'metadata.namespace'];
const genericFieldError = (label) =>
  `${quote(label)} is not a known field selector: only "metadata.name", "metadata.namespace"`;

function metaFields(o) {
  return { 'metadata.name': o.metadata.name, 'metadata.namespace': o.metadata.namespace };
}

const leases = {
  plural: 'leases', singular: 'lease', kind: 'Lease', group: 'coordination.k8s.io', version: 'v1',
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  type: (minor) => leaseType(minor),
  // pkg/registry/coordination/lease/strategy.go
  allowCreateOnUpdate: true,
  allowUnconditionalUpdate: false,
  // LeaseSpec is a struct value: it is always encoded, empty or not.
  defaults(obj) { obj.spec = obj.spec || {}; },
  validate(obj) { return validateLeaseSpec(obj.spec || {}); },
  validateUpdate(obj) { return validateLeaseSpec(obj.spec || {}); },
  fieldLabels: genericFieldLabels,
  fields: metaFields,
  fieldError: genericFieldError,
};

// pkg/apis/coordination/validation: ValidateLeaseSpec.
function validateLeaseSpec(spec) {
  const errs = [];
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0) {
    errs.push(field.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'));
  }
  if (spec.leaseTransitions !== undefined && spec.leaseTransitions < 0) {
    errs.push(field.invalid('spec.leaseTransitions', spec.leaseTransitions, 'must be greater than or equal to 0'));
  }
  if (spec.strategy !== undefined) {
    const parts = spec.strategy.split('/');
    if (parts.length === 1) {
      if (spec.strategy !== 'OldestEmulationVersion') {
        errs.push(field.notSupported('spec.strategy', spec.strategy, ['OldestEmulationVersion']));
      }
    } else {
      for (const m of V.isQualifiedName(spec.strategy)) errs.push(field.invalid('spec.strategy', spec.strategy, m));
    }
  }
  if (spec.preferredHolder && !spec.strategy) {
    errs.push(field.forbidden('spec.preferredHolder', 'may only be specified if `strategy` is defined'));
  }
  return errs;
}

// Deployment strategy: status is owned by the controller, spec (and, for
// apps/v1, annotation) changes bump metadata.generation.
const deployments = {
  plural: 'deployments', singular: 'deployment', kind: 'Deployment', group: 'apps', version: 'v1',
  shortNames: ['deploy'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  type: () => DeploymentType,
  allowCreateOnUpdate: false,
  allowUnconditionalUpdate: true,
  hasGeneration: true,
  gcDefault: 'Background',
  defaults(obj) {
    const s = obj.spec = obj.spec || {};
    if (s.replicas === undefined) s.replicas = 1;
    if (!s.strategy) s.strategy = {};
    if (!s.strategy.type) s.strategy.type = 'RollingUpdate';
    if (s.strategy.type === 'RollingUpdate') {
      s.strategy.rollingUpdate = s.strategy.rollingUpdate || {};
      if (s.strategy.rollingUpdate.maxUnavailable === undefined) s.strategy.rollingUpdate.maxUnavailable = '25%';
      if (s.strategy.rollingUpdate.maxSurge === undefined) s.strategy.rollingUpdate.maxSurge = '25%';
    }
    if (s.revisionHistoryLimit === undefined) s.revisionHistoryLimit = 10;
    if (s.progressDeadlineSeconds === undefined) s.progressDeadlineSeconds = 600;
    s.template = s.template || {};
    defaultPodSpec(s.template.spec);
  },
  prepareForCreate(obj) {
    obj.status = {};
    obj.metadata.generation = 1;
  },
  prepareForUpdate(obj, old) {
    obj.status = clone(old.status);
    const bump = !deepEqual(obj.spec, old.spec) ||
      !deepEqual(obj.metadata.annotations || {}, old.metadata.annotations || {});
    obj.metadata.generation = (old.metadata.generation || 0) + (bump ? 1 : 0);
  },
  validate(obj, ctx) { return validateWorkloadSpec(obj.spec, 'deployment', ctx.minor); },
  validateUpdate(obj, old, ctx) {
    const errs = validateWorkloadSpec(obj.spec, 'deployment', ctx.minor);
    if (old.spec && obj.spec && !deepEqual(obj.spec.selector, old.spec.selector)) {
      errs.push(field.invalid('spec.selector', goLabelSelector(obj.spec.selector || {}), 'field is immutable'));
    }
    return errs;
  },
  fieldLabels: genericFieldLabels,
  fields: metaFields,
  fieldError: genericFieldError,
  subresources: ['scale', 'status'],
};

const replicasets = {
  plural: 'replicasets', singular: 'replicaset', kind: 'ReplicaSet', group: 'apps', version: 'v1',
  shortNames: ['rs'],
  // Read-only through the API in the simulator; the admin API creates them.
  verbs: ['get', 'list', 'watch'],
  type: () => ReplicaSetType,
  allowCreateOnUpdate: false,
  allowUnconditionalUpdate: true,
  hasGeneration: true,
  gcDefault: 'Background',
  defaults(obj) {
    const s = obj.spec = obj.spec || {};
    if (s.replicas === undefined) s.replicas = 1;
    s.template = s.template || {};
    defaultPodSpec(s.template.spec);
  },
  prepareForCreate(obj) { obj.metadata.generation = 1; },
  prepareForUpdate(obj, old) {
    const bump = !deepEqual(obj.spec, old.spec);
    obj.metadata.generation = (old.metadata.generation || 0) + (bump ? 1 : 0);
  },
  validate(obj, ctx) { return validateWorkloadSpec(obj.spec, 'replicaset', ctx.minor); },
  validateUpdate(obj, old, ctx) { return validateWorkloadSpec(obj.spec, 'replicaset', ctx.minor); },
  fieldLabels: [...genericFieldLabels, 'status.replicas'],
  fields: (o) => ({ ...metaFields(o), 'status.replicas': String((o.status && o.status.replicas) || 0) }),
  fieldError: (label) => `field label not supported: ${label}`,
};

const POD_FIELD_LABELS = ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.restartPolicy',
  'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'];

const pods = {
  plural: 'pods', singular: 'pod', kind: 'Pod', group: '', version: 'v1', shortNames: ['po'],
  verbs: ['create', 'delete', 'get', 'list', 'watch'],
  type: () => PodType,
  allowCreateOnUpdate: false,
  allowUnconditionalUpdate: true,
  // Pod deletion answers with the pod itself (ReturnDeletedObject).
  returnDeletedObject: true,
  defaults(obj) { defaultPodSpec(obj.spec = obj.spec || {}); },
  prepareForCreate(obj) {
    const containers = [...((obj.spec && obj.spec.containers) || []), ...((obj.spec && obj.spec.initContainers) || [])];
    const anyResources = containers.some((c) => c.resources && (c.resources.requests || c.resources.limits));
    obj.status = { phase: 'Pending', qosClass: anyResources ? 'Burstable' : 'BestEffort' };
  },
  prepareForUpdate(obj, old) { obj.status = clone(old.status); },
  validate(obj) { return validatePodSpec(obj.spec, 'spec'); },
  validateUpdate(obj) { return validatePodSpec(obj.spec, 'spec'); },
  fieldLabels: POD_FIELD_LABELS,
  fields: (o) => {
    const s = o.spec || {};
    const st = o.status || {};
    return {
      ...metaFields(o), 'spec.nodeName': s.nodeName, 'spec.restartPolicy': s.restartPolicy,
      'spec.schedulerName': s.schedulerName, 'spec.serviceAccountName': s.serviceAccountName,
      'status.phase': st.phase, 'status.podIP': st.podIP, 'status.nominatedNodeName': st.nominatedNodeName,
    };
  },
  fieldError: (label) => `field label not supported: ${label}`,
};

const EVENT_FIELD_LABELS = ['metadata.name', 'metadata.namespace', 'reportingController', 'reportingInstance',
  'action', 'reason', 'type', 'regarding.kind', 'regarding.namespace', 'regarding.name', 'regarding.uid',
  'regarding.apiVersion', 'regarding.resourceVersion', 'regarding.fieldPath'];

const events = {
  plural: 'events', singular: 'event', kind: 'Event', group: 'events.k8s.io', version: 'v1', shortNames: ['ev'],
  verbs: ['create', 'get', 'list', 'watch'],
  type: () => EventType,
  // events.k8s.io shares the core Event type: Invalid errors name "Event"
  // with the core (empty) group.
  invalidGroup: '',
  allowCreateOnUpdate: false,
  allowUnconditionalUpdate: true,
  validate(obj) { return validateEventCreate(obj); },
  validateUpdate(obj) { return validateEventCreate(obj); },
  fieldLabels: EVENT_FIELD_LABELS,
  fields: (o) => {
    const r = o.regarding || {};
    return {
      ...metaFields(o), reportingController: o.reportingController, reportingInstance: o.reportingInstance,
      action: o.action, reason: o.reason, type: o.type, 'regarding.kind': r.kind, 'regarding.namespace': r.namespace,
      'regarding.name': r.name, 'regarding.uid': r.uid, 'regarding.apiVersion': r.apiVersion,
      'regarding.resourceVersion': r.resourceVersion, 'regarding.fieldPath': r.fieldPath,
    };
  },
  fieldError: (label) => `field label not supported: ${label}`,
};

// ValidateEventCreate for a request through events.k8s.io/v1 (notes §4.3):
// the legacy checks (field paths use the internal core names:
// involvedObject, message) followed by the strict ones.
function validateEventCreate(ev) {
  const errs = [];
  const ns = ev.metadata.namespace || '';
  const regarding = ev.regarding || {};
  if (!ev.eventTime) {
    if (!regarding.namespace) {
      if (ns !== '' && ns !== 'default') {
        errs.push(field.invalid('involvedObject.namespace', regarding.namespace || '', 'does not match event.namespace'));
      }
    } else if (ns !== regarding.namespace) {
      errs.push(field.invalid('involvedObject.namespace', regarding.namespace, 'does not match event.namespace'));
    }
  } else {
    if (!regarding.namespace && ns !== 'default' && ns !== 'kube-system') {
      errs.push(field.invalid('involvedObject.namespace', '', 'does not match event.namespace'));
    }
    const rc = ev.reportingController || '';
    if (!rc) errs.push(field.required('reportingController', ''));
    for (const m of V.isQualifiedName(rc)) errs.push(field.invalid('reportingController', rc, m));
    const limits = [['reportingInstance', 128], ['action', 128], ['reason', 128]];
    for (const [f, max] of limits) {
      const v = ev[f] || '';
      if (!v) errs.push(field.required(f, ''));
      if (v.length > max) errs.push(field.invalid(f, '', `can have at most ${max} characters`));
    }
    if ((ev.note || '').length > 1024) errs.push(field.invalid('message', '', 'can have at most 1024 characters'));
  }
  for (const m of V.isDNS1123Subdomain(ns)) errs.push(field.invalid('namespace', ns, m));
  // Strict validation of events.k8s.io/v1.
  if (ev.series) {
    if (!(ev.series.count >= 2)) errs.push(field.invalid('series.count', '', 'should be at least 2'));
    if (!ev.series.lastObservedTime) errs.push(field.required('series.lastObservedTime', ''));
  }
  if (!ev.eventTime) errs.push(field.required('eventTime', ''));
  if (ev.type !== 'Normal' && ev.type !== 'Warning') {
    errs.push(field.invalid('type', '', `has invalid value: ${ev.type || ''}`));
  }
  if (ev.deprecatedFirstTimestamp) errs.push(field.invalid('firstTimestamp', '', 'needs to be unset'));
  if (ev.deprecatedLastTimestamp) errs.push(field.invalid('lastTimestamp', '', 'needs to be unset'));
  if (ev.deprecatedCount) errs.push(field.invalid('count', '', 'needs to be unset'));
  if (ev.deprecatedSource && (ev.deprecatedSource.component || ev.deprecatedSource.host)) {
    errs.push(field.invalid('source', '', 'needs to be unset'));
  }
  return errs;
}

const ALL = [leases, deployments, replicasets, pods, events];
const BY_PLURAL = new Map(ALL.map((r) => [r.plural, r]));

// Resource for /api/v1 (group '') or /apis/<group>/<version>.
function lookup(group, version, plural) {
  const r = BY_PLURAL.get(plural);
  if (!r || r.group !== group || r.version !== version) return null;
  return r;
}

// ---- Scale (autoscaling/v1) ---------------------------------------------------

// The Scale view of a Deployment (notes §4.1).
function deploymentToScale(d) {
  const scale = {
    kind: 'Scale', apiVersion: 'autoscaling/v1',
    metadata: {
      name: d.metadata.name, namespace: d.metadata.namespace, uid: d.metadata.uid,
      resourceVersion: d.metadata.resourceVersion, creationTimestamp: d.metadata.creationTimestamp,
    },
    spec: {},
    status: { replicas: (d.status && d.status.replicas) || 0 },
  };
  if (d.spec.replicas) scale.spec.replicas = d.spec.replicas;
  const sel = labelSelectorString(d.spec.selector);
  if (sel) scale.status.selector = sel;
  return scale;
}

function validateScale(scale) {
  const errs = [];
  const r = (scale.spec && scale.spec.replicas) || 0;
  if (r < 0) errs.push(field.invalid('spec.replicas', r, 'must be greater than or equal to 0'));
  return errs;
}

module.exports = {
  ALL, lookup, BY_PLURAL, leases, deployments, replicasets, pods, events,
  ScaleType, deploymentToScale, validateScale, defaultPodSpec,
};
