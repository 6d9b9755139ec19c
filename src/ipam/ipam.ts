// tether's IPAM driver: pools per address space, held by hosts; addresses from
// the replica's AddressSet per pool, each allocation persisted with a
// create-if-absent guard so that no address is ever handed out twice, even by
// many hosts sharing one store. Where one host alone and shared hosts differ,
// the Tenancy decides (solo.ts, shared.ts).
import { invalidOption, TetherError } from '../errors.js';
import { contains, formatIp, formatPrefix, type IpAddress } from '../net/ip.js';
import type { AddressRequest, IpamDriver, PoolRequest } from '../protocol/ipam.js';
import { formatPoolId, type PoolId } from '../protocol/pool-id.js';
import type { Guard } from '../store/store.js';
import { retryCas } from '../util/retry.js';
import { ClusterAux } from './cluster-aux.js';
import { type Deferred, DeferredClaims } from './deferred.js';
import type { IpamConfig, IpamDeps } from './parts.js';
import { checkOptions, Pools } from './pools.js';
import { type AddressKind, addressKey, GLOBAL_SPACE, LOCAL_SPACE, parseAddress } from './records.js';
import type { Pool } from './replica.js';
import { AUX_ADDRESSES, auxAddressesOf, SWARM_HOLDER } from './swarm.js';

const GATEWAY_TYPE = 'com.docker.network.gateway';

export class Ipam implements IpamDriver {
  private readonly pools: Pools;
  /** The aux addresses of cluster networks, and the passes tether's own creates of them carry. */
  readonly clusterAux = new ClusterAux();
  /** Addresses whose write goes with their endpoint's (cluster mode; see deferred.ts). */
  readonly claims: DeferredClaims;

  private constructor(
    private readonly parts: IpamDeps,
    private readonly config: IpamConfig,
    readonly close: () => void,
  ) {
    this.pools = new Pools(parts, config);
    this.claims = new DeferredClaims(
      (deferred) => this.writeAlone(deferred),
      ({ pool, key }) => this.parts.tenancy.addressTaken(pool.record.id, key, 'address'),
    );
  }

  static async open(parts: IpamDeps, config: IpamConfig): Promise<Ipam> {
    return new Ipam(parts, config, await parts.tenancy.open());
  }

  defaultAddressSpaces() {
    return { LocalDefaultAddressSpace: LOCAL_SPACE, GlobalDefaultAddressSpace: GLOBAL_SPACE };
  }
  async requestPool(request: PoolRequest): Promise<PoolId> {
    const aux = auxAddressesOf(request, this.parts.swarm !== undefined);
    const shared = this.clusterAux.claim(request);
    const id = await this.pools.request(request);
    if (shared) this.clusterAux.share(formatPoolId(id), shared);
    if (id.space !== GLOBAL_SPACE) return id;
    // Taken once, when swarm's manager first asks; a replay finds them held.
    const pool = this.parts.replica.pool(formatPoolId(id));
    try {
      for (const address of aux) {
        if (!pool.addresses.has(address.value)) await this.takeExplicit(pool, address, 'aux', SWARM_HOLDER);
      }
    } catch (error) {
      await this.pools.release(id);
      throw error;
    }
    return id;
  }

  async releasePool(poolId: PoolId): Promise<void> {
    await this.pools.release(poolId);
    this.clusterAux.forget(formatPoolId(poolId));
  }

