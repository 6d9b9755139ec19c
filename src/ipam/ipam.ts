// tether's IPAM driver: pools per address space, held by hosts; addresses
// from an in-memory AddressSet per pool, each allocation persisted with a
// create-if-absent guard so that no address is ever handed out twice, even by
// many hosts sharing one store. The memory is a replica of the store, kept
// current by a watch, so that every host knows what the others hold.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { TetherError, invalidOption, notFound } from '../errors.js';
import {
  type IpAddress, type IpPrefix, contains, formatIp, formatPrefix, overlaps, parsePrefix, prefixContains,
} from '../net/ip.js';
import type { IpamDriver } from '../protocol/ipam.js';
import type { Change, Entry, Guard, Operation, Store } from '../store/store.js';
import { KeyedSerial } from '../util/serial.js';
import { AddressSet } from './address-set.js';
import { type DefaultPool, chooseAutoPool } from './auto-pool.js';
import { Holdings } from './holdings.js';

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
  /** This host's name: pools and addresses are held by hosts, so a dead host's can be given back. */
  readonly host: string;
  /**
   * Several hosts share the store: each starts its next-fit cursor at its own place in a pool, so
   * that hosts allocating at the same moment rarely reach for the same address.
   */
  readonly shared?: boolean;
}

const poolRecord = z.object({
  id: z.string(),
  space: z.string(),
  pool: z.string(),
  range: z.string().optional(),
  /** Host name to how many times it requested the pool; the pool goes when nobody holds it. */
  holders: z.record(z.string(), z.number().int().positive()),
});
type PoolRecord = z.infer<typeof poolRecord>;

const addressRecord = z.object({ kind: z.enum(['gateway', 'address']), host: z.string().optional() });
export type AddressKind = z.infer<typeof addressRecord>['kind'];

interface Pool {
  readonly record: PoolRecord;
  readonly prefix: IpPrefix;
  readonly addresses: AddressSet;
}

const POOLS = 'ipam/pools/';
const ADDRESSES = 'ipam/addresses/';
const poolKey = (id: string) => `${POOLS}${encodeURIComponent(id)}`;
const addressPrefix = (id: string) => `${ADDRESSES}${encodeURIComponent(id)}/`;
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
  /** How many times this host requested the pool. */
  readonly refs: number;
  /** Hosts holding the pool (one, unless the network spans a cluster). */
  readonly hosts: number;
  readonly used: number;
  readonly capacity: string;
}

export class Ipam implements IpamDriver {
  private readonly pools = new Map<string, Pool>();
  /** Pool creation and release are serialized per address space. */
  private readonly spaceLocks = new KeyedSerial();
  /** Shared: what this host holds, to claim back after the others took it for dead (see reclaim). */
  private readonly holdings = new Holdings<PoolRecord, AddressKind>();
  private unwatch: () => void = () => undefined;

  private config: IpamConfig;

  private constructor(private readonly store: Store, config: IpamConfig) {
    this.config = config;
  }

  /** Lets the network driver say who holds an address (it is built after the IPAM). */
  setHolderOf(holderOf: (address: IpAddress) => string | undefined): void {
    this.config = { ...this.config, holderOf };
  }

  /**
   * Loads every pool and address, then (shared) follows the store. The watch starts before the load and its
   * changes are applied after it, in order: each change sets one key, so replaying one the load
   * already saw changes nothing, and none made during the load is missed.
   */
  static async open(store: Store, config: IpamConfig): Promise<Ipam> {
    const ipam = new Ipam(store, config);
    const pending: Change[] = [];
    let loaded = false;
    // One host alone changes the store only through this IPAM, so its memory needs no echo of it.
    if (config.shared) ipam.unwatch = store.watch('ipam/', (change) => (loaded ? ipam.apply(change) : pending.push(change)));
    const pools = await store.list(POOLS);
    const addresses = await store.list(ADDRESSES);
    for (const entry of [...pools, ...addresses]) ipam.apply({ type: 'put', key: entry.key, value: entry.value });
    if (config.shared) ipam.loadHoldings(pools, addresses);
    // Next-fit goes on where it was, so a restart does not hand out the addresses freed just before it.
    if (!config.shared) for (const pool of ipam.pools.values()) pool.addresses.resumeAfterHighest();
    loaded = true;
    for (const change of pending) ipam.apply(change);
    return ipam;
  }

