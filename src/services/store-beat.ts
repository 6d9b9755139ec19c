// Whether the store takes a write, found by the daemon's own timer: one small
// write every few seconds, whoever asks /readyz and however often. A probe
// reads the last outcome; it never writes (a loop of probes once grew etcd's
// history by a revision each).
import type { Store } from '../store/store.js';

const PROBE_KEY = 'meta/probe';

type Outcome = { readonly ok: true; readonly at: number } | { readonly ok: false; readonly error: string };

export class StoreBeat {
  private last: Promise<Outcome>;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    everyMs: number,
  ) {
    this.last = this.beat();
    this.timer = setInterval(() => {
      // One write at a time: a store that hangs is the hang watch's (process/store-hang.ts).
      void this.last.then(() => {
        this.last = this.beat();
      });
    }, everyMs);
    this.timer.unref();
  }

  /** What the last write found, said for /readyz; throws when it failed. */
  async check(): Promise<string> {
    const outcome = await this.last;
    if (!outcome.ok) throw new Error(outcome.error);
    return `took a write ${Math.round((Date.now() - outcome.at) / 1000)} s ago`;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<Outcome> {
    try {
      await this.store.commit([], [{ type: 'put', key: PROBE_KEY, value: String(Date.now()) }]);
      return { ok: true, at: Date.now() };
    } catch (error) {
      return { ok: false, error: `a write failed: ${(error as Error).message}` };
    }
  }
}
