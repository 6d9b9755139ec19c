import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrefix } from '../net/ip.js';
import { AddressSet } from './address-set.js';

const prefix = (text: string) => parsePrefix(text) ?? assert.fail(text);
const last = (value: bigint) => Number(value & 0xffn);

test('a /24 hands out .1 to .254, then reports exhaustion', () => {
  const set = new AddressSet(prefix('10.0.0.0/24'));
  assert.equal(set.capacity, 254n);
  const taken = Array.from({ length: 254 }, () => set.takeNext());
  assert.equal(last(taken[0] ?? 0n), 1);
  assert.equal(last(taken[253] ?? 0n), 254);
  assert.equal(new Set(taken).size, 254);
  assert.equal(set.takeNext(), undefined);
});

test('next-fit: a freed address is reused only after the cursor comes round', () => {
  const set = new AddressSet(prefix('10.0.0.0/29'));
  const [a, b] = [set.takeNext(), set.takeNext()];
  set.free(a ?? 0n);
  assert.equal(last(set.takeNext() ?? 0n), 3);
  for (let i = 0; i < 3; i++) set.takeNext();
  assert.equal(set.takeNext(), a, 'wraps round to the freed one');
  assert.ok(set.has(b ?? 0n));
  assert.equal(set.takeNext(), undefined);
});

test('a sub-range limits dynamic addresses; static ones and the range share one count', () => {
  const set = new AddressSet(prefix('10.0.0.0/24'), prefix('10.0.0.128/30'));
  assert.equal(set.capacity, 4n);
  set.take(prefix('10.0.0.129/32').base);
  set.take(prefix('10.0.0.5/32').base);
  assert.deepEqual(
    [set.takeNext(), set.takeNext(), set.takeNext()].map((v) => last(v ?? 0n)),
    [128, 130, 131],
  );
  assert.equal(set.takeNext(), undefined);
  assert.ok(set.isUsable(prefix('10.0.0.5/32').base));
  assert.ok(!set.isUsable(prefix('10.0.0.255/32').base), 'broadcast');
  assert.ok(!set.isUsable(prefix('10.0.0.0/32').base), 'network');
});

test('IPv6 pools are not materialised: a /64 costs only what is taken', () => {
  const set = new AddressSet(prefix('fd00::/64'));
  assert.equal(set.capacity, (1n << 64n) - 1n);
  assert.equal(set.takeNext(), prefix('fd00::1/128').base);
  assert.equal(set.size, 1);
});

test('a /16 hands out each of its 65,534 addresses once', () => {
  const set = new AddressSet(prefix('10.0.0.0/16'));
  const seen = new Set<bigint>();
  for (let value = set.takeNext(); value !== undefined; value = set.takeNext()) seen.add(value);
  assert.equal(seen.size, 65534);
});
