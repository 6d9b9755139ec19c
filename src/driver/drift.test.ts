import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Link } from '../dataplane/dataplane.js';
import { type Cidr, type IpPrefix, parseCidr, parsePrefix } from '../net/ip.js';
import { findDrift } from './drift.js';
import type { EndpointRecord, NetworkRecord } from './records.js';

const network: NetworkRecord = {
  id: 'n',
  bridge: 'tthbrn',
  mtu: 1500,
  internal: false,
  nat: true,
  gateways: [parseCidr('10.0.0.1/24') as Cidr],
  auxAddresses: [],
  subnets: [parsePrefix('10.0.0.0/24') as IpPrefix],
};
const link = (name: string, master?: string): Link => ({
  name,
  kind: name.startsWith('tthbr') ? 'bridge' : 'veth',
  up: true,
  mtu: 1500,
  addresses: name === 'tthbrn' ? ['10.0.0.1/24'] : [],
  ...(master ? { master } : {}),
  ...(name === 'tthbrn' ? { alias: 'tether:t:n' } : {}),
});
const endpoint = (id: string, fields: Partial<EndpointRecord>): EndpointRecord => ({
  id,
  networkId: 'n',
  hostName: `tth${id}`,
  peerName: `tth${id}p`,
  mac: '02:74:0a:00:00:02',
  ports: [],
  ...fields,
});
const NOW = 1_000_000;
const GRACE = 60_000;

function gone(endpoints: EndpointRecord[], links: Link[]): string[] {
  const drift = findDrift(
    new Map([['n', network]]),
    endpoints,
    [link('tthbrn'), ...links],
    { prefix: 'tth', bridgeAlias: 'tether:t:' },
    { now: NOW, ms: GRACE },
  );
  return drift.goneEndpoints.map((e) => e.id);
}

test('a joined endpoint whose pair vanished is gone at once', () => {
  assert.deepEqual(gone([endpoint('a1', { sandboxKey: '/ns', joinedAt: NOW })], []), ['a1']);
});

test('a peer still on the host is Docker about to move it in, until the grace is over', () => {
  const links = [link('tthb1', 'tthbrn'), link('tthb1p')];
  assert.deepEqual(gone([endpoint('b1', { sandboxKey: '/ns', joinedAt: NOW - 5_000 })], links), []);
  assert.deepEqual(gone([endpoint('b1', { sandboxKey: '/ns', joinedAt: NOW - GRACE })], links), ['b1']);
});

test('a joined endpoint whose peer is in the container stays, however old', () => {
  assert.deepEqual(gone([endpoint('c1', { sandboxKey: '/ns', joinedAt: 0 })], [link('tthc1', 'tthbrn')]), []);
});

test('an endpoint never joined is waiting for Join, until the grace is over', () => {
  const links = [link('tthd1', 'tthbrn'), link('tthd1p')];
  assert.deepEqual(gone([endpoint('d1', { createdAt: NOW - 1_000 })], links), []);
  assert.deepEqual(gone([endpoint('d1', { createdAt: NOW - GRACE })], links), ['d1']);
});
