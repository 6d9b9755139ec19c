// The store contract against a real etcd (Debian's etcd-server), started on
// loopback ports of its own and stopped by pid.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { compactEtcd, useEtcd } from '../../test/support/etcd.js';
import { EtcdStore } from './etcd.js';
import { parseEtcdUrl } from './etcd-url.js';
import { storeContract } from './store-contract.js';

describe('EtcdStore', () => {
  const etcd = useEtcd();
  let n = 0;
  const hosts = () => etcd.url();
  // Each test works under a prefix of its own, as each SQLite test has a file of its own.
  const compact = (_store: EtcdStore, revision: number) => compactEtcd(hosts(), revision);
  storeContract(async () => new EtcdStore({ hosts: hosts() }, `test${n++}/`), compact);

  // Pages of three keys: the contract again, on lists that span pages.
  storeContract(async () => new EtcdStore({ hosts: hosts() }, `paged${n++}/`, 3), compact);

  test('a list past many pages is every key once, in order', async () => {
    const store = new EtcdStore({ hosts: hosts() }, `pages${n++}/`, 7);
    try {
      const keys = Array.from({ length: 100 }, (_, i) => `k/${String(i).padStart(3, '0')}`);
      for (let i = 0; i < keys.length; i += 25) {
        await store.commit(
          [],
          keys.slice(i, i + 25).map((key) => ({ type: 'put' as const, key, value: key })),
        );
      }
      await store.commit([], [{ type: 'put', key: 'k0', value: 'beside the prefix' }]);
      const listed = await store.list('k/');
      assert.deepEqual(
        listed.map((e) => e.key),
        keys,
      );
      assert.ok(listed.every((e) => e.value === e.key));
    } finally {
      await store.close();
    }
  });

  test('a leased key is put only at the revision expected, lives while renewed, goes when revoked', async () => {
    const store = new EtcdStore({ hosts: hosts() }, `lease${n++}/`);
    try {
      const lost: Error[] = [];
      const revoke = await store.putLeased('hosts/a', 'alive', 2, (error) => lost.push(error), 0);
      assert.ok(revoke);
      // Held: another put if absent fails, and writes nothing.
      assert.equal(await store.putLeased('hosts/a', 'twin', 2, (error) => lost.push(error), 0), undefined);
      await sleep(3000); // longer than the TTL: only renewal keeps it
      assert.equal((await store.get('hosts/a'))?.value, 'alive');
      await revoke();
      assert.equal(await store.get('hosts/a'), undefined);
      assert.deepEqual(lost, []);
    } finally {
      await store.close();
    }
  });

  test('store URLs name one or more etcd members', () => {
    assert.deepEqual(parseEtcdUrl('etcd://10.0.0.1:2379,etcd-2:2379'), ['http://10.0.0.1:2379', 'http://etcd-2:2379']);
    assert.throws(() => parseEtcdUrl('http://x:1'), /expected etcd:\/\//);
    assert.throws(() => parseEtcdUrl('etcd://'), /expected/);
  });
});
