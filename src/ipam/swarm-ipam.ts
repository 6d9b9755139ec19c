// The IPAM with --scope global: swarm's space (swarm.ts) around the core IPAM.
// Swarm's manager asks in the global space, each node replays the manager's
// choices in a view of the same pool; everything else, the core serves.
import type { IpAddress } from '../net/ip.js';
import { contains } from '../net/ip.js';
import type { AddressRequest, PoolRequest } from '../protocol/ipam.js';
import { formatPoolId, type PoolId } from '../protocol/pool-id.js';
import type { Guard } from '../store/store.js';
import { type AddressAsk, type AddressSource, firstAnswer } from './address-sources.js';
import { addressInUse, addressKindOf, addressOf, answerOf, Ipam, inPool } from './ipam.js';
import type { IpamConfig, IpamDeps } from './parts.js';
import { check } from './pools.js';
import { GLOBAL_SPACE } from './records.js';
import type { Pool } from './replica.js';
import { AUX_ADDRESSES, auxAddressesOf, SWARM_HOLDER, SwarmSpace } from './swarm.js';

export class SwarmIpam extends Ipam {
  private readonly swarm: SwarmSpace;
  /** Where the manager's addresses come from, in this order. */
  private readonly managerSources: readonly AddressSource[];
  /** Where a node's come from: the manager's choices, replayed. */
  private readonly nodeSources: readonly AddressSource[];

  private constructor(parts: IpamDeps, swarm: SwarmSpace, config: IpamConfig, close: () => void) {
    super(parts, config, close);
    this.swarm = swarm;
    const swarms = (then: (pool: Pool, value: bigint) => unknown | Promise<unknown>): AddressSource[] => [
      {
        name: 'the address asked for, held by swarm',
        take: async ({ pool, address, kind }) => {
          if (!address) return undefined;
          const value = await this.takeExplicit(pool, address, kind, SWARM_HOLDER);
          await then(pool, value);
          return value;
        },
      },
      {
        name: 'the next free address, held by swarm',
        take: async ({ pool, kind }) => {
          const value = await this.takeNext(pool, kind, SWARM_HOLDER);
          await then(pool, value);
          return value;
        },
      },
    ];
    const address = (pool: Pool, value: bigint) => ({ version: pool.record.pool.version, value });
    this.managerSources = [
      { name: "the manager's own choice, replayed once a life", take: (ask) => this.managerReplay(ask) },
      ...swarms((pool, value) => swarm.asked(pool, address(pool, value))),
    ];
    this.nodeSources = [
      {
        name: "the manager's choice, replayed on a node",
        // The store tells: the watch may not have brought the manager's write yet.
        take: async ({ pool, address }) =>
          address && (await swarm.replayOnNode(pool, address)) ? address.value : undefined,
      },
      ...swarms((pool, value) => swarm.takenOnNode(pool, address(pool, value))),
    ];
  }

  static async openSwarm(parts: IpamDeps, config: IpamConfig): Promise<Ipam> {
    return new SwarmIpam(parts, new SwarmSpace(parts), config, await parts.tenancy.open());
  }

  /** Swarm's global pools and the nodes' views of them; any other pool is the core's. */
  override async requestPool(request: PoolRequest): Promise<PoolId> {
    const aux = auxAddressesOf(request, true);
    const { [AUX_ADDRESSES]: _aux, ...options } = request.options;
    const global = request.addressSpace === GLOBAL_SPACE;
    // Swarm's manager says V6 false for every pool it asks for: the subnet tells.
    const asked = { ...request, options, ...(global && request.pool ? { v6: request.pool.version === 6 } : {}) };
    check(asked);
    const id =
      (await this.swarm.requestPool(asked, () => this.pools.request(asked, SWARM_HOLDER))) ??
      (await super.requestPool(asked));
    if (!global) return id;
    // Taken once, when swarm's manager first asks; a replay finds them held.
    const pool = this.parts.replica.pool(formatPoolId(id));
    try {
      for (const held of aux) {
        if (!pool.addresses.has(held.value)) await this.takeExplicit(pool, held, 'aux', SWARM_HOLDER);
      }
    } catch (error) {
      await this.releasePool(id);
      throw error;
    }
    return id;
  }

  override async releasePool(poolId: PoolId): Promise<void> {
    const target = await this.swarm.target(poolId);
    if (!target) return super.releasePool(poolId);
    // A node's view of a swarm pool holds nothing; the manager's release ends the pool.
    if (!target.view) await this.parts.spaceLocks.run(poolId.space, () => this.swarm.releasePool(poolId));
  }

  override async requestAddress(request: AddressRequest): Promise<string> {
    const target = await this.swarm.target(request.poolId, request.address);
    if (!target) return super.requestAddress(request);
    const ask = { pool: target.pool, poolId: request.poolId, kind: addressKindOf(request), ...addressOf(request) };
    const { value } = await firstAnswer(target.view ? this.nodeSources : this.managerSources, ask);
    return answerOf(target.pool, value);
  }

  /** Swarm's manager asks again, after a restart, for each address its raft log holds. */
  private async managerReplay({ pool, address }: AddressAsk): Promise<bigint | undefined> {
    if (!address || !pool.addresses.has(address.value)) return undefined;
    if (!this.swarm.isReplay(address, pool)) throw addressInUse(address);
    return address.value;
  }

  /** Swarm's decisions are the truth: its manager releases what it allocated, a node what it replayed. */
  override async releaseAddress(poolId: PoolId, address: IpAddress): Promise<void> {
    const target = await this.swarm.target(poolId, address);
    if (!target) return super.releaseAddress(poolId, address);
    inPool(target.pool, address);
    if (target.view) await this.swarm.nodeReleased(target.pool, address);
    else await this.swarm.releaseAddress(target.pool, address);
  }

  override async releaseContainerAddress(address: IpAddress): Promise<boolean> {
    for (const pool of this.parts.replica.pools.values()) {
      const { record, addresses } = pool;
      if (record.space !== GLOBAL_SPACE || !contains(record.pool, address) || !addresses.has(address.value)) continue;
      await this.swarm.nodeReleased(pool, address);
      return true;
    }
    return super.releaseContainerAddress(address);
  }

  override forgetSwarmEndpoints(addresses: readonly IpAddress[], unless: readonly Guard[]): Promise<number> {
    return this.swarm.forgetEndpoints(addresses, unless);
  }

  override collectSwarm(graceMs: number): Promise<number> {
    return this.swarm.collect(graceMs);
  }
}
