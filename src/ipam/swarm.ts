// Swarm's address space (--scope global). Swarm's manager asks for the pool,
// gateway, VIPs and every task's address in the global space; each node then
// replays those choices in its local space: a pool of the same subnet, and the
// addresses the manager chose. Swarm's raft log is the truth, so the global
// allocations belong to no host (a dead manager does not take them along), a
// new life of the manager's plugin may replay them, and a node's local pool of
// the same subnet is a view of the global one, holding nothing of its own.
import { invalidOption, TetherError } from '../errors.js';
import { contains, formatPrefix, type IpAddress, parseIp } from '../net/ip.js';
import type { PoolRequest } from '../protocol/ipam.js';
import { formatPoolId, type PoolId } from '../protocol/pool-id.js';
import type { Guard, Store } from '../store/store.js';
import { retryCas } from '../util/retry.js';
import type { PoolStore } from './pool-store.js';
import {
  addressKey,
  addressPrefix,
  GLOBAL_SPACE,
  LOCAL_SPACE,
  type PoolRecord,
  parseAddress,
  readable,
} from './records.js';
import type { Pool, Replica } from './replica.js';

/** The holder of swarm's pools and addresses: no host name can be this. */
export const SWARM_HOLDER = '@swarm';

/**
 * `--ipam-opt tether.aux-addresses=A[,B...]`: addresses a swarm pool keeps out of its tasks' way.
 * Swarm drops `--aux-address` before any IPAM sees it, in every Docker version.
 */
export const AUX_ADDRESSES = 'tether.aux-addresses';

/**
 * The addresses a pool request reserves: those of the option inside its subnet. Swarm passes a
 * network's IPAM options to each of its pools, so an address of another of its subnets is skipped.
 */
export function auxAddressesOf(request: PoolRequest, swarmScope: boolean): IpAddress[] {
  const text = request.options[AUX_ADDRESSES];
  if (text === undefined) return [];
  if (!swarmScope) throw invalidOption(`IPAM option ${AUX_ADDRESSES} is for swarm networks; use --aux-address`);
  const subnet = request.pool;
  if (!subnet) throw invalidOption(`IPAM option ${AUX_ADDRESSES} needs --subnet`);
  return text.split(',').flatMap((item) => {
    const address = parseIp(item.trim());
    if (!address) throw invalidOption(`IPAM option ${AUX_ADDRESSES}: "${item}" is not an IP address`);
    return contains(subnet, address) ? [address] : [];
  });
}

/** Where a pool ID leads in swarm's space: the global pool itself, or a node's view of it. */
export interface SwarmTarget {
  readonly pool: Pool;
  readonly view: boolean;
}

export class SwarmSpace {
  /** Pool IDs and address keys swarm asked for in this process's life: asked again, they are in use. */
  private readonly askedPools = new Set<string>();
  private readonly askedAddresses = new Set<string>();
  /**
   * On a node: the store revision of each address its tasks replayed in this life. A release marks
   * only that allocation: one arriving after swarm released the address and gave it to another task
   * must not mark the new task's address.
   */
  private readonly nodeHeld = new Map<string, number>();

  constructor(
    private readonly parts: { readonly store: Store; readonly pools: PoolStore; readonly replica: Replica },
  ) {}

  /**
   * A global pool (created, or replayed once per life), or a node's view of one; undefined for a
   * local request of a subnet swarm does not hold, which the ordinary pools serve.
   */
  async requestPool(request: PoolRequest, create: () => Promise<PoolId>): Promise<PoolId | undefined> {
    const global = request.pool && (await this.stored({ space: GLOBAL_SPACE, prefix: request.pool }));
    if (request.addressSpace === LOCAL_SPACE) {
      if (!global) return undefined;
      sameRange(global, request);
      return { space: LOCAL_SPACE, prefix: global.pool };
    }
    if (!global) {
      const id = await create();
      this.askedPools.add(formatPoolId(id));
      return id;
    }
    sameRange(global, request);
    if (this.askedPools.has(global.id)) {
      throw new TetherError('POOL_OVERLAP', `subnet ${formatPrefix(global.pool)} is already used by a swarm network`);
    }
    // Swarm's manager asks again for every pool its raft log holds when it starts.
    this.askedPools.add(global.id);
    return { space: GLOBAL_SPACE, prefix: global.pool };
  }

  /** The global pool's record, from memory or (not followed yet) the store, put in memory. */
  private async stored(id: PoolId): Promise<PoolRecord | undefined> {
    const { replica, pools } = this.parts;
    const known = replica.pools.get(formatPoolId(id))?.record;
    if (known) return known;
    const stored = await pools.get(formatPoolId(id));
    if (stored) replica.setPool(stored.record);
    return stored?.record;
  }

  /**
   * Swarm's pool behind a pool ID, if it leads there. Swarm's manager tries an address on each of a
   * network's pools in turn and gives up at the first error (a remote IPAM's errors never match the
   * "out of range" it would skip), so an address of another of swarm's pools is served from there.
   */
  async target(poolId: PoolId, address?: IpAddress): Promise<SwarmTarget | undefined> {
    const { replica } = this.parts;
    const view = poolId.space !== GLOBAL_SPACE;
    // An ordinary local pool, in memory: no look for a swarm pool in the store on each address.
    if (view && replica.pools.has(formatPoolId(poolId))) return undefined;
    const global = await this.stored({ space: GLOBAL_SPACE, prefix: poolId.prefix });
    if (!global) return undefined;
    const pool = replica.pool(global.id);
    if (view || !address || contains(pool.record.pool, address)) return { pool, view };
    const holding = [...replica.pools.values()].find(
      (p) => p.record.space === GLOBAL_SPACE && contains(p.record.pool, address),
    );
    return { pool: holding ?? pool, view };
  }

