// tether's IPAM driver: pools per address space, refcounted; addresses from an
// in-memory AddressSet per pool, each allocation persisted with a
// create-if-absent guard so that no address is ever handed out twice, even by
// two daemons sharing one store.
import { z } from 'zod';
import { TetherError, invalidOption, notFound } from '../errors.js';
import {
  type IpAddress, type IpPrefix, contains, formatIp, formatPrefix, overlaps, parsePrefix, prefixContains,
} from '../net/ip.js';
import type { IpamDriver } from '../protocol/ipam.js';
import type { Store } from '../store/store.js';
import { KeyedSerial } from '../util/serial.js';
import { AddressSet } from './address-set.js';
import { type DefaultPool, chooseAutoPool } from './auto-pool.js';

export const LOCAL_SPACE = 'local';
export const GLOBAL_SPACE = 'global';
const GATEWAY_TYPE = 'com.docker.network.gateway';

export interface PoolRequest {
  readonly addressSpace: string;
  readonly pool?: IpPrefix;
  readonly subPool?: IpPrefix;
  readonly options: Readonly<Record<string, string>>;
  readonly v6: boolean;
}

export interface AddressRequest {
  readonly poolId: string;
  readonly address?: IpAddress;
  readonly options: Readonly<Record<string, string>>;
}

export interface IpamConfig {
  readonly defaultPool: DefaultPool;
  readonly defaultPool6: DefaultPool;
  /** Prefixes routed by the host, which automatic pools must avoid. */
  readonly hostRoutes: () => Promise<IpPrefix[]>;
  /**
   * Who holds an address now. Docker releases an address after DeleteEndpoint, so a release of an
   * address an endpoint still holds is a stale retry (its first attempt was answered before a
   * crash, and the address went to someone else since): it must not free that someone's address.
   */
  readonly holderOf?: (address: IpAddress) => string | undefined;
}

const poolRecord = z.object({
  id: z.string(),
  space: z.string(),
  pool: z.string(),
  range: z.string().optional(),
  refs: z.number().int().positive(),
});
type PoolRecord = z.infer<typeof poolRecord>;

const addressRecord = z.object({ kind: z.enum(['gateway', 'address']) });
export type AddressKind = z.infer<typeof addressRecord>['kind'];

interface Pool {
  readonly record: PoolRecord;
  readonly prefix: IpPrefix;
  readonly addresses: AddressSet;
  revision: number;
}

const poolKey = (id: string) => `ipam/pools/${encodeURIComponent(id)}`;
const addressPrefix = (id: string) => `ipam/addresses/${encodeURIComponent(id)}/`;
const addressKey = (id: string, value: bigint, prefix: IpPrefix) =>
  `${addressPrefix(id)}${formatIp({ version: prefix.version, value })}`;

export interface PoolAllocations {
  readonly id: string;
  readonly space: string;
  readonly pool: string;
  /** Address (no prefix length) to what it was handed out as. */
  readonly addresses: ReadonlyMap<string, AddressKind>;
}

export interface PoolUsage {
  readonly id: string;
  readonly pool: string;
  readonly range?: string;
  readonly refs: number;
  readonly used: number;
  readonly capacity: string;
}

export class Ipam implements IpamDriver {
  private readonly pools = new Map<string, Pool>();
  /** Pool creation and release are serialized per address space. */
  private readonly spaceLocks = new KeyedSerial();

  private config: IpamConfig;

  private constructor(private readonly store: Store, config: IpamConfig) {
    this.config = config;
  }

  /** Lets the network driver say who holds an address (it is built after the IPAM). */
  setHolderOf(holderOf: (address: IpAddress) => string | undefined): void {
    this.config = { ...this.config, holderOf };
  }

  static async open(store: Store, config: IpamConfig): Promise<Ipam> {
    const ipam = new Ipam(store, config);
    for (const entry of await store.list('ipam/pools/')) {
      const record = poolRecord.parse(JSON.parse(entry.value));
      const prefix = parsePrefix(record.pool);
      if (!prefix) throw new TetherError('STORE', `stored pool ${record.id} has an invalid prefix`);
      const range = record.range ? parsePrefix(record.range) : undefined;
      const pool: Pool = { record, prefix, addresses: new AddressSet(prefix, range), revision: entry.revision };
      for (const address of await store.list(addressPrefix(record.id))) {
        const text = address.key.slice(addressPrefix(record.id).length);
        const value = parsePrefix(`${text}/${prefix.version === 4 ? 32 : 128}`)?.base;
        if (value !== undefined) pool.addresses.take(value);
      }
      // Next-fit goes on where it was, so a restart does not hand out the addresses freed just before it.
      pool.addresses.resumeAfterHighest();
      ipam.pools.set(record.id, pool);
    }
    return ipam;
  }

  defaultAddressSpaces() {
    return { LocalDefaultAddressSpace: LOCAL_SPACE, GlobalDefaultAddressSpace: GLOBAL_SPACE };
  }

