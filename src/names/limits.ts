// How much of tether one asker may have: a token bucket per source address
// (queries a second, with a burst), and a bound on the queries in flight
// across all askers. A query past either is dropped, unanswered: a client
// retries, a flood costs tether almost nothing.

export interface QueryLimits {
  /** Sustained queries a second from one source. */
  readonly perSecond: number;
  /** How many a source may send at once after a quiet spell. */
  readonly burst: number;
  /** Queries being answered at once, from everyone (forwarding waits on the host's resolvers). */
  readonly inFlight: number;
  /** Sources tracked at once; beyond it, the one quiet longest is forgotten. */
  readonly sources: number;
}

export const DEFAULT_LIMITS: QueryLimits = { perSecond: 500, burst: 1_000, inFlight: 256, sources: 4_096 };

interface Bucket {
  tokens: number;
  at: number;
}

export class Admission {
  private readonly buckets = new Map<string, Bucket>();
  private running = 0;

  constructor(
    private readonly limits: QueryLimits = DEFAULT_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether a query from this source may be answered now; if so, `done` must be called after. */
  admit(source: string): 'ok' | 'rate' | 'busy' {
    if (!this.take(source)) return 'rate';
    if (this.running >= this.limits.inFlight) return 'busy';
    this.running++;
    return 'ok';
  }

  done(): void {
    this.running--;
  }

  private take(source: string): boolean {
    const now = this.now();
    const { perSecond, burst } = this.limits;
    let bucket = this.buckets.get(source);
    if (bucket) {
      this.buckets.delete(source);
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
      bucket.at = now;
    } else {
      bucket = { tokens: burst, at: now };
      // Map order is insertion order, and each use re-inserts: the first key is the longest quiet.
      if (this.buckets.size >= this.limits.sources) {
        const quiet = this.buckets.keys().next().value;
        if (quiet !== undefined) this.buckets.delete(quiet);
      }
    }
    this.buckets.set(source, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens--;
    return true;
  }
}
