// Whether tether can work, not only whether it answers: each check runs with a
// deadline, and the answer names every check with what it found. Probes come
// from anyone who reaches the metrics address, so the checks run at most once
// per `maxAgeMs`: requests meanwhile share the last answer, or the run under way.
import type { ReadinessView } from './contract.js';

export interface Check {
  readonly name: string;
  /** Resolves to what it found when all is well; throws (or misses the deadline) when not. */
  readonly run: () => Promise<string>;
}

/** How often the store takes the daemon's readiness write, and how long one readiness answer serves. */
export interface ProbeTimings {
  readonly storeBeatMs: number;
  readonly readinessMaxAgeMs: number;
}

export const PROBE_TIMINGS: ProbeTimings = { storeBeatMs: 5_000, readinessMaxAgeMs: 2_000 };

export class Readiness {
  private running: Promise<ReadinessView> | undefined;
  private last: { readonly at: number; readonly report: ReadinessView } | undefined;

  constructor(
    private readonly checks: readonly Check[],
    private readonly deadlineMs: number,
    private readonly maxAgeMs: number,
  ) {}

  run(): Promise<ReadinessView> {
    if (this.last && performance.now() - this.last.at < this.maxAgeMs) return Promise.resolve(this.last.report);
    this.running ??= this.runAll().then((report) => {
      this.last = { at: performance.now(), report };
      this.running = undefined;
      return report;
    });
    return this.running;
  }

  private async runAll(): Promise<ReadinessView> {
    const checks = await Promise.all(this.checks.map((check) => this.runOne(check)));
    return { ready: checks.every((c) => c.ok), checks };
  }

  private async runOne(check: Check): Promise<ReadinessView['checks'][number]> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.deadlineMs} ms`)), this.deadlineMs);
    });
    try {
      const detail = await Promise.race([check.run(), deadline]);
      return { name: check.name, ok: true, detail, ms: Math.round(performance.now() - started) };
    } catch (error) {
      return {
        name: check.name,
        ok: false,
        detail: (error as Error).message,
        ms: Math.round(performance.now() - started),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
