'use strict';
// The three patch formats the API server accepts for built-in types
// (notes §2.2-§2.5):
//   application/merge-patch+json           RFC 7386
//   application/json-patch+json            RFC 6902 with RFC 6901 pointers
//   application/strategic-merge-patch+json maps as merge patch, lists merged
//                                          by their patch merge key
// Semantics follow the libraries the server uses (evanphx/json-patch v4 and
// apimachinery strategicpatch): e.g. `test` of null against a missing key
// passes, negative array indices count from the end, `replace` of a missing
// key fails.

const { clone, isObject, deepEqual } = require('./util');

class PatchError extends Error {}          // patch could not be applied (422)
class PatchFormatError extends Error {}    // patch document malformed (400)

const MAX_JSON_PATCH_OPS = 10000;

// ---- RFC 7386 -------------------------------------------------------------

function mergePatch(target, patch) {
  if (!isObject(patch)) return clone(patch);
  const out = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// ---- RFC 6901 / 6902 --------------------------------------------------------

function parsePointer(path) {
  if (typeof path !== 'string') throw new PatchError('operation missing path');
  if (path === '') return [];
  if (path[0] !== '/') throw new PatchError(`invalid JSON pointer: ${path}`);
  return path.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

// Locate the container holding the last token. Returns [container, key] or
// null when an intermediate element is missing.
function findParent(doc, tokens) {
  let cur = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    const t = tokens[i];
    if (Array.isArray(cur)) {
      const idx = arrayIndex(t, cur.length, false);
      if (idx === null) return null;
      cur = cur[idx];
    } else if (isObject(cur)) {
      if (!Object.prototype.hasOwnProperty.call(cur, t)) return null;
      cur = cur[t];
    } else {
      return null;
    }
  }
  if (!Array.isArray(cur) && !isObject(cur)) return null;
  return [cur, tokens[tokens.length - 1]];
}

// Array index from a token; forInsert allows len and "-".
function arrayIndex(token, len, forInsert) {
  if (forInsert && token === '-') return len;
  if (!/^-?[0-9]+$/.test(token)) return null;
  let i = Number(token);
  if (i < 0) {
    if (-i > len) return null;
    i = len + i;
  }
  if (forInsert ? i > len : i >= len) return null;
  return i;
}

function getAt(doc, tokens) {
  if (!tokens.length) return { found: true, value: doc };
  const p = findParent(doc, tokens);
  if (!p) return { found: false, parent: false };
  const [c, k] = p;
  if (Array.isArray(c)) {
    const i = arrayIndex(k, c.length, false);
    return i === null ? { found: false, parent: true } : { found: true, value: c[i] };
  }
  return Object.prototype.hasOwnProperty.call(c, k)
    ? { found: true, value: c[k] } : { found: false, parent: true };
}

// The operations mutate `state.doc` in place (the caller passes a copy);
// replacing the root swaps state.doc.
function opAdd(state, tokens, value, path) {
  if (!tokens.length) { state.doc = value; return; }
  const p = findParent(state.doc, tokens);
  if (!p) throw new PatchError(`add operation does not apply: doc is missing path: "${path}"`);
  const [c, k] = p;
  if (Array.isArray(c)) {
    const i = arrayIndex(k, c.length, true);
    if (i === null) throw new PatchError(`Unable to access invalid index: ${k}`);
    c.splice(i, 0, value);
  } else {
    c[k] = value;
  }
}

function opRemove(state, tokens, path) {
  if (!tokens.length) throw new PatchError('unable to remove the whole document');
  const p = findParent(state.doc, tokens);
  if (!p) throw new PatchError(`remove operation does not apply: doc is missing path: "${path}"`);
  const [c, k] = p;
  if (Array.isArray(c)) {
    const i = arrayIndex(k, c.length, false);
    if (i === null) throw new PatchError(`Unable to remove invalid index: ${k}`);
    return c.splice(i, 1)[0];
  }
  if (!Object.prototype.hasOwnProperty.call(c, k)) {
    throw new PatchError(`Unable to remove nonexistent key: ${k}: missing value`);
  }
  const v = c[k];
  delete c[k];
  return v;
}

function opReplace(state, tokens, value, path) {
  if (!tokens.length) { state.doc = value; return; }
  const p = findParent(state.doc, tokens);
  if (!p) throw new PatchError(`replace operation does not apply: doc is missing path: ${path}`);
  const [c, k] = p;
  if (Array.isArray(c)) {
    const i = arrayIndex(k, c.length, false);
    if (i === null) throw new PatchError(`Unable to access invalid index: ${k}`);
    c[i] = value;
  } else {
    if (!Object.prototype.hasOwnProperty.call(c, k)) {
      throw new PatchError(`replace operation does not apply: doc is missing key: ${path}: missing value`);
    }
    c[k] = value;
  }
}

function opTest(state, tokens, value, path) {
  const r = getAt(state.doc, tokens);
  if (!r.found && !r.parent) throw new PatchError(`test operation does not apply: is missing path: ${path}`);
  const actual = r.found ? r.value : null;
  if (actual === null || actual === undefined) {
    if (value === null) return;
    throw new PatchError(`testing value ${path} failed: test failed`);
  }
  if (!deepEqual(actual, value)) throw new PatchError(`testing value ${path} failed: test failed`);
}

// Parse and sanity-check a JSON Patch document (jsonpatch.DecodePatch).
function decodeJsonPatch(ops) {
  if (!Array.isArray(ops)) {
    throw new PatchFormatError(`json: cannot unmarshal ${typeof ops === 'object' && ops ? 'object' : typeof ops} into Go value of type jsonpatch.Patch`);
  }
  for (const op of ops) {
    if (!isObject(op)) throw new PatchFormatError('json: cannot unmarshal non-object into Go value of type jsonpatch.Operation');
  }
  return ops;
}

function applyJsonPatch(doc, ops) {
  const state = { doc: clone(doc) };
  for (const op of ops) {
    const has = (k) => Object.prototype.hasOwnProperty.call(op, k);
    const value = has('value') ? clone(op.value) : null;
    switch (op.op) {
      case 'add': opAdd(state, parsePointer(op.path), value, op.path); break;
      case 'remove': opRemove(state, parsePointer(op.path), op.path); break;
      case 'replace': opReplace(state, parsePointer(op.path), value, op.path); break;
      case 'test': opTest(state, parsePointer(op.path), value, op.path); break;
      case 'move': {
        const from = parsePointer(op.from);
        const to = parsePointer(op.path);
        if (to.length > from.length && from.every((t, i) => to[i] === t)) {
          throw new PatchError(`invalid move: ${op.from} is a prefix of ${op.path}`);
        }
        const r = getAt(state.doc, from);
        if (!r.found) throw new PatchError(`move operation does not apply: doc is missing from path: ${op.from}`);
        const v = opRemove(state, from, op.from);
        opAdd(state, to, v, op.path);
        break;
      }
      case 'copy': {
        const r = getAt(state.doc, parsePointer(op.from));
        if (!r.found) throw new PatchError(`copy operation does not apply: doc is missing from path: ${op.from}`);
        opAdd(state, parsePointer(op.path), clone(r.value), op.path);
        break;
      }
      default:
        throw new PatchError(`Unexpected kind: ${op.op}`);
    }
  }
  return state.doc;
}

// ---- strategic merge patch --------------------------------------------------

// Patch merge keys of the list fields in the types the simulator serves
// (k8s.io/api struct tags patchStrategy:"merge" patchMergeKey:"...").
const MERGE_KEYS = {
  containers: 'name', initContainers: 'name', ephemeralContainers: 'name',
  env: 'name', volumes: 'name', volumeMounts: 'mountPath', volumeDevices: 'devicePath',
  ports: 'containerPort', imagePullSecrets: 'name', ownerReferences: 'uid',
  conditions: 'type', hostAliases: 'ip', resourceClaims: 'name',
};
// Lists of scalars merged as sets (patchStrategy:"merge" on []string).
const PRIMITIVE_MERGE = new Set(['finalizers']);

const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';
const SET_ORDER = '$setElementOrder/';

function smpMap(orig, patch) {
  if (!isObject(patch)) return clone(patch);
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const out = clone(patch);
    delete out.$patch;
    return out;
  }
  if (directive !== undefined && directive !== 'merge') {
    throw new PatchFormatError(`Unknown patch type: ${directive} in map: ${JSON.stringify(patch)}`);
  }
  const out = isObject(orig) ? clone(orig) : {};
  const retain = patch.$retainKeys;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(SET_ORDER)) continue;
    if (k.startsWith(DELETE_PRIMITIVE)) {
      const f = k.slice(DELETE_PRIMITIVE.length);
      if (!Array.isArray(v)) throw new PatchFormatError('invalid patch: $deleteFromPrimitiveList value must be a list');
      if (Array.isArray(out[f])) out[f] = out[f].filter((x) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    if (v === null) { delete out[k]; continue; }
    if (Array.isArray(v)) {
      out[k] = smpList(k, out[k], v);
    } else if (isObject(v)) {
      const m = smpMap(out[k], v);
      if (m === undefined) delete out[k];
      else out[k] = m;
    } else {
      out[k] = v;
    }
  }
  if (Array.isArray(retain)) {
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  return out;
}

function smpList(fieldName, orig, patch) {
  const replace = patch.find((e) => isObject(e) && e.$patch === 'replace');
  if (replace) return clone(patch.filter((e) => e !== replace));
  if (PRIMITIVE_MERGE.has(fieldName)) {
    const out = Array.isArray(orig) ? orig.slice() : [];
    for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(v);
    return out;
  }
  const key = MERGE_KEYS[fieldName];
  if (!key) return clone(patch.filter((e) => !(isObject(e) && e.$patch)));
  const out = Array.isArray(orig) ? clone(orig) : [];
  for (const elem of patch) {
    if (!isObject(elem)) throw new PatchFormatError(`invalid patch: list ${fieldName} with merge key ${key} holds a non-map element`);
    if (!(key in elem)) throw new PatchFormatError(`map: ${JSON.stringify(elem)} does not contain declared merge key: ${key}`);
    const i = out.findIndex((x) => isObject(x) && deepEqual(x[key], elem[key]));
    if (elem.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = smpMap(out[i], elem);
    else {
      const e = smpMap({}, elem);
      out.push(e);
    }
  }
  return out;
}

function strategicMergePatch(doc, patch) {
  if (!isObject(patch)) throw new PatchFormatError('invalid JSON document');
  return smpMap(doc, patch);
}

module.exports = {
  mergePatch, applyJsonPatch, decodeJsonPatch, strategicMergePatch, parsePointer,
  PatchError, PatchFormatError, MAX_JSON_PATCH_OPS,
};
