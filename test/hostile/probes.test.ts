// Hostile probing: /readyz is open to anyone who reaches the metrics address.
// A loop of probes must cost neither store writes (each an etcd revision, until
// the space alarm stops the cluster) nor a kernel listing per request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Operation } from '../../src/store/store.js';
import { useRig } from '../support/daemon-rig.js';

const rig = useRig();

test('400 /readyz, 200 of them at once, write nothing to the store and read the firewall once or twice', async () => {
  const { store, firewall } = rig();
  const daemon = rig().running();
  // The daemon's own first write may still be under way.
  await daemon.readiness.run();
  let writes = 0;
  let verifies = 0;
  const commit = store.commit.bind(store);
  store.commit = (guards, operations: readonly Operation[], waitMs?: number) => {
    writes++;
    return commit(guards, operations, waitMs);
  };
  const verify = firewall.verify.bind(firewall);
  firewall.verify = (networks) => {
    verifies++;
    return verify(networks);
  };
  const probe = () => daemon.app.inject({ method: 'GET', url: '/readyz' });
  const together = await Promise.all(Array.from({ length: 200 }, probe));
  for (let i = 0; i < 200; i++) assert.equal((await probe()).statusCode, 200);
  assert.ok(together.every((r) => r.statusCode === 200));
  assert.equal(writes, 0, 'no probe writes to the store');
  assert.ok(verifies <= 2, `the firewall was read ${verifies} times`);
});