  async requestPool(request: PoolRequest): Promise<{ poolId: string; pool: string }> {
    checkOptions(request.options, [], 'IPAM option');
    if (request.addressSpace !== LOCAL_SPACE && request.addressSpace !== GLOBAL_SPACE) {
      throw invalidOption(`unknown address space "${request.addressSpace}" (tether has "${LOCAL_SPACE}" and "${GLOBAL_SPACE}")`);
    }
    if (request.subPool && !request.pool) throw invalidOption('an ip-range needs a subnet');
    const version = request.pool?.version ?? (request.v6 ? 6 : 4);
    if (request.pool && request.v6 !== (version === 6)) {
      throw invalidOption(`subnet ${formatPrefix(request.pool)} is not an IPv${request.v6 ? 6 : 4} subnet`);
    }
    if (request.pool && request.subPool && !prefixContains(request.pool, request.subPool)) {
      throw new TetherError('OUT_OF_RANGE', `ip-range ${formatPrefix(request.subPool)} is not inside subnet ${formatPrefix(request.pool)}`);
    }
    return this.spaceLocks.run(request.addressSpace, () => this.requestPoolLocked(request, version));
  }

  private async requestPoolLocked(request: PoolRequest, version: 4 | 6): Promise<{ poolId: string; pool: string }> {
    const inSpace = [...this.pools.values()].filter((p) => p.record.space === request.addressSpace);
    let prefix = request.pool;
    if (!prefix) {
      const defaults = version === 4 ? this.config.defaultPool : this.config.defaultPool6;
      const taken = [...[...this.pools.values()].map((p) => p.prefix), ...(await this.config.hostRoutes())];
      prefix = chooseAutoPool(defaults, taken);
      if (!prefix) {
        throw new TetherError('POOL_EXHAUSTED', `no free IPv${version} subnet left in the default range ${formatPrefix(defaults.range)}; give --subnet`);
      }
    }
    const id = `${request.addressSpace}/${formatPrefix(prefix)}`;
    const range = request.subPool ? formatPrefix(request.subPool) : undefined;
    const existing = this.pools.get(id);
    if (existing) {
      if (existing.record.range !== range) {
        throw new TetherError('POOL_OVERLAP', `subnet ${formatPrefix(prefix)} is already in use with ip-range ${existing.record.range ?? 'none'}`);
      }
      const record = { ...existing.record, refs: existing.record.refs + 1 };
      await this.putPool(existing, record);
      return { poolId: id, pool: formatPrefix(prefix) };
    }
    const clash = inSpace.find((p) => overlaps(p.prefix, prefix));
    if (clash) {
      throw new TetherError('POOL_OVERLAP', `subnet ${formatPrefix(prefix)} overlaps subnet ${clash.record.pool}, which is already in use`);
    }
    const record: PoolRecord = { id, space: request.addressSpace, pool: formatPrefix(prefix), refs: 1, ...(range ? { range } : {}) };
    const committed = await this.store.commit([{ key: poolKey(id), revision: 0 }],
      [{ type: 'put', key: poolKey(id), value: JSON.stringify(record) }]);
    if (!committed) throw new TetherError('CONFLICT', `pool ${id} was created concurrently; retry`);
    const stored = await this.store.get(poolKey(id));
    this.pools.set(id, { record, prefix, addresses: new AddressSet(prefix, request.subPool), revision: stored?.revision ?? 1 });
    return { poolId: id, pool: formatPrefix(prefix) };
  }

  private async putPool(pool: Pool, record: PoolRecord): Promise<void> {
    const key = poolKey(record.id);
    if (!(await this.store.commit([{ key, revision: pool.revision }], [{ type: 'put', key, value: JSON.stringify(record) }]))) {
      throw new TetherError('CONFLICT', `pool ${record.id} changed concurrently; retry`);
    }
    const stored = await this.store.get(key);
    this.pools.set(record.id, { ...pool, record, revision: stored?.revision ?? pool.revision });
  }

  async releasePool(poolId: string): Promise<void> {
    const pool = this.pool(poolId);
    return this.spaceLocks.run(pool.record.space, async () => {
      const current = this.pool(poolId);
      if (current.record.refs > 1) {
        await this.putPool(current, { ...current.record, refs: current.record.refs - 1 });
        return;
      }
      const addresses = await this.store.list(addressPrefix(poolId));
      const ok = await this.store.commit([{ key: poolKey(poolId), revision: current.revision }], [
        { type: 'delete', key: poolKey(poolId) },
        ...addresses.map((a) => ({ type: 'delete' as const, key: a.key })),
      ]);
      if (!ok) throw new TetherError('CONFLICT', `pool ${poolId} changed concurrently; retry`);
      this.pools.delete(poolId);
    });
  }

