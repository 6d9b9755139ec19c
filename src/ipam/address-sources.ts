// Where an address comes from, as an ordered list of named sources: the first
// that answers an ask gives the address, and the order is the semantics (a
// replay before a new allocation, an explicit address before the next free
// one). The core IPAM's list is in ipam.ts, swarm's in swarm-ipam.ts.
import type { IpAddress } from '../net/ip.js';
import type { PoolId } from '../protocol/pool-id.js';
import type { AddressKind } from './records.js';
import type { Pool } from './replica.js';

/** One RequestAddress, with its pool found. */
export interface AddressAsk {
  readonly poolId: PoolId;
  /** The pool the ID leads to (for swarm, maybe another than its own: swarm-ipam.ts). */
  readonly pool: Pool;
  /** The address asked for; none for the next free one. */
  readonly address?: IpAddress;
  readonly kind: AddressKind;
}

export interface AddressSource {
  readonly name: string;
  /** The address's value, or undefined to leave the ask to the next source; throws to refuse it. */
  take(ask: AddressAsk): Promise<bigint | undefined>;
}

/** The first source's answer, and which source gave it; the last source must always answer. */
export async function firstAnswer(
  sources: readonly AddressSource[],
  ask: AddressAsk,
): Promise<{ value: bigint; source: string }> {
  for (const source of sources) {
    const value = await source.take(ask);
    if (value !== undefined) return { value, source: source.name };
  }
  throw new Error(`no address source answered (${sources.map((s) => s.name).join(', ')})`);
}