  close(): void {
    this.unwatch();
  }

  private loadHoldings(pools: readonly Entry[], addresses: readonly Entry[]): void {
    const byPool = new Map<string, [string, AddressKind][]>();
    for (const entry of addresses) {
      const held = addressRecord.parse(JSON.parse(entry.value));
      if (held.kind !== 'gateway' && held.host !== this.config.host) continue;
      const id = decodeURIComponent(entry.key.slice(ADDRESSES.length).split('/')[0] ?? '');
      const list = byPool.get(id) ?? [];
      if (list.length === 0) byPool.set(id, list);
      list.push([entry.key, held.kind]);
    }
    for (const entry of pools) {
      const record = poolRecord.parse(JSON.parse(entry.value));
      const refs = record.holders[this.config.host];
      if (refs) this.holdings.load(record, refs, byPool.get(record.id) ?? []);
    }
  }

  private addressValue(kind: AddressKind): string {
    return JSON.stringify({ kind, host: this.config.host });
  }

  /** Mirrors one change of the store in memory. */
  private apply(change: Change): void {
    if (change.key.startsWith(POOLS)) {
      const id = decodeURIComponent(change.key.slice(POOLS.length));
      if (change.type === 'delete') return void this.pools.delete(id);
      const record = poolRecord.parse(JSON.parse(change.value ?? ''));
      const existing = this.pools.get(id);
      if (existing) return void this.pools.set(id, { ...existing, record });
      const prefix = parsePrefix(record.pool);
      if (!prefix) throw new TetherError('STORE', `stored pool ${record.id} has an invalid prefix`);
      const addresses = new AddressSet(prefix, record.range ? parsePrefix(record.range) : undefined);
      if (this.config.shared) addresses.startAt(BigInt(`0x${createHash('sha256').update(this.config.host).digest('hex').slice(0, 12)}`));
      this.pools.set(id, { record, prefix, addresses });
    } else if (change.key.startsWith(ADDRESSES)) {
      const [encodedId = '', text = ''] = change.key.slice(ADDRESSES.length).split('/');
      const pool = this.pools.get(decodeURIComponent(encodedId));
      const value = pool && parsePrefix(`${text}/${pool.prefix.version === 4 ? 32 : 128}`)?.base;
      if (!pool || value === undefined) return;
      if (change.type === 'put') pool.addresses.take(value);
      else pool.addresses.free(value);
    }
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
    return this.spaceLocks.run(request.addressSpace, async () => {
      // Another host may create the same pool at the same moment: then this one joins it.
      for (let attempt = 0; attempt < 3; attempt++) {
        const result = await this.requestPoolLocked(request, version);
        if (result) return result;
      }
      throw new TetherError('CONFLICT', 'the pool changed concurrently three times; retry');
    });
  }

