// Health and readiness probes on the plugin's socket (through inject), with a
// store and a firewall that can be made to fail.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useDaemon } from '../../test/support/daemon-rig.js';
import { readiness } from './contract.js';

// The store written every 20 ms and no answer kept: each probe here sees the state it follows.
const { rig, daemon, createNetwork } = useDaemon({}, { probeTimings: { storeBeatMs: 20, readinessMaxAgeMs: 0 } });
const beats = () => new Promise((resolve) => setTimeout(resolve, 100));
const get = (url: string, method: 'GET' | 'HEAD' = 'GET') => daemon().app.inject({ method, url });

test('GET and HEAD on both GetCapabilities answer as POST does (Calico-style probes)', async () => {
  const network = await get('/NetworkDriver.GetCapabilities');
  assert.equal(network.statusCode, 200);
  assert.deepEqual(network.json(), { Scope: 'local', ConnectivityScope: 'local', GwAllocChecker: true });
  assert.equal((await get('/NetworkDriver.GetCapabilities', 'HEAD')).statusCode, 200);
  const ipam = await get('/IpamDriver.GetCapabilities');
  assert.deepEqual(ipam.json(), { RequiresMACAddress: false, RequiresRequestReplay: false });
  assert.equal((await get('/IpamDriver.GetCapabilities', 'HEAD')).statusCode, 200);
  assert.equal((await get('/NetworkDriver.CreateNetwork')).statusCode, 404, 'only the probes answer GET');
});

test('/healthz says the process serves', async () => {
  const health = await get('/healthz');
  assert.equal(health.statusCode, 200);
  assert.equal(health.json().status, 'ok');
  assert.equal(health.json().pid, process.pid);
});

test('/readyz names each check, and is 503 while the store takes no write', async () => {
  await createNetwork('10.9.0.0/24');
  const ready = await get('/readyz');
  assert.equal(ready.statusCode, 200, ready.body);
  const report = readiness.parse(ready.json());
  assert.deepEqual(
    report.checks.map((c) => [c.name, c.ok]),
    [
      ['store', true],
      ['reconcile', true],
      ['firewall', true],
    ],
  );
  rig().store.failEverything();
  await beats();
  const down = readiness.parse((await get('/readyz')).json());
  assert.equal(down.ready, false);
  assert.match(down.checks.find((c) => c.name === 'store')?.detail ?? '', /failed a write/);
  rig().store.heal();
  await beats();
  assert.equal((await get('/readyz')).statusCode, 200);
});

test("/readyz is 503 when tether's firewall chains are not what its networks want", async () => {
  await createNetwork('10.9.0.0/24');
  await rig().firewall.sync([]);
  const answer = await get('/readyz');
  assert.equal(answer.statusCode, 503);
  const firewall = readiness.parse(answer.json()).checks.find((c) => c.name === 'firewall');
  assert.match(firewall?.detail ?? '', /not those of the networks/);
});
