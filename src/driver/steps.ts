// Kernel and cluster work as a list of named steps, each with its undo, run by
// one runner (after moby's bridge driver, setup.go): steps run in order and
// are logged by name; when one fails, the undos of those done run in reverse,
// and the first error is what the caller sees.
import type { Logger } from 'pino';

export interface Step {
  readonly name: string;
  readonly do: () => Promise<void>;
  /** Takes back what `do` made; absent for steps that leave nothing to take back. */
  readonly undo?: () => Promise<void>;
}

export async function runSteps(steps: readonly Step[], log: Logger, context: Record<string, unknown>): Promise<void> {
  const done: Step[] = [];
  for (const step of steps) {
    try {
      await step.do();
    } catch (error) {
      log.warn({ ...context, step: step.name, err: (error as Error).message }, 'step failed; undoing the steps done');
      for (const earlier of done.reverse()) {
        // An undo that fails leaves what reconcile finds (an orphan link, a stale record): logged, not thrown.
        await earlier
          .undo?.()
          .catch((undoError: unknown) =>
            log.error({ ...context, step: earlier.name, err: (undoError as Error).message }, 'undo failed'),
          );
      }
      throw error;
    }
    log.trace({ ...context, step: step.name }, 'step done');
    done.push(step);
  }
}
