// Policies never fail open: where br_netfilter's bridge hooks are off (Docker 28
// and later leave them off), traffic between containers of one bridge passes no
// firewall at all. tether turns them on, keeps them on, and refuses a deny
// network where it cannot, saying why in the error, the audit and /readyz.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { audit } from '../../src/audit.js';
import type { FakeHooks } from '../../src/policy/fake-table.js';
import { useDaemon } from '../support/daemon-rig.js';

const { rig, daemon, call, createNetwork, runContainer } = useDaemon(
  {},
  { probeTimings: { storeBeatMs: 5_000, readinessMaxAgeMs: 0 } },
);
const DENY = { 'tether.policy': 'deny' };
const problems = async () => (await audit(daemon().driver, daemon().pools)).problems;

/** A deny network with one container, then the daemon restarted on a host whose hooks are as given. */
async function restartedWith(hooks: FakeHooks): Promise<void> {
  const { poolId } = await createNetwork('10.9.0.0/24', DENY);
  await runContainer(poolId);
  await rig().stop();
  rig().policyTable.hooks = hooks;
  await rig().start();
}

/** Waits up to 5 s, the hook check's 2 s with room, for the condition to hold. */
async function settled(condition: () => boolean): Promise<void> {
  const until = Date.now() + 5_000;
  while (!condition() && Date.now() < until) await sleep(100);
}

test('a deny network on a host with the hooks off turns them on before it is made', async () => {
  rig().policyTable.hooks = 'off';
  await createNetwork('10.9.0.0/24', DENY);
  assert.equal(rig().policyTable.hooks, 'on');
  assert.ok(rig().policyTable.held, 'the policy table is there');
  assert.deepEqual(await problems(), []);
});

test('someone turning the hooks off while a deny network exists: on again within a few seconds', async () => {
  await createNetwork('10.9.0.0/24', DENY);
  rig().policyTable.hooks = 'off';
  await settled(() => rig().policyTable.hooks !== 'off');
  assert.equal(rig().policyTable.hooks, 'on');
});

test('where the hooks cannot be had, a deny network is refused with the reason and nothing is kept', async () => {
  rig().policyTable.hooks = { impossible: 'net.bridge.bridge-nf-call-iptables is 0 and could not be set to 1 (EROFS)' };
  const refused = await call('NetworkDriver.CreateNetwork', {
    NetworkID: 'd'.repeat(64),
    Options: { 'com.docker.network.generic': DENY },
    IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.9.1.0/24', Gateway: '10.9.1.1/24' }],
    IPv6Data: [],
  });
  assert.match(String(refused.json['Err']), /tether\.policy=deny cannot be enforced here: .*EROFS/);
  assert.equal(daemon().driver.snapshot().networks.length, 0);
  assert.deepEqual([...rig().links.links.keys()], []);
  // A network without policies is still welcome.
  await createNetwork('10.9.0.0/24');
});

test('hooks lost after a deny network exists: its ports are shut, and the audit and /readyz say why', async () => {
  await restartedWith({ impossible: 'br_netfilter is not loaded, and modprobe failed' });
  const port = daemon().driver.snapshot().endpoints[0]?.hostName;
  assert.ok(port);
  assert.deepEqual(rig().policyTable.shutPorts, [port], 'traffic within the bridge stops rather than pass unjudged');
  const said = (await problems()).join('\n');
  assert.match(said, /policies do not hold within a bridge \(their traffic within the bridge is dropped meanwhile\)/);
  assert.match(said, /br_netfilter is not loaded/);
  const ready = await daemon().app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 503);
  // The hooks back: within the check's few seconds the ports open and the audit is clean.
  rig().policyTable.hooks = 'off';
  await settled(() => rig().policyTable.shutPorts.length === 0);
  assert.deepEqual(rig().policyTable.shutPorts, []);
  assert.equal(rig().policyTable.hooks, 'on');
  assert.deepEqual(await problems(), []);
});

test('ports an earlier life left shut are opened by the next one once the hooks can be had', async () => {
  await restartedWith({ impossible: 'net.bridge.bridge-nf-call-iptables is read-only' });
  assert.equal(rig().policyTable.shutPorts.length, 1);
  await rig().stop();
  rig().policyTable.hooks = 'on';
  await rig().start();
  assert.deepEqual(rig().policyTable.shutPorts, [], 'opened at the start of the new life');
  assert.deepEqual(await problems(), []);
});
