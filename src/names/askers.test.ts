// Who may ask for names: tether's containers (with their networks), containers on
// the host's other bridges, the host; not the LAN behind a bridge or the default route.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Link } from '../dataplane/dataplane.js';
import type { EndpointRecord, NetworkRecord } from '../driver/records.js';
import { type IpAddress, parseCidr, parseIp } from '../net/ip.js';
import { Askers } from './askers.js';

const link = (name: string, kind: string, addresses: string[], master?: string): Link => ({
  name,
  kind,
  up: true,
  mtu: 1500,
  addresses,
  ...(master ? { master } : {}),
});
const links = [
  link('docker0', 'bridge', ['172.17.0.1/16']),
  // The host's own LAN on a bridge: the default route leaves by it.
  link('br0', 'bridge', ['192.168.1.10/24']),
  // A bridged uplink with the host shim's address: a NIC on it.
  link('ttebrup', 'bridge', ['10.50.0.250/24']),
  link('eth1', '', [], 'ttebrup'),
];
const network = (id: string, internal: boolean, cluster?: string) =>
  ({
    id,
    internal,
    kind: cluster
      ? { type: 'cluster', bridge: 'b', name: cluster, vni: 1, device: 'v' }
      : { type: 'bridge', bridge: 'b' },
  }) as unknown as NetworkRecord;
const endpoint = (id: string, networkId: string, address: string, sandboxKey: string) =>
  ({ id, networkId, address: parseCidr(address), sandboxKey }) as unknown as EndpointRecord;
const askers = new Askers({
  address: '169.254.53.53',
  snapshot: () => ({
    networks: [network('n1', false, 'web'), network('n2', true, 'db'), network('n3', false)],
    endpoints: [
      endpoint('a', 'n1', '10.1.0.2/24', 'box1'),
      endpoint('b', 'n2', '10.2.0.2/24', 'box1'),
      endpoint('c', 'n2', '10.2.0.3/24', 'box2'),
      endpoint('d', 'n3', '10.3.0.2/24', 'box3'),
    ],
  }),
  links: async () => links,
  defaultRouteLinks: async () => ['br0'],
});
const ip = (text: string): IpAddress => parseIp(text) ?? assert.fail(text);

test("tether's containers ask with every cluster network of their sandbox", async () => {
  assert.deepEqual(await askers.of(ip('10.1.0.2')), { networks: ['web', 'db'], mayForward: true });
  assert.deepEqual(await askers.of(ip('10.2.0.2')), { networks: ['web', 'db'], mayForward: true });
  assert.deepEqual(await askers.of(ip('10.2.0.3')), { networks: ['db'], mayForward: false }, 'internal only');
  assert.deepEqual(await askers.of(ip('10.3.0.2')), { networks: [], mayForward: true }, 'no cluster network');
});

test("the host and containers on the host's other bridges may ask, without names of the cluster's", async () => {
  for (const source of ['127.0.0.1', '::1', '169.254.53.53', '172.17.0.5']) {
    assert.deepEqual(await askers.of(ip(source)), { networks: [], mayForward: true }, source);
  }
});

test('anyone else is refused: the LAN of the default route, a LAN behind a bridged uplink, strangers', async () => {
  for (const source of ['192.168.1.20', '10.50.0.7', '10.1.0.9', '127.0.0.2', '8.8.8.8']) {
    assert.equal(await askers.of(ip(source)), undefined, source);
  }
});
