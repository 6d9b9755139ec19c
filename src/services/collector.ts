// The collection round, every --gc-interval: frees endpoints whose container is gone, and in
// cluster mode catches up on anything the watches missed while etcd was away.
import type { Logger } from 'pino';

export interface CollectedParts {
  readonly freeGoneEndpoints: () => Promise<number>;
  /** Cluster mode: the overlay, a failed claim back, and the cluster's networks in Docker. */
  readonly catchUp?: () => void;
}

/** Starts the rounds; returns a stop. */
export function startCollector(parts: CollectedParts, intervalMs: number, log: Logger): () => void {
  const timer = setInterval(() => {
    parts.freeGoneEndpoints().catch((error: unknown) => log.error({ err: error }, 'freeing gone endpoints failed'));
    parts.catchUp?.();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
