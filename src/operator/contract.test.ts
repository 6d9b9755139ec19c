// The operator contract declares no record shape of its own: what the driver
// stores is what `tether ls --json` shows, every field of every kind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EP, useDaemon } from '../../test/support/daemon-rig.js';
import { parseUplinks } from '../driver/kinds/uplink/allowed.js';
import { textShapes } from '../driver/record-shapes.js';
import { daemonState, STATE_PATH } from './contract.js';

const { rig, daemon, ok, createNetwork, runContainer } = useDaemon({ uplinks: parseUplinks('eth1') });

/** The answer as the CLI reads it (cli/client.ts), beside the answer as sent. */
async function stateBothWays() {
  const sent = (await daemon().app.inject({ method: 'GET', url: STATE_PATH })).json();
  return { sent, read: daemonState.parse(sent) };
}

test('every field of a network and an endpoint reaches `tether ls --json`, aliases among them', async () => {
  const { poolId } = await createNetwork('10.9.0.0/24', { 'tether.policy': 'deny' });
  await runContainer(poolId);
  await daemon().driver.recordContainer(EP, { name: 'web', aliases: ['api', 'b0b0'], labels: { tier: 'web' } });
  await ok('NetworkDriver.ProgramExternalConnectivity', {
    NetworkID: 'a'.repeat(64),
    EndpointID: EP,
    Options: { 'com.docker.network.portmap': [{ Proto: 6, Port: 80, HostPort: 18080, HostPortEnd: 18080 }] },
  });
  const { sent, read } = await stateBothWays();
  assert.deepEqual(read, sent, 'the CLI drops nothing the daemon sends');
  const [endpoint] = read.endpoints;
  assert.deepEqual(endpoint?.container?.aliases, ['api', 'b0b0']);
  assert.equal(endpoint?.ports.length, 1);
  const [network] = read.networks;
  assert.equal(network?.label, 'bridge');
  // Each field of the stored shapes is in the answer (the optional ones this network has).
  const keys = (shape: object) => Object.keys(shape).sort();
  const networkKeys = keys(textShapes.network.shape);
  assert.deepEqual(
    networkKeys.filter((k) => !(k in (network ?? {}))),
    [],
    'a field added to the network record shows',
  );
  // Fields this endpoint has no value for: an IPv6 address, a Leave, labels given at `docker network connect`.
  const unset = ['addressIpv6', 'leftAt', 'labels'];
  const endpointKeys = keys(textShapes.endpoint.shape).filter((k) => !unset.includes(k));
  assert.deepEqual(
    endpointKeys.filter((k) => !(k in (endpoint ?? {}))),
    [],
    'a field added to the endpoint record shows',
  );
});

test('a macvlan endpoint shows no host interface, in the state and to Docker', async () => {
  rig().links.addNic('eth1');
  const { poolId, created } = await createNetwork('10.50.0.0/24', { 'tether.parent': 'eth1' });
  assert.equal(created.status, 200, JSON.stringify(created.json));
  await runContainer(poolId);
  const { read } = await stateBothWays();
  assert.equal(read.networks[0]?.label, 'macvlan on eth1');
  assert.equal(read.networks[0]?.bridge, undefined);
  assert.equal(read.endpoints[0]?.hostName, undefined);
  const info = await ok('NetworkDriver.EndpointOperInfo', { NetworkID: 'a'.repeat(64), EndpointID: EP });
  assert.equal((info['Value'] as Record<string, unknown>)['HostInterface'], undefined);
});
