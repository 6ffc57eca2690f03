'use strict';
// Label and field selectors for LIST and WATCH (apimachinery
// pkg/labels/selector.go and pkg/fields/selector.go), and the structured
// metav1.LabelSelector of Deployments and ReplicaSets with its string form
// (Scale's status.selector, notes §4.1).

const { isQualifiedName, isValidLabelValue } = require('./validation');
const { quote } = require('./status');

class SelectorError extends Error {}

// ---- label selector string syntax -------------------------------------

const SPECIAL = new Set(['(', ')', ',', '!', '=', '<', '>', ' ', '\t', '\r', '\n']);

// Lexer producing [kind, text] pairs. Kinds: ident, in, notin, '(' ')' ','
// '!' '=' '==' '!=' '<' '>' and end.
function lex(s) {
  const toks = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') { i++; continue; }
    if (c === '(' || c === ')' || c === ',') { toks.push([c, c]); i++; continue; }
    if (c === '!' || c === '=' || c === '<' || c === '>') {
      if ((c === '!' || c === '=') && s[i + 1] === '=') { toks.push([c + '=', c + '=']); i += 2; continue; }
      toks.push([c, c]);
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && !SPECIAL.has(s[j])) j++;
    const word = s.slice(i, j);
    toks.push([word === 'in' || word === 'notin' ? word : 'ident', word]);
    i = j;
  }
  toks.push(['end', '']);
  return toks;
}

// Parse a labelSelector query value into requirements
// { key, op, values } with op one of = != in notin exists !exists gt lt.
function parseLabelSelector(s) {
  const toks = lex(s);
  let p = 0;
  const peek = () => toks[p];
  const next = () => toks[p++];
  const expected = (tok, what) => new SelectorError(`found '${tok[1]}', expected: ${what}`);
  const reqs = [];
  if (peek()[0] === 'end') return reqs;
  for (;;) {
    let tok = next();
    let negate = false;
    if (tok[0] === '!') { negate = true; tok = next(); }
    if (tok[0] !== 'ident') throw expected(tok, '!, identifier');
    const key = tok[1];
    const keyErrs = isQualifiedName(key);
    if (keyErrs.length) throw new SelectorError(`unable to parse requirement: key: Invalid value: ${quote(key)}: ${keyErrs.join('; ')}`);
    let req;
    const op = peek();
    if (negate) {
      req = { key, op: '!exists', values: [] };
    } else if (op[0] === 'end' || op[0] === ',') {
      req = { key, op: 'exists', values: [] };
    } else {
      next();
      let kind;
      if (op[0] === '=' || op[0] === '==') kind = '=';
      else if (op[0] === '!=') kind = '!=';
      else if (op[0] === 'in' || op[0] === 'notin') kind = op[0];
      else if (op[0] === '<') kind = 'lt';
      else if (op[0] === '>') kind = 'gt';
      else throw expected(op, '=, !=, ==, <, >, in, notin');
      let values;
      if (kind === 'in' || kind === 'notin') {
        const open = next();
        if (open[0] !== '(') throw expected(open, "'('");
        values = [];
        if (peek()[0] === ')') next();
        else {
          for (;;) {
            const v = peek();
            if (v[0] === 'ident' || v[0] === 'in' || v[0] === 'notin') { next(); values.push(v[1]); }
            else values.push('');
            const sep = next();
            if (sep[0] === ')') break;
            if (sep[0] !== ',') throw expected(sep, "',' or ')'");
          }
        }
        if (!values.length) throw new SelectorError(`unable to parse requirement: values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty`);
      } else {
        const v = peek();
        if (v[0] === 'ident' || v[0] === 'in' || v[0] === 'notin') { next(); values = [v[1]]; }
        else values = [''];
      }
      if (kind === 'gt' || kind === 'lt') {
        if (!/^-?[0-9]+$/.test(values[0])) {
          throw new SelectorError(`unable to parse requirement: values[0]: Invalid value: ${quote(values[0])}: for 'Gt', 'Lt' operators, the value must be an integer`);
        }
      } else {
        values.forEach((v, i) => {
          const errs = isValidLabelValue(v);
          if (errs.length) throw new SelectorError(`unable to parse requirement: values[${i}][${key}]: Invalid value: ${quote(v)}: ${errs.join('; ')}`);
        });
      }
      req = { key, op: kind, values };
    }
    reqs.push(req);
    const sep = next();
    if (sep[0] === 'end') break;
    if (sep[0] !== ',') throw expected(sep, "',' or 'end of string'");
  }
  return reqs;
}