  async requestAddress(request: AddressRequest): Promise<string> {
    // Swarm's manager passes the network's IPAM options (--ipam-opt) with every address it asks for.
    checkOptions(request.options, ['RequestAddressType', AUX_ADDRESSES], 'address option');
    const type = request.options['RequestAddressType'];
    if (type !== undefined && type !== GATEWAY_TYPE) throw invalidOption(`unknown RequestAddressType "${type}"`);
    const kind: AddressKind = type === GATEWAY_TYPE ? 'gateway' : 'address';
    const { swarm } = this.parts;
    const target = await swarm?.target(request.poolId, request.address);
    const pool = target?.pool ?? this.parts.replica.pool(formatPoolId(request.poolId));
    const { address } = request;
    const answer = (value: bigint) =>
      `${formatIp({ version: pool.record.pool.version, value })}/${pool.record.pool.length}`;
    // A node replays what the manager chose, read from the store: the watch may not have brought it yet.
    if (swarm && target?.view && address && (await swarm.replayOnNode(pool, address))) return answer(address.value);
    if (swarm && target && !target.view && address && pool.addresses.has(address.value)) {
      if (!swarm.isReplay(address, pool)) throw addressInUse(address);
      return answer(address.value);
    }
    const holder = target ? SWARM_HOLDER : this.config.host;
    if (
      !target &&
      kind === 'gateway' &&
      address &&
      pool.addresses.has(address.value) &&
      (await this.kindOf(pool, address)) === 'gateway'
    ) {
      // Every host of a network that spans the cluster puts the same gateway on its own bridge.
      this.parts.tenancy.addressTaken(pool.record.id, addressKey(pool.record.id, address), 'gateway');
      return answer(address.value);
    }
    // The aux address of a cluster network another host created: the cluster holds it already.
    if (!target && kind === 'address' && address && this.clusterAux.isShared(pool.record.id, address)) {
      if (await this.kindOf(pool, address)) return answer(address.value);
    }
    if (!address && !target && kind === 'address' && this.config.defersWrite?.(request.poolId)) {
      const value = await this.takeDynamic(pool);
      this.claims.defer(this.addressWrite(pool, value, kind, holder));
      return answer(value);
    }
    const value = address
      ? await this.takeExplicit(pool, address, kind, holder)
      : // Another host may take the address next-fit chose a moment before this one: it stays taken here too.
        await retryCas(`pool ${pool.record.id}`, async () => {
          const next = await this.takeDynamic(pool);
          return (await this.take(pool, next, kind, holder)) ? next : undefined;
        });
    const taken = { version: pool.record.pool.version, value };
    if (swarm && target) await (target.view ? swarm.takenOnNode(pool, taken) : swarm.asked(pool, taken));
    return answer(value);
  }

  /** The key and record of an address, for a write now or with its endpoint's. */
  private addressWrite(pool: Pool, value: bigint, kind: AddressKind, holder: string): Deferred {
    const key = addressKey(pool.record.id, { version: pool.record.pool.version, value });
    return { pool, value, key, record: JSON.stringify({ kind, host: holder }) };
  }

  /** An address no endpoint claimed in time: written alone, or, lost to another host, said so. */
  private async writeAlone({ pool, value }: Deferred): Promise<void> {
    const address = formatIp({ version: pool.record.pool.version, value });
    try {
      if (await this.take(pool, value, 'address', this.config.host)) return;
      this.config.warn?.(`address ${address} was handed out while another host took it; its endpoint never came`);
    } catch (error) {
      this.config.warn?.(`address ${address} could not be written: ${(error as Error).message}`);
    }
  }

  /** Commits the address taken in memory; false if another host holds it. A failed write frees it again. */
  private async take(pool: Pool, value: bigint, kind: AddressKind, holder: string): Promise<boolean> {
    const { key, record } = this.addressWrite(pool, value, kind, holder);
    let committed: boolean;
    try {
      committed = await this.parts.store.commit([{ key, revision: 0 }], [{ type: 'put', key, value: record }]);
    } catch (error) {
      // A write that timed out may still have landed: what the store holds decides, not the error.
      committed = await this.landed(key, record);
      if (!committed) {
        pool.addresses.free(value);
        throw error;
      }
    }
    // This host claims back only its own (see holdings.ts); swarm's belong to no host.
    if (committed && holder === this.config.host) this.parts.tenancy.addressTaken(pool.record.id, key, kind);
    return committed;
  }

  private async landed(key: string, record: string): Promise<boolean> {
    try {
      return (await this.parts.store.get(key))?.value === record;
    } catch {
      return false;
    }
  }

