// The audit: does the store agree with the kernel, and do the IPAM's
// allocations agree with the networks and endpoints that use them? Used by
// `tether audit`, by the tests, and by the sweep that frees addresses a crash
// orphaned between RequestAddress and CreateEndpoint.

import { kindOf } from './driver/kinds/kind-of.js';
import type { EndpointRecord, NetworkRecord } from './driver/records.js';
import { LOCAL_SPACE } from './ipam/records.js';
import type { PoolAllocations, PoolReport } from './ipam/report.js';
import { type Cidr, contains, formatIp, formatPrefix } from './net/ip.js';

export interface AuditReport {
  readonly problems: string[];
  readonly networks: number;
  readonly endpoints: number;
  readonly pools: number;
  readonly addresses: number;
}

/** What the audit needs of the driver. */
export interface AuditedDriver {
  snapshot(): { networks: NetworkRecord[]; endpoints: EndpointRecord[] };
  audit(): Promise<string[]>;
}

interface AddressUse {
  /** Addresses the networks and endpoints use, per pool ID, with who uses them. */
  readonly used: Map<string, Map<string, string>>;
  readonly problems: string[];
}

/** What each tether network's pool should hold: its gateways, aux addresses and endpoints' addresses. */
function addressUse(driver: AuditedDriver, pools: readonly PoolAllocations[]): AddressUse {
  const { networks, endpoints } = driver.snapshot();
  const used = new Map<string, Map<string, string>>();
  const problems: string[] = [];
  const poolOf = (network: NetworkRecord, cidr: Cidr) => {
    const subnet = network.subnets.find((s) => contains(s, cidr.address));
    const text = subnet && formatPrefix(subnet);
    return pools.find((p) => (p.space === LOCAL_SPACE || p.swarm) && formatPrefix(p.pool) === text)?.id;
  };
  const use = (network: NetworkRecord, cidr: Cidr, user: string) => {
    const poolId = poolOf(network, cidr);
    if (!poolId) return; // The network's addresses come from another IPAM.
    const inPool = used.get(poolId) ?? new Map<string, string>();
    used.set(poolId, inPool);
    const address = formatIp(cidr.address);
    const other = inPool.get(address);
    if (other) problems.push(`address ${address} is used by both ${other} and ${user}`);
    inPool.set(address, user);
  };
  const byId = new Map(networks.map((n) => [n.id, n]));
  for (const network of networks) {
    for (const gateway of network.gateways) use(network, gateway, `the gateway of network ${network.id.slice(0, 12)}`);
    for (const aux of network.auxAddresses) use(network, aux, `an aux address of network ${network.id.slice(0, 12)}`);
    for (const shim of kindOf(network).uplink?.shim ?? [])
      use(network, shim, `the host shim of network ${network.id.slice(0, 12)}`);
  }
  for (const endpoint of endpoints) {
    const network = byId.get(endpoint.networkId);
    if (!network) continue;
    for (const cidr of [endpoint.address, endpoint.addressIpv6]) {
      if (cidr) use(network, cidr, `endpoint ${endpoint.id.slice(0, 12)}`);
    }
  }
  return { used, problems };
}

/** Allocated addresses in tether networks' pools that nothing uses, as [poolId, address]. */
export async function unusedAddresses(driver: AuditedDriver, report: PoolReport): Promise<[string, string][]> {
  const { pools } = await report.allocations();
  const { used } = addressUse(driver, pools);
  const unused: [string, string][] = [];
  for (const [poolId, inUse] of used) {
    const pool = pools.find((p) => p.id === poolId && !p.swarm);
    for (const [address, kind] of pool?.addresses ?? []) {
      if (kind === 'address' && !inUse.has(address)) unused.push([poolId, address]);
    }
  }
  return unused;
}

/** `cluster`: cluster mode's own checks (this host's published members). */
export async function audit(
  driver: AuditedDriver,
  report: PoolReport,
  cluster: () => Promise<string[]> = async () => [],
): Promise<AuditReport> {
  const { pools, problems: ipamProblems } = await report.allocations();
  const { used, problems: useProblems } = addressUse(driver, pools);
  const problems = [...(await driver.audit()), ...ipamProblems, ...useProblems, ...(await cluster())];
  for (const [poolId, inUse] of used) {
    const pool = pools.find((p) => p.id === poolId);
    const allocated = pool?.addresses ?? new Map();
    for (const [address, user] of inUse) {
      if (!allocated.has(address)) problems.push(`address ${address} of ${user} is not allocated in pool ${poolId}`);
    }
    // Swarm's pools hold every node's tasks: what this host does not use is another's.
    if (pool?.swarm) continue;
    for (const address of allocated.keys()) {
      if (!inUse.has(address)) problems.push(`address ${address} is allocated in pool ${poolId} but nothing uses it`);
    }
  }
  const { networks, endpoints } = driver.snapshot();
  return {
    problems,
    networks: networks.length,
    endpoints: endpoints.length,
    pools: pools.length,
    addresses: pools.reduce((sum, p) => sum + p.addresses.size, 0),
  };
}
