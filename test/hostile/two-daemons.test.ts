// Two tethers on one host with the same interface prefix (the installed one and
// a second to try a flag, say): neither may take the other's links for orphans,
// through starts, restarts and collection rounds. Ownership is the daemon's mark
// in each link's alias, never the name's prefix.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { audit } from '../../src/audit.js';
import { FakeLinks } from '../../src/dataplane/fake.js';
import { Rig } from '../support/daemon-rig.js';

let links: FakeLinks;
let first: Rig;
let second: Rig;
const NET_A = 'a'.repeat(64);
const NET_B = 'e'.repeat(64);
const HOST_END = `tth${'1'.repeat(11)}`;

beforeEach(async () => {
  links = new FakeLinks();
  // Both keep the default prefix; only the driver name (from the socket) differs.
  first = new Rig({ name: 'tether', orphanGraceMs: 0 }, { links });
  second = new Rig({ name: 'blue', orphanGraceMs: 0 }, { links });
  await first.start();
  await second.start();
});
afterEach(async () => {
  await first.close();
  await second.close();
});

const veths = () => [...links.links.values()].filter((l) => l.kind === 'veth' && !l.name.endsWith('p'));
const problems = async (rig: Rig) => (await audit(rig.running().driver, rig.running().pools)).problems;

test("neither daemon removes, reports or counts the other's veths and bridges", async () => {
  const a = await first.client.createNetwork(NET_A, '10.9.0.0/24');
  const b = await second.client.createNetwork(NET_B, '10.9.1.0/24');
  await first.client.runContainer(NET_A, a.poolId, '1'.repeat(64));
  await second.client.runContainer(NET_B, b.poolId, '2'.repeat(64));
  // Docker moved each container's end in.
  for (const digit of ['1', '2']) links.moveToContainer(`tth${digit.repeat(11)}p`);
  const before = veths().map((l) => l.name);
  assert.equal(before.length, 2);

  // Restarts (each reconciles at start), and a collection round each.
  for (const rig of [second, first, second]) {
    await rig.stop();
    await rig.start();
  }
  for (const rig of [first, second]) await rig.running().driver.freeGoneEndpoints();
  assert.deepEqual(
    veths().map((l) => l.name),
    before,
    'both daemons keep their containers',
  );
  assert.ok(links.links.has(`tthbr${NET_A.slice(0, 10)}`) && links.links.has(`tthbr${NET_B.slice(0, 10)}`));
  assert.deepEqual(await problems(first), []);
  assert.deepEqual(await problems(second), []);
});

test('a veth of the naming before marks is left alone by a daemon whose store does not name it', async () => {
  const a = await first.client.createNetwork(NET_A, '10.9.0.0/24');
  await first.client.runContainer(NET_A, a.poolId, '1'.repeat(64));
  links.moveToContainer(`${HOST_END}p`);
  // As an older tether made it: the default prefix, no mark. Whose, nobody here can tell.
  const host = links.links.get(HOST_END);
  assert.ok(host);
  delete host.alias;
  await second.stop();
  await second.start();
  assert.ok(links.links.has(HOST_END), 'the other daemon left it alone');
  // Its own daemon's store names it: adopted at the next start, marked as its own.
  await first.stop();
  await first.start();
  assert.equal(links.links.get(HOST_END)?.alias, `tether:tether:${'1'.repeat(64)}`);
  assert.deepEqual(await problems(first), []);
});
