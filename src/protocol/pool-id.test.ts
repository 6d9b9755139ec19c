import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPoolId, parsePoolId } from './pool-id.js';

test('a pool ID is its address space and subnet, and round-trips', () => {
  for (const text of ['local/10.0.0.0/24', 'global/fd00:1::/64']) {
    const id = parsePoolId(text);
    assert.ok(id);
    assert.equal(formatPoolId(id), text);
  }
  assert.equal(parsePoolId('local/10.0.0.0/24')?.space, 'local');
});

test('what is not a pool ID is refused, not guessed', () => {
  for (const text of ['', 'local', '/10.0.0.0/24', 'local/10.0.0.1/24', 'local/10.0.0.0', 'local/x/24']) {
    assert.equal(parsePoolId(text), undefined, text);
  }
});
