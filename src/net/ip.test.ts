import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contains, formatIp, formatPrefix, overlaps, parseCidr, parseIp, parsePrefix } from './ip.js';

test('IPv4 and IPv6 addresses round-trip through their canonical text', () => {
  for (const text of [
    '10.1.2.3',
    '0.0.0.0',
    '255.255.255.255',
    '::',
    '::1',
    'fd00::1',
    '2001:db8::8:800:200c:417a',
    'fe80::1:0:0:1',
    '1:0:0:1::',
  ]) {
    const parsed = parseIp(text);
    assert.ok(parsed, text);
    assert.equal(formatIp(parsed), text);
  }
  assert.equal(formatIp(parseIp('2001:0db8:0000:0000:0000:0000:0000:0001') ?? assert.fail()), '2001:db8::1');
  assert.equal(formatIp(parseIp('::ffff:10.0.0.1') ?? assert.fail()), '::ffff:a00:1');
});

test('rejects what is not an address', () => {
  for (const text of ['', '10.1.2', '10.1.2.256', '1.2.3.4 ', 'fe80::1%eth0', '::g', '10.0.0.1/24', 'x']) {
    assert.equal(parseIp(text), undefined, text);
  }
});

test('prefixes: host bits must be zero; containment and overlap', () => {
  assert.equal(parsePrefix('10.1.0.1/24'), undefined);
  assert.equal(parsePrefix('10.1.0.0/33'), undefined);
  const net = parsePrefix('10.1.0.0/16') ?? assert.fail();
  const sub = parsePrefix('10.1.4.0/24') ?? assert.fail();
  const other = parsePrefix('10.2.0.0/16') ?? assert.fail();
  const v6 = parsePrefix('fd00::/8') ?? assert.fail();
  assert.equal(formatPrefix(net), '10.1.0.0/16');
  assert.ok(overlaps(net, sub));
  assert.ok(overlaps(sub, net));
  assert.ok(!overlaps(net, other));
  assert.ok(!overlaps(net, v6), 'families never overlap');
  assert.ok(contains(net, parseIp('10.1.255.255') ?? assert.fail()));
  assert.ok(!contains(net, parseIp('10.2.0.0') ?? assert.fail()));
  assert.deepEqual(parseCidr('10.1.0.7/24')?.length, 24);
});
