// Hostile probing: /readyz is open to anyone who reaches the metrics address.
// A loop of probes must cost neither store writes (each an etcd revision, until
// the space alarm stops the cluster) nor a kernel listing per request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Operation } from '../../src/store/store.js';
import { useRig } from '../support/daemon-rig.js';

const rig = useRig();

test('400 /readyz, 200 of them at once: no store write of their own, the firewall read once or twice', async () => {
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
  // The daemon's own timer may write once meanwhile (every 5 s at most, while asked); no probe writes.
  assert.ok(writes <= 1, `${writes} writes to the store`);
  assert.ok(verifies <= 2, `the firewall was read ${verifies} times`);
});

test('an idle daemon writes nothing for readiness; a probe after a quiet spell gets a fresh answer', async () => {
  const { store } = rig();
  const daemon = rig().running();
  let writes = 0;
  const commit = store.commit.bind(store);
  store.commit = (guards, operations: readonly Operation[], waitMs?: number) => {
    writes++;
    return commit(guards, operations, waitMs);
  };
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.equal(writes, 0, 'nobody asked: no write (a host of a large cluster writes nothing to etcd)');
  const started = performance.now();
  const answer = await daemon.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(answer.statusCode, 200);
  assert.match(answer.body, /took a write 0 s ago/);
  assert.ok(performance.now() - started < 1_500, 'within the readiness deadline');
  assert.equal(writes, 1);
});