  private async kindOf(pool: Pool, address: IpAddress): Promise<AddressKind | undefined> {
    const entry = await this.parts.store.get(addressKey(pool.record.id, address));
    return entry && parseAddress(entry.value).kind;
  }

  private async takeExplicit(pool: Pool, address: IpAddress, kind: AddressKind, holder: string): Promise<bigint> {
    if (!(await this.take(pool, this.takeStatic(pool, address), kind, holder))) throw addressInUse(address);
    return address.value;
  }

  private takeStatic(pool: Pool, address: IpAddress): bigint {
    if (!contains(pool.record.pool, address) || !pool.addresses.isUsable(address.value)) {
      throw new TetherError(
        'OUT_OF_RANGE',
        `address ${formatIp(address)} is not a usable address of subnet ${formatPrefix(pool.record.pool)}`,
      );
    }
    if (pool.addresses.has(address.value)) throw addressInUse(address);
    pool.addresses.take(address.value);
    return address.value;
  }

  private async takeDynamic(pool: Pool): Promise<bigint> {
    const value = await this.parts.tenancy.next(pool);
    if (value === undefined) {
      const { range, pool: subnet } = pool.record;
      const where = `${range ? `ip-range ${formatPrefix(range)} of ` : ''}subnet ${formatPrefix(subnet)}`;
      throw new TetherError('POOL_EXHAUSTED', `no address left in ${where}`);
    }
    return value;
  }

  async releaseAddress(poolId: PoolId, address: IpAddress): Promise<void> {
    const { swarm } = this.parts;
    const target = await swarm?.target(poolId, address);
    const pool = target?.pool ?? this.parts.replica.pool(formatPoolId(poolId));
    if (!contains(pool.record.pool, address)) {
      throw new TetherError(
        'OUT_OF_RANGE',
        `address ${formatIp(address)} is not in subnet ${formatPrefix(pool.record.pool)}`,
      );
    }
    // Swarm's decisions are the truth: its manager releases what it allocated, a node what it replayed.
    if (swarm && target) return target.view ? swarm.nodeReleased(pool, address) : swarm.releaseAddress(pool, address);
    // Released before any endpoint used it: the store never held it.
    if (this.claims.cancel(addressKey(pool.record.id, address))) return pool.addresses.free(address.value);
    const holder = this.config.holderOf(address);
    if (holder)
      throw new TetherError('ADDRESS_IN_USE', `address ${formatIp(address)} is held by ${holder}; not released`);
    if (await this.parts.tenancy.release(pool, addressKey(pool.record.id, address))) pool.addresses.free(address.value);
  }

  /** Frees swarm's addresses of a dead host's endpoints, while the guards hold (--scope global). */
  async forgetSwarmEndpoints(addresses: readonly IpAddress[], unless: readonly Guard[]): Promise<number> {
    return (await this.parts.swarm?.forgetEndpoints(addresses, unless)) ?? 0;
  }

  /** Frees swarm's addresses that nodes released longer than graceMs ago (--scope global). */
  async collectSwarm(graceMs: number): Promise<number> {
    return (await this.parts.swarm?.collect(graceMs)) ?? 0;
  }

  /** Frees a container's address wherever tether's pools hold it (an endpoint Docker forgot). */
  async releaseContainerAddress(address: IpAddress): Promise<boolean> {
    const { swarm } = this.parts;
    for (const pool of this.parts.replica.pools.values()) {
      const { record, addresses } = pool;
      if (!contains(record.pool, address) || !addresses.has(address.value)) continue;
      if (swarm && record.space === GLOBAL_SPACE) {
        await swarm.nodeReleased(pool, address);
        return true;
      }
      if (record.space !== LOCAL_SPACE || (await this.kindOf(pool, address)) === 'gateway') continue;
      await this.releaseAddress({ space: record.space, prefix: record.pool }, address);
      return true;
    }
    return false;
  }
}

const addressInUse = (address: IpAddress) =>
  new TetherError('ADDRESS_IN_USE', `address ${formatIp(address)} is already in use`);
