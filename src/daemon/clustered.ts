// A host of a cluster: the IPAM shared through etcd, the cluster this host
// registers in and whose networks it follows, and, once the driver has
// reconciled, the cluster's services (published members, names, ghost sweep).
import { randomUUID } from 'node:crypto';
import { openCluster } from '../cluster/open.js';
import { kindOf } from '../driver/kinds/kind-of.js';
import { sharedIpam } from '../ipam/index.js';
import { startCluster } from '../services/start-cluster.js';
import type { Leases, Store } from '../store/store.js';
import type { HostMode, HostModeInput } from './host-mode.js';
import { ipamConfigOf } from './ipam-config.js';

/** hostStore: the host's own store, where its driver records and its identity live. */
export async function buildClustered(input: HostModeInput, leases: Leases, hostStore: Store): Promise<HostMode> {
  const { config, deps, state, closers } = input;
  const { store, links, log } = deps;
  const { ipam, report, shared } = await sharedIpam(store, await ipamConfigOf(config, deps, state));
  closers.push('IPAM', () => ipam.close());
  const starts = await hostStarts(hostStore);
  const cluster = await openCluster(
    config,
    {
      store,
      leases,
      links,
      log,
      remember: (nonce) =>
        hostStore.commit([], [{ type: 'put', key: REGISTERED_NONCE, value: nonce }]).then(() => undefined),
      forgetHost: async (host, unless, endpoints) =>
        (await shared.forgetHost(host, unless)) + (await ipam.forgetSwarmEndpoints(endpoints, unless)),
      localNetworks: () =>
        [...state.networks.values()].flatMap((n) => {
          const { span, tunnel } = kindOf(n);
          return span && tunnel ? [{ name: span.name, device: tunnel.device }] : [];
        }),
    },
    starts,
  );
  closers.push('cluster', () => cluster.close());
  return {
    ipam,
    report,
    cluster,
    ...(config.cluster.namesAddress ? { namesAddress: config.cluster.namesAddress } : {}),
    start: async (driver, closers) => {
      const { serviceAddress } = deps;
      const services = await startCluster(cluster, {
        driver,
        ipam,
        state,
        shared,
        store,
        links,
        log,
        config,
        serviceAddress,
      });
      closers.push('cluster networks followed', () => services.followed.stop());
      closers.push('names service', () => services.names?.close());
      const ghostsLeft = (error: Error) => log.warn({ err: error.message }, 'ghost sweep left for the next round');
      return {
        catchUp: () => {
          // The view's watches bring changes at once, and read again after a lost watch; the rounds retry
          // what failed.
          cluster.catchUp();
          services.withdrawGhosts().catch(ghostsLeft);
          services.followed.request();
        },
        operator: { cluster, clustered: services },
        dnsStats: () => services.names?.stats,
      };
    },
  };
}

/** Where the host's own store keeps the nonce of its last start that registered (cluster/name-holder.ts). */
const REGISTERED_NONCE = 'meta/registered-nonce';

/**
 * This host's identity in the cluster (made at its first start, kept in its own store), this start's
 * nonce, and the nonce of its last start that registered.
 */
async function hostStarts(own: Store): Promise<{ identity: string; nonce: string; previousNonce?: string }> {
  const key = 'meta/host-identity';
  const made = randomUUID();
  const identity = (await own.commit([{ key, revision: 0 }], [{ type: 'put', key, value: made }]))
    ? made
    : ((await own.get(key))?.value ?? made);
  const previousNonce = (await own.get(REGISTERED_NONCE))?.value;
  return { identity, nonce: randomUUID(), ...(previousNonce ? { previousNonce } : {}) };
}