  /** Creates the pool or adds this host as a holder; undefined if another host won a race. */
  private async requestPoolLocked(request: PoolRequest, version: 4 | 6): Promise<{ poolId: string; pool: string } | undefined> {
    // The store, not memory, decides: another host may have created a pool a moment ago.
    const stored = (await this.store.list(POOLS)).map((e) => ({ revision: e.revision, record: poolRecord.parse(JSON.parse(e.value)) }));
    let prefix = request.pool;
    if (!prefix) {
      const defaults = version === 4 ? this.config.defaultPool : this.config.defaultPool6;
      const taken = [...stored.flatMap((p) => parsePrefix(p.record.pool) ?? []), ...(await this.config.hostRoutes())];
      prefix = chooseAutoPool(defaults, taken);
      if (!prefix) {
        throw new TetherError('POOL_EXHAUSTED', `no free IPv${version} subnet left in the default range ${formatPrefix(defaults.range)}; give --subnet`);
      }
    }
    const id = `${request.addressSpace}/${formatPrefix(prefix)}`;
    const range = request.subPool ? formatPrefix(request.subPool) : undefined;
    const done = { poolId: id, pool: formatPrefix(prefix) };
    const existing = stored.find((p) => p.record.id === id);
    if (existing) {
      if (existing.record.range !== range) {
        throw new TetherError('POOL_OVERLAP', `subnet ${formatPrefix(prefix)} is already in use with ip-range ${existing.record.range ?? 'none'}`);
      }
      const { holders } = existing.record;
      const record = { ...existing.record, holders: { ...holders, [this.config.host]: (holders[this.config.host] ?? 0) + 1 } };
      return (await this.holdPool(existing.revision, record)) ? done : undefined;
    }
    const clash = stored.find((p) => p.record.space === request.addressSpace && overlaps(parsePrefix(p.record.pool) ?? prefix, prefix));
    if (clash) {
      throw new TetherError('POOL_OVERLAP', `subnet ${formatPrefix(prefix)} overlaps subnet ${clash.record.pool}, which is already in use`);
    }
    const record: PoolRecord = { id, space: request.addressSpace, pool: formatPrefix(prefix), holders: { [this.config.host]: 1 }, ...(range ? { range } : {}) };
    return (await this.holdPool(0, record)) ? done : undefined;
  }

  /** Commits one more hold of this host on the pool. */
  private async holdPool(revision: number, record: PoolRecord): Promise<boolean> {
    if (!(await this.commitPool(revision, record))) return false;
    if (this.config.shared) this.holdings.holdPool(record);
    return true;
  }

  /**
   * Writes the pool's record (or deletes the pool with its addresses, when nobody holds it) if it
   * is still at the revision read; a new pool also clears addresses a crash left under its key.
   */
  private async commitPool(revision: number, record: PoolRecord, unless: readonly Guard[] = []): Promise<boolean> {
    const key = poolKey(record.id);
    const operations: Operation[] = Object.keys(record.holders).length === 0 || revision === 0
      ? [{ type: 'deletePrefix', prefix: addressPrefix(record.id) }]
      : [];
    const change: Change = Object.keys(record.holders).length === 0
      ? { type: 'delete', key }
      : { type: 'put', key, value: JSON.stringify(record) };
    operations.push(change.type === 'put' ? { type: 'put', key, value: change.value ?? '' } : { type: 'delete', key });
    if (!(await this.store.commit([{ key, revision }, ...unless], operations))) return false;
    // The watch brings the same change; applying it now lets the caller use the pool at once.
    this.apply(change);
    return true;
  }