  /** Whether an address the manager's tether holds already is a replay: once per life. */
  isReplay(address: IpAddress, pool: Pool): boolean {
    const key = addressKey(pool.record.id, address);
    if (this.askedAddresses.has(key)) return false;
    this.askedAddresses.add(key);
    return true;
  }

  /** A node's replay of an address swarm holds: accepted, and which allocation it was noted; false if none. */
  async replayOnNode(pool: Pool, address: IpAddress): Promise<boolean> {
    const key = addressKey(pool.record.id, address);
    const entry = await this.parts.store.get(key);
    if (!entry) return false;
    pool.addresses.take(address.value);
    this.nodeHeld.set(key, entry.revision);
    return true;
  }

  /** An address a node took itself (its task's other family): noted like a replay. */
  async takenOnNode(pool: Pool, address: IpAddress): Promise<void> {
    const key = addressKey(pool.record.id, address);
    const entry = await this.parts.store.get(key);
    if (entry) this.nodeHeld.set(key, entry.revision);
  }

  /** An address the manager was given now, so that asking again in this life is a conflict. */
  asked(pool: Pool, address: IpAddress): void {
    this.askedAddresses.add(addressKey(pool.record.id, address));
  }

  /** Swarm's manager released a pool: it goes with its addresses. */
  async releasePool(poolId: PoolId): Promise<void> {
    const id = formatPoolId(poolId);
    await retryCas(`pool ${id}`, async () => {
      const stored = await this.parts.pools.get(id);
      if (!stored) return true;
      return (await this.parts.pools.commit(stored.revision, { ...stored.record, holders: {} })) || undefined;
    });
    this.parts.replica.pools.delete(id);
    this.askedPools.delete(id);
    for (const key of this.askedAddresses) if (key.startsWith(addressPrefix(id))) this.askedAddresses.delete(key);
  }

  /** Swarm's manager released an address: it is free now, whoever had it. */
  async releaseAddress(pool: Pool, address: IpAddress): Promise<void> {
    const key = addressKey(pool.record.id, address);
    await this.parts.store.commit([], [{ type: 'delete', key }]);
    pool.addresses.free(address.value);
    this.askedAddresses.delete(key);
  }

  /**
   * A node released a task's address (its container is gone): marked, and freed after the grace
   * unless swarm's manager releases it first. The manager's release comes moments later when swarm
   * sends one; until then the address must not go to another task. Only the allocation the node
   * replayed is marked; a node that did not replay it in this life (it restarted) leaves it to swarm.
   */
  async nodeReleased(pool: Pool, address: IpAddress, now = Date.now()): Promise<void> {
    const key = addressKey(pool.record.id, address);
    const revision = this.nodeHeld.get(key);
    this.nodeHeld.delete(key);
    const entry = revision === undefined ? undefined : await this.parts.store.get(key);
    if (!entry || entry.revision !== revision) return;
    const record = parseAddress(entry.value);
    if (record.kind !== 'address' || record.released !== undefined) return;
    const value = JSON.stringify({ ...record, released: now });
    await this.parts.store.commit([{ key, revision }], [{ type: 'put', key, value }]);
  }

  /**
   * Frees the addresses of a dead host's endpoints (after the dead-host grace): its tasks run
   * elsewhere now, with new addresses, and swarm keeps the old ones for a day or more.
   */
  async forgetEndpoints(addresses: readonly IpAddress[], unless: readonly Guard[]): Promise<number> {
    let freed = 0;
    for (const pool of this.parts.replica.pools.values()) {
      if (pool.record.space !== GLOBAL_SPACE) continue;
      for (const address of addresses) {
        if (!contains(pool.record.pool, address)) continue;
        const key = addressKey(pool.record.id, address);
        const entry = await this.parts.store.get(key);
        if (!entry || parseAddress(entry.value).kind !== 'address') continue;
        const guards = [{ key, revision: entry.revision }, ...unless];
        if (await this.parts.store.commit(guards, [{ type: 'delete', key }])) freed++;
      }
    }
    return freed;
  }

  /** Frees the addresses nodes released longer than graceMs ago; returns how many. */
  async collect(graceMs: number, now = Date.now()): Promise<number> {
    let freed = 0;
    for (const pool of this.parts.replica.pools.values()) {
      if (pool.record.space !== GLOBAL_SPACE) continue;
      for (const entry of await this.parts.store.list(addressPrefix(pool.record.id))) {
        const released = readable(() => parseAddress(entry.value))?.released;
        if (released === undefined || now - released < graceMs) continue;
        const guard = { key: entry.key, revision: entry.revision };
        if (await this.parts.store.commit([guard], [{ type: 'delete', key: entry.key }])) {
          this.askedAddresses.delete(entry.key);
          freed++;
        }
      }
    }
    return freed;
  }
}

function sameRange(global: PoolRecord, request: PoolRequest): void {
  const text = (range: PoolRecord['range']) => (range ? formatPrefix(range) : 'none');
  if (text(global.range) !== text(request.subPool)) {
    throw new TetherError(
      'POOL_OVERLAP',
      `subnet ${formatPrefix(global.pool)} is already used by a swarm network with ip-range ${text(global.range)}`,
    );
  }
}
