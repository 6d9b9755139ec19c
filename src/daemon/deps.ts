// What the caller builds the daemon on (serve.ts, the tests' rigs): the
// stores, the kernel's interfaces, the log.
import type { Logger } from 'pino';
import type { Firewall, LinkPlane, PortKeeper } from '../dataplane/dataplane.js';
import type { ServiceAddress } from '../dataplane/service-address.js';
import type { ProbeTimings } from '../operator/readiness.js';
import type { PolicyTable } from '../policy/table.js';
import type { Leases, Store } from '../store/store.js';

export interface DaemonDeps {
  readonly store: Store;
  /** Cluster mode: the store's leases (etcd's), for the hosts' registrations. */
  readonly leases?: Leases;
  /** Cluster mode: the host's own store, for the driver's records (cluster/host-records.ts). */
  readonly hostStore?: Store;
  readonly links: LinkPlane;
  readonly firewall: Firewall;
  readonly ports: PortKeeper;
  /** tether's nftables table for policies (deny networks). */
  readonly policyTable: PolicyTable;
  /** An address of the host's own for a service (the cluster's names). */
  readonly serviceAddress: (address: string) => ServiceAddress;
  readonly log: Logger;
  /** How often the store takes the readiness write, and how long a readiness answer serves (tests' own). */
  readonly probeTimings?: ProbeTimings;
}
