// A client of the dashboard's server-sent events: each event's data, with
// when it came, for the unit tests and the bench.
import { request } from 'node:http';

export interface EventStream {
  readonly events: { readonly at: number; readonly data: string }[];
  close(): void;
}

export function openEventStream(url: string): EventStream {
  const events: { at: number; data: string }[] = [];
  const stream = request(url);
  stream.on('response', (response) => {
    let buffered = '';
    response.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (event.startsWith('data: ')) events.push({ at: performance.now(), data: event.slice('data: '.length) });
      }
    });
  });
  // A stream closed by the test, or by the daemon stopping, ends quietly.
  stream.on('error', () => undefined);
  stream.end();
  return { events, close: () => stream.destroy() };
}
