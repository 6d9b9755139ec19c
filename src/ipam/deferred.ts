// Addresses whose store write waits for their endpoint (cluster mode). Docker
// follows a container's RequestAddress at once with its CreateEndpoint, so the
// address's key can go into that transaction, with the endpoint's record and
// its member record, instead of one of its own. An address no endpoint claims
// within a few seconds is written alone. A crash before the endpoint's write
// loses nothing: Docker saw its CreateEndpoint fail and releases the address,
// which the store never held.
import type { AddressClaim } from '../driver/seams.js';
import type { IpAddress } from '../net/ip.js';
import type { Guard, Operation } from '../store/store.js';
import type { Pool } from './replica.js';

export interface Deferred {
  readonly pool: Pool;
  readonly value: bigint;
  readonly key: string;
  /** The address record to write. */
  readonly record: string;
}

/** How long an address waits for its endpoint before it is written alone. */
const WAIT_MS = 3_000;

export class DeferredClaims {
  private readonly waiting = new Map<string, Deferred & { timer: NodeJS.Timeout }>();

  constructor(
    /** Writes an address no endpoint claimed in time. */
    private readonly writeAlone: (deferred: Deferred) => Promise<void>,
    /** An address's write landed (the tenancy's holdings). */
    private readonly taken: (deferred: Deferred) => void,
  ) {}

  defer(deferred: Deferred): void {
    const timer = setTimeout(() => {
      if (this.waiting.delete(deferred.key)) void this.writeAlone(deferred);
    }, WAIT_MS);
    timer.unref();
    this.waiting.set(deferred.key, { ...deferred, timer });
  }

  /** Forgets a waiting address (Docker released it before any endpoint used it); false if none waits. */
  cancel(key: string): boolean {
    const deferred = this.waiting.get(key);
    if (!deferred) return false;
    clearTimeout(deferred.timer);
    return this.waiting.delete(key);
  }

  /**
   * The writes (and their create-if-absent guards) of those of the addresses that wait, for the
   * endpoint's transaction. If the store failed it, they wait again: Docker releases them after the
   * failed CreateEndpoint, which frees them here without the store (unreachable, maybe).
   */
  claimFor(addresses: readonly IpAddress[]): AddressClaim {
    const claimed = [...this.waiting.values()].filter((d) =>
      addresses.some((a) => a.version === d.pool.record.pool.version && a.value === d.value),
    );
    for (const deferred of claimed) this.cancel(deferred.key);
    const guards: Guard[] = claimed.map((d) => ({ key: d.key, revision: 0 }));
    const operations: Operation[] = claimed.map((d) => ({ type: 'put', key: d.key, value: d.record }));
    return {
      guards,
      operations,
      settle: (outcome) => {
        for (const deferred of claimed) {
          if (outcome === 'written') this.taken(deferred);
          else if (outcome === 'unknown') this.defer(deferred);
        }
      },
    };
  }
}