  /** Applies a change to the pool's holders, read fresh from the store, until it commits. */
  private async changeHolders(
    poolId: string, change: (holders: Record<string, number>) => Record<string, number>, unless: readonly Guard[] = [],
  ): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await this.store.get(poolKey(poolId));
      if (!entry) return;
      const record = poolRecord.parse(JSON.parse(entry.value));
      if (await this.commitPool(entry.revision, { ...record, holders: change({ ...record.holders }) }, unless)) return;
      // A guard of the caller's that fails will fail every attempt.
      if (unless.length > 0 && !(await this.guardsHold(unless))) return;
    }
    throw new TetherError('CONFLICT', `pool ${poolId} changed concurrently ten times; retry`);
  }

  async releasePool(poolId: string): Promise<void> {
    const pool = this.pool(poolId);
    const host = this.config.host;
    await this.spaceLocks.run(pool.record.space, () => this.changeHolders(poolId, (holders) => {
      const count = (holders[host] ?? 0) - 1;
      if (count > 0) holders[host] = count;
      else delete holders[host];
      return holders;
    }));
    this.holdings.releasePool(poolId);
  }

  async requestAddress(request: AddressRequest): Promise<string> {
    checkOptions(request.options, ['RequestAddressType'], 'address option');
    const type = request.options['RequestAddressType'];
    if (type !== undefined && type !== GATEWAY_TYPE) throw invalidOption(`unknown RequestAddressType "${type}"`);
    const kind: AddressKind = type === GATEWAY_TYPE ? 'gateway' : 'address';
    const pool = this.pool(request.poolId);
    const answer = (value: bigint) => `${formatIp({ version: pool.prefix.version, value })}/${pool.prefix.length}`;
    if (kind === 'gateway' && request.address && pool.addresses.has(request.address.value)
      && (await this.kindOf(pool, request.address.value)) === 'gateway') {
      // Every host of a network that spans the cluster puts the same gateway on its own bridge.
      this.holdings.addressTaken(pool.record.id, addressKey(pool.record.id, request.address.value, pool.prefix), 'gateway');
      return answer(request.address.value);
    }
    const value = request.address ? this.takeStatic(pool, request.address) : this.takeDynamic(pool);
    const key = addressKey(pool.record.id, value, pool.prefix);
    let committed: boolean;
    try {
      committed = await this.store.commit([{ key, revision: 0 }], [{ type: 'put', key, value: this.addressValue(kind) }]);
    } catch (error) {
      pool.addresses.free(value);
      throw error;
    }
    if (committed) {
      this.holdings.addressTaken(pool.record.id, key, kind);
      return answer(value);
    }
    // Another host took it first; it stays taken here too.
    if (request.address) throw addressInUse(request.address);
    return this.requestAddress(request);
  }

  private async kindOf(pool: Pool, value: bigint): Promise<AddressKind | undefined> {
    const entry = await this.store.get(addressKey(pool.record.id, value, pool.prefix));
    return entry && addressRecord.parse(JSON.parse(entry.value)).kind;
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
    const key = addressKey(poolId, address.value, pool.prefix);
    this.holdings.addressFreed(poolId, key);
    if (!this.config.shared) {
      // Releasing an address that is already free changes nothing: Docker repeats releases after errors.
      await this.store.commit([], [{ type: 'delete', key }]);
      pool.addresses.free(address.value);
      return;
    }
    const entry = await this.store.get(key);
    if (!entry) return;
    const record = addressRecord.parse(JSON.parse(entry.value));
    // Not this host's to free: the gateway of a network other hosts still have (it goes with the
    // pool), or an address another host was given while this one was taken for dead.
    const othersHold = record.kind === 'gateway'
      ? Object.keys(pool.record.holders).some((h) => h !== this.config.host)
      : record.host !== undefined && record.host !== this.config.host;
    if (othersHold) return;
    if (await this.store.commit([{ key, revision: entry.revision }], [{ type: 'delete', key }])) pool.addresses.free(address.value);
  }

  /**
   * Gives back what a dead host held: its containers' addresses, and its hold on each pool (a pool
   * nobody holds any more goes, with its gateway). Each address is deleted only if unchanged since
   * read, and every step only while the guards hold (the host has not come back). Returns how many
   * addresses were freed.
   */
  async forgetHost(host: string, unless: readonly Guard[]): Promise<number> {
    let freed = 0;
    for (const entry of await this.store.list(ADDRESSES)) {
      const record = addressRecord.parse(JSON.parse(entry.value));
      if (record.host !== host || record.kind !== 'address') continue;
      if (await this.store.commit([{ key: entry.key, revision: entry.revision }, ...unless], [{ type: 'delete', key: entry.key }])) freed++;
    }
    for (const pool of [...this.pools.values()]) {
      if (!(host in pool.record.holders)) continue;
      await this.spaceLocks.run(pool.record.space, () => this.changeHolders(pool.record.id, (holders) => {
        delete holders[host];
        return holders;
      }, unless));
    }
    return freed;
  }

  /**
   * Claims back what this host holds after the other hosts took it for dead while it was only cut
   * off: its hold on each pool (the pool itself, if it went meanwhile) and every address record it
   * made that is still free. Returns what another host took meanwhile, which is theirs now: the
   * addresses, and each loss in words.
   */
  async reclaim(): Promise<{ addresses: string[]; problems: string[] }> {
    const host = this.config.host;
    const lost = { addresses: [] as string[], problems: [] as string[] };
    const addressOf = (key: string) => key.slice(key.lastIndexOf('/') + 1);
    for (const held of this.holdings.all()) {
      const { id, space } = held.record;
      const prefix = parsePrefix(held.record.pool);
      const pool = await this.spaceLocks.run(space, async () => {
        for (let attempt = 0; attempt < 10; attempt++) {
          const entry = await this.store.get(poolKey(id));
          const record = entry && poolRecord.parse(JSON.parse(entry.value));
          if (record?.holders[host] === held.refs) return true;
          if (!record) {
            const clash = (await this.store.list(POOLS)).map((e) => poolRecord.parse(JSON.parse(e.value))).find((p) => {
              const other = parsePrefix(p.pool);
              return p.space === space && other && prefix && overlaps(other, prefix);
            });
            if (clash) return `pool ${id} went while this host was cut off, and pool ${clash.id} overlaps it now`;
          }
          const holders = { ...(record?.holders ?? {}), [host]: held.refs };
          if (await this.commitPool(entry?.revision ?? 0, { ...(record ?? held.record), holders })) return true;
        }
        return `pool ${id} changed concurrently ten times`;
      });
      if (pool !== true) {
        lost.problems.push(pool);
        lost.addresses.push(...[...held.addresses.keys()].map(addressOf));
        continue;
      }
      for (const [key, kind] of held.addresses) {
        if (await this.store.commit([{ key, revision: 0 }], [{ type: 'put', key, value: this.addressValue(kind) }])) continue;
        const entry = await this.store.get(key);
        const record = entry && addressRecord.parse(JSON.parse(entry.value));
        if (!record || record.host === host || (record.kind === 'gateway' && kind === 'gateway')) continue;
        held.addresses.delete(key);
        lost.addresses.push(addressOf(key));
        lost.problems.push(`address ${addressOf(key)} of pool ${id} went to host ${record.host ?? '?'} while this host was cut off`);
      }
    }
    return lost;
  }

  private async guardsHold(guards: readonly Guard[]): Promise<boolean> {
    for (const guard of guards) if (((await this.store.get(guard.key))?.revision ?? 0) !== guard.revision) return false;
    return true;
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

  /**
   * This host's share of the pools as the store has them: the pools it holds, with their gateways
   * and the addresses it handed out (other hosts' containers are theirs to account for), and where
   * memory disagrees with the store.
   */
  async allocations(): Promise<{ pools: PoolAllocations[]; problems: string[] }> {
    const pools: PoolAllocations[] = [];
    const problems: string[] = [];
    const host = this.config.host;
    const storedIds = new Set<string>();
    for (const entry of await this.store.list(POOLS)) {
      const record = poolRecord.parse(JSON.parse(entry.value));
      storedIds.add(record.id);
      const stored = (await this.store.list(addressPrefix(record.id))).map((a) =>
        [a.key.slice(addressPrefix(record.id).length), addressRecord.parse(JSON.parse(a.value))] as const);
      const inMemory = this.pools.get(record.id);
      if (!inMemory) problems.push(`pool ${record.id} is stored but not loaded`);
      else if (inMemory.addresses.size !== stored.length) {
        problems.push(`pool ${record.id}: ${inMemory.addresses.size} addresses taken in memory, ${stored.length} stored`);
      }
      if (!(host in record.holders)) continue;
      const mine = stored.filter(([, a]) => a.kind === 'gateway' || a.host === undefined || a.host === host);
      pools.push({ id: record.id, space: record.space, pool: record.pool, addresses: new Map(mine.map(([address, a]) => [address, a.kind])) });
    }
    for (const id of this.pools.keys()) {
      if (!storedIds.has(id)) problems.push(`pool ${id} is loaded but not stored`);
    }
    return { pools, problems };
  }

  /** The ip-range of a pool, if it has one. */
  rangeOf(addressSpace: string, subnet: IpPrefix): string | undefined {
    return this.pools.get(`${addressSpace}/${formatPrefix(subnet)}`)?.record.range;
  }

  usage(): PoolUsage[] {
    return [...this.pools.values()].map((p) => ({
      id: p.record.id,
      pool: p.record.pool,
      ...(p.record.range ? { range: p.record.range } : {}),
      refs: p.record.holders[this.config.host] ?? 0,
      hosts: Object.keys(p.record.holders).length,
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
