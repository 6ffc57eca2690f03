'use strict';
// Wire-level audit of incoming requests against the official descriptors.
//
// protobufjs silently skips fields whose numbers it does not know, so a
// client that encodes a field under the wrong number (or a field the schema
// never had) would go unnoticed by the decoder.  This module walks the raw
// protobuf bytes, following nested messages and map entries through the
// descriptor, and reports every field number the schema does not define and
// every known field that arrives with an impossible wire type.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

const VARINT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool']);
const FIXED64_TYPES = new Set(['fixed64', 'sfixed64', 'double']);
const FIXED32_TYPES = new Set(['fixed32', 'sfixed32', 'float']);

const MAX_DEPTH = 64;

class WireError extends Error {}

// Minimal cursor over a protobuf byte buffer.
class Cursor {
  constructor(buf) {
    this.buf = buf;
    this.pos = 0;
  }

  done() {
    return this.pos >= this.buf.length;
  }

  // Read a varint; returns a Number (exact up to 2^53, enough for tags and
  // lengths, which the caller bounds anyway).
  varint() {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new WireError('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new WireError('varint too long');
  }

  take(n) {
    if (n < 0 || this.pos + n > this.buf.length) throw new WireError('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  // Skip one value of the given wire type (the tag has been read).
  skip(wireType, fieldNumber) {
    switch (wireType) {
      case WIRE_VARINT: this.varint(); return;
      case WIRE_FIXED64: this.take(8); return;
      case WIRE_LEN: this.take(this.varint()); return;
      case WIRE_FIXED32: this.take(4); return;
      case WIRE_START_GROUP:
        for (;;) {
          if (this.done()) throw new WireError('unterminated group');
          const tag = this.varint();
          const wt = tag & 7;
          if (wt === WIRE_END_GROUP) {
            if (tag >>> 3 !== fieldNumber) throw new WireError('mismatched end group');
            return;
          }
          this.skip(wt, tag >>> 3);
        }
      default:
        throw new WireError(`invalid wire type ${wireType}`);
    }
  }
}

// The wire types a field of this descriptor may legally use.
function allowedWireTypes(field) {
  const t = field.resolvedType;
  if (t && t.fields) return [WIRE_LEN]; // message
  if (field.map) return [WIRE_LEN];
  let scalar;
  if (t && t.values) scalar = WIRE_VARINT; // enum
  else if (VARINT_TYPES.has(field.type)) scalar = WIRE_VARINT;
  else if (FIXED64_TYPES.has(field.type)) scalar = WIRE_FIXED64;
  else if (FIXED32_TYPES.has(field.type)) scalar = WIRE_FIXED32;
  else return [WIRE_LEN]; // string, bytes
  // Repeated numeric scalars may arrive packed or unpacked.
  return field.repeated ? [scalar, WIRE_LEN] : [scalar];
}

// Scan one map entry (key = 1, value = 2) of a map field.
function scanMapEntry(field, bytes, path, findings, depth) {
  const c = new Cursor(bytes);
  while (!c.done()) {
    const tag = c.varint();
    const id = tag >>> 3;
    const wt = tag & 7;
    if (id === 1 || (id === 2 && !(field.resolvedType && field.resolvedType.fields))) {
      c.skip(wt, id);
    } else if (id === 2) {
      if (wt !== WIRE_LEN) {
        findings.push({ kind: 'wire-type', path: `${path}.value`, wireType: wt });
        c.skip(wt, id);
      } else {
        scanMessage(field.resolvedType, c.take(c.varint()), `${path}.value`, findings, depth + 1);
      }
    } else {
      findings.push({ kind: 'unknown', path: `${path}.#${id}`, wireType: wt });
      c.skip(wt, id);
    }
  }
}

// Scan a message of type T; push findings ({kind, path, wireType}) for
// unknown field numbers and impossible wire types.
function scanMessage(T, bytes, path, findings, depth = 0) {
  if (depth > MAX_DEPTH) throw new WireError('message nesting too deep');
  const c = new Cursor(bytes);
  while (!c.done()) {
    const tag = c.varint();
    const id = tag >>> 3;
    const wt = tag & 7;
    if (id === 0) throw new WireError('field number 0');
    const field = T.fieldsById[id];
    if (!field) {
      findings.push({ kind: 'unknown', path: `${path}.#${id}`, wireType: wt });
      c.skip(wt, id);
      continue;
    }
    const fieldPath = `${path}.${field.name}`;
    if (!allowedWireTypes(field).includes(wt)) {
      findings.push({ kind: 'wire-type', path: fieldPath, wireType: wt });
      c.skip(wt, id);
      continue;
    }
    if (field.map) {
      scanMapEntry(field, c.take(c.varint()), fieldPath, findings, depth);
    } else if (field.resolvedType && field.resolvedType.fields) {
      scanMessage(field.resolvedType, c.take(c.varint()), fieldPath, findings, depth + 1);
    } else {
      c.skip(wt, id);
    }
  }
  return findings;
}

// Audit a request: returns an array of findings (empty when clean).
function audit(T, bytes) {
  try {
    return scanMessage(T, bytes, T.name, []);
  } catch (err) {
    return [{ kind: 'malformed', path: T.name, error: err.message }];
  }
}

module.exports = { audit, scanMessage, WireError };
