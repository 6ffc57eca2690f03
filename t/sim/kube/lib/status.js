'use strict';
// metav1.Status bodies and field validation errors, shaped exactly like the
// ones kube-apiserver sends (apimachinery pkg/api/errors/errors.go and
// pkg/util/validation/field/errors.go). Callers throw an ApiError; the HTTP
// layer serialises its status with the right code.

// Go's strconv.Quote, enough for the strings the server quotes in messages.
function quote(s) {
  let out = '"';
  for (const ch of String(s)) {
    const c = ch.codePointAt(0);
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

// A value printed by Go's %#v where the real message carries a Go literal
// (maps, structs, unsigned integers). The text is given verbatim.
class GoLiteral {
  constructor(text) { this.text = text; }
}

// map[string]string{"a":"b"} as %#v prints it: keys sorted.
function goStringMap(m) {
  const keys = Object.keys(m || {}).sort();
  return new GoLiteral('map[string]string{' + keys.map((k) => quote(k) + ':' + quote(m[k])).join(', ') + '}');
}

// field.ErrorType: the cause "reason" and the human text.
const FIELD_TYPES = {
  NotFound: ['FieldValueNotFound', 'Not found'],
  Required: ['FieldValueRequired', 'Required value'],
  Duplicate: ['FieldValueDuplicate', 'Duplicate value'],
  Invalid: ['FieldValueInvalid', 'Invalid value'],
  NotSupported: ['FieldValueNotSupported', 'Unsupported value'],
  Forbidden: ['FieldValueForbidden', 'Forbidden'],
  TooLong: ['FieldValueTooLong', 'Too long'],
  TooMany: ['FieldValueTooMany', 'Too many'],
  Internal: ['InternalError', 'Internal error'],
};

// field.Error. value follows Go's ErrorBody rules: strings are %q-quoted,
// numbers and booleans printed plainly, null as "null", GoLiteral verbatim.
class FieldError {
  constructor(type, field, value, detail) {
    this.type = type;
    this.field = field;
    this.value = value;
    this.detail = detail || '';
  }

  body() {
    const [, text] = FIELD_TYPES[this.type];
    let s;
    if (['Required', 'Forbidden', 'TooLong', 'Internal'].includes(this.type)) {
      s = text;
    } else {
      const v = this.value;
      let shown;
      if (v === null || v === undefined) shown = 'null';
      else if (typeof v === 'string') shown = quote(v);
      else if (typeof v === 'number' || typeof v === 'boolean') shown = String(v);
      else if (v instanceof GoLiteral) shown = v.text;
      else shown = JSON.stringify(v);
      s = text + ': ' + shown;
    }
    if (this.detail) s += ': ' + this.detail;
    return s;
  }

  toString() { return this.field + ': ' + this.body(); }

  cause() {
    return { reason: FIELD_TYPES[this.type][0], message: this.body(), field: this.field };
  }
}

const field = {
  required: (f, detail) => new FieldError('Required', f, '', detail),
  invalid: (f, value, detail) => new FieldError('Invalid', f, value, detail),
  notSupported: (f, value, valid) => new FieldError('NotSupported', f, value,
    valid && valid.length ? 'supported values: ' + valid.map(quote).join(', ') : ''),
  forbidden: (f, detail) => new FieldError('Forbidden', f, '', detail),
  duplicate: (f, value) => new FieldError('Duplicate', f, value, ''),
  // The TooLong text changed in apimachinery: "must have at most N bytes"
  // (observed on the v1.24 tree, notes §8) became "may not be more than N
  // bytes" in the 1.30 line.
  tooLong: (f, value, max, minor) => new FieldError('TooLong', f, value,
    minor >= 30 ? `may not be more than ${max} ${max === 1 ? 'byte' : 'bytes'}` : `must have at most ${max} bytes`),
};

// utilerrors.Aggregate.Error(): one message alone, several in brackets,
// duplicates dropped.
function aggregate(errs) {
  const seen = [];
  for (const e of errs) {
    const m = e.toString();
    if (!seen.includes(m)) seen.push(m);
  }
  if (seen.length === 1) return seen[0];
  return '[' + seen.join(', ') + ']';
}

// schema.GroupResource.String(): "resource.group", or "resource" for core.
function grString(group, resource) {
  return group ? `${resource}.${group}` : resource;
}

class ApiError extends Error {
  constructor(status, headers) {
    super(status.message || status.reason || `HTTP ${status.code}`);
    this.status = status;
    this.code = status.code;
    this.headers = headers || {};
  }
}

// Build a Status in the field order the Go encoder emits.
function makeStatus(code, reason, message, details) {
  const s = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure' };
  if (message) s.message = message;
  if (reason) s.reason = reason;
  if (details !== undefined) s.details = cleanDetails(details);
  s.code = code;
  return s;
}

function cleanDetails(d) {
  const out = {};
  for (const k of ['name', 'group', 'kind', 'uid', 'causes', 'retryAfterSeconds']) {
    if (d[k] !== undefined && d[k] !== '' && d[k] !== 0 && !(Array.isArray(d[k]) && d[k].length === 0)) out[k] = d[k];
  }
  return out;
}

const statuses = {
  notFound(group, resource, name) {
    return new ApiError(makeStatus(404, 'NotFound', `${grString(group, resource)} ${quote(name)} not found`,
      { name, group, kind: resource }));
  },
  alreadyExists(group, resource, name) {
    return new ApiError(makeStatus(409, 'AlreadyExists', `${grString(group, resource)} ${quote(name)} already exists`,
      { name, group, kind: resource }));
  },
  conflict(group, resource, name, why) {
    return new ApiError(makeStatus(409, 'Conflict',
      `Operation cannot be fulfilled on ${grString(group, resource)} ${quote(name)}: ${why}`,
      { name, group, kind: resource }));
  },
  // errors.NewInvalid(qualifiedKind, name, errs).
  invalid(group, kind, name, errs) {
    const gk = group ? `${kind}.${group}` : kind;
    return new ApiError(makeStatus(422, 'Invalid', `${gk} ${quote(name)} is invalid: ${aggregate(errs)}`,
      { name, group, kind, causes: errs.map((e) => e.cause()) }));
  },
  badRequest(message) {
    return new ApiError(makeStatus(400, 'BadRequest', message));
  },
  forbidden(group, resource, name, why) {
    let message;
    if (!resource) message = `forbidden: ${why}`;
    else if (!name) message = `${grString(group, resource)} is forbidden: ${why}`;
    else message = `${grString(group, resource)} ${quote(name)} is forbidden: ${why}`;
    return new ApiError(makeStatus(403, 'Forbidden', message, { name, group, kind: resource }));
  },
  unauthorized() {
    return new ApiError(makeStatus(401, 'Unauthorized', 'Unauthorized'));
  },
  // errors.NewGenericServerResponse with an empty GroupResource, as the
  // go-restful service error handler and the JSON Patch path use it.
  generic(code) {
    const table = {
      400: ['BadRequest', 'the server rejected our request for an unknown reason'],
      404: ['NotFound', 'the server could not find the requested resource'],
      405: ['MethodNotAllowed', 'the server does not allow this method on the requested resource'],
      409: ['Conflict', 'the server reported a conflict'],
      422: ['Invalid', 'the server rejected our request due to an error in our request'],
      429: ['TooManyRequests', 'the server has received too many requests and has asked us to try again later'],
      504: ['Timeout', 'the server was unable to return a response in the time allotted, but may still be processing the request'],
    };
    const [reason, message] = table[code] ||
      [code >= 500 ? 'InternalError' : '', `the server responded with the status code ${code} but did not return more information`];
    return new ApiError(makeStatus(code, reason, message, {}));
  },
  unsupportedMediaType(accepted) {
    return new ApiError(makeStatus(415, 'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`));
  },
  notAcceptable(accepted) {
    return new ApiError(makeStatus(406, 'NotAcceptable',
      `only the following media types are accepted: ${accepted.join(', ')}`));
  },
  entityTooLarge(message) {
    return new ApiError(makeStatus(413, 'RequestEntityTooLarge', `Request entity too large: ${message}`));
  },
  expired(message) {
    return new ApiError(makeStatus(410, 'Expired', message));
  },
  internal(message) {
    return new ApiError(makeStatus(500, 'InternalError', `Internal error occurred: ${message}`,
      { causes: [{ message }] }));
  },
  // A plain Go error that reached the handler without an API status:
  // responsewriters turn it into a 500 with an empty reason.
  unknown(message, code = 500) {
    return new ApiError(makeStatus(code, '', message));
  },
  timeout(message, retryAfterSeconds, causes) {
    return new ApiError(makeStatus(504, 'Timeout', `Timeout: ${message}`, { retryAfterSeconds, causes }));
  },
};

// Status for an arbitrary code, used by fault injection: the reason and
// default message follow the constructor the real server uses for that code.
function statusForCode(code, message, reason) {
  const defaults = {
    400: ['BadRequest', 'injected fault'],
    401: ['Unauthorized', 'Unauthorized'],
    403: ['Forbidden', 'forbidden: injected fault'],
    404: ['NotFound', 'the server could not find the requested resource'],
    409: ['Conflict', 'Operation cannot be fulfilled: injected fault'],
    410: ['Expired', 'too old resource version'],
    422: ['Invalid', 'the server rejected our request due to an error in our request'],
    429: ['TooManyRequests', 'Too many requests, please try again later.'],
    500: ['InternalError', 'Internal error occurred: injected fault'],
    502: ['InternalError', 'an error on the server ("injected fault") has prevented the request from succeeding'],
    503: ['ServiceUnavailable', 'the server is currently unable to handle the request'],
    504: ['Timeout', 'Timeout: request did not complete within the allotted timeout'],
  };
  const [r, m] = defaults[code] || [code >= 500 ? 'InternalError' : '', `injected fault (HTTP ${code})`];
  return makeStatus(code, reason !== undefined ? reason : r, message !== undefined ? message : m);
}

module.exports = { quote, GoLiteral, goStringMap, field, ApiError, makeStatus, statuses, statusForCode };
