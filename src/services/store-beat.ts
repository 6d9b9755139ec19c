// Whether the store takes a write, found by the daemon's own timer: a probe
// reads the last outcome and never writes (a loop of probes once grew etcd's
// history by a revision each). The timer writes only while someone asks, at
// most once per `everyMs`: an idle host of a large cluster writes nothing.
import type { Store } from '../store/store.js';

const PROBE_KEY = 'meta/probe';
/** How often the timer looks whether a write is due: a check after a quiet spell waits at most this. */
const TICK_MS = 500;

/** What the last write found, and when it ended. */
type Outcome = { readonly at: number } & ({ readonly ok: true } | { readonly ok: false; readonly error: string });

export class StoreBeat {
  private last: Outcome | undefined;
  private writing = false;
  private asked = false;
  /** Checks waiting for the next write, the last one being too old to tell. */
  private waiting: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly everyMs: number,
  ) {
    this.timer = setInterval(() => this.tick(), Math.min(TICK_MS, everyMs));
    this.timer.unref();
  }

  /** What the last write found, said for /readyz; throws when it failed. Waits for the next write when stale. */
  async check(): Promise<string> {
    this.asked = true;
    if (!this.last || Date.now() - this.last.at > 2 * this.everyMs) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    const last = this.last;
    if (!last?.ok) throw new Error(last?.error ?? 'no write has been tried');
    return `took a write ${Math.round((Date.now() - last.at) / 1000)} s ago`;
  }

  stop(): void {
    clearInterval(this.timer);
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  private tick(): void {
    const due = !this.last || Date.now() - this.last.at >= this.everyMs;
    if (!this.asked || !due || this.writing) return;
    this.asked = false;
    this.writing = true;
    this.store
      .commit([], [{ type: 'put', key: PROBE_KEY, value: String(Date.now()) }])
      .then(
        (): Outcome => ({ ok: true, at: Date.now() }),
        (error: Error): Outcome => ({ ok: false, error: `a write failed: ${error.message}`, at: Date.now() }),
      )
      .then((outcome) => {
        this.last = outcome;
        this.writing = false;
        for (const resolve of this.waiting.splice(0)) resolve();
      });
  }
}
