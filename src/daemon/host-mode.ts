// What differs between one host alone and a host of a cluster, built by one
// builder each (solo.ts, clustered.ts): the IPAM, the cluster the driver
// publishes to, and what runs once the driver has reconciled.
import type { Cluster } from '../cluster/cluster.js';
import type { Config } from '../config.js';
import type { Driver } from '../driver/driver.js';
import type { DriverState } from '../driver/state.js';
import type { Ipam } from '../ipam/ipam.js';
import type { PoolReport } from '../ipam/report.js';
import type { DnsStats } from '../names/stats.js';
import type { OperatorDeps } from '../operator/api.js';
import type { Closers } from './closers.js';
import type { DaemonDeps } from './deps.js';

export interface HostMode {
  readonly ipam: Ipam;
  readonly report: PoolReport;
  /** The cluster this host's networks span (cluster mode). */
  readonly cluster?: Cluster;
  /** Where the cluster's names are served, which internal cluster networks route to (cluster mode). */
  readonly namesAddress?: string;
  /** Starts what runs on the reconciled driver; its closers go on the stack. */
  start(driver: Driver, closers: Closers): Promise<StartedMode>;
}

export interface StartedMode {
  /** A collection round's part: catch up on what the cluster's watches missed. */
  readonly catchUp?: () => void;
  /** What the operator API shows of the cluster. */
  readonly operator?: Pick<OperatorDeps, 'cluster' | 'clustered'>;
  readonly dnsStats?: () => DnsStats | undefined;
}

/** What a builder is given: the daemon's configuration, what it is built on, and the driver's records. */
export interface HostModeInput {
  readonly config: Config;
  readonly deps: DaemonDeps;
  readonly state: DriverState;
  readonly closers: Closers;
}
