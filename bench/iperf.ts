// iperf3 for the benchmarks: an image built offline from the host's own
// binary, and the reading of its JSON report.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Environment, must } from '../test/e2e/harness.js';

export const IPERF_IMAGE = 'tether-bench:iperf3';

/** A second image with iperf3 and the libraries it links, imported into the environment's dockerd once. */
export async function buildIperfImage(env: Environment): Promise<string> {
  if ((await env.docker('image', 'inspect', IPERF_IMAGE)).code === 0) return IPERF_IMAGE;
  const dir = join(env.work, 'iperf-image');
  const libraries = (await must('ldd', '/usr/bin/iperf3'))
    .split('\n')
    .map((l) => l.match(/(\/\S+)/)?.[1])
    .filter((p): p is string => !!p);
  await must(
    'sh',
    '-c',
    'd=$1; shift; mkdir -p "$d/bin" "$d/tmp" && chmod 1777 "$d/tmp" && cp /bin/busybox "$d/bin/" && ln -s ' +
      'busybox "$d/bin/sh" && cp --parents /usr/bin/iperf3 "$@" "$d"',
    'sh',
    dir,
    ...libraries,
  );
  await must('sh', '-c', 'tar -C "$1" -c . | docker -H "$2" import - "$3"', 'sh', dir, env.dockerHost, IPERF_IMAGE);
  return IPERF_IMAGE;
}

/** Gbit/s received, from `iperf3 -J`; undefined if the run failed (a busy server, say). */
export function iperfGbits(report: string): { gbits?: number; error?: string } {
  const result = JSON.parse(report) as { error?: string; end?: { sum_received?: { bits_per_second: number } } };
  const bits = result.end?.sum_received?.bits_per_second;
  return bits === undefined ? { error: result.error ?? report.slice(0, 200) } : { gbits: bits / 1e9 };
}

/** Gbit/s from an iperf3 run, asked again (up to three times, a second apart) when the server was busy. */
export async function iperfRetried(run: () => Promise<string>, what: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const { gbits, error } = iperfGbits(await run());
    if (gbits !== undefined) return gbits;
    if (attempt === 3) throw new Error(`iperf3 ${what}: ${error}`);
    await sleep(1000);
  }
}
