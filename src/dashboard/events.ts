// The dashboard's server-sent event streams, bounded: so many in all and per
// client address, and a client that leaves too much unread is cut off rather
// than buffered for (each push is the whole view).
import type { ServerResponse } from 'node:http';

export interface StreamLimits {
  readonly total: number;
  readonly perClient: number;
  /** Bytes a client may leave unread before its stream is ended. */
  readonly unread: number;
}

export const STREAM_LIMITS: StreamLimits = { total: 64, perClient: 4, unread: 8 * 1024 * 1024 };

/** A comment line every so often keeps proxies from closing a quiet event stream. */
const KEEPALIVE_MS = 15_000;

export class EventStreams {
  private readonly perClient = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: StreamLimits = STREAM_LIMITS) {}

  /**
   * Serves one stream to the client, fed by `subscribe` until the client goes; false, and nothing
   * written, when the client or everyone has as many as allowed.
   */
  open(client: string, stream: ServerResponse, subscribe: (push: (json: string) => void) => () => void): boolean {
    const held = this.perClient.get(client) ?? 0;
    if (held >= this.limits.perClient || this.total >= this.limits.total) return false;
    this.perClient.set(client, held + 1);
    this.total++;
    stream.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const write = (text: string) => {
      stream.write(text);
      if (stream.writableLength > this.limits.unread) stream.destroy();
    };
    const unsubscribe = subscribe((json) => write(`data: ${json}\n\n`));
    const keepalive = setInterval(() => write(': keep-alive\n\n'), KEEPALIVE_MS);
    stream.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
      this.total--;
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
    });
    return true;
  }
}
