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
import { type AddressAsk, type AddressSource, firstAnswer } from './address-sources.js';
import { ClusterAux } from './cluster-aux.js';
import { type Deferred, DeferredClaims } from './deferred.js';
import type { IpamConfig, IpamDeps } from './parts.js';
import { checkOptions, Pools } from './pools.js';
import { type AddressKind, addressKey, GLOBAL_SPACE, LOCAL_SPACE, parseAddress } from './records.js';
import type { Pool } from './replica.js';
import { AUX_ADDRESSES, auxAddressesOf } from './swarm.js';

const GATEWAY_TYPE = 'com.docker.network.gateway';

export class Ipam implements IpamDriver {
  protected readonly pools: Pools;
  /** The aux addresses of cluster networks, and the passes tether's own creates of them carry. */
  readonly clusterAux = new ClusterAux();
  /** Addresses whose write goes with their endpoint's (cluster mode; see deferred.ts). */
  readonly claims: DeferredClaims;
  /** Where an address of this host's pools comes from, in this order (address-sources.ts). */
  private readonly sources: readonly AddressSource[];

  protected constructor(
    protected readonly parts: IpamDeps,
    protected readonly config: IpamConfig,
    readonly close: () => void,
  ) {
    this.pools = new Pools(parts, config);
    this.claims = new DeferredClaims(
      (deferred) => this.writeAlone(deferred),
      ({ pool, key }) => this.parts.tenancy.addressTaken(pool.record.id, key, 'address'),
    );
    const { host } = config;
    this.sources = [
      { name: 'the gateway every host of a spanning network shares', take: (ask) => this.sharedGateway(ask) },
      { name: 'an aux address another host of a cluster network holds', take: (ask) => this.sharedAux(ask) },
      { name: 'a new address written with its endpoint', take: (ask) => this.deferred(ask) },
      {
        name: 'the address asked for',
        take: async ({ pool, address, kind }) => address && (await this.takeExplicit(pool, address, kind, host)),
      },
      { name: 'the next free address', take: ({ pool, kind }) => this.takeNext(pool, kind, host) },
    ];
  }

  static async open(parts: IpamDeps, config: IpamConfig): Promise<Ipam> {
    return new Ipam(parts, config, await parts.tenancy.open());
  }

  defaultAddressSpaces() {
    return { LocalDefaultAddressSpace: LOCAL_SPACE, GlobalDefaultAddressSpace: GLOBAL_SPACE };
  }

  async requestPool(request: PoolRequest): Promise<PoolId> {
    auxAddressesOf(request, false);
    const shared = this.clusterAux.claim(request);
    const id = await this.pools.request(request);
    if (shared) this.clusterAux.share(formatPoolId(id), shared);
    return id;
  }

  async releasePool(poolId: PoolId): Promise<void> {
    await this.pools.release(poolId);
    this.clusterAux.forget(formatPoolId(poolId));
  }

  async requestAddress(request: AddressRequest): Promise<string> {
    const pool = this.parts.replica.pool(formatPoolId(request.poolId));
    const ask = { pool, poolId: request.poolId, kind: addressKindOf(request), ...addressOf(request) };
    return answerOf(pool, (await firstAnswer(this.sources, ask)).value);
  }

  /** Every host of a network that spans the cluster puts the same gateway on its own bridge. */
  private async sharedGateway({ pool, address, kind }: AddressAsk): Promise<bigint | undefined> {
    if (kind !== 'gateway' || !address || !pool.addresses.has(address.value)) return undefined;
    if ((await this.kindOf(pool, address)) !== 'gateway') return undefined;
    this.parts.tenancy.addressTaken(pool.record.id, addressKey(pool.record.id, address), 'gateway');
    return address.value;
  }

  /** The aux address of a cluster network another host created: the cluster holds it already. */
  private async sharedAux({ pool, address, kind }: AddressAsk): Promise<bigint | undefined> {
    if (kind !== 'address' || !address || !this.clusterAux.isShared(pool.record.id, address)) return undefined;
    return (await this.kindOf(pool, address)) ? address.value : undefined;
  }

