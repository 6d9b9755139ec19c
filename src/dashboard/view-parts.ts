// The dashboard's hosts and networks, from tether's state and the cluster's view.
import type { ClusterViewAnswer, DaemonState } from '../operator/contract.js';
import type { DockerNames } from './docker-names.js';

export interface HostView {
  readonly name: string;
  readonly state: 'this host' | 'alive' | 'dead';
  readonly vtep?: string;
  readonly startedAt?: number;
  /** When this host saw the host's registration end (dead hosts). */
  readonly deadSince?: number;
  readonly endpoints: number;
}

export interface PoolUse {
  readonly subnet: string;
  readonly used: number;
  /** Addresses the pool may hand out, as a decimal string (an IPv6 /64 exceeds a double's precision). */
  readonly capacity: string;
}

export interface NetworkView {
  readonly id: string;
  readonly name: string;
  /** bridge, cluster, swarm, macvlan or bridged uplink. */
  readonly mode: string;
  readonly subnets: string[];
  readonly vni?: number;
  readonly internal: boolean;
  readonly policy: boolean;
  /** Endpoints on it, every host's counted. */
  readonly endpoints: number;
  readonly pools: PoolUse[];
}

type Enabled = Extract<ClusterViewAnswer, { enabled: true }>;

export function networksOf(
  state: DaemonState,
  names: DockerNames,
  clusterNetworks: Enabled['networks'],
): NetworkView[] {
  const counted = (endpoints: Record<string, number>) => Object.values(endpoints).reduce((a, b) => a + b, 0);
  const shared = new Map(clusterNetworks.map((n) => [n.name, n]));
  const local = state.networks.map((n): NetworkView => {
    const spanning = n.span && shared.get(n.span.name);
    shared.delete(n.span?.name ?? '');
    return {
      id: n.id,
      name: names.networks.get(n.id) ?? n.span?.name ?? n.id.slice(0, 12),
      mode: n.label,
      subnets: n.subnets,
      ...(n.span ? { vni: n.span.vni } : {}),
      internal: n.internal,
      policy: n.policy === 'deny',
      endpoints: spanning ? counted(spanning.endpoints) : state.endpoints.filter((e) => e.networkId === n.id).length,
      pools: state.pools
        .filter((p) => n.subnets.includes(p.pool))
        .map((p) => ({ subnet: p.pool, used: p.used, capacity: p.capacity })),
    };
  });
  // Networks of the cluster this host has no endpoint or Docker network on.
  const elsewhere = [...shared.values()].map(
    (n): NetworkView => ({
      id: n.name,
      name: n.name,
      mode: n.swarm ? 'swarm' : 'cluster',
      subnets: n.subnets,
      vni: n.vni,
      internal: false,
      policy: false,
      endpoints: counted(n.endpoints),
      pools: [],
    }),
  );
  return [...local, ...elsewhere];
}

export function hostsOf(host: string, cluster: ClusterViewAnswer, localEndpoints: number): HostView[] {
  if (!cluster.enabled) return [{ name: host, state: 'this host', endpoints: localEndpoints }];
  const published = (name: string) => cluster.members.filter((m) => m.host === name).length;
  return [
    ...cluster.hosts.map(
      (h): HostView => ({
        name: h.host,
        state: h.host === host ? 'this host' : 'alive',
        vtep: h.vtep,
        startedAt: h.startedAt,
        endpoints: h.host === host ? localEndpoints : published(h.host),
      }),
    ),
    ...cluster.dead.map(
      (h): HostView => ({
        name: h.host,
        state: 'dead',
        vtep: h.vtep,
        startedAt: h.startedAt,
        ...(h.since ? { deadSince: h.since } : {}),
        endpoints: published(h.host),
      }),
    ),
  ];
}