function matchLabelRequirements(reqs, labels) {
  labels = labels || {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case 'exists': return has;
      case '!exists': return !has;
      case '=': case 'in': return has && r.values.includes(v);
      case '!=': case 'notin': return !has || !r.values.includes(v);
      case 'gt': return has && /^-?[0-9]+$/.test(v) && Number(v) > Number(r.values[0]);
      case 'lt': return has && /^-?[0-9]+$/.test(v) && Number(v) < Number(r.values[0]);
      default: return false;
    }
  });
}

// ---- field selectors ----------------------------------------------------

// Split on an unescaped separator; '\' escapes ',', '=', '!' and itself.
function splitTerms(s) {
  const out = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) { cur += s[i] + s[i + 1]; i++; continue; }
    if (s[i] === ',') { out.push(cur); cur = ''; continue; }
    cur += s[i];
  }
  out.push(cur);
  return out;
}

function unescape(s) { return s.replace(/\\(.)/g, '$1'); }

function findOp(term) {
  for (let i = 0; i < term.length; i++) {
    if (term[i] === '\\') { i++; continue; }
    if (term.startsWith('!=', i)) return [i, '!=', 2];
    if (term.startsWith('==', i)) return [i, '=', 2];
    if (term[i] === '=') return [i, '=', 1];
  }
  return null;
}

// Parse a fieldSelector into [{ field, op: '=' | '!=', value }].
function parseFieldSelector(s) {
  if (!s) return [];
  return splitTerms(s).map((term) => {
    const f = findOp(term);
    if (!f) throw new SelectorError(`invalid selector: '${s}'; can't understand '${term}'`);
    const [i, op, len] = f;
    return { field: unescape(term.slice(0, i)), op, value: unescape(term.slice(i + len)) };
  });
}

// fields is a map from field path to its string value for one object.
function matchFieldRequirements(reqs, fields) {
  return reqs.every((r) => {
    const v = fields[r.field] === undefined ? '' : String(fields[r.field]);
    return r.op === '=' ? v === r.value : v !== r.value;
  });
}

// ---- metav1.LabelSelector ----------------------------------------------

// LabelSelectorAsSelector(...).String(): requirements sorted by key, values
// sorted, matchLabels rendered as key=value.
function labelSelectorString(sel) {
  if (!sel) return '';
  const reqs = [];
  for (const [k, v] of Object.entries(sel.matchLabels || {})) reqs.push([k, `${k}=${v}`]);
  for (const e of sel.matchExpressions || []) {
    const vals = (e.values || []).slice().sort().join(',');
    if (e.operator === 'In') reqs.push([e.key, `${e.key} in (${vals})`]);
    else if (e.operator === 'NotIn') reqs.push([e.key, `${e.key} notin (${vals})`]);
    else if (e.operator === 'Exists') reqs.push([e.key, e.key]);
    else if (e.operator === 'DoesNotExist') reqs.push([e.key, `!${e.key}`]);
  }
  reqs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return reqs.map((r) => r[1]).join(',');
}

function labelSelectorMatches(sel, labels) {
  if (!sel) return false;
  const reqs = [];
  for (const [k, v] of Object.entries(sel.matchLabels || {})) reqs.push({ key: k, op: '=', values: [v] });
  for (const e of sel.matchExpressions || []) {
    const op = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' }[e.operator];
    if (!op) return false;
    reqs.push({ key: e.key, op, values: e.values || [] });
  }
  return matchLabelRequirements(reqs, labels);
}

module.exports = {
  SelectorError, parseLabelSelector, matchLabelRequirements,
  parseFieldSelector, matchFieldRequirements, labelSelectorString, labelSelectorMatches,
};
