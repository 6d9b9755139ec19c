// Where a container start's network time goes inside tether: the plugin calls'
// total time per method, read from tether's own Prometheus histogram
// (--metrics-addr) before and after a batch of starts.
import { get } from 'node:http';

/** Seconds spent and calls answered per method, as the metrics endpoint says now. */
export type CallTimes = Map<string, { seconds: number; count: number }>;

export const METRICS_ADDR = { host: '127.0.0.1', port: 19_323 };

export function readCallTimes(): Promise<CallTimes> {
  return new Promise((done, fail) => {
    get({ ...METRICS_ADDR, path: '/metrics' }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      response.on('end', () => {
        const times: CallTimes = new Map();
        for (const [, part, method, value] of text.matchAll(
          /^tether_call_duration_seconds_(sum|count)\{method="([^"]+)"\} (\S+)$/gm,
        )) {
          const entry = times.get(method ?? '') ?? { seconds: 0, count: 0 };
          if (part === 'sum') entry.seconds = Number(value);
          else entry.count = Number(value);
          times.set(method ?? '', entry);
        }
        done(times);
      });
    }).on('error', fail);
  });
}

/** Milliseconds per start spent in each method between two readings, largest first. */
export function perStart(before: CallTimes, after: CallTimes, starts: number): [string, number][] {
  return [...after]
    .map(([method, { seconds }]): [string, number] => [
      method,
      ((seconds - (before.get(method)?.seconds ?? 0)) * 1000) / starts,
    ])
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1]);
}
