'use strict';
// Typed decoding of request bodies, standing in for the API server's JSON
// decoder into Go structs (sigs.k8s.io/json, case-sensitive). It reports the
// first type mismatch with Go's UnmarshalTypeError text, lets MicroTime and
// Time parse errors abort as Go's Unmarshaler errors do, drops fields the
// type does not know (collecting them for the "unknown field" warnings and
// for fieldValidation=Strict), drops nulls and empty omitempty values, and
// emits keys in struct order, as the Go encoder would.
//
// A type is one of:
//   'string' 'int32' 'int64' 'bool' 'microtime' 'time' 'any' — append '?'
//   for omitempty (zero values are dropped from the output);
//   { map: T }, { array: T }, or a struct made by struct(goName, fields,
//   { open }) — open structs keep unknown fields untouched (used for the
//   parts of Deployments and Pods the simulator does not model).

const { normalizeMicroTime, normalizeTime, TimeParseError } = require('./timefmt');
const { isObject } = require('./util');

class DecodeError extends Error {}

function struct(goName, fields, opts = {}) {
  return { struct: goName, fields, open: !!opts.open };
}
const map = (t) => ({ map: t });
const array = (t) => ({ array: t });

function jsonKind(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

const GO_TYPES = {
  string: 'string', int32: 'int32', int64: 'int64', bool: 'bool',
  microtime: 'v1.MicroTime', time: 'v1.Time',
};

class Decoder {
  constructor() {
    this.saved = null; // first UnmarshalTypeError, as encoding/json keeps it
    this.unknown = [];
  }

  typeError(value, goType, ctx) {
    if (this.saved) return;
    let what = jsonKind(value);
    if (what === 'number' && /^int/.test(goType)) what = 'number ' + String(value);
    const where = ctx.struct
      ? `Go struct field ${ctx.struct}.${ctx.path.join('.')}`
      : 'Go value';
    this.saved = new DecodeError(`json: cannot unmarshal ${what} into ${where} of type ${goType}`);
  }

  // Returns the decoded value, or undefined when it should be omitted.
  value(type, v, ctx) {
    if (typeof type === 'string') return this.scalar(type, v, ctx);
    if (type.map) return this.map(type.map, v, ctx);
    if (type.array) return this.array(type.array, v, ctx);
    return this.struct(type, v, ctx);
  }

  scalar(type, v, ctx) {
    const omitEmpty = type.endsWith('?');
    const base = omitEmpty ? type.slice(0, -1) : type;
    if (base === 'any') return v === null ? undefined : v;
    if (v === null) return undefined;
    switch (base) {
      case 'string':
        if (typeof v !== 'string') { this.typeError(v, 'string', ctx); return undefined; }
        return omitEmpty && v === '' ? undefined : v;
      case 'bool':
        if (typeof v !== 'boolean') { this.typeError(v, 'bool', ctx); return undefined; }
        return omitEmpty && !v ? undefined : v;
      case 'int32':
      case 'int64': {
        const lim = base === 'int32' ? 2 ** 31 : 2 ** 63;
        if (typeof v !== 'number' || !Number.isInteger(v) || v >= lim || v < -lim) {
          this.typeError(v, base, ctx);
          return undefined;
        }
        return omitEmpty && v === 0 ? undefined : v;
      }
      case 'microtime':
      case 'time': {
        if (typeof v !== 'string') {
          // The Unmarshaler first decodes into a Go string.
          throw new DecodeError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type string`);
        }
        try {
          return base === 'microtime' ? normalizeMicroTime(v) : normalizeTime(v);
        } catch (e) {
          if (e instanceof TimeParseError) throw new DecodeError(e.message);
          throw e;
        }
      }
      default:
        throw new Error('schema: unknown scalar type ' + type);
    }
  }

  map(elem, v, ctx) {
    if (v === null) return undefined;
    if (!isObject(v)) { this.typeError(v, 'map[string]' + goTypeName(elem), ctx); return undefined; }
    const out = {};
    for (const k of Object.keys(v)) {
      const d = this.value(elem, v[k], ctx);
      // A null map value decodes to the element's zero value.
      out[k] = d === undefined ? zeroOf(elem) : d;
    }
    return Object.keys(out).length ? out : undefined;
  }

  array(elem, v, ctx) {
    if (v === null) return undefined;
    if (!Array.isArray(v)) { this.typeError(v, '[]' + goTypeName(elem), ctx); return undefined; }
    const out = v.map((item, i) => {
      const sub = { ...ctx, path: ctx.path.slice(0, -1).concat(`${ctx.path[ctx.path.length - 1]}[${i}]`) };
      const d = this.value(elem, item, sub);
      return d === undefined ? zeroOf(elem) : d;
    });
    return out.length ? out : undefined;
  }

  struct(type, v, ctx) {
    if (v === null) return undefined;
    if (!isObject(v)) { this.typeError(v, 'v1.' + type.struct, ctx); return undefined; }
    // Walk the input in document order, as the Go decoder does (so the
    // first error and the unknown fields come in that order), then emit in
    // struct order.
    const known = {};
    const extra = {};
    for (const k of Object.keys(v)) {
      if (Object.prototype.hasOwnProperty.call(type.fields, k)) {
        const d = this.value(type.fields[k], v[k], { struct: type.struct, path: ctx.path.concat(k) });
        if (d !== undefined) known[k] = d;
      } else if (type.open) {
        extra[k] = v[k];
      } else {
        this.unknown.push(ctx.path.concat(k).join('.'));
      }
    }
    const out = {};
    for (const k of Object.keys(type.fields)) if (k in known) out[k] = known[k];
    return Object.assign(out, extra);
  }
}

function goTypeName(t) {
  if (typeof t === 'string') return GO_TYPES[t.replace('?', '')] || 'interface {}';
  if (t.map) return 'map[string]' + goTypeName(t.map);
  if (t.array) return '[]' + goTypeName(t.array);
  return 'v1.' + t.struct;
}

function zeroOf(t) {
  if (typeof t !== 'string') return t.array ? [] : {};
  const base = t.replace('?', '');
  if (base === 'string') return '';
  if (base === 'bool') return false;
  if (base === 'int32' || base === 'int64') return 0;
  return null;
}

// Decode a whole object. Returns { obj, unknown } or throws DecodeError
// carrying Go's message.
function decode(type, value) {
  const d = new Decoder();
  if (!isObject(value)) {
    throw new DecodeError(`json: cannot unmarshal ${jsonKind(value)} into Go value of type v1.${type.struct}`);
  }
  const obj = d.struct(type, value, { struct: '', path: [] });
  if (d.saved) throw d.saved;
  return { obj, unknown: d.unknown };
}

const OwnerReference = struct('OwnerReference', {
  apiVersion: 'string', kind: 'string', name: 'string', uid: 'string',
  controller: 'bool', blockOwnerDeletion: 'bool',
});

const ObjectMeta = struct('ObjectMeta', {
  name: 'string?', generateName: 'string?', namespace: 'string?', selfLink: 'string?',
  uid: 'string?', resourceVersion: 'string?', generation: 'int64?',
  creationTimestamp: 'time', deletionTimestamp: 'time', deletionGracePeriodSeconds: 'int64',
  labels: map('string'), annotations: map('string'),
  ownerReferences: array(OwnerReference), finalizers: array('string'), managedFields: 'any',
});

const LabelSelector = struct('LabelSelector', {
  matchLabels: map('string'),
  matchExpressions: array(struct('LabelSelectorRequirement', {
    key: 'string', operator: 'string', values: array('string'),
  })),
});

// Wrap a resource's top-level fields with apiVersion/kind/metadata.
function object(goName, fields, opts) {
  return struct(goName, { kind: 'string?', apiVersion: 'string?', metadata: ObjectMeta, ...fields }, opts);
}

module.exports = { decode, DecodeError, struct, map, array, object, ObjectMeta, LabelSelector, OwnerReference };
