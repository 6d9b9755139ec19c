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

test('a host interface: the mode follows from parent or uplink, and what does not fit together is refused', () => {
  assert.deepEqual(parseNetworkOptions({ 'tether.parent': 'eth1', 'tether.vlan': '10' }), {
    nat: false,
    uplink: { kind: 'macvlan', name: 'eth1', vlan: 10, hostShim: false },
  });
  assert.deepEqual(parseNetworkOptions({ 'tether.uplink': 'data', 'tether.host-shim': 'true' }).uplink, {
    kind: 'bridged-uplink',
    name: 'data',
    hostShim: true,
  });
  assert.equal(parseNetworkOptions({ parent: 'eth1', 'tether.mode': 'macvlan' }).uplink?.kind, 'macvlan');
  const refused: [Record<string, string>, RegExp][] = [
    [{ 'tether.mode': 'macvlan' }, /needs -o tether.parent/],
    [{ 'tether.mode': 'bridge', 'tether.parent': 'eth1' }, /takes -o tether.uplink/],
    [{ 'tether.mode': 'ipvlan' }, /"bridge" or "macvlan"/],
    [{ 'tether.parent': 'eth1', 'tether.uplink': 'eth2' }, /do not go together/],
    [{ 'tether.parent': 'eth1', parent: 'eth2' }, /give the parent interface once/],
    [{ 'tether.vlan': '10' }, /needs -o tether.parent/],
    [{ 'tether.parent': 'eth1', 'tether.vlan': '4095' }, /from 1 to 4094/],
    [{ 'tether.parent': 'eth1', 'tether.host-shim': 'yes' }, /expected true or false/],
    [{ 'tether.parent': 'eth 1' }, /not a valid interface name/],
    [{ 'tether.parent': 'eth1', 'tether.nat': 'true' }, /never NATed/],
    [{ 'tether.uplink': 'eth1', 'tether.policy': 'deny' }, /not enforced/],
    [{ 'tether.parent': 'eth1', bridge: 'br9' }, /no bridge to name/],
  ];
  for (const [options, message] of refused) assert.throws(() => parseNetworkOptions(options), message);
});
