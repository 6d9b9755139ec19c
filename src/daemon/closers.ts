// What the daemon built, closed in the reverse of the order it was built: each
// builder pushes its part's closer as soon as the part exists, so a close (or
// a start that fails half-way) stops exactly what is running, dependants first.
import type { Logger } from 'pino';

export class Closers {
  private readonly stack: { readonly name: string; readonly close: () => unknown }[] = [];

  constructor(private readonly log: Logger) {}

  push(name: string, close: () => unknown): void {
    this.stack.push({ name, close });
  }

  /** Closes everything pushed, last first; a closer that fails is logged, and the rest still close. */
  async close(): Promise<void> {
    for (let next = this.stack.pop(); next; next = this.stack.pop()) {
      try {
        await next.close();
      } catch (error) {
        this.log.error({ err: error, part: next.name }, 'closing a part of the daemon failed');
      }
    }
  }
}
