// The IPAM's settings, the same for one host alone and a host of a cluster.
import type { Config } from '../config.js';
import type { DriverState } from '../driver/state.js';
import { storedUlaPool } from '../ipam/auto-pool.js';
import type { IpamConfig } from '../ipam/parts.js';
import type { PoolId } from '../protocol/pool-id.js';
import { releaseGuard } from '../services/release-guard.js';
import type { DaemonDeps } from './deps.js';

export async function ipamConfigOf(config: Config, deps: DaemonDeps, state: DriverState): Promise<IpamConfig> {
  const { store, links, log, leases } = deps;
  return {
    defaultPool: config.defaultPool,
    defaultPool6: config.defaultPool6 ?? (await storedUlaPool(store)),
    hostRoutes: () => links.hostRoutes(),
    host: config.hostName,
    holderOf: releaseGuard(state),
    swarmScope: config.scope === 'global',
    warn: (message) => log.warn(message),
    // A container's address is written with its endpoint when the two share one store (etcd).
    ...(leases ? { defersWrite: (poolId: PoolId) => state.hasSubnet(poolId) } : {}),
  };
}
