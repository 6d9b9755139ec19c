// Pools: created on a host's first request, held once more on each further
// one (by this host or another), and gone with the last hold. The store
// decides, by compare-and-swap on the pool's record; memory follows.

import { invalidOption, TetherError } from '../errors.js';
import { formatPrefix, type IpPrefix, overlaps, prefixContains } from '../net/ip.js';
import type { PoolRequest } from '../protocol/ipam.js';
import { formatPoolId, type PoolId } from '../protocol/pool-id.js';
import { retryCas } from '../util/retry.js';
import { chooseAutoPool } from './auto-pool.js';
import { CLUSTER_AUX } from './cluster-aux.js';
import type { IpamConfig, IpamDeps } from './parts.js';
import { GLOBAL_SPACE, LOCAL_SPACE, type PoolRecord } from './records.js';
import { AUX_ADDRESSES } from './swarm.js';

export class Pools {
  constructor(
    private readonly parts: IpamDeps,
    private readonly config: IpamConfig,
  ) {}

  /** The pool, created or held once more; held by this host, or by swarm (swarm-ipam.ts). */
  async request(request: PoolRequest, holder = this.config.host): Promise<PoolId> {
    const version = check(request);
    // Another host may create the same pool at the same moment: then this one joins it.
    return this.parts.spaceLocks.run(request.addressSpace, () =>
      retryCas('the pools', () => this.holdPool(request, version, holder)),
    );
  }

  /** Creates the pool or adds this host as a holder; undefined if another host won a race. */
  private async holdPool(request: PoolRequest, version: 4 | 6, holder: string): Promise<PoolId | undefined> {
    // The store, not memory, decides: another host may have created a pool a moment ago.
    const stored = await this.parts.pools.list();
    const prefix =
      request.pool ??
      (await this.autoPool(
        version,
        stored.map((p) => p.record.pool),
      ));
    const done: PoolId = { space: request.addressSpace, prefix };
    const id = formatPoolId(done);
    const existing = stored.find((p) => p.record.id === id);
    if (existing) {
      const range = existing.record.range;
      if ((range && formatPrefix(range)) !== (request.subPool && formatPrefix(request.subPool))) {
        throw new TetherError(
          'POOL_OVERLAP',
          `subnet ${formatPrefix(prefix)} is already in use with ip-range ${range ? formatPrefix(range) : 'none'}`,
        );
      }
      const holders = { ...existing.record.holders, [holder]: (existing.record.holders[holder] ?? 0) + 1 };
      return (await this.commitHold(existing.revision, { ...existing.record, holders })) ? done : undefined;
    }
    // With swarm's space, its pools and this host's share the kernel's routes: no overlap across the spaces.
    const clash = stored.find(
      (p) => (this.config.swarmScope || p.record.space === request.addressSpace) && overlaps(p.record.pool, prefix),
    );
    if (clash) {
      throw new TetherError(
        'POOL_OVERLAP',
        `subnet ${formatPrefix(prefix)} overlaps subnet ${formatPrefix(clash.record.pool)}, which is already in use`,
      );
    }
    const record: PoolRecord = {
      id,
      space: request.addressSpace,
      pool: prefix,
      holders: { [holder]: 1 },
      ...(request.subPool ? { range: request.subPool } : {}),
    };
    return (await this.commitHold(0, record)) ? done : undefined;
  }

  private async autoPool(version: 4 | 6, pools: readonly IpPrefix[]): Promise<IpPrefix> {
    const defaults = version === 4 ? this.config.defaultPool : this.config.defaultPool6;
    const prefix = chooseAutoPool(defaults, [...pools, ...(await this.config.hostRoutes())]);
    if (!prefix) {
      throw new TetherError(
        'POOL_EXHAUSTED',
        `no free IPv${version} subnet left in the default range ${formatPrefix(defaults.range)}; give --subnet`,
      );
    }
    return prefix;
  }

  /** Commits one more hold on the pool, then puts it in memory so it is usable at once. */
  private async commitHold(revision: number, record: PoolRecord): Promise<boolean> {
    if (!(await this.parts.pools.commit(revision, record))) return false;
    this.parts.replica.setPool(record);
    // This host claims back only what it holds itself (holdings.ts); swarm's pools belong to no host.
    if (this.config.host in record.holders) this.parts.tenancy.poolHeld(record);
    return true;
  }

  async release(poolId: PoolId): Promise<void> {
    const { replica, spaceLocks, pools, tenancy } = this.parts;
    const id = formatPoolId(poolId);
    replica.pool(id);
    const { host } = this.config;
    await spaceLocks.run(poolId.space, async () => {
      const written = await pools.changeHolders(id, (holders) => {
        const count = (holders[host] ?? 0) - 1;
        if (count > 0) holders[host] = count;
        else delete holders[host];
        return holders;
      });
      if (written && Object.keys(written.holders).length > 0) replica.setPool(written);
      else replica.pools.delete(id);
    });
    await tenancy.poolReleased(id);
  }
}

/** Docker adds its own `com.docker.*` keys; anything else must be a key tether knows. */
export function checkOptions(options: Readonly<Record<string, string>>, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!key.startsWith('com.docker.') && !known.includes(key)) throw invalidOption(`unknown ${what} "${key}"`);
  }
}

/** Refuses a pool request tether cannot serve; the IP version of the pool it asks for. */
export function check(request: PoolRequest): 4 | 6 {
  // Swarm's manager leaves the gateway's RequestAddressType in the options of the pools it asks
  // for after the first one (a network with an IPv4 and an IPv6 subnet); it means nothing here.
  checkOptions(request.options, ['RequestAddressType', AUX_ADDRESSES, CLUSTER_AUX], 'IPAM option');
  if (request.addressSpace !== LOCAL_SPACE && request.addressSpace !== GLOBAL_SPACE) {
    throw invalidOption(
      `unknown address space "${request.addressSpace}" (tether has "${LOCAL_SPACE}" and "${GLOBAL_SPACE}")`,
    );
  }
  if (request.subPool && !request.pool) throw invalidOption('an ip-range needs a subnet');
  const version = request.pool?.version ?? (request.v6 ? 6 : 4);
  if (request.pool && request.v6 !== (version === 6)) {
    throw invalidOption(`subnet ${formatPrefix(request.pool)} is not an IPv${request.v6 ? 6 : 4} subnet`);
  }
  if (request.pool && request.subPool && !prefixContains(request.pool, request.subPool)) {
    throw new TetherError(
      'OUT_OF_RANGE',
      `ip-range ${formatPrefix(request.subPool)} is not inside subnet ${formatPrefix(request.pool)}`,
    );
  }
  return version;
}
