// Records of the shape before kinds load as today's and are written back once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SqliteStore } from '../store/sqlite.js';
import { kindOf } from './kinds/kind-of.js';
import { DriverState } from './state.js';

const dir = mkdtempSync(join(tmpdir(), 'tether-legacy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = (id: string) => ({
  id,
  mtu: 1450,
  internal: false,
  gateways: ['10.1.0.1/24'],
  subnets: ['10.1.0.0/24'],
});
const legacy = {
  plain: { ...base('plain'), bridge: 'tthbrplain' },
  cluster: { ...base('cluster'), bridge: 'tthbrc', cluster: { name: 'web', vni: 7, vxlan: 'tthvxc' } },
  swarm: { ...base('swarm'), bridge: 'tthbrs', cluster: { name: 'swarm', vni: 8, vxlan: 'tthvxs', swarm: true } },
  macvlan: {
    ...base('macvlan'),
    bridge: 'tthbrm',
    nat: false,
    cluster: { name: 'lan', vni: 9, vxlan: 'tthvxm' },
    uplink: { mode: 'macvlan', name: 'data', parent: 'eth1', vlan: 10, link: 'eth1.10', shim: ['10.1.0.250/24'] },
  },
  bridged: {
    ...base('bridged'),
    bridge: 'tthbrb',
    nat: false,
    uplink: { mode: 'bridge', name: 'eth2', parent: 'eth2', link: 'eth2' },
  },
};
const endpoint = (id: string, networkId: string) => ({
  id,
  networkId,
  hostName: `tth${id}`,
  peerName: `tth${id}p`,
  mac: '02:42:0a:01:00:02',
  address: '10.1.0.2/24',
});

test('records before kinds are read as kinds, once, and written back in the new shape', async () => {
  const store = new SqliteStore(join(dir, 'db'));
  await store.commit(
    [],
    [
      ...Object.values(legacy).map((n) => ({
        type: 'put' as const,
        key: `driver/networks/${n.id}`,
        value: JSON.stringify(n),
      })),
      ...[endpoint('e1', 'plain'), endpoint('e2', 'macvlan')].map((e) => ({
        type: 'put' as const,
        key: `driver/endpoints/${e.id}`,
        value: JSON.stringify(e),
      })),
    ],
  );
  const state = await DriverState.load(store);
  const kinds = Object.fromEntries([...state.networks.values()].map((n) => [n.id, n.kind]));
  assert.deepEqual(kinds.plain, { type: 'bridge', bridge: 'tthbrplain' });
  assert.deepEqual(kinds.cluster, { type: 'cluster', bridge: 'tthbrc', name: 'web', vni: 7, device: 'tthvxc' });
  assert.deepEqual(kinds.swarm, { type: 'swarm', bridge: 'tthbrs', name: 'swarm', vni: 8, device: 'tthvxs' });
  assert.equal(kinds.macvlan?.type, 'macvlan');
  assert.equal(kinds.bridged?.type, 'bridged-uplink');
  const macvlan = state.networks.get('macvlan');
  assert.ok(macvlan);
  const facts = kindOf(macvlan);
  assert.deepEqual(facts.span, { name: 'lan', vni: 9, by: 'tether' }, 'a spanning uplink keeps its name and VNI');
  assert.equal(facts.tunnel, undefined, 'and has no tunnel device: its LAN joins the hosts');
  assert.equal(facts.bridge, undefined);
  assert.equal(facts.uplink?.vlan, 10);
  assert.equal(facts.hostAddresses.length, 1, "the host shim's address is kept");
  assert.equal(state.endpoints.get('e1')?.hostName, 'tthe1');
  assert.equal(state.endpoints.get('e2')?.hostName, undefined, 'a macvlan endpoint has no host end');

  const stored = await store.list('driver/');
  const networks = stored.filter((e) => e.key.startsWith('driver/networks/')).map((e) => JSON.parse(e.value));
  assert.equal(networks.length, 5);
  for (const n of networks)
    assert.deepEqual([n.kind !== undefined, n.bridge, n.cluster, n.uplink], [true, undefined, undefined, undefined]);
  const e2 = stored.find((e) => e.key === 'driver/endpoints/e2');
  assert.equal(e2 && JSON.parse(e2.value).hostName, undefined, 'written back without it');
  const again = await DriverState.load(store);
  assert.deepEqual(again.snapshot(), state.snapshot(), 'read back unchanged');
  const revisions = (await store.list('driver/')).map((e) => e.revision);
  await DriverState.load(store);
  assert.deepEqual(
    (await store.list('driver/')).map((e) => e.revision),
    revisions,
    'a record of the new shape is not written again',
  );
  await store.close();
});
