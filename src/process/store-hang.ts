// Ends the process when its store stops answering: a read every few seconds;
// a read that has neither answered nor failed past the limit means the store
// (or its client) is wedged, and a new process is the way out. A store that
// fails fast (etcd down) is not wedged: tether serves on and catches up.
// While all is well, each round is also systemd's watchdog ping.
import type { Logger } from 'pino';

export interface StoreHangWatch {
  /** One cheap call to the store; its result does not matter, only that it ends. */
  readonly probe: () => Promise<unknown>;
  readonly limitMs: number;
  readonly everyMs: number;
  readonly log: Logger;
  /** Called each round while no call hangs (systemd's WATCHDOG=1). */
  readonly onWell?: () => void;
  /** How to end the process (tests pass their own). */
  readonly exit?: (code: number) => void;
}

/** Starts the rounds; returns a stop. */
export function watchStoreHangs(watch: StoreHangWatch): () => void {
  const exit = watch.exit ?? ((code: number) => process.exit(code));
  let pendingSince: number | undefined;
  const round = () => {
    if (pendingSince !== undefined) {
      const waited = Date.now() - pendingSince;
      if (waited > watch.limitMs) {
        watch.log.fatal({ waitedMs: waited }, 'the store has not answered a read; exiting so that tether is restarted');
        clearInterval(timer);
        exit(1);
      }
      return;
    }
    watch.onWell?.();
    pendingSince = Date.now();
    watch
      .probe()
      .catch(() => undefined)
      .finally(() => {
        pendingSince = undefined;
      });
  };
  const timer = setInterval(round, watch.everyMs);
  timer.unref();
  round();
  return () => clearInterval(timer);
}
