'use strict';
// metav1.MicroTime and metav1.Time as the API server decodes and encodes
// them (notes §1.2). MicroTime is parsed with Go's time.Parse and the fixed
// layout "2006-01-02T15:04:05.000000Z07:00", so exactly six fractional
// digits are required; this module re-implements that layout walk, with
// Go's error texts, so a rejected value gets the message the real server
// would put in its Status.

const { quote } = require('./status');

const MICRO_LAYOUT = '2006-01-02T15:04:05.000000Z07:00';
const RFC3339_LAYOUT = '2006-01-02T15:04:05Z07:00';

class TimeParseError extends Error {}

function isDigit(s, i) {
  return i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57;
}

// Go's getnum: one or two digits; two required when fixed.
function getnum(s, fixed) {
  if (!isDigit(s, 0)) return null;
  if (!isDigit(s, 1)) {
    if (fixed) return null;
    return [s.charCodeAt(0) - 48, s.slice(1)];
  }
  return [(s.charCodeAt(0) - 48) * 10 + (s.charCodeAt(1) - 48), s.slice(2)];
}

// Go's internal atoi: optional sign, then digits only.
function atoi(s) {
  let neg = false;
  if (s.length > 0 && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (!/^[0-9]*$/.test(s)) return null;
  const x = s === '' ? 0 : Number(s);
  return neg ? -x : x;
}

function daysIn(month, year) {
  if (month === 2) return (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

function cannotParse(layout, value, valueElem, layoutElem) {
  return new TimeParseError(`parsing time ${quote(value)} as ${quote(layout)}: cannot parse ${quote(valueElem)} as ${quote(layoutElem)}`);
}

function outOfRange(value, what) {
  return new TimeParseError(`parsing time ${quote(value)}: ${what} out of range`);
}

// Walk the layout chunks of RFC3339 / RFC3339Micro the way time.Parse does.
// fracDigits: 6 for MicroTime (".000000" in the layout), 0 for RFC3339
// (where Go accepts an optional fraction of any length after the seconds).
// Returns { sec, usec } in UTC epoch seconds plus microseconds.
function goParse(value, fracDigits) {
  const layout = fracDigits ? MICRO_LAYOUT : RFC3339_LAYOUT;
  let v = value;
  const lit = (prefix) => {
    if (!v.startsWith(prefix)) throw cannotParse(layout, value, v, prefix);
    v = v.slice(prefix.length);
  };
  // 2006
  if (v.length < 4 || !isDigit(v, 0)) throw cannotParse(layout, value, v, '2006');
  const year = atoi(v.slice(0, 4));
  if (year === null) throw cannotParse(layout, value, v, '2006');
  v = v.slice(4);
  lit('-');
  // 01
  let hold = v;
  let r = getnum(v, true);
  if (!r) throw cannotParse(layout, value, hold, '01');
  const month = r[0];
  v = r[1];
  if (month <= 0 || month > 12) throw outOfRange(value, 'month');
  lit('-');
  // 02 (range checked at the end, as Go does)
  hold = v;
  r = getnum(v, true);
  if (!r) throw cannotParse(layout, value, hold, '02');
  const day = r[0];
  v = r[1];
  lit('T');
  // 15: one or two digits
  hold = v;
  r = getnum(v, false);
  if (!r) throw cannotParse(layout, value, hold, '15');
  const hour = r[0];
  v = r[1];
  if (hour >= 24) throw outOfRange(value, 'hour');
  lit(':');
  hold = v;
  r = getnum(v, true);
  if (!r) throw cannotParse(layout, value, hold, '04');
  const min = r[0];
  v = r[1];
  if (min >= 60) throw outOfRange(value, 'minute');
  lit(':');
  hold = v;
  r = getnum(v, true);
  if (!r) throw cannotParse(layout, value, hold, '05');
  const sec = r[0];
  v = r[1];
  if (sec >= 60) throw outOfRange(value, 'second');
  let usec = 0;
  if (fracDigits) {
    // .000000: exactly one separator ('.' or ',') and six digits.
    hold = v;
    const n = 1 + fracDigits;
    if (v.length < n || (v[0] !== '.' && v[0] !== ',')) throw cannotParse(layout, value, hold, '.000000');
    const frac = atoi(v.slice(1, n));
    if (frac === null) throw cannotParse(layout, value, hold, '.000000');
    if (frac < 0) throw outOfRange(value, 'fractional second');
    usec = frac;
    v = v.slice(n);
  } else if (v.length >= 2 && (v[0] === '.' || v[0] === ',') && isDigit(v, 1)) {
    // RFC3339 without a fraction in the layout: Go consumes any digits.
    let i = 1;
    while (isDigit(v, i)) i++;
    usec = Math.floor(Number('0.' + v.slice(1, i)) * 1e6);
    v = v.slice(i);
  }
  // Z07:00
  hold = v;
  let offset = 0;
  if (v.length >= 1 && v[0] === 'Z') {
    v = v.slice(1);
  } else {
    if (v.length < 6 || v[3] !== ':') throw cannotParse(layout, value, hold, 'Z07:00');
    const sign = v[0];
    const hh = getnum(v.slice(1, 3), true);
    const mm = getnum(v.slice(4, 6), true);
    if (!hh || !mm) throw cannotParse(layout, value, hold, 'Z07:00');
    if (hh[0] > 24) throw outOfRange(value, 'time zone offset hour');
    if (mm[0] > 60) throw outOfRange(value, 'time zone offset minute');
    offset = (hh[0] * 60 + mm[0]) * 60;
    if (sign === '-') offset = -offset;
    else if (sign !== '+') throw cannotParse(layout, value, hold, 'Z07:00');
    v = v.slice(6);
  }
  if (v.length) throw new TimeParseError(`parsing time ${quote(value)}: extra text: ${quote(v)}`);
  if (day < 1 || day > daysIn(month, year)) throw outOfRange(value, 'day');
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, min, sec, 0);
  return { sec: Math.floor(d.getTime() / 1000) - offset, usec };
}

function pad(n, w) { return String(n).padStart(w, '0'); }

function formatParts(sec, usec, micro) {
  const d = new Date(sec * 1000);
  const base = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  return micro ? `${base}.${pad(usec, 6)}Z` : `${base}Z`;
}

// MicroTime.UnmarshalJSON + MarshalJSON: returns the canonical UTC form or
// throws TimeParseError with Go's message.
function normalizeMicroTime(s) {
  const { sec, usec } = goParse(s, 6);
  return formatParts(sec, usec, true);
}

// metav1.Time: RFC 3339 in, whole seconds UTC out.
function normalizeTime(s) {
  const { sec } = goParse(s, 0);
  return formatParts(sec, 0, false);
}

// Current time as a MicroTime string.
function nowMicro() {
  const ms = Date.now();
  return formatParts(Math.floor(ms / 1000), (ms % 1000) * 1000, true);
}

module.exports = { normalizeMicroTime, normalizeTime, nowMicro, TimeParseError, MICRO_LAYOUT };
