// tether's IPAM driver: pools per address space, held by hosts; addresses from
// the replica's AddressSet per pool, each allocation persisted with a
// create-if-absent guard so that no address is ever handed out twice, even by
// many hosts sharing one store. Where one host alone and shared hosts differ,
// the Tenancy decides (solo.ts, shared.ts).
import { TetherError, invalidOption } from '../errors.js';
import { type IpAddress, type IpPrefix, contains, formatIp, formatPrefix, overlaps, prefixContains } from '../net/ip.js';
import type { AddressRequest, IpamDriver, PoolRequest } from '../protocol/ipam.js';
import type { Store } from '../store/store.js';
import { KeyedSerial } from '../util/serial.js';
import { type DefaultPool, chooseAutoPool } from './auto-pool.js';
import { type PoolId, formatPoolId } from './pool-id.js';
import { PoolStore, retryCas } from './pool-store.js';
import { type AddressKind, GLOBAL_SPACE, LOCAL_SPACE, type PoolRecord, addressKey, parseAddress } from './records.js';
import type { Pool, Replica } from './replica.js';
import type { Tenancy } from './tenancy.js';

const GATEWAY_TYPE = 'com.docker.network.gateway';

export interface IpamConfig {
  readonly defaultPool: DefaultPool;
  readonly defaultPool6: DefaultPool;
  /** Prefixes routed by the host, which automatic pools must avoid. */
  readonly hostRoutes: () => Promise<IpPrefix[]>;
  /** This host's name: pools and addresses are held by hosts, so a dead host's can be given back. */
  readonly host: string;
  /**
   * Who holds an address now, if anyone (see daemon/release-guard.ts): a release of an address an
   * endpoint still holds is a stale retry and must not free someone else's address.
   */
  readonly holderOf: (address: IpAddress) => string | undefined;
}

export interface IpamParts {
  readonly store: Store;
  readonly pools: PoolStore;
  readonly replica: Replica;
  readonly tenancy: Tenancy;
  /** Pool creation and release are serialized per address space. */
  readonly spaceLocks: KeyedSerial;
}

export class Ipam implements IpamDriver {
  private constructor(
    private readonly parts: IpamParts,
    private readonly config: IpamConfig,
    readonly close: () => void,
  ) {}

  static async open(parts: IpamParts, config: IpamConfig): Promise<Ipam> {
    return new Ipam(parts, config, await parts.tenancy.open());
  }

  defaultAddressSpaces() {
    return { LocalDefaultAddressSpace: LOCAL_SPACE, GlobalDefaultAddressSpace: GLOBAL_SPACE };
  }

  async requestPool(request: PoolRequest): Promise<PoolId> {
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
      throw new TetherError(
        'OUT_OF_RANGE',
        `ip-range ${formatPrefix(request.subPool)} is not inside subnet ${formatPrefix(request.pool)}`,
      );
    }
    // Another host may create the same pool at the same moment: then this one joins it.
    return this.parts.spaceLocks.run(request.addressSpace, () =>
      retryCas('the pools', () => this.holdPool(request, version)),
    );
  }

  /** Creates the pool or adds this host as a holder; undefined if another host won a race. */
  private async holdPool(request: PoolRequest, version: 4 | 6): Promise<PoolId | undefined> {
    const { host } = this.config;
    // The store, not memory, decides: another host may have created a pool a moment ago.
    const stored = await this.parts.pools.list();
    const prefix = request.pool ?? (await this.autoPool(version, stored.map((p) => p.record.pool)));
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
      const holders = { ...existing.record.holders, [host]: (existing.record.holders[host] ?? 0) + 1 };
      return (await this.commitHold(existing.revision, { ...existing.record, holders })) ? done : undefined;
    }
    const clash = stored.find((p) => p.record.space === request.addressSpace && overlaps(p.record.pool, prefix));
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
      holders: { [host]: 1 },
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

  /** Commits one more hold of this host on the pool, then puts it in memory so it is usable at once. */
  private async commitHold(revision: number, record: PoolRecord): Promise<boolean> {
    if (!(await this.parts.pools.commit(revision, record))) return false;
    this.parts.replica.setPool(record);
    this.parts.tenancy.poolHeld(record);
    return true;
  }

  async releasePool(poolId: PoolId): Promise<void> {
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
    tenancy.poolReleased(id);
  }

  async requestAddress(request: AddressRequest): Promise<string> {
    checkOptions(request.options, ['RequestAddressType'], 'address option');
    const type = request.options['RequestAddressType'];
    if (type !== undefined && type !== GATEWAY_TYPE) throw invalidOption(`unknown RequestAddressType "${type}"`);
    const kind: AddressKind = type === GATEWAY_TYPE ? 'gateway' : 'address';
    const pool = this.parts.replica.pool(formatPoolId(request.poolId));
    const { address } = request;
    const answer = (value: bigint) => `${formatIp({ version: pool.record.pool.version, value })}/${pool.record.pool.length}`;
    if (kind === 'gateway' && address && pool.addresses.has(address.value) && (await this.kindOf(pool, address)) === 'gateway') {
      // Every host of a network that spans the cluster puts the same gateway on its own bridge.
      this.parts.tenancy.addressTaken(pool.record.id, addressKey(pool.record.id, address), 'gateway');
      return answer(address.value);
    }
    if (address) {
      if (!(await this.take(pool, this.takeStatic(pool, address), kind))) throw addressInUse(address);
      return answer(address.value);
    }
    // Another host may take the address next-fit chose a moment before this one: it stays taken here too.
    return answer(await retryCas(`pool ${pool.record.id}`, async () => {
      const value = this.takeDynamic(pool);
      return (await this.take(pool, value, kind)) ? value : undefined;
    }));
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
      throw new TetherError('OUT_OF_RANGE', `address ${formatIp(address)} is not in subnet ${formatPrefix(pool.record.pool)}`);
    }
    const holder = this.config.holderOf(address);
    if (holder) throw new TetherError('ADDRESS_IN_USE', `address ${formatIp(address)} is held by ${holder}; not released`);
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

/** Docker adds its own `com.docker.*` keys; anything else must be a key tether knows. */
function checkOptions(options: Readonly<Record<string, string>>, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!key.startsWith('com.docker.') && !known.includes(key)) throw invalidOption(`unknown ${what} "${key}"`);
  }
}
