'use strict';
// Validation rules shared by every resource: names, qualified names, label
// and annotation maps, ObjectMeta on create and on update (notes §2.1, §1.9;
// apimachinery pkg/util/validation/validation.go and
// pkg/api/validation/objectmeta.go). Messages are the real ones, including
// their regex text and the doubled spaces RegexError produces.

const { field, GoLiteral } = require('./status');

const QNAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QNAME_RE = new RegExp('^' + QNAME_FMT + '$');
const QNAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = '(' + QNAME_FMT + ')?';
const LABEL_VALUE_RE = new RegExp('^' + LABEL_VALUE_FMT + '$');
const LABEL_VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL_RE = new RegExp('^' + DNS1123_LABEL_FMT + '$');
const DNS1123_LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUB_FMT = DNS1123_LABEL_FMT + '(\\.' + DNS1123_LABEL_FMT + ')*';
const DNS1123_SUB_RE = new RegExp('^' + DNS1123_SUB_FMT + '$');
const DNS1123_SUB_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

const TOTAL_ANNOTATION_SIZE = 256 * 1024;

// validation.RegexError.
function regexError(msg, fmt, ...examples) {
  if (!examples.length) return `${msg} (regex used for validation is '${fmt}')`;
  let s = msg + ' (e.g. ';
  examples.forEach((e, i) => {
    if (i > 0) s += ' or ';
    s += `'${e}', `;
  });
  return s + `regex used for validation is '${fmt}')`;
}

const maxLenError = (n) => `must be no more than ${n} characters`;

function isDNS1123Subdomain(v) {
  const errs = [];
  if (v.length > 253) errs.push(maxLenError(253));
  if (!DNS1123_SUB_RE.test(v)) errs.push(regexError(DNS1123_SUB_MSG, DNS1123_SUB_FMT, 'example.com'));
  return errs;
}

function isDNS1123Label(v) {
  const errs = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!DNS1123_LABEL_RE.test(v)) errs.push(regexError(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  return errs;
}

// validation.IsQualifiedName: optional DNS-subdomain prefix and '/', then a
// 1-63 character name.
function isQualifiedName(v) {
  const errs = [];
  const parts = v.split('/');
  let name;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of isDNS1123Subdomain(prefix)) errs.push('prefix part ' + m);
  } else {
    return ['a qualified name ' + regexError(QNAME_MSG, QNAME_FMT, 'MyName', 'my.name', '123-abc') +
      " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part ' + maxLenError(63));
  if (!QNAME_RE.test(name)) errs.push('name part ' + regexError(QNAME_MSG, QNAME_FMT, 'MyName', 'my.name', '123-abc'));
  return errs;
}

function isValidLabelValue(v) {
  const errs = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(v)) errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

// Name validators (apimachinery NameIsDNSSubdomain / NameIsDNSLabel): for a
// generateName prefix a trailing '-' is masked first.
function nameIsDNSSubdomain(name, prefix) {
  if (prefix && name.endsWith('-')) name = name.slice(0, -1) + 'a';
  return isDNS1123Subdomain(name);
}
function nameIsDNSLabel(name, prefix) {
  if (prefix && name.endsWith('-')) name = name.slice(0, -1) + 'a';
  return isDNS1123Label(name);
}

function sortedKeys(m) { return Object.keys(m || {}).sort(); }

function validateLabels(labels, path) {
  const errs = [];
  for (const k of sortedKeys(labels)) {
    for (const m of isQualifiedName(k)) errs.push(field.invalid(path, k, m));
    for (const m of isValidLabelValue(labels[k])) errs.push(field.invalid(path, labels[k], m));
  }
  return errs;
}

// Byte length as Go's len(string) counts it.
const byteLen = (s) => Buffer.byteLength(s, 'utf8');

// ValidateAnnotations: keys are qualified names checked in lower case; the
// sum of key and value lengths is capped at 256 KiB.
function validateAnnotations(ann, path, minor) {
  const errs = [];
  let total = 0;
  for (const k of sortedKeys(ann)) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(field.invalid(path, k, m));
    total += byteLen(k) + byteLen(ann[k]);
  }
  if (total > TOTAL_ANNOTATION_SIZE) errs.push(field.tooLong(path, '', TOTAL_ANNOTATION_SIZE, minor));
  return errs;
}

const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

