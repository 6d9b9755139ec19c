// tether's IPAM driver: pools per address space, held by hosts; addresses from
// the replica's AddressSet per pool, each allocation persisted with a
// create-if-absent guard so that no address is ever handed out twice, even by
// many hosts sharing one store. Where one host alone and shared hosts differ,
// the Tenancy decides (solo.ts, shared.ts).
import { invalidOption, TetherError } from '../errors.js';
import { contains, formatIp, formatPrefix, type IpAddress } from '../net/ip.js';
import type { AddressRequest, IpamDriver, PoolRequest } from '../protocol/ipam.js';
import { formatPoolId, type PoolId } from '../protocol/pool-id.js';
import { retryCas } from '../util/retry.js';
import type { IpamConfig, IpamParts } from './parts.js';
import { checkOptions, Pools } from './pools.js';
import { type AddressKind, addressKey, GLOBAL_SPACE, LOCAL_SPACE, parseAddress } from './records.js';
import type { Pool } from './replica.js';

const GATEWAY_TYPE = 'com.docker.network.gateway';

export class Ipam implements IpamDriver {
  private readonly pools: Pools;

  private constructor(
    private readonly parts: IpamParts,
    private readonly config: IpamConfig,
    readonly close: () => void,
  ) {
    this.pools = new Pools(parts, config);
  }

  static async open(parts: IpamParts, config: IpamConfig): Promise<Ipam> {
    return new Ipam(parts, config, await parts.tenancy.open());
  }

  defaultAddressSpaces() {
    return { LocalDefaultAddressSpace: LOCAL_SPACE, GlobalDefaultAddressSpace: GLOBAL_SPACE };
  }
  requestPool(request: PoolRequest): Promise<PoolId> {
    return this.pools.request(request);
  }

  releasePool(poolId: PoolId): Promise<void> {
    return this.pools.release(poolId);
  }

  async requestAddress(request: AddressRequest): Promise<string> {
    checkOptions(request.options, ['RequestAddressType'], 'address option');
    const type = request.options['RequestAddressType'];
    if (type !== undefined && type !== GATEWAY_TYPE) throw invalidOption(`unknown RequestAddressType "${type}"`);
    const kind: AddressKind = type === GATEWAY_TYPE ? 'gateway' : 'address';
    const pool = this.parts.replica.pool(formatPoolId(request.poolId));
    const { address } = request;
    const answer = (value: bigint) =>
      `${formatIp({ version: pool.record.pool.version, value })}/${pool.record.pool.length}`;
    if (
      kind === 'gateway' &&
      address &&
      pool.addresses.has(address.value) &&
      (await this.kindOf(pool, address)) === 'gateway'
    ) {
      // Every host of a network that spans the cluster puts the same gateway on its own bridge.
      this.parts.tenancy.addressTaken(pool.record.id, addressKey(pool.record.id, address), 'gateway');
      return answer(address.value);
    }
    if (address) {
      if (!(await this.take(pool, this.takeStatic(pool, address), kind))) throw addressInUse(address);
      return answer(address.value);
    }
    // Another host may take the address next-fit chose a moment before this one: it stays taken here too.
    return answer(
      await retryCas(`pool ${pool.record.id}`, async () => {
        const value = this.takeDynamic(pool);
        return (await this.take(pool, value, kind)) ? value : undefined;
      }),
    );
  }

  /** Commits the address taken in memory; false if another host holds it. A failed write frees it again. */
  private async take(pool: Pool, value: bigint, kind: AddressKind): Promise<boolean> {
    const key = addressKey(pool.record.id, { version: pool.record.pool.version, value });
    const record = JSON.stringify({ kind, host: this.config.host });
    let committed: boolean;
    try {
      committed = await this.parts.store.commit([{ key, revision: 0 }], [{ type: 'put', key, value: record }]);
    } catch (error) {
      pool.addresses.free(value);
      throw error;
    }
    if (committed) this.parts.tenancy.addressTaken(pool.record.id, key, kind);
    return committed;
  }

  private async kindOf(pool: Pool, address: IpAddress): Promise<AddressKind | undefined> {
    const entry = await this.parts.store.get(addressKey(pool.record.id, address));
    return entry && parseAddress(entry.value).kind;
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

  private takeDynamic(pool: Pool): bigint {
    const value = pool.addresses.takeNext();
    if (value === undefined) {
      const { range, pool: subnet } = pool.record;
      const where = `${range ? `ip-range ${formatPrefix(range)} of ` : ''}subnet ${formatPrefix(subnet)}`;
      throw new TetherError('POOL_EXHAUSTED', `no address left in ${where}`);
    }
    return value;
  }

  async releaseAddress(poolId: PoolId, address: IpAddress): Promise<void> {
    const pool = this.parts.replica.pool(formatPoolId(poolId));
    if (!contains(pool.record.pool, address)) {
      throw new TetherError(
        'OUT_OF_RANGE',
        `address ${formatIp(address)} is not in subnet ${formatPrefix(pool.record.pool)}`,
      );
    }
    const holder = this.config.holderOf(address);
    if (holder)
      throw new TetherError('ADDRESS_IN_USE', `address ${formatIp(address)} is held by ${holder}; not released`);
    if (await this.parts.tenancy.release(pool, addressKey(pool.record.id, address))) pool.addresses.free(address.value);
  }

  /** Frees a container's address wherever tether's pools hold it (an endpoint Docker forgot). */
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

const addressInUse = (address: IpAddress) =>
  new TetherError('ADDRESS_IN_USE', `address ${formatIp(address)} is already in use`);
