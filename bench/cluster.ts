// Cluster figures, each side by side with its baseline in the same run:
// ping and iperf3 between containers on two hosts over VXLAN against the
// kernel's own VXLAN between the same two namespaces (the limit for this
// encapsulation) and against the underlay; the allocation rate of three hosts
// allocating from one pool at once against one host alone; and etcd's write
// transactions per container start.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { clusterView } from '../src/operator/contract.js';
import { ClusterHost, Underlay } from '../test/e2e/cluster-harness.js';
import { type Environment, must, networkCreate, pluginCall } from '../test/e2e/harness.js';
import { dnsFlood } from './dns.js';
import { buildIperfImage, IPERF_IMAGE, iperfRetried } from './iperf.js';
import { etcdRevision, rawVxlan } from './raw-vxlan.js';
import { type Comparison, compare, type Figure, summarize } from './stats.js';

const ROUNDS = 5;

/** Average round trip in ms of 20 pings 0.2 s apart, from busybox's summary line. */
function pingAverage(output: string): number {
  const match = /min\/avg\/max = [\d.]+\/([\d.]+)\//.exec(output);
  if (!match) throw new Error(`no ping summary in: ${output.slice(-200)}`);
  return Number(match[1]);
}

async function call(host: ClusterHost, method: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await pluginCall(host.socket, method, JSON.stringify(body));
  if (response.status !== 200) throw new Error(`${host.name} ${method}: ${response.body}`);
  return JSON.parse(response.body) as Record<string, unknown>;
}

/** Addresses per second for `perHost` RequestAddress calls on each host, 8 in flight per host, all hosts at once. */
async function allocationRate(hosts: ClusterHost[], pool: string, perHost: number): Promise<number> {
  const poolIds: string[] = [];
  for (const host of hosts)
    poolIds.push(
      String(
        (await call(host, 'IpamDriver.RequestPool', { AddressSpace: 'local', Pool: pool, Options: {} }))['PoolID'],
      ),
    );
  const started = performance.now();
  await Promise.all(
    hosts.map(async (host, h) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next++ < perHost)
            await call(host, 'IpamDriver.RequestAddress', { PoolID: poolIds[h], Address: '', Options: {} });
        }),
      );
    }),
  );
  const rate = (hosts.length * perHost) / ((performance.now() - started) / 1000);
  // The last holder's release deletes the pool with every address in it.
  for (const [h, host] of hosts.entries()) await call(host, 'IpamDriver.ReleasePool', { PoolID: poolIds[h] });
  return rate;
}

/**
 * etcd write transactions per container start, from etcd's revision counter, counted once every
 * container's name has reached etcd (tether reads it from Docker after the start): `atOnce` starts on
 * each host at the same time, or, with one host, one start after the other (nothing to share with).
 */
async function transactionsPerStart(underlay: Underlay, hosts: ClusterHost[], atOnce: boolean): Promise<Figure> {
  const [first] = hosts as [ClusterHost];
  const count = 10;
  const before = await etcdRevision(underlay, first);
  const start = (host: ClusterHost, i: number) =>
    host.dockerOk('run', '-d', '--name', `rev${i}`, '--network', 'bench', IPERF_IMAGE, 'busybox', 'sleep', '600');
  if (atOnce) await Promise.all(hosts.flatMap((host) => Array.from({ length: count }, (_, i) => start(host, i))));
  else for (const host of hosts) for (let i = 0; i < count; i++) await start(host, i);
  for (let waited = 0; waited < 10_000 && (await namesKnown(first)) < hosts.length * count; waited += 200)
    await sleep(200);
  // A name waits at most 200 ms for company: give the last one its time before reading the counter.
  await sleep(500);
  const perStart = ((await etcdRevision(underlay, first)) - before) / (hosts.length * count);
  await Promise.all(
    hosts.map((host) => host.dockerOk('rm', '-f', ...Array.from({ length: count }, (_, i) => `rev${i}`))),
  );
  const how = atOnce
    ? `${count * hosts.length} starts on ${hosts.length} hosts at once`
    : `${count} starts one after the other on one host`;
  return {
    name: `etcd write transactions per container start, cluster mode (${how})`,
    value: perStart.toFixed(2),
    goal: '<= 1',
    met: perStart <= 1,
  };
}

/** How many of the bench's containers the cluster knows by name. */
async function namesKnown(host: ClusterHost): Promise<number> {
  const view = clusterView.parse(JSON.parse((await host.tether.cli('cluster', 'ls', '--json')).stdout));
  return view.enabled ? view.names.filter((n) => n.name.startsWith('rev')).length : 0;
}

