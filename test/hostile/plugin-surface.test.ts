// Hostile input at the plugin's HTTP surface: what a local user who is not root
// can reach on --insecure-tcp, and what unknown paths do to the metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { POLICIES_PATH, STATE_PATH, STATUS_PATH } from '../../src/operator/contract.js';
import { useRig } from '../support/daemon-rig.js';

const rig = useRig();
const policy = { name: 'open-all', select: 'tier=web', from: ['tier=any'], ports: [] };

test('--insecure-tcp serves the plugin protocol and probes only: no policy writes, no state reads', async () => {
  const plain = rig().running().server();
  await plain.ready();
  const capabilities = await plain.inject({ method: 'POST', url: '/NetworkDriver.GetCapabilities', body: 'null' });
  assert.equal(capabilities.statusCode, 200);
  assert.equal((await plain.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  for (const url of [STATUS_PATH, STATE_PATH, POLICIES_PATH]) {
    assert.equal((await plain.inject({ method: 'GET', url })).statusCode, 404, url);
  }
  const write = await plain.inject({ method: 'POST', url: POLICIES_PATH, payload: policy });
  assert.equal(write.statusCode, 404);
  assert.deepEqual(
    await rig()
      .running()
      .app.inject({ method: 'GET', url: POLICIES_PATH })
      .then((r) => r.json()),
    {
      policies: [],
    },
  );
  // The UNIX socket (0600, root's) keeps the operator API.
  assert.equal((await rig().running().app.inject({ method: 'GET', url: STATUS_PATH })).statusCode, 200);
});

test('metrics hear only the route table: 500 unknown POST paths add no method', async () => {
  const heard = new Set<string>();
  rig()
    .running()
    .observe((call) => heard.add(call));
  const { app } = rig().running();
  for (let i = 0; i < 500; i++) await app.inject({ method: 'POST', url: `/Attack.${i}`, body: '{}' });
  await app.inject({ method: 'POST', url: '/NetworkDriver.GetCapabilities?x=1', body: 'null' });
  await app.inject({ method: 'POST', url: '/IpamDriver.GetCapabilities', body: 'null' });
  assert.deepEqual([...heard].sort(), ['IpamDriver.GetCapabilities', 'NetworkDriver.GetCapabilities']);
});
