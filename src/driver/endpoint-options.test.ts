import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEndpointOptions } from './endpoint-options.js';

test("tether.label.KEY options become the endpoint's labels; Docker's own keys pass", () => {
  assert.deepEqual(
    parseEndpointOptions({
      'tether.label.role': 'db',
      'tether.label.app/tier': '',
      'com.docker.network.endpoint.exposedports': [],
    }),
    { labels: { role: 'db', 'app/tier': '' } },
  );
  assert.deepEqual(parseEndpointOptions({}), { labels: {} });
});

test('unknown keys, bad label keys and non-text values are errors that name the key', () => {
  assert.throws(() => parseEndpointOptions({ colour: 'blue' }), /unknown endpoint option "colour"/);
  assert.throws(() => parseEndpointOptions({ 'tether.mtu': '1400' }), /unknown endpoint option "tether.mtu"/);
  for (const key of ['', '-x', 'a b', 'x'.repeat(129)]) {
    assert.throws(() => parseEndpointOptions({ [`tether.label.${key}`]: 'v' }), /not a valid label key/, key);
  }
  assert.throws(() => parseEndpointOptions({ 'tether.label.n': 5 }), /must be text/);
  assert.throws(() => parseEndpointOptions({ 'tether.label.n': 'x'.repeat(1025) }), /must be text/);
  const labels = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`tether.label.l${i}`, 'v']));
  assert.equal(Object.keys(parseEndpointOptions(labels(64)).labels).length, 64);
  assert.throws(() => parseEndpointOptions(labels(65)), /at most 64 tether\.label\.KEY options/);
});
