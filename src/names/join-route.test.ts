// A container on an internal cluster network has no default route; Join hands it a route to the names
// address over the network's own link, once per container (Docker fails a Join whose route exists).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Host, useSharedStore } from '../../test/support/cluster-hosts.js';

const shared = useSharedStore();
const NAMES = '169.254.53.53';
const INTERNAL = { 'com.docker.network.internal': true };

async function join(host: Host, network: string, pool: string, endpoint: string, sandbox: string) {
  const { Address } = await host.call('IpamDriver.RequestAddress', { PoolID: pool, Address: '', Options: {} });
  await host.call('NetworkDriver.CreateEndpoint', { NetworkID: network, EndpointID: endpoint, Interface: { Address } });
  return host.call('NetworkDriver.Join', { NetworkID: network, EndpointID: endpoint, SandboxKey: sandbox });
}

test('internal cluster networks route to the names address, once per container; others need no route', async () => {
  // The fake service address puts nothing on lo: the names service fails to bind and the daemon runs on.
  const host = await new Host(shared(), 'a', '192.0.2.1', { namesAddr: NAMES }).start();
  const [quiet, quiet2, open, local] = ['1', '2', '3', '4'].map((c) => c.repeat(64)) as [
    string,
    string,
    string,
    string,
  ];
  const pools = [
    await host.createNetwork(quiet, '10.61.1.0/24', { 'tether.cluster': 'quiet' }, 'local', INTERNAL),
    await host.createNetwork(quiet2, '10.61.2.0/24', { 'tether.cluster': 'quiet2' }, 'local', INTERNAL),
    await host.createNetwork(open, '10.61.3.0/24', { 'tether.cluster': 'open' }),
    await host.createNetwork(local, '10.61.4.0/24', {}, 'local', INTERNAL),
  ];
  const routes = (answer: Record<string, unknown>) => answer['StaticRoutes'];
  const route = [{ Destination: `${NAMES}/32`, RouteType: 1 }];
  assert.deepEqual(routes(await join(host, quiet, pools[0] ?? '', 'e1'.repeat(32), '/ns/one')), route);
  assert.equal(routes(await join(host, quiet2, pools[1] ?? '', 'e2'.repeat(32), '/ns/one')), undefined, 'again');
  assert.deepEqual(routes(await join(host, quiet2, pools[1] ?? '', 'e3'.repeat(32), '/ns/two')), route);
  const opened = await join(host, open, pools[2] ?? '', 'e4'.repeat(32), '/ns/three');
  assert.equal(routes(opened), undefined, 'the default route reaches it');
  assert.equal(opened['Gateway'], '10.61.3.1');
  const alone = await join(host, local, pools[3] ?? '', 'e5'.repeat(32), '/ns/four');
  assert.equal(routes(alone), undefined, 'a network of one host has no names to ask for');
});
