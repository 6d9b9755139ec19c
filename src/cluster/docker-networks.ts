// Keeps this host's Docker in step with the cluster's networks, through
// Docker's API: a network recorded in the cluster is created here, and one
// removed from the cluster is removed here. It runs after tether serves and on
// a timer, so a Docker that is still starting (and waits for tether) only
// delays it.

import type { Logger } from 'pino';
import { auxOfNetwork } from '../ipam/cluster-aux.js';
import type { IpAddress, IpPrefix } from '../net/ip.js';
import { requestJson } from '../util/http.js';
import type { ClusterNetworkRecord } from './records.js';

export interface DockerNetworkSyncDeps {
  /** The cluster's networks. */
  readonly wanted: () => Promise<ClusterNetworkRecord[]>;
  /** This host's cluster networks (networkId missing while one is being created). */
  readonly local: () => { name: string; networkId?: string }[];
  readonly dockerSocket: string;
  /** The driver name Docker knows tether by. */
  readonly driver: string;
  /** The pool option that lets this create's Docker ask for the aux addresses the cluster holds (cluster-aux.ts). */
  readonly auxPass: (subnets: readonly IpPrefix[], addresses: readonly IpAddress[]) => Record<string, string>;
  readonly log: Logger;
}

export async function syncDockerNetworks(deps: DockerNetworkSyncDeps, reported: Map<string, string>): Promise<void> {
  const wanted = await deps.wanted();
  const local = deps.local();
  const attempt = async (name: string, verb: 'create' | 'remove', call: () => Promise<unknown>) => {
    try {
      await call();
      reported.delete(name);
      deps.log.info({ network: name }, `${verb}d the cluster network in Docker`);
    } catch (error) {
      // Said once per network and problem: the same failure recurs on every round until it is fixed.
      const message = (error as Error).message;
      if (reported.get(name) !== message)
        deps.log.warn({ network: name, err: message }, `could not ${verb} the cluster network in Docker; will retry`);
      reported.set(name, message);
    }
  };
  for (const network of wanted) {
    if (local.some((l) => l.name === network.name)) continue;
    await attempt(network.name, 'create', () =>
      requestJson(deps.dockerSocket, 'POST', '/networks/create', createRequest(network, deps.driver, deps.auxPass)),
    );
  }
  for (const network of local) {
    if (!network.networkId || wanted.some((w) => w.name === network.name)) continue;
    await attempt(network.name, 'remove', () =>
      requestJson(deps.dockerSocket, 'DELETE', `/networks/${network.networkId}`),
    );
  }
}

/** The body of Docker's POST /networks/create that makes the network as the first host made it. */
export function createRequest(
  network: ClusterNetworkRecord,
  driver: string,
  auxPass: DockerNetworkSyncDeps['auxPass'],
): Record<string, unknown> {
  const aux = auxOfNetwork(network.ipam);
  return {
    Name: network.name,
    CheckDuplicate: true,
    Driver: driver,
    Internal: network.internal,
    // Docker before 28 ignores EnableIPv4 (and makes every network dual-stack or IPv4).
    EnableIPv4: network.ipv4,
    EnableIPv6: network.ipv6,
    Options: network.options,
    IPAM: {
      Driver: driver,
      Options: auxPass(aux.subnets, aux.addresses),
      Config: network.ipam.map((i) => ({
        Subnet: i.subnet,
        ...(i.range ? { IPRange: i.range } : {}),
        ...(i.gateway ? { Gateway: i.gateway } : {}),
        ...(Object.keys(i.aux).length ? { AuxiliaryAddresses: i.aux } : {}),
      })),
    },
  };
}
