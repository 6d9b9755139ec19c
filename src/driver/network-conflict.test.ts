// A CreateNetwork for a network tether has, with other settings, says which.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NET, useDaemon } from '../../test/support/daemon-rig.js';

const { createNetwork, daemon, rig } = useDaemon();

test('a network asked for again with other settings is refused, naming each that differs', async () => {
  const { gateway } = await createNetwork('10.9.0.0/24');
  const again = await rig().client.call('NetworkDriver.CreateNetwork', {
    NetworkID: NET,
    Options: { 'com.docker.network.generic': {}, 'com.docker.network.internal': true },
    IPv4Data: [{ AddressSpace: 'local', Pool: '10.9.0.0/24', Gateway: gateway }],
    IPv6Data: [],
  });
  assert.equal(again.status, 409);
  assert.match(
    String(again.json['Err']),
    /already exists with other settings: internal false, asked true; nat true, asked false/,
  );
  assert.equal(daemon().driver.snapshot().networks[0]?.internal, false);
});
