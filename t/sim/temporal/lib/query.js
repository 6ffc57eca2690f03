'use strict';
// A small subset of Temporal's visibility list-filter language, enough for
// CountWorkflowExecutions as clients use it to watch pinned workflows
// (reference §6.7):
//
//   TemporalWorkerDeploymentVersion = 'd:b' AND TemporalWorkflowVersioningBehavior = 'Pinned'
//     AND ExecutionStatus = 'Running'                               (1.30+)
//   BuildIds = 'pinned:d:b' AND ExecutionStatus = 'Running'         (<= 1.29)
//
// Grammar: expr := and ('OR' and)* ; and := unary ('AND' unary)* ;
// unary := 'NOT' unary | '(' expr ')' | cmp ;
// cmp := ATTR ('=' | '!=' | '<>') VALUE | ATTR ['NOT'] 'IN' '(' VALUE (',' VALUE)* ')' ;
// followed by an optional 'GROUP BY ExecutionStatus'.

const ATTRIBUTES = new Set([
  'WorkflowId',
  'RunId',
  'WorkflowType',
  'ExecutionStatus',
  'TaskQueue',
  'BuildIds',
  'TemporalWorkerDeploymentVersion',
  'TemporalWorkerDeployment',
  'TemporalWorkerBuildId',
  'TemporalWorkflowVersioningBehavior',
]);

// Keyword-list attributes: "=" means "contains".
const LIST_ATTRIBUTES = new Set(['BuildIds']);

// Values compared without regard to case (enum-like attributes).
const CASE_INSENSITIVE = new Set(['ExecutionStatus', 'TemporalWorkflowVersioningBehavior']);

class QueryError extends Error {}

function tokenize(q) {
  const tokens = [];
  let i = 0;
  while (i < q.length) {
    const ch = q[i];
    if (/\s/.test(ch)) { i++; continue; }
    if (ch === '(' || ch === ')' || ch === ',') { tokens.push({ t: ch }); i++; continue; }
    if (ch === '=') { tokens.push({ t: 'op', v: '=' }); i++; continue; }
    if (q.startsWith('!=', i) || q.startsWith('<>', i)) { tokens.push({ t: 'op', v: '!=' }); i += 2; continue; }
    if (ch === "'" || ch === '"') {
      let s = '';
      let j = i + 1;
      for (;;) {
        if (j >= q.length) throw new QueryError('unterminated string');
        if (q[j] === '\\' && j + 1 < q.length) { s += q[j + 1]; j += 2; continue; }
        if (q[j] === ch) {
          if (q[j + 1] === ch) { s += ch; j += 2; continue; }
          break;
        }
        s += q[j++];
      }
      tokens.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*|^-?\d+(\.\d+)?/.exec(q.slice(i));
    if (!m) throw new QueryError(`unexpected character ${JSON.stringify(ch)}`);
    const word = m[0];
    const up = word.toUpperCase();
    if (['AND', 'OR', 'NOT', 'IN', 'GROUP', 'BY', 'ORDER'].includes(up)) tokens.push({ t: up });
    else if (/^-?\d/.test(word)) tokens.push({ t: 'str', v: word });
    else tokens.push({ t: 'id', v: word });
    i += word.length;
  }
  return tokens;
}

// Compile a query into {matches(attrs) -> bool, groupBy: string|null}.
function compile(query) {
  const tokens = tokenize(query || '');
  let pos = 0;
  const peek = () => tokens[pos];
  const eat = (t) => {
    const tok = tokens[pos];
    if (!tok || tok.t !== t) throw new QueryError(`expected ${t} at token ${pos + 1}`);
    pos++;
    return tok;
  };

  function value() {
    const tok = tokens[pos++];
    if (!tok || (tok.t !== 'str' && tok.t !== 'id')) throw new QueryError('expected a value');
    return tok.v;
  }

  function attribute() {
    const tok = eat('id');
    if (!ATTRIBUTES.has(tok.v)) throw new QueryError(`unknown or unsupported search attribute ${tok.v}`);
    return tok.v;
  }

  function eqTest(attr, v) {
    const norm = (x) => (CASE_INSENSITIVE.has(attr) ? String(x).toLowerCase() : String(x));
    const want = norm(v);
    return (attrs) => {
      const have = attrs[attr];
      if (have === null || have === undefined) return false;
      if (LIST_ATTRIBUTES.has(attr)) return have.some((x) => norm(x) === want);
      return norm(have) === want;
    };
  }

  function comparison() {
    const attr = attribute();
    const tok = peek();
    if (tok && (tok.t === 'IN' || tok.t === 'NOT')) {
      let negate = false;
      if (tok.t === 'NOT') { pos++; negate = true; }
      eat('IN');
      eat('(');
      const tests = [eqTest(attr, value())];
      while (peek() && peek().t === ',') { pos++; tests.push(eqTest(attr, value())); }
      eat(')');
      const any = (a) => tests.some((f) => f(a));
      return negate ? (a) => !any(a) : any;
    }
    const op = eat('op').v;
    const test = eqTest(attr, value());
    return op === '=' ? test : (a) => !test(a);
  }

  function unary() {
    const tok = peek();
    if (tok && tok.t === 'NOT') { pos++; const f = unary(); return (a) => !f(a); }
    if (tok && tok.t === '(') { pos++; const f = expr(); eat(')'); return f; }
    return comparison();
  }

  function conj() {
    const parts = [unary()];
    while (peek() && peek().t === 'AND') { pos++; parts.push(unary()); }
    return (a) => parts.every((f) => f(a));
  }

  function expr() {
    const parts = [conj()];
    while (peek() && peek().t === 'OR') { pos++; parts.push(conj()); }
    return (a) => parts.some((f) => f(a));
  }

  let matches = () => true;
  if (tokens.length && tokens[0].t !== 'GROUP') matches = expr();
  let groupBy = null;
  if (peek() && peek().t === 'GROUP') {
    pos++;
    eat('BY');
    const g = eat('id').v;
    if (g !== 'ExecutionStatus') throw new QueryError(`'group by' is only supported for ExecutionStatus, not ${g}`);
    groupBy = g;
  }
  if (peek() && peek().t === 'ORDER') throw new QueryError("'order by' clause is not supported in a count query");
  if (pos !== tokens.length) throw new QueryError(`unexpected input at token ${pos + 1}`);
  return { matches, groupBy };
}

module.exports = { compile, QueryError };
