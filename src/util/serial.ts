// Runs async tasks one after another: for work that reads state, awaits the
// kernel or the store, and must not interleave with its own kind.
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** One Serial per key (a network, a pool), dropped when idle. */
export class KeyedSerial {
  private readonly queues = new Map<string, { serial: Serial; pending: number }>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { serial: new Serial(), pending: 0 };
      this.queues.set(key, queue);
    }
    queue.pending++;
    try {
      return await queue.serial.run(task);
    } finally {
      if (--queue.pending === 0) this.queues.delete(key);
    }
  }
}

/**
 * A task that many events ask for: requests made while it runs collapse into one more run, so it
 * always runs after the last request and never twice at once.
 */
export class Coalesced {
  private readonly serial = new Serial();
  private pending = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (error: Error) => void,
  ) {}

  request(): void {
    if (this.pending) return;
    this.pending = true;
    void this.serial
      .run(async () => {
        this.pending = false;
        await this.task();
      })
      .catch((error: unknown) => this.onError(error as Error));
  }
}
