// Cluster mode, once the driver has reconciled: this host's endpoints are
// published, it registers, follows the cluster's networks, and serves the
// cluster's names. A names service that cannot start (the port taken, no right
// to bind it) is said in the log and by `tether doctor`; the rest runs on.
import type { Logger } from 'pino';
import type { Cluster } from '../cluster/cluster.js';
import type { Config } from '../config.js';
import type { LinkPlane } from '../dataplane/dataplane.js';
import type { ServiceAddress } from '../dataplane/service-address.js';
import type { Driver } from '../driver/driver.js';
import type { DriverState } from '../driver/state.js';
import type { Ipam } from '../ipam/ipam.js';
import type { SharedTenancy } from '../ipam/shared.js';
import { auditMembers } from '../names/audit.js';
import type { NamesService } from '../names/index.js';
import type { Store } from '../store/store.js';
import { type FollowedNetworks, followClusterNetworks } from './follow-networks.js';
import { ghostSweep } from './ghost-sweep.js';
import { rejoin } from './rejoin.js';

export interface ClusterServices {
  readonly followed: FollowedNetworks;
  readonly names?: NamesService;
  /** Where the cluster's names are served, and whether they are (undefined: --names-addr off). */
  readonly namesService?: () => { address: string; serving: boolean };
  /** Whether this host's published members say what its endpoints are. */
  readonly audit: () => Promise<string[]>;
  /** A collection round's part: member records of endpoints this host lacks (ghost-sweep.ts). */
  readonly withdrawGhosts: () => Promise<void>;
}

export interface ClusterServiceDeps {
  readonly driver: Driver;
  readonly ipam: Ipam;
  readonly state: DriverState;
  readonly shared: SharedTenancy;
  readonly store: Store;
  readonly links: LinkPlane;
  readonly serviceAddress: (address: string) => ServiceAddress;
  readonly log: Logger;
  readonly config: Config;
}

export async function startCluster(cluster: Cluster, parts: ClusterServiceDeps): Promise<ClusterServices> {
  const { driver, shared, store, log, config } = parts;
  await cluster.follow();
  const followed = followClusterNetworks(
    { cluster, driver, log },
    {
      socket: config.dockerSocket,
      driverName: config.name,
      auxPass: (subnets, addresses) => parts.ipam.clusterAux.issue(subnets, addresses),
    },
  );
  await cluster.republish(driver.clusterMembers());
  await cluster.start(rejoin(driver, shared, cluster, log));
  cluster.requestOverlaySync();
  const address = config.cluster.namesAddress;
  const names = address ? await serveNames(address, cluster, parts) : undefined;
  return {
    followed,
    ...(names ? { names } : {}),
    ...(address ? { namesService: () => ({ address, serving: names !== undefined }) } : {}),
    audit: async () => [
      ...cluster.view.unreadable().map(({ key, why }) => `cluster record ${key} is unreadable and left out: ${why}`),
      ...shared.unreadable(),
      ...auditMembers(cluster.view, config.hostName, driver.clusterMembers()),
    ],
    withdrawGhosts: ghostSweep({
      store,
      view: cluster.view,
      host: config.hostName,
      own: () => driver.clusterMembers(),
      release: (address) => parts.ipam.releaseContainerAddress(address),
      log,
    }),
  };
}

async function serveNames(
  address: string,
  cluster: Cluster,
  parts: ClusterServiceDeps,
): Promise<NamesService | undefined> {
  const { log, links, state } = parts;
  try {
    // Loaded only here: one host alone, or names off, never pays for the DNS code.
    const { startNames } = await import('../names/index.js');
    return await startNames({
      view: cluster.view,
      log,
      address,
      serviceAddress: parts.serviceAddress(address),
      snapshot: () => state.snapshot(),
      links: () => links.listLinks(),
      defaultRouteLinks: () => links.defaultRouteLinks(),
    });
  } catch (error) {
    log.error(
      { address, err: (error as Error).message },
      "cannot serve the cluster's names; containers of other hosts will not resolve",
    );
    return undefined;
  }
}