  async requestAddress(request: AddressRequest): Promise<string> {
    checkOptions(request.options, ['RequestAddressType'], 'address option');
    const type = request.options['RequestAddressType'];
    if (type !== undefined && type !== GATEWAY_TYPE) throw invalidOption(`unknown RequestAddressType "${type}"`);
    const kind: AddressKind = type === GATEWAY_TYPE ? 'gateway' : 'address';
    const pool = this.pool(request.poolId);
    const value = request.address ? this.takeStatic(pool, request.address) : this.takeDynamic(pool);
    const key = addressKey(pool.record.id, value, pool.prefix);
    try {
      const ok = await this.store.commit([{ key, revision: 0 }], [{ type: 'put', key, value: JSON.stringify({ kind }) }]);
      if (!ok) {
        // Another holder of the store took it first; it stays taken here too.
        if (request.address) throw addressInUse(request.address);
        return this.requestAddress(request);
      }
    } catch (error) {
      pool.addresses.free(value);
      throw error;
    }
    return `${formatIp({ version: pool.prefix.version, value })}/${pool.prefix.length}`;
  }

  private takeStatic(pool: Pool, address: IpAddress): bigint {
    if (!contains(pool.prefix, address) || !pool.addresses.isUsable(address.value)) {
      throw new TetherError('OUT_OF_RANGE', `address ${formatIp(address)} is not a usable address of subnet ${pool.record.pool}`);
    }
    if (pool.addresses.has(address.value)) throw addressInUse(address);
    pool.addresses.take(address.value);
    return address.value;
  }

  private takeDynamic(pool: Pool): bigint {
    const value = pool.addresses.takeNext();
    if (value === undefined) {
      throw new TetherError('POOL_EXHAUSTED', `no address left in ${pool.record.range ? `ip-range ${pool.record.range} of ` : ''}subnet ${pool.record.pool}`);
    }
    return value;
  }

  async releaseAddress(poolId: string, address: IpAddress): Promise<void> {
    const pool = this.pool(poolId);
    if (!contains(pool.prefix, address)) {
      throw new TetherError('OUT_OF_RANGE', `address ${formatIp(address)} is not in subnet ${pool.record.pool}`);
    }
    const holder = this.config.holderOf?.(address);
    if (holder) throw new TetherError('ADDRESS_IN_USE', `address ${formatIp(address)} is held by ${holder}; not released`);
    // Releasing an address that is already free changes nothing: Docker repeats releases after errors.
    await this.store.commit([], [{ type: 'delete', key: addressKey(poolId, address.value, pool.prefix) }]);
    pool.addresses.free(address.value);
  }

  /** Frees a container's address wherever tether's pools hold it (an endpoint Docker forgot). */
  async releaseContainerAddress(address: IpAddress): Promise<boolean> {
    for (const pool of this.pools.values()) {
      if (pool.record.space !== LOCAL_SPACE || !contains(pool.prefix, address) || !pool.addresses.has(address.value)) continue;
      const entry = await this.store.get(addressKey(pool.record.id, address.value, pool.prefix));
      if (entry && addressRecord.parse(JSON.parse(entry.value)).kind !== 'address') continue;
      await this.releaseAddress(pool.record.id, address);
      return true;
    }
    return false;
  }

  /** Every pool with its allocated addresses as the store has them, and where memory disagrees. */
  async allocations(): Promise<{ pools: PoolAllocations[]; problems: string[] }> {
    const pools: PoolAllocations[] = [];
    const problems: string[] = [];
    for (const entry of await this.store.list('ipam/pools/')) {
      const record = poolRecord.parse(JSON.parse(entry.value));
      const addresses = new Map<string, AddressKind>();
      for (const address of await this.store.list(addressPrefix(record.id))) {
        addresses.set(address.key.slice(addressPrefix(record.id).length), addressRecord.parse(JSON.parse(address.value)).kind);
      }
      pools.push({ id: record.id, space: record.space, pool: record.pool, addresses });
      const inMemory = this.pools.get(record.id);
      if (!inMemory) problems.push(`pool ${record.id} is stored but not loaded`);
      else if (inMemory.addresses.size !== addresses.size) {
        problems.push(`pool ${record.id}: ${inMemory.addresses.size} addresses taken in memory, ${addresses.size} stored`);
      }
    }
    for (const id of this.pools.keys()) {
      if (!pools.some((p) => p.id === id)) problems.push(`pool ${id} is loaded but not stored`);
    }
    return { pools, problems };
  }

  usage(): PoolUsage[] {
    return [...this.pools.values()].map((p) => ({
      id: p.record.id,
      pool: p.record.pool,
      ...(p.record.range ? { range: p.record.range } : {}),
      refs: p.record.refs,
      used: p.addresses.size,
      capacity: p.addresses.capacity.toString(),
    }));
  }

  private pool(poolId: string): Pool {
    const pool = this.pools.get(poolId);
    if (!pool) throw notFound(`unknown pool "${poolId}"`);
    return pool;
  }
}

const addressInUse = (address: IpAddress) => new TetherError('ADDRESS_IN_USE', `address ${formatIp(address)} is already in use`);

/** Docker adds its own `com.docker.*` keys; anything else must be a key tether knows. */
function checkOptions(options: Readonly<Record<string, string>>, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!key.startsWith('com.docker.') && !known.includes(key)) throw invalidOption(`unknown ${what} "${key}"`);
  }
}
