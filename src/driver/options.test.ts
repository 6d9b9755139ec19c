import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNetworkOptions } from './options.js';

test('Docker bridge names and short names set MTU and bridge', () => {
  assert.deepEqual(
    parseNetworkOptions({ 'com.docker.network.driver.mtu': '1400', 'com.docker.network.bridge.name': 'br-web' }),
    { mtu: 1400, bridge: 'br-web' },
  );
  assert.deepEqual(parseNetworkOptions({ mtu: '9000', bridge: 'web0' }), { mtu: 9000, bridge: 'web0' });
  assert.deepEqual(parseNetworkOptions({}), {});
});

test('unknown keys and bad values are errors that name the key', () => {
  assert.throws(() => parseNetworkOptions({ colour: 'blue' }), /unknown option "colour"/);
  for (const mtu of ['abc', '1279', '65536', '1400.5', '-1', '']) {
    assert.throws(() => parseNetworkOptions({ mtu }), /MTU must be a whole number/, mtu);
  }
  for (const bridge of ['', 'x'.repeat(16), 'a b', 'a/b', '-dash', 'semi;colon', 'nul\u0000']) {
    assert.throws(() => parseNetworkOptions({ bridge }), /not a valid interface name/, JSON.stringify(bridge));
  }
});

test("Docker 27+'s address-family options are accepted as true or false, and nothing else", () => {
  assert.deepEqual(
    parseNetworkOptions({ 'com.docker.network.enable_ipv4': 'false', 'com.docker.network.enable_ipv6': 'true' }),
    { ipv4: false, ipv6: true },
  );
  assert.throws(() => parseNetworkOptions({ 'com.docker.network.enable_ipv6': 'yes' }), /expected true or false/);
});
