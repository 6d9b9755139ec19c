// The IPAM as the daemon builds it: for one host alone on its store, or for
// hosts sharing one (cluster mode), which also gets the shared tenancy for
// giving back a dead host's addresses and claiming back this host's own.
import type { HostAddresses } from '../driver/seams.js';
import { parseCidr } from '../net/ip.js';
import type { Store } from '../store/store.js';
import { KeyedSerial } from '../util/serial.js';
import { Ipam } from './ipam.js';
import type { IpamConfig } from './parts.js';
import { PoolStore } from './pool-store.js';
import { LOCAL_SPACE } from './records.js';
import { Replica } from './replica.js';
import { PoolReport } from './report.js';
import { cursorOf, SharedTenancy } from './shared.js';
import { SoloTenancy } from './solo.js';
import { SwarmIpam } from './swarm-ipam.js';

export interface Ipams {
  readonly ipam: Ipam;
  readonly report: PoolReport;
}

export async function soloIpam(store: Store, config: IpamConfig): Promise<Ipams> {
  const pools = new PoolStore(store);
  const replica = new Replica(() => undefined);
  const tenancy = new SoloTenancy(store, replica);
  const ipam = await Ipam.open({ store, pools, replica, tenancy, spaceLocks: new KeyedSerial() }, config);
  return { ipam, report: new PoolReport(store, pools, replica, config.host) };
}

/** Hosts sharing a store; with --scope global, swarm's space too (see swarm.ts). */
export async function sharedIpam(store: Store, config: IpamConfig): Promise<Ipams & { shared: SharedTenancy }> {
  const pools = new PoolStore(store);
  const replica = new Replica(cursorOf(config.host));
  const spaceLocks = new KeyedSerial();
  const shared = new SharedTenancy(store, pools, replica, spaceLocks, config.host);
  const parts = { store, pools, replica, tenancy: shared, spaceLocks };
  const ipam = config.swarmScope ? await SwarmIpam.openSwarm(parts, config) : await Ipam.open(parts, config);
  return { ipam, shared, report: new PoolReport(store, pools, replica, config.host) };
}

/** The host shim's addresses (driver/ports.ts), from the pools of tether's local address space. */
export const hostAddressesFrom = (ipam: Ipam): HostAddresses => ({
  async take(subnet) {
    const text = await ipam.requestAddress({ poolId: { space: LOCAL_SPACE, prefix: subnet }, options: {} });
    const cidr = parseCidr(text);
    if (!cidr) throw new Error(`the IPAM answered "${text}", not an address`);
    return cidr;
  },
  release: (subnet, address) => ipam.releaseAddress({ space: LOCAL_SPACE, prefix: subnet }, address),
});
