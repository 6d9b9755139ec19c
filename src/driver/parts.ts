// The parts of the network driver, built once from what the daemon gives it:
// the network mode, the firewall sync, and the parts the facade hands calls to.
import type { Logger } from 'pino';
import type { Firewall, LinkPlane, PortKeeper } from '../dataplane/dataplane.js';
import type { DriverContext } from './context.js';
import { Endpoints } from './endpoints.js';
import { FirewallSync } from './firewall-sync.js';
import { ClusterNetworks, type PoolRange } from './kinds/cluster/cluster-networks.js';
import { NetworkModes } from './kinds/modes.js';
import { SwarmNetworks } from './kinds/swarm/swarm-networks.js';
import type { Uplink } from './kinds/uplink/allowed.js';
import { shimName } from './naming.js';
import { Networks } from './networks.js';
import { Publishing } from './publishing.js';
import type {
  AddressClaims,
  ClusterPort,
  ContainerPort,
  EndpointsDockerHolds,
  HostAddresses,
  PolicyPort,
  ReleaseContainerAddress,
} from './seams.js';
import type { DriverState } from './state.js';
import { Upkeep } from './upkeep.js';

export interface DriverConfig {
  /** Prefix of every interface name tether makes. */
  readonly prefix: string;
  /** Names this daemon in the aliases of its bridges (the plugin name). */
  readonly instance: string;
  readonly defaultMtu: number;
  /** How long a container start may take between Docker's calls before its endpoint counts as abandoned. */
  readonly abandonGraceMs: number;
  /** What GetCapabilities reports; global: swarm networks (see kinds/swarm/swarm-networks.ts). */
  readonly scope: 'local' | 'global';
  /** Host interfaces networks may put containers on (--uplinks). */
  readonly uplinks: readonly Uplink[];
  /** Where the cluster's names are served (--names-addr). */
  readonly namesAddress?: string;
}

export interface DriverDeps {
  readonly state: DriverState;
  readonly links: LinkPlane;
  readonly firewall: Firewall;
  readonly ports: PortKeeper;
  readonly log: Logger;
  readonly releaseContainerAddress: ReleaseContainerAddress;
  readonly endpointsDockerHolds?: EndpointsDockerHolds;
  readonly poolRange: PoolRange;
  /** Cluster mode: how networks spanning the cluster are shared. */
  readonly cluster?: ClusterPort;
  /** Policy enforcement (deny networks). */
  readonly policy?: PolicyPort;
  /** Reads joined endpoints' containers (names and labels) from Docker. */
  readonly containers?: ContainerPort;
  /** The host shim's addresses on networks on a host interface, from tether's IPAM. */
  readonly hostAddresses?: HostAddresses;
  /** The IPAM's address writes that go with their endpoint's (cluster mode). */
  readonly claims?: AddressClaims;
}

export interface DriverParts {
  readonly state: DriverState;
  readonly networks: Networks;
  readonly clusterNetworks: ClusterNetworks;
  readonly swarmNetworks: SwarmNetworks;
  readonly endpoints: Endpoints;
  readonly publishing: Publishing;
  readonly upkeep: Upkeep;
}

export function buildDriverParts(deps: DriverDeps, config: DriverConfig): DriverParts {
  const ownerAlias = `tether:${config.instance}:`;
  const ctx: DriverContext = {
    state: deps.state,
    modes: new NetworkModes(deps.links, {
      ownerAlias,
      uplinks: config.uplinks,
      shimName: (id) => shimName(config.prefix, id),
      ...(deps.cluster ? { tunnel: deps.cluster.tunnel, vtep: deps.cluster.settings.vtep } : {}),
    }),
    firewall: new FirewallSync(deps.state, deps.firewall, deps.policy),
    ports: deps.ports,
    log: deps.log,
    ...(deps.cluster ? { cluster: deps.cluster } : {}),
    ...(deps.policy ? { policy: deps.policy } : {}),
    ...(deps.containers ? { containers: deps.containers } : {}),
    ...(deps.hostAddresses ? { hostAddresses: deps.hostAddresses } : {}),
    ...(deps.claims ? { claims: deps.claims } : {}),
    ...(config.namesAddress ? { namesAddress: config.namesAddress } : {}),
  };
  const endpoints = new Endpoints(ctx, config.prefix);
  const networks = new Networks(ctx, endpoints);
  const settings = { prefix: config.prefix, defaultMtu: config.defaultMtu, poolRange: deps.poolRange };
  const clusterNetworks = new ClusterNetworks(deps.state, networks, settings, deps.cluster);
  const swarmNetworks = new SwarmNetworks(networks, clusterNetworks, config.prefix, deps.cluster);
  const publishing = new Publishing(ctx);
  const upkeep = new Upkeep(ctx, deps.links, endpoints, publishing, {
    ownerAlias,
    abandonGraceMs: config.abandonGraceMs,
    releaseContainerAddress: deps.releaseContainerAddress,
    ...(deps.endpointsDockerHolds ? { endpointsDockerHolds: deps.endpointsDockerHolds } : {}),
  });
  return { state: deps.state, networks, clusterNetworks, swarmNetworks, endpoints, publishing, upkeep };
}
