'use strict';
// The pure modules on their own: JSON Pointer and patch algorithms,
// selectors, MicroTime parsing, name and key validation, typed decoding.

const test = require('node:test');
const assert = require('node:assert/strict');
const P = require('../lib/patch');
const S = require('../lib/selector');
const { normalizeMicroTime, normalizeTime } = require('../lib/timefmt');
const V = require('../lib/validation');
const { decode, object, struct } = require('../lib/schema');
const { Store, TooOldError } = require('../lib/store');

test('JSON Pointer unescapes ~1 before ~0', () => {
  assert.deepEqual(P.parsePointer('/a~1b/c~0d/~01'), ['a/b', 'c~d', '~1']);
  assert.deepEqual(P.parsePointer(''), []);
  assert.throws(() => P.parsePointer('a'), P.PatchError);
});

test('JSON Patch on keys holding ~ and /, arrays, "-" and negative indices', () => {
  const doc = { 'a~b': 1, 'c/d': [1, 2, 3] };
  const out = P.applyJsonPatch(doc, [
    { op: 'replace', path: '/a~0b', value: 2 },
    { op: 'add', path: '/c~1d/-', value: 4 },
    { op: 'remove', path: '/c~1d/-1' },
    { op: 'add', path: '/c~1d/0', value: 0 },
    { op: 'test', path: '/c~1d', value: [0, 1, 2, 3] },
  ]);
  assert.deepEqual(out, { 'a~b': 2, 'c/d': [0, 1, 2, 3] });
  assert.deepEqual(doc, { 'a~b': 1, 'c/d': [1, 2, 3] }, 'input untouched');
  assert.throws(() => P.applyJsonPatch(doc, [{ op: 'add', path: '/c~1d/9', value: 1 }]), P.PatchError);
  assert.throws(() => P.applyJsonPatch(doc, [{ op: 'move', from: '/c~1d', path: '/c~1d/0' }]), P.PatchError);
  assert.throws(() => P.applyJsonPatch(doc, [{ op: 'test', path: '/a~0b', value: '1' }]), /testing value \/a~0b failed/);
});

test('merge patch follows RFC 7386 (arrays replaced, null deletes, scalars replace objects)', () => {
  assert.deepEqual(P.mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] }), { a: { c: 2, d: 3 }, l: [3] });
  assert.deepEqual(P.mergePatch({ a: { b: 1 } }, { a: 'x' }), { a: 'x' });
  assert.deepEqual(P.mergePatch({ a: 1 }, { b: { c: null } }), { a: 1, b: {} });
});

test('strategic merge: $patch replace/delete, primitive finalizers union, $deleteFromPrimitiveList, $retainKeys', () => {
  const doc = { metadata: { finalizers: ['a/x'] }, spec: { m: { k: 1, j: 2 }, r: { x: 1 }, keep: { a: 1, b: 2 } } };
  const out = P.strategicMergePatch(doc, {
    metadata: { finalizers: ['b/y'], '$deleteFromPrimitiveList/finalizers': ['a/x'] },
    spec: { m: { $patch: 'replace', z: 9 }, r: { $patch: 'delete' }, keep: { $retainKeys: ['a'], a: 3 } },
  });
  assert.deepEqual(out, { metadata: { finalizers: ['b/y'] }, spec: { m: { z: 9 }, keep: { a: 3 } } });
  assert.throws(() => P.strategicMergePatch({}, { spec: { containers: [{ image: 'x' }] } }), /merge key: name/);
});