  /** A container's address, when its write goes with its endpoint's (one store for both: etcd). */
  private async deferred({ pool, poolId, address, kind }: AddressAsk): Promise<bigint | undefined> {
    if (address || kind !== 'address' || !this.config.defersWrite?.(poolId)) return undefined;
    const value = await this.takeDynamic(pool);
    this.claims.defer(this.addressWrite(pool, value, kind, this.config.host));
    return value;
  }

  /** The next free address, written for the holder. */
  protected takeNext(pool: Pool, kind: AddressKind, holder: string): Promise<bigint> {
    // Another host may take the address next-fit chose a moment before this one: it stays taken here too.
    return retryCas(`pool ${pool.record.id}`, async () => {
      const next = await this.takeDynamic(pool);
      return (await this.take(pool, next, kind, holder)) ? next : undefined;
    });
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

  protected async kindOf(pool: Pool, address: IpAddress): Promise<AddressKind | undefined> {
    const entry = await this.parts.store.get(addressKey(pool.record.id, address));
    return entry && parseAddress(entry.value).kind;
  }

  protected async takeExplicit(pool: Pool, address: IpAddress, kind: AddressKind, holder: string): Promise<bigint> {
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
    const pool = this.parts.replica.pool(formatPoolId(poolId));
    inPool(pool, address);
    // Released before any endpoint used it: the store never held it.
    if (this.claims.cancel(addressKey(pool.record.id, address))) return pool.addresses.free(address.value);
    const holder = this.config.holderOf(address);
    if (holder)
      throw new TetherError('ADDRESS_IN_USE', `address ${formatIp(address)} is held by ${holder}; not released`);
    if (await this.parts.tenancy.release(pool, addressKey(pool.record.id, address))) pool.addresses.free(address.value);
  }

  /** Frees swarm's addresses of a dead host's endpoints: none without swarm (swarm-ipam.ts). */
  async forgetSwarmEndpoints(_addresses: readonly IpAddress[], _unless: readonly Guard[]): Promise<number> {
    return 0;
  }

  /** Frees swarm's addresses that nodes released long enough ago: none without swarm (swarm-ipam.ts). */
  async collectSwarm(_graceMs: number): Promise<number> {
    return 0;
  }

  /** Frees a container's address wherever this host's pools hold it (an endpoint Docker forgot). */
  async releaseContainerAddress(address: IpAddress): Promise<boolean> {
    for (const pool of this.parts.replica.pools.values()) {
      const { record, addresses } = pool;
      if (record.space !== LOCAL_SPACE || !contains(record.pool, address) || !addresses.has(address.value)) continue;
      if ((await this.kindOf(pool, address)) === 'gateway') continue;
      await this.releaseAddress({ space: record.space, prefix: record.pool }, address);
      return true;
    }
    return false;
  }
}

export const addressInUse = (address: IpAddress) =>
  new TetherError('ADDRESS_IN_USE', `address ${formatIp(address)} is already in use`);

/** The kind a RequestAddress asks for; Docker's gateway type, or an ordinary address. */
export function addressKindOf(request: AddressRequest): AddressKind {
  // Swarm's manager passes the network's IPAM options (--ipam-opt) with every address it asks for.
  checkOptions(request.options, ['RequestAddressType', AUX_ADDRESSES], 'address option');
  const type = request.options['RequestAddressType'];
  if (type !== undefined && type !== GATEWAY_TYPE) throw invalidOption(`unknown RequestAddressType "${type}"`);
  return type === GATEWAY_TYPE ? 'gateway' : 'address';
}

export const addressOf = (request: AddressRequest): { address?: IpAddress } =>
  request.address ? { address: request.address } : {};

/** The answer RequestAddress gives: the address with its subnet's length. */
export const answerOf = (pool: Pool, value: bigint) =>
  `${formatIp({ version: pool.record.pool.version, value })}/${pool.record.pool.length}`;

/** Refuses an address outside the pool's subnet. */
export function inPool(pool: Pool, address: IpAddress): void {
  if (!contains(pool.record.pool, address)) {
    throw new TetherError(
      'OUT_OF_RANGE',
      `address ${formatIp(address)} is not in subnet ${formatPrefix(pool.record.pool)}`,
    );
  }
}
