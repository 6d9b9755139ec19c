// The store the configuration names: SQLite under the state directory, or etcd.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { SqliteStore } from './sqlite.js';
import type { Leases, Store } from './store.js';

export const isLeases = (store: Store): store is Store & Leases => 'putLeased' in store;

export async function openStore(config: Config): Promise<Store> {
  if (config.store.kind === 'sqlite') return new SqliteStore(join(config.stateDir, 'tether.db'));
  const tls = config.store.tls;
  const { EtcdStore } = await import('./etcd.js');
  return new EtcdStore({
    hosts: config.store.hosts.map((h) => (tls ? h.replace(/^http:/, 'https:') : h)),
    ...(tls
      ? {
          credentials: {
            rootCertificate: await readFile(tls.ca),
            certChain: await readFile(tls.cert),
            privateKey: await readFile(tls.key),
          },
        }
      : {}),
  });
}
