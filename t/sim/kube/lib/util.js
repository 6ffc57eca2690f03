'use strict';
// Small helpers shared by the simulator modules: deep copies, canonical JSON
// (for no-op detection), identifiers and name generation.

const crypto = require('crypto');

// Deep copy of a JSON value. Objects in the store are plain JSON, so a
// structured clone is exact and cheaper than a stringify/parse round trip.
function clone(v) {
  return v === undefined ? undefined : structuredClone(v);
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// JSON with object keys sorted at every level: two semantically equal
// objects serialise identically. Used where the real server compares the
// encoded bytes (etcd3 GuaranteedUpdate skips writes whose bytes are equal).
function canonical(v) {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (isObject(v)) {
    return '{' + Object.keys(v).sort().filter((k) => v[k] !== undefined)
      .map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

function deepEqual(a, b) {
  return canonical(a) === canonical(b);
}

function uid() {
  return crypto.randomUUID();
}

// apiserver SimpleNameGenerator: generateName prefix (cut to 58 characters)
// plus five characters from an alphabet without vowels or confusable digits.
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
function generateName(base) {
  const prefix = base.length > 58 ? base.slice(0, 58) : base;
  let s = '';
  const bytes = crypto.randomBytes(5);
  for (let i = 0; i < 5; i++) s += NAME_ALPHABET[bytes[i] % NAME_ALPHABET.length];
  return prefix + s;
}

// Hex digest helper (pod-template-hash style names, token fingerprints).
function shortHash(s, n = 10) {
  return crypto.createHash('sha256').update(String(s)).digest('hex').slice(0, n);
}

// metav1.Time as the server writes it: RFC 3339, UTC, whole seconds.
function nowTime(ms = Date.now()) {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

module.exports = { clone, isObject, canonical, deepEqual, uid, generateName, shortHash, nowTime };
