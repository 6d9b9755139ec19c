// The commands for links on a host interface, checked as text: this machine's
// kernel has no 802.1q module, so VLAN sub-interfaces are tested here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr } from '../net/ip.js';
import { macvlanAdd, macvlanSettle, mismatch, vlanAdd, vlanSettle } from './uplink-commands.js';

const vlan = { name: 'eth1.10', parent: 'eth1', id: 10, alias: 'tether:tether:n1' };

test('a VLAN sub-interface: created on its parent with its ID, then marked and brought up', () => {
  assert.equal(vlanAdd(vlan).join(' '), 'link add link eth1 name eth1.10 type vlan id 10');
  assert.equal(vlanSettle(vlan).join(' '), 'link set dev eth1.10 alias tether:tether:n1 up');
  const existing = { name: 'eth1.10', kind: 'vlan', parent: 'eth1', vlan: 10, up: true, mtu: 1500, addresses: [] };
  assert.equal(mismatch(existing, vlan, 'vlan', 10), undefined);
  assert.match(mismatch({ ...existing, vlan: 11 }, vlan, 'vlan', 10) ?? '', /VLAN ID 11, not 10/);
  assert.match(mismatch({ ...existing, parent: 'eth2' }, vlan, 'vlan', 10) ?? '', /on eth2, not on eth1/);
  assert.match(mismatch({ ...existing, kind: 'dummy' }, vlan, 'vlan', 10) ?? '', /not a vlan device/);
});

test("a macvlan in bridge mode: an endpoint's stays down with its MAC, a shim is up with its addresses", () => {
  const endpoint = { name: 'tth1p', parent: 'eth1.10', mtu: 1500, mac: '02:74:0a:00:00:05', alias: 'a', addresses: [] };
  assert.equal(
    macvlanAdd(endpoint).join(' '),
    'link add link eth1.10 name tth1p mtu 1500 address 02:74:0a:00:00:05 type macvlan mode bridge',
  );
  assert.deepEqual(macvlanSettle(endpoint, undefined), [['link', 'set', 'dev', 'tth1p', 'alias', 'a']]);
  const cidr = parseCidr('192.168.50.2/24');
  assert.ok(cidr);
  const shim = { name: 'tthsh1', parent: 'eth1', mtu: 1500, alias: 'a', addresses: [cidr] };
  assert.deepEqual(
    macvlanSettle(shim, undefined).map((c) => c.join(' ')),
    ['link set dev tthsh1 alias a up', 'address replace 192.168.50.2/24 dev tthsh1'],
  );
});
