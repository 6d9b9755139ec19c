// Policies in the benchmark: how long a policy change takes to be in force
// with 1,000 endpoints and 50 policies, and what a deny network with policies
// costs in throughput against an open one (iperf3, interleaved).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { POLICIES_PATH } from '../src/operator/contract.js';
import { requestJson } from '../src/util/http.js';
import { type Environment, Tether } from '../test/e2e/harness.js';
import { call, createNetworkByCalls, timed } from './calls.js';
import { buildIperfImage, iperfGbits } from './iperf.js';
import { type Comparison, compare, type Figure, summarize } from './stats.js';

const ENDPOINTS = 1_000;
const POLICIES = 50;
const ROLES = 20;

/** `tether policy add` and `rm` through the operator API, each answered once the kernel holds the change. */
export async function policyChangeFigures(env: Environment, figures: Figure[]): Promise<void> {
  // No Docker at this socket: endpoints carry their driver options' labels and no others, known at once.
  const tether = new Tether(env.work, 'tetherpolicy', 'tbp', ['--docker-socket', join(env.work, 'none.sock')]);
  await tether.start();
  const networkId = randomBytes(32).toString('hex');
  try {
    const poolId = await createNetworkByCalls(tether, networkId, '10.230.48.0/22', { 'tether.policy': 'deny' });
    for (let i = 0; i < ENDPOINTS; i++) {
      const endpoint = randomBytes(32).toString('hex');
      const { Address } = await call(tether, 'IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} });
      await call(tether, 'NetworkDriver.CreateEndpoint', {
        NetworkID: networkId,
        EndpointID: endpoint,
        Interface: { Address },
        Options: { 'tether.label.role': `r${i % ROLES}` },
      });
      await call(tether, 'NetworkDriver.Join', { NetworkID: networkId, EndpointID: endpoint, SandboxKey: '/bench' });
    }
    const policy = (name: string, i: number) => ({
      policy: {
        name,
        select: `role=r${i % ROLES}`,
        from: [`role in (r${(i + 1) % ROLES},r${(i + 2) % ROLES})`],
        ports: [`tcp/${1000 + i}`],
      },
    });
    const add = (name: string, i: number) => requestJson(tether.socket, 'POST', POLICIES_PATH, policy(name, i));
    for (let i = 0; i < POLICIES; i++) await add(`p${i}`, i);
    await sleep(1_000); // the last labels are in force
    const adds: number[] = [];
    const removals: number[] = [];
    for (let round = 0; round < 20; round++) {
      adds.push(await timed(() => add('extra', round + POLICIES)));
      removals.push(await timed(() => requestJson(tether.socket, 'DELETE', `${POLICIES_PATH}/extra`)));
    }
    for (const [what, samples] of [
      ['policy add', adds],
      ['policy rm', removals],
    ] as const) {
      const { median, p90 } = summarize(samples);
      figures.push({
        name: `${what} in force, ${ENDPOINTS} endpoints and ${POLICIES} policies`,
        value: `${median.toFixed(0)} ms (p90 ${p90.toFixed(0)} ms)`,
        goal: '< 1000 ms',
        met: p90 < 1_000,
      });
    }
  } finally {
    await call(tether, 'NetworkDriver.DeleteNetwork', { NetworkID: networkId }).catch(() => undefined);
    await tether.stop();
  }
}

/** iperf3 between two containers of a deny network that a policy opens, against an open tether network. */
export async function policyThroughput(env: Environment, comparisons: Comparison[]): Promise<void> {
  const image = await buildIperfImage(env);
  await env.network('bench-policy', '--subnet', '10.230.43.0/24', '-o', 'tether.policy=deny');
  const added = await env.tether.cli(
    ...['policy', 'add', 'iperf', '--select', 'role=server', '--from', 'role=client', '--port', 'tcp/5201'],
  );
  if (added.code !== 0) throw new Error(added.stderr);
  const samples: Record<string, number[]> = { 'bench-policy': [], 'bench-tether': [] };
  try {
    for (const net of Object.keys(samples)) {
      const run = (name: string, role: string, ...command: string[]) =>
        env.dockerOk(
          'run',
          '-d',
          '--name',
          name,
          '--net',
          net,
          '--label',
          `tether.label.role=${role}`,
          image,
          ...command,
        );
      await run(`srv-${net}`, 'server', 'iperf3', '-s');
      await run(`cli-${net}`, 'client', 'busybox', 'sleep', '3600');
    }
    await sleep(1_000);
    for (let round = 0; round < 8; round++) {
      for (const net of round % 2 ? ['bench-tether', 'bench-policy'] : ['bench-policy', 'bench-tether']) {
        const server = await env.address(`srv-${net}`, net);
        const out = await env.dockerOk('exec', `cli-${net}`, 'iperf3', '-c', server, '-t', '5', '-J');
        const { gbits, error } = iperfGbits(out);
        if (gbits === undefined) throw new Error(`iperf3 on ${net}: ${error}`);
        samples[net]?.push(gbits);
      }
    }
    comparisons.push(
      compare(
        'iperf3 on a deny network with a policy',
        'Gbit/s',
        samples['bench-policy'] ?? [],
        samples['bench-tether'] ?? [],
        {
          baselineName: 'open tether network',
          goal: '>= 0.95',
          pass: (r) => r >= 0.95,
        },
      ),
    );
  } finally {
    for (const net of Object.keys(samples)) await env.docker('rm', '-f', `srv-${net}`, `cli-${net}`);
    await env.tether.cli('policy', 'rm', 'iperf');
    await env.docker('network', 'rm', 'bench-policy');
  }
}