export async function clusterFigures(env: Environment, comparisons: Comparison[], figures: Figure[]): Promise<void> {
  const underlay = new Underlay(env.work);
  const hosts = [1, 2, 3].map((i) => new ClusterHost(env, underlay, i, { hostTtl: 10, deadHostGrace: 300 }));
  const [h1, h2] = hosts as [ClusterHost, ClusterHost];
  const underlayServer = { pid: 0 };
  let raw: Awaited<ReturnType<typeof rawVxlan>> | undefined;
  try {
    await underlay.create();
    await Promise.all(hosts.map((h) => h.start()));
    await buildIperfImage(env);
    await Promise.all(
      hosts.map((h) =>
        must(
          'sh',
          '-c',
          'docker -H "$1" save "$3" | docker -H "$2" load',
          'sh',
          env.dockerHost,
          h.dockerHost,
          IPERF_IMAGE,
        ),
      ),
    );
    await h1.dockerOk(
      ...networkCreate(env.driver),
      '--subnet',
      '10.230.70.0/24',
      '-o',
      'tether.cluster=bench',
      'bench',
    );
    for (const host of hosts) {
      for (let i = 0; (await host.docker('network', 'inspect', 'bench')).code !== 0; i++) {
        if (i > 100) throw new Error(`the cluster network never reached ${host.name}`);
        await sleep(200);
      }
    }
    await h2.dockerOk('run', '-d', '--name', 'server', '--network', 'bench', IPERF_IMAGE, 'iperf3', '-s');
    await h1.dockerOk('run', '-d', '--name', 'client', '--network', 'bench', IPERF_IMAGE, 'busybox', 'sleep', '3600');
    const server = await h2.address('server', 'bench');
    const server2 = spawn('ip', ['netns', 'exec', h2.namespace, 'iperf3', '-s'], { stdio: 'ignore' });
    underlayServer.pid = server2.pid ?? 0;
    raw = await rawVxlan(h1, h2);
    await sleep(500);

    const ping = { overlay: [] as number[], underlay: [] as number[], raw: [] as number[] };
    const iperf = { overlay: [] as number[], underlay: [] as number[], raw: [] as number[] };
    const rawServer = raw.address(h2);
    for (let round = 0; round < ROUNDS; round++) {
      ping.raw.push(pingAverage(await h1.exec('busybox', 'ping', '-q', '-c', '20', '-i', '0.2', rawServer)));
      iperf.raw.push(
        await iperfRetried(
          () => h1.exec('iperf3', '-c', rawServer, '-t', '5', '-J', '--connect-timeout', '3000'),
          'over raw VXLAN',
        ),
      );
      ping.overlay.push(
        pingAverage(await h1.dockerOk('exec', 'client', 'busybox', 'ping', '-q', '-c', '20', '-i', '0.2', server)),
      );
      ping.underlay.push(
        pingAverage(await h1.exec('busybox', 'ping', '-q', '-c', '20', '-i', '0.2', h2.underlayAddress)),
      );
      iperf.overlay.push(
        await iperfRetried(
          () => h1.dockerOk('exec', 'client', 'iperf3', '-c', server, '-t', '5', '-J', '--connect-timeout', '3000'),
          'over the overlay',
        ),
      );
      iperf.underlay.push(
        await iperfRetried(
          () => h1.exec('iperf3', '-c', h2.underlayAddress, '-t', '5', '-J', '--connect-timeout', '3000'),
          'on the underlay',
        ),
      );
    }
    // The kernel's VXLAN is the limit; against the underlay, tether is judged by what that limit itself reaches.
    const median = (values: number[]) => summarize(values).median;
    const rawShare = {
      ping: median(ping.raw) / median(ping.underlay),
      iperf: median(iperf.raw) / median(iperf.underlay),
    };
    comparisons.push(
      compare('cross-host ping, container to container over VXLAN', 'ms', ping.overlay, ping.raw, {
        baselineName: 'raw kernel VXLAN, host to host',
        goal: '<= 1.05',
        pass: (r) => r <= 1.05,
      }),
      compare('cross-host ping over VXLAN, against the underlay', 'ms', ping.overlay, ping.underlay, {
        baselineName: 'underlay host to host',
        goal: `<= ${(rawShare.ping * 1.05).toFixed(2)} (raw VXLAN's own ratio x 1.05)`,
        pass: (r) => r <= rawShare.ping * 1.05,
      }),
      compare('cross-host iperf3 over VXLAN', 'Gbit/s', iperf.overlay, iperf.raw, {
        baselineName: 'raw kernel VXLAN, host to host',
        goal: '>= 0.95',
        pass: (r) => r >= 0.95,
      }),
      compare('cross-host iperf3 over VXLAN, against the underlay', 'Gbit/s', iperf.overlay, iperf.underlay, {
        baselineName: 'underlay host to host',
        goal: `>= ${(rawShare.iperf * 0.95).toFixed(2)} (raw VXLAN's own ratio x 0.95)`,
        pass: (r) => r >= rawShare.iperf * 0.95,
      }),
    );

    const cluster: number[] = [];
    const alone: number[] = [];
    for (let round = 0; round < 3; round++) {
      cluster.push(await allocationRate(hosts, '10.230.128.0/18', 1000));
      alone.push(await allocationRate([h1], '10.230.192.0/18', 1000));
    }
    comparisons.push(
      compare('IPAM allocations, 3 hosts at once on one pool (etcd)', 'addresses/s', cluster, alone, {
        baselineName: 'one host alone',
        goal: '>= 2.00',
        pass: (r) => r >= 2,
      }),
    );
    figures.push(await transactionsPerStart(underlay, hosts, true));
    figures.push(await transactionsPerStart(underlay, [h1], false));
    // The client on h1 floods h1's names service asking for the server on h2, a name tether owns.
    await dnsFlood(h1, 'client', 'server', figures);
  } finally {
    await raw?.remove();
    // SIGKILL, as for the uplink step's server: one cut off mid-test may ignore SIGTERM.
    if (underlayServer.pid) process.kill(underlayServer.pid, 'SIGKILL');
    for (const host of hosts) await host.stop();
    await underlay.delete();
  }
}