function validateFinalizers(finalizers, path) {
  const errs = [];
  const seen = new Set();
  (finalizers || []).forEach((f) => {
    for (const m of isQualifiedName(f)) errs.push(field.invalid(path, f, m));
    if (!f.includes('/') && !STANDARD_FINALIZERS.has(f)) {
      errs.push(field.invalid(path, f, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
    if (seen.has(f)) errs.push(field.duplicate(path, f));
    seen.add(f);
  });
  if (seen.has('orphan') && seen.has('foregroundDeletion')) {
    errs.push(field.invalid(path, new GoLiteral(JSON.stringify(finalizers)),
      'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return errs;
}

function validateOwnerReferences(refs, path) {
  const errs = [];
  const controllers = [];
  (refs || []).forEach((r) => {
    const version = (r.apiVersion || '').split('/').pop();
    if (!version) errs.push(field.invalid(path + '.apiVersion', r.apiVersion || '', 'version must not be empty'));
    if (!r.kind) errs.push(field.invalid(path + '.kind', r.kind || '', 'kind must not be empty'));
    if (!r.name) errs.push(field.invalid(path + '.name', r.name || '', 'name must not be empty'));
    if (!r.uid) errs.push(field.invalid(path + '.uid', r.uid || '', 'uid must not be empty'));
    if (r.controller) controllers.push(`${r.kind}/${r.name}`);
  });
  if (controllers.length > 1) {
    errs.push(field.invalid(path + '.controller', new GoLiteral('[]v1.OwnerReference{...}'),
      `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(' and ')}`));
  }
  return errs;
}

// ValidateObjectMeta for a namespaced object on create.
function validateObjectMeta(meta, nameFn, minor, path = 'metadata') {
  const errs = [];
  if (meta.generateName) {
    for (const m of nameFn(meta.generateName, true)) errs.push(field.invalid(path + '.generateName', meta.generateName, m));
  }
  if (!meta.name) errs.push(field.required(path + '.name', 'name or generateName is required'));
  else for (const m of nameFn(meta.name, false)) errs.push(field.invalid(path + '.name', meta.name, m));
  if (!meta.namespace) errs.push(field.required(path + '.namespace', ''));
  else for (const m of nameIsDNSLabel(meta.namespace, false)) errs.push(field.invalid(path + '.namespace', meta.namespace, m));
  if (meta.generation !== undefined && meta.generation < 0) {
    errs.push(field.invalid(path + '.generation', meta.generation, 'must be greater than or equal to 0'));
  }
  errs.push(...validateLabels(meta.labels, path + '.labels'));
  errs.push(...validateAnnotations(meta.annotations, path + '.annotations', minor));
  errs.push(...validateOwnerReferences(meta.ownerReferences, path + '.ownerReferences'));
  errs.push(...validateFinalizers(meta.finalizers, path + '.finalizers'));
  return errs;
}

function immutable(path, newVal, oldVal) {
  if (JSON.stringify(newVal) === JSON.stringify(oldVal)) return [];
  const shown = newVal === undefined ? null : newVal;
  return [field.invalid(path, typeof shown === 'object' && shown !== null ? new GoLiteral(JSON.stringify(shown)) : shown,
    'field is immutable')];
}

// ValidateObjectMetaUpdate.
function validateObjectMetaUpdate(meta, old, minor, path = 'metadata') {
  const errs = [];
  if (old.deletionTimestamp) {
    const added = (meta.finalizers || []).filter((f) => !(old.finalizers || []).includes(f));
    if (added.length) errs.push(field.forbidden(path + '.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`));
  }
  errs.push(...immutable(path + '.name', meta.name, old.name));
  errs.push(...immutable(path + '.namespace', meta.namespace, old.namespace));
  errs.push(...immutable(path + '.uid', meta.uid, old.uid));
  errs.push(...immutable(path + '.creationTimestamp', meta.creationTimestamp, old.creationTimestamp));
  errs.push(...immutable(path + '.deletionTimestamp', meta.deletionTimestamp, old.deletionTimestamp));
  errs.push(...immutable(path + '.deletionGracePeriodSeconds', meta.deletionGracePeriodSeconds, old.deletionGracePeriodSeconds));
  errs.push(...validateLabels(meta.labels, path + '.labels'));
  errs.push(...validateAnnotations(meta.annotations, path + '.annotations', minor));
  errs.push(...validateOwnerReferences(meta.ownerReferences, path + '.ownerReferences'));
  errs.push(...validateFinalizers(meta.finalizers, path + '.finalizers'));
  return errs;
}

module.exports = {
  isDNS1123Subdomain, isDNS1123Label, isQualifiedName, isValidLabelValue,
  nameIsDNSSubdomain, nameIsDNSLabel, validateLabels, validateAnnotations,
  validateObjectMeta, validateObjectMetaUpdate, immutable,
  TOTAL_ANNOTATION_SIZE,
};