test('label selectors: =, ==, !=, in, notin, exists, !exists, gt/lt and errors', () => {
  const labels = { app: 'orders', tier: 'worker', n: '5' };
  const m = (s) => S.matchLabelRequirements(S.parseLabelSelector(s), labels);
  assert.ok(m('app=orders'));
  assert.ok(m('app==orders,tier'));
  assert.ok(m('app!=x'));
  assert.ok(m('missing!=x'), '!= matches objects without the key');
  assert.ok(m('app in (a, orders)'));
  assert.ok(m('tier notin (web)'));
  assert.ok(m('missing notin (web)'));
  assert.ok(m('!missing'));
  assert.ok(m('n>4') && m('n<6') && !m('n>5'));
  assert.ok(!m('app=other'));
  assert.ok(!m('!app'));
  assert.ok(m(''));
  assert.ok(m('twa.dev/x!=1'));
  assert.throws(() => S.parseLabelSelector('app in ()'), /values set can't be empty/);
  assert.throws(() => S.parseLabelSelector('app=a,,b'), /expected/);
  assert.throws(() => S.parseLabelSelector('app=bad value!'), S.SelectorError);
  assert.throws(() => S.parseLabelSelector('Bad_Key-=x'), /unable to parse requirement: key: Invalid value/);
});

test('field selectors: =, ==, != and escaping', () => {
  assert.deepEqual(S.parseFieldSelector('metadata.name=a\\,b,status.phase!=Running'),
    [{ field: 'metadata.name', op: '=', value: 'a,b' }, { field: 'status.phase', op: '!=', value: 'Running' }]);
  assert.throws(() => S.parseFieldSelector('nonsense'), /invalid selector: 'nonsense'; can't understand 'nonsense'/);
  assert.ok(S.matchFieldRequirements(S.parseFieldSelector('metadata.name==x'), { 'metadata.name': 'x' }));
});

test('LabelSelector string form is sorted like LabelSelectorAsSelector', () => {
  assert.equal(S.labelSelectorString({
    matchLabels: { z: '1', a: '2' },
    matchExpressions: [{ key: 'm', operator: 'In', values: ['y', 'x'] }, { key: 'b', operator: 'DoesNotExist' }],
  }), 'a=2,!b,m in (x,y),z=1');
});

test('MicroTime accepts exactly six fractional digits and reports Go parse errors', () => {
  assert.equal(normalizeMicroTime('2026-11-22T22:00:02.123456Z'), '2026-11-22T22:00:02.123456Z');
  assert.equal(normalizeMicroTime('2026-11-22T23:30:02.000001+01:30'), '2026-11-22T22:00:02.000001Z');
  assert.equal(normalizeMicroTime('2026-11-22T22:00:02,123456Z'), '2026-11-22T22:00:02.123456Z', 'Go accepts a comma');
  assert.equal(normalizeMicroTime('2026-11-22T2:00:02.123456Z'), '2026-11-22T02:00:02.123456Z', 'hour takes one digit');
  const bad = {
    '2026-11-22T22:00:02Z': 'parsing time "2026-11-22T22:00:02Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"',
    '2026-11-22T22:00:02.123Z': 'parsing time "2026-11-22T22:00:02.123Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".123Z" as ".000000"',
    '2026-11-22T22:00:02.123456789Z': 'parsing time "2026-11-22T22:00:02.123456789Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "789Z" as "Z07:00"',
    '2026-11-22 22:00:02.123456Z': 'parsing time "2026-11-22 22:00:02.123456Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse " 22:00:02.123456Z" as "T"',
    '2026-13-22T22:00:02.123456Z': 'parsing time "2026-13-22T22:00:02.123456Z": month out of range',
    '2026-02-30T22:00:02.123456Z': 'parsing time "2026-02-30T22:00:02.123456Z": day out of range',
    '2026-11-22T22:00:02.123456z': 'parsing time "2026-11-22T22:00:02.123456z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "z" as "Z07:00"',
    '2026-11-22T22:00:02.123456Zx': 'parsing time "2026-11-22T22:00:02.123456Zx": extra text: "x"',
    '': 'parsing time "" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "" as "2006"',
  };
  for (const [v, msg] of Object.entries(bad)) assert.throws(() => normalizeMicroTime(v), { message: msg }, v);
  assert.equal(normalizeMicroTime('2024-02-29T00:00:00.000000Z'), '2024-02-29T00:00:00.000000Z');
});

test('metav1.Time accepts any fraction and keeps whole seconds', () => {
  assert.equal(normalizeTime('2026-01-02T03:04:05.999Z'), '2026-01-02T03:04:05Z');
  assert.equal(normalizeTime('2026-01-02T03:04:05+01:00'), '2026-01-02T02:04:05Z');
});

test('qualified names, DNS subdomains and label values', () => {
  assert.deepEqual(V.isQualifiedName('agents.twa.dev/pod-1'), []);
  assert.deepEqual(V.isQualifiedName('agents.twa.dev/Bad_Name-'), [
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  ]);
  assert.deepEqual(V.isQualifiedName('a/b/c').length, 1);
  assert.deepEqual(V.isQualifiedName('/x'), ['prefix part must be non-empty']);
  assert.deepEqual(V.isQualifiedName('x/' + 'a'.repeat(64)), ['name part must be no more than 63 characters']);
  assert.equal(V.isQualifiedName('Upper.Case/x')[0].slice(0, 12), 'prefix part ');
  assert.deepEqual(V.isDNS1123Subdomain('a'.repeat(254))[0], 'must be no more than 253 characters');
  assert.deepEqual(V.isValidLabelValue(''), []);
  assert.equal(V.isValidLabelValue('-x').length, 1);
});

test('typed decoding: Go type errors, unknown fields, omitempty', () => {
  const T = object('Thing', { spec: struct('ThingSpec', { n: 'int32', s: 'string', t: 'microtime' }) });
  assert.throws(() => decode(T, { spec: { n: '1' } }), { message: 'json: cannot unmarshal string into Go struct field ThingSpec.spec.n of type int32' });
  assert.throws(() => decode(T, { spec: { n: 1.5 } }), { message: 'json: cannot unmarshal number 1.5 into Go struct field ThingSpec.spec.n of type int32' });
  assert.throws(() => decode(T, { spec: { n: 2 ** 31 } }), /number 2147483648 into Go struct field ThingSpec.spec.n of type int32/);
  assert.throws(() => decode(T, { spec: 'x' }), { message: 'json: cannot unmarshal string into Go struct field Thing.spec of type v1.ThingSpec' });
  assert.throws(() => decode(T, { metadata: { annotations: { a: 1 } } }), { message: 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.annotations of type string' });
  const d = decode(T, { spec: { n: null, s: '', extra: 1 }, metadata: { labels: {}, name: 'x', foo: 2 } });
  assert.deepEqual(d.obj, { metadata: { name: 'x' }, spec: { s: '' } });
  assert.deepEqual(d.unknown, ['spec.extra', 'metadata.foo']);
});

test('store: snapshots undo newer changes; watch history expires past the window', () => {
  const s = new Store();
  const put = (name, v, prev) => s.commit('things', prev ? 'MODIFIED' : 'ADDED', `ns/${name}`, { metadata: { name, namespace: 'ns' }, v }, prev);
  const a1 = put('a', 1);
  const rvA = s.rv;
  put('a', 2, a1);
  put('b', 1);
  assert.deepEqual(s.snapshot('things', 'ns', rvA).map((e) => e.obj.v), [1]);
  assert.equal(s.eventsSince('things', rvA).length, 2);
  s.setWindow({ maxEvents: 1 });
  assert.throws(() => s.eventsSince('things', rvA), TooOldError);
  s.compact();
  assert.deepEqual(s.eventsSince('things', s.rv), []);
});
