// Creates the cluster's networks in this host's Docker, on each change and each collection round.
import type { Logger } from 'pino';
import type { Cluster } from '../cluster/cluster.js';
import { type DockerNetworkSyncDeps, syncDockerNetworks } from '../cluster/docker-networks.js';
import type { Driver } from '../driver/driver.js';
import { Coalesced } from '../util/serial.js';

export interface FollowedNetworks {
  readonly request: () => void;
  readonly stop: () => void;
}

export function followClusterNetworks(
  parts: { cluster: Cluster; driver: Driver; log: Logger },
  docker: { socket: string; driverName: string; auxPass: DockerNetworkSyncDeps['auxPass'] },
): FollowedNetworks {
  const { cluster, driver, log } = parts;
  const reported = new Map<string, string>();
  const sync = new Coalesced(
    () =>
      syncDockerNetworks(
        {
          wanted: () => cluster.networks(),
          local: () => driver.clusterNetworkList(),
          dockerSocket: docker.socket,
          driver: docker.driverName,
          auxPass: docker.auxPass,
          log,
        },
        reported,
      ),
    (error) => log.warn({ err: error.message }, "following the cluster's networks failed; will retry"),
  );
  const stop = cluster.view.onNetworks(() => sync.request());
  sync.request();
  return { request: () => sync.request(), stop };
}
