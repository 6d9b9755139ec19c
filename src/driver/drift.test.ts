import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Link } from '../dataplane/dataplane.js';
import { FakeLinks } from '../dataplane/fake.js';
import { type Cidr, type IpPrefix, parseCidr, parsePrefix } from '../net/ip.js';
import { findDrift } from './drift.js';
import { NetworkModes } from './kinds/modes.js';
import type { EndpointRecord, NetworkRecord } from './records.js';

const network: NetworkRecord = {
  id: 'n',
  kind: { type: 'bridge', bridge: 'tthbrn' },
  mtu: 1500,
  internal: false,
  nat: true,
  gateways: [parseCidr('10.0.0.1/24') as Cidr],
  auxAddresses: [],
  subnets: [parsePrefix('10.0.0.0/24') as IpPrefix],
};
const modes = new NetworkModes(new FakeLinks(), {
  ownerAlias: 'tether:t:',
  uplinks: [],
  shimName: (id) => `tthsh${id}`,
});
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

/** What the collection calls gone, in a life of tether that began at `lifeStart`. */
function gone(endpoints: EndpointRecord[], links: Link[], lifeStart = NOW): string[] {
  const drift = findDrift(new Map([['n', network]]), endpoints, [link('tthbrn'), ...links], modes, 'tether:t:', {
    now: NOW,
    ms: GRACE,
    lifeStart,
  });
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

test('a peer on the host after a Join of this life is a slow start, however long it takes', () => {
  const links = [link('tthb1', 'tthbrn'), link('tthb1p')];
  const joined = endpoint('b1', { sandboxKey: '/ns', joinedAt: NOW - 2 * GRACE });
  assert.deepEqual(gone([joined], links, NOW - 3 * GRACE), []);
  assert.deepEqual(gone([joined], links, NOW - 2 * GRACE + 1), ['b1'], 'joined before this life began');
});

test('a joined endpoint whose peer is in the container stays, however old', () => {
  assert.deepEqual(gone([endpoint('c1', { sandboxKey: '/ns', joinedAt: 0 })], [link('tthc1', 'tthbrn')]), []);
});

test('an endpoint never joined is waiting for Join, until the grace is over', () => {
  const links = [link('tthd1', 'tthbrn'), link('tthd1p')];
  assert.deepEqual(gone([endpoint('d1', { createdAt: NOW - 1_000 })], links), []);
  assert.deepEqual(gone([endpoint('d1', { createdAt: NOW - GRACE })], links), ['d1']);
});

test('an endpoint left is waiting for DeleteEndpoint, until the grace after Leave is over', () => {
  const links = [link('tthe1', 'tthbrn'), link('tthe1p')];
  const left = (leftAt: number) => endpoint('e1', { createdAt: NOW - 2 * GRACE, leftAt });
  assert.deepEqual(gone([left(NOW - 1_000)], links), []);
  assert.deepEqual(gone([left(NOW - GRACE)], links), ['e1']);
});

describe('a macvlan network, whose joined interfaces the host cannot see', () => {
  const lan: NetworkRecord = {
    ...network,
    id: 'm',
    nat: false,
    kind: { type: 'macvlan', uplink: { name: 'eth1', parent: 'eth1', link: 'eth1' } },
  };
  const nic: Link = { name: 'eth1', kind: '', up: true, mtu: 1500, addresses: [] };
  const macvlan: Link = { name: 'tthm1p', kind: 'macvlan', up: false, mtu: 1500, addresses: [], alias: 'tether:t:m' };
  const on = (fields: Partial<EndpointRecord>) => ({ ...endpoint('m1', fields), networkId: 'm' });
  const drift = (endpoints: EndpointRecord[], links: Link[], lifeStart = NOW) =>
    findDrift(new Map([['m', lan]]), endpoints, [nic, ...links], modes, 'tether:t:', {
      now: NOW,
      ms: GRACE,
      lifeStart,
    });

  test('a Join of this life stays; one of an earlier life is for Docker to judge, not freed by timing', () => {
    const joined = on({ sandboxKey: '/ns', joinedAt: NOW - 2 * GRACE });
    const thisLife = drift([joined], [], NOW - 3 * GRACE);
    assert.deepEqual([thisLife.goneEndpoints, thisLife.slowStarts, thisLife.missingVeths], [[], [], []]);
    const earlier = drift([joined], []);
    assert.deepEqual([earlier.goneEndpoints, earlier.slowStarts.map((e) => e.id)], [[], ['m1']]);
    assert.deepEqual(
      drift([joined], [macvlan]).goneEndpoints.map((e) => e.id),
      ['m1'],
      'moved back to the host',
    );
  });

  test('a macvlan missing before Join is repaired; the network is intact without bridge or gateway', () => {
    const waiting = drift([on({ createdAt: NOW })], []);
    assert.deepEqual(
      waiting.missingVeths.map((e) => e.id),
      ['m1'],
    );
    assert.deepEqual(waiting.brokenBridges, []);
    assert.deepEqual(waiting.orphanLinks, []);
    assert.deepEqual(drift([], [macvlan]).orphanLinks, ['tthm1p'], "a macvlan of tether's nobody owns");
    assert.deepEqual(
      drift([], [{ ...nic, up: false }]).brokenBridges.map((n) => n.id),
      ['m'],
    );
  });
});
