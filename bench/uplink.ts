// Networks on host interfaces in the benchmark: iperf3 from a container to a
// host on the LAN, over a macvlan and over a bridged uplink, each interleaved
// with the same transfer from a namespace on a plain veth into the LAN's
// bridge (the path without tether: the limit for a container on that LAN).
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Environment, must, sh } from '../test/e2e/harness.js';
import { Lan } from '../test/e2e/lan.js';
import { buildIperfImage, iperfRetried } from './iperf.js';
import { type Comparison, compare } from './stats.js';

export const UPLINKS = { macvlan: 'tteub0', bridged: 'tteub1' };
// Clear of every other subnet of the benchmark (10.230.44.0/22 is the churn network's).
const lan = new Lan('10.230.52');
const RAW = `tether-e2e-raw-${process.pid}`;
const RAW_ADDRESS = `${lan.prefix}.20`;
const ROUNDS = 5;

/** The tether's env must list UPLINKS (TETHER_UPLINKS) before it starts. */
export async function uplinkThroughput(env: Environment, comparisons: Comparison[]): Promise<void> {
  const image = await buildIperfImage(env);
  await lan.create();
  const server = spawn('ip', ['netns', 'exec', lan.hostNamespace, 'iperf3', '-s'], { stdio: 'ignore' });
  try {
    for (const uplink of Object.values(UPLINKS)) await lan.addUplink(uplink);
    await must('ip', 'netns', 'add', RAW);
    await lan.addUplink('tteubraw', RAW);
    await must('ip', '-n', RAW, 'address', 'add', `${RAW_ADDRESS}/24`, 'dev', 'tteubraw');
    const raw = () => sh('ip', ['netns', 'exec', RAW, 'iperf3', '-c', lan.lanHost, '-t', '5', '-J']);
    await sleep(500);
    for (const [mode, option] of [
      ['macvlan', `tether.parent=${UPLINKS.macvlan}`],
      ['bridged uplink', `tether.uplink=${UPLINKS.bridged}`],
    ] as const) {
      const network = `bench-${mode.replace(' ', '-')}`;
      const aux = ['--aux-address', `lanhost=${lan.lanHost}`, '--aux-address', `raw=${RAW_ADDRESS}`];
      await env.network(network, '--subnet', lan.subnet, '--gateway', lan.router, ...aux, '-o', option);
      await env.dockerOk('run', '-d', '--name', network, '--net', network, image, 'busybox', 'sleep', '3600');
      const samples = { tether: [] as number[], raw: [] as number[] };
      const fromContainer = () =>
        env.dockerOk('exec', network, 'iperf3', '-c', lan.lanHost, '-t', '5', '-J', '--connect-timeout', '3000');
      try {
        for (let round = 0; round < ROUNDS; round++) {
          for (const side of round % 2 ? (['raw', 'tether'] as const) : (['tether', 'raw'] as const)) {
            const run = side === 'tether' ? fromContainer : async () => (await raw()).stdout;
            samples[side].push(await iperfRetried(run, `${side} on ${mode}`));
          }
        }
      } finally {
        await env.docker('rm', '-f', network);
        await env.docker('network', 'rm', network);
      }
      const goal = mode === 'macvlan' ? 0.95 : 0.8;
      comparisons.push(
        compare(`iperf3 container to LAN host, ${mode}`, 'Gbit/s', samples.tether, samples.raw, {
          baselineName: 'a plain veth into the LAN',
          goal: `>= ${goal.toFixed(2)}`,
          pass: (r) => r >= goal,
        }),
      );
    }
  } finally {
    // SIGKILL: an iperf3 server cut off mid-test ignored SIGTERM and outlived its namespace.
    server.kill('SIGKILL');
    await sh('ip', ['netns', 'del', RAW]);
    await lan.delete();
  }
}
