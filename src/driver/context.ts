// What every part of the driver shares: the state, the network modes, the
// firewall, the host's ports, the log, the cluster in cluster mode, and policies.
import type { Logger } from 'pino';
import type { PortKeeper } from '../dataplane/dataplane.js';
import type { FirewallSync } from './firewall-sync.js';
import type { NetworkModes } from './kinds/modes.js';
import type { AddressClaims, ClusterPort, ContainerPort, HostAddresses, PolicyPort } from './seams.js';
import type { DriverState } from './state.js';

export interface DriverContext {
  readonly state: DriverState;
  readonly modes: NetworkModes;
  readonly firewall: FirewallSync;
  readonly ports: PortKeeper;
  readonly log: Logger;
  readonly cluster?: ClusterPort;
  /** Policy enforcement, for networks with -o tether.policy=deny. */
  readonly policy?: PolicyPort;
  /** Reads joined endpoints' containers (names and labels) from Docker. */
  readonly containers?: ContainerPort;
  /** Where the cluster's names are served: internal cluster networks get a route to it. */
  readonly namesAddress?: string;
  /** The host shim's addresses on networks on a host interface. */
  readonly hostAddresses?: HostAddresses;
  /** Cluster mode: the IPAM's address writes that go with their endpoint's. */
  readonly claims?: AddressClaims;
}
