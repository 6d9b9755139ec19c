import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSelector, matches, parseSelector } from './selector.js';

const sel = (text: string) => parseSelector(text);

test('each form of requirement matches as Kubernetes label selectors do', () => {
  const labels = { role: 'db', tier: 'back', 'app.kubernetes.io/name': 'pg' };
  assert.ok(matches(sel('role=db'), labels));
  assert.ok(matches(sel('role==db'), labels));
  assert.ok(!matches(sel('role=api'), labels));
  assert.ok(matches(sel('role!=api'), labels));
  assert.ok(matches(sel('env!=prod'), labels), 'a label that is absent differs from any value');
  assert.ok(matches(sel('role in (api, db)'), labels));
  assert.ok(!matches(sel('env in (prod)'), labels));
  assert.ok(matches(sel('role notin (api,web)'), labels));
  assert.ok(matches(sel('env notin (prod)'), labels));
  assert.ok(matches(sel('tier'), labels));
  assert.ok(!matches(sel('!tier'), labels));
  assert.ok(matches(sel('!env'), labels));
  assert.ok(matches(sel('app.kubernetes.io/name=pg'), labels));
});

test('requirements joined by commas must all hold; the empty selector selects everything', () => {
  assert.ok(matches(sel('role=db, tier in (back,front), !env'), { role: 'db', tier: 'back' }));
  assert.ok(!matches(sel('role=db,tier=front'), { role: 'db', tier: 'back' }));
  assert.ok(matches(sel(''), {}));
  assert.ok(matches(sel('  '), { any: 'x' }));
});

test('labels inherited from Object.prototype are no labels', () => {
  assert.ok(!matches(sel('constructor'), {}));
  assert.ok(!matches(sel('toString=x'), {}));
});

test('one canonical text per meaning', () => {
  assert.equal(formatSelector(sel('tier in (b, a),role==db')), 'role=db,tier in (a,b)');
  assert.equal(formatSelector(sel('!x, x')), '!x,x');
  assert.equal(formatSelector(sel('')), '');
});

test('malformed selectors are refused with the part that is wrong', () => {
  assert.throws(() => sel('role=db,'), /"" is not a requirement/);
  assert.throws(() => sel('role = db; rm -rf'), /is not a requirement/);
  assert.throws(() => sel('role in (a,(b))'), /unbalanced parentheses/);
  assert.throws(() => sel('role in (a'), /unbalanced parentheses/);
  assert.throws(() => sel('role in ()'), /"" is not a label value/);
  assert.throws(() => sel('-role'), /is not a requirement/);
});
