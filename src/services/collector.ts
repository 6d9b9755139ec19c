// The collection round, every --gc-interval: frees endpoints whose container is gone and
// addresses nothing uses; in cluster mode catches up on anything the watches missed while etcd
// was away; with --scope global frees swarm's addresses that nodes released.
import type { Logger } from 'pino';

export interface CollectorDeps {
  readonly freeGoneEndpoints: () => Promise<number>;
  /** Addresses of tether's networks that nothing has used for the orphan grace (orphan-sweep.ts). */
  readonly sweepOrphans: () => Promise<void>;
  /** --scope global: swarm's addresses whose node released them longer than the orphan grace ago. */
  readonly freeReleasedSwarmAddresses?: () => Promise<number>;
  /** Cluster mode: the overlay, a failed claim back, and the cluster's networks in Docker. */
  readonly catchUp?: () => void;
}

/** Starts the rounds; returns a stop. */
export function startCollector(parts: CollectorDeps, intervalMs: number, log: Logger): () => void {
  const timer = setInterval(() => {
    parts.freeGoneEndpoints().catch((error: unknown) => log.error({ err: error }, 'freeing gone endpoints failed'));
    parts.sweepOrphans().catch((error: unknown) => log.warn({ err: error }, 'orphan address sweep failed'));
    parts.freeReleasedSwarmAddresses?.().then(
      (freed) => freed > 0 && log.info({ freed }, "freed swarm's addresses that nodes released"),
      (error: unknown) => log.error({ err: error }, "freeing swarm's released addresses failed"),
    );
    parts.catchUp?.();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
