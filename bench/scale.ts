// What a container start costs as the cluster grows: the cluster harness's
// three namespaced hosts with one network, and the records of a fourth,
// simulated host's endpoints on it (0, 1,000, 10,000), written straight into
// etcd. At each point: the bytes etcd sends per start (its own counter, every
// member), the three tethers' CPU per start, the time from `docker run` until
// the other two hosts have the new endpoint in their tunnel, and the memory
// the members cost each tether. Each as a ratio to the 0-member point.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { clusterView } from '../src/operator/contract.js';
import { ClusterHost, Underlay } from '../test/e2e/cluster-harness.js';
import { type Environment, IMAGE, networkCreate, sh } from '../test/e2e/harness.js';
import { type Comparison, compare, type Figure, summarize } from './stats.js';

const NETWORK = 'scale';
const POINTS = [0, 1_000, 10_000];
const STARTS = 9;
/** The network (in the tests' range), the part its IPAM hands out, where the simulated endpoints start. */
const SUBNET = '10.230.128.0/17';
const IP_RANGE = '10.230.128.0/20';
const SIMULATED_BASE = (10 << 24) | (230 << 16) | (192 << 8);
/** etcd's limit of operations in one transaction (--max-txn-ops). */
const PER_TRANSACTION = 128;

const b64 = (text: string) => Buffer.from(text).toString('base64');
const dotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
const mac = (i: number) =>
  `02:5a:${[24, 16, 8, 0].map((s) => ((i >>> s) & 255).toString(16).padStart(2, '0')).join(':')}`;

/** The etcd members' client URLs, as the hosts reach them. */
const etcdUrls = (underlay: Underlay) => underlay.storeUrl.replace(/^etcd:\/\//, '').split(',');

async function etcdPost(underlay: Underlay, from: ClusterHost, path: string, body: unknown): Promise<string> {
  const [first] = etcdUrls(underlay);
  return from.exec(
    'curl',
    '-s',
    '--max-time',
    '20',
    '-X',
    'POST',
    '-d',
    JSON.stringify(body),
    `http://${first}${path}`,
  );
}

/** Bytes etcd has sent its clients so far, over every member. */
async function etcdSent(underlay: Underlay, from: ClusterHost): Promise<number> {
  let sum = 0;
  for (const url of etcdUrls(underlay)) {
    const text = await from.exec('curl', '-s', '--max-time', '5', `http://${url}/metrics`);
    const line = text.split('\n').find((l) => l.startsWith('etcd_network_client_grpc_sent_bytes_total'));
    sum += Number(line?.split(' ')[1] ?? Number.NaN);
  }
  if (!Number.isFinite(sum)) throw new Error('etcd did not say what it sent');
  return sum;
}

/** CPU ms of the hosts' tethers so far: every thread's time on a CPU, in ns (schedstat), not 10 ms ticks. */
function tetherCpuMs(hosts: readonly ClusterHost[]): number {
  let ns = 0;
  for (const host of hosts) {
    for (const task of readdirSync(`/proc/${host.tether.pid}/task`)) {
      // A thread that ended since the listing takes its time along: rare, and small.
      const stat = (() => {
        try {
          return readFileSync(`/proc/${host.tether.pid}/task/${task}/schedstat`, 'utf8');
        } catch {
          return '0';
        }
      })();
      ns += Number(stat.split(' ')[0]);
    }
  }
  return ns / 1e6;
}

const rssMb = (host: ClusterHost) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${host.tether.pid}/status`, 'utf8'))?.[1]) / 1024;

/** The simulated host's registration and its members from `from` up to `to`, 128 to a transaction. */
async function simulate(underlay: Underlay, via: ClusterHost, from: number, to: number): Promise<void> {
  const put = (key: string, value: unknown) => ({
    requestPut: { key: b64(`tether/${key}`), value: b64(JSON.stringify(value)) },
  });
  if (from === 0)
    await etcdPost(
      underlay,
      via,
      '/v3/kv/put',
      put('cluster/hosts/sim', { host: 'sim', vtep: '10.230.240.99', startedAt: 1 }).requestPut,
    );
  for (let i = from; i < to; i += PER_TRANSACTION) {
    const puts = Array.from({ length: Math.min(PER_TRANSACTION, to - i) }, (_, k) =>
      put(`cluster/members/${NETWORK}/sim${i + k}`, {
        host: 'sim',
        mac: mac(i + k),
        addresses: [dotted(SIMULATED_BASE + i + k)],
      }),
    );
    const answer = await etcdPost(underlay, via, '/v3/kv/txn', { success: puts });
    if (!answer.includes('"succeeded":true'))
      throw new Error(`etcd refused the simulated members: ${answer.slice(0, 200)}`);
  }
}

/** Waits until every host's view holds the simulated members. */
async function known(hosts: readonly ClusterHost[], count: number): Promise<void> {
  for (const host of hosts) {
    for (let i = 0; ; i++) {
      const view = clusterView.parse(JSON.parse((await host.tether.cli('cluster', 'ls', '--json')).stdout));
      if (view.enabled && view.members.filter((m) => m.host === 'sim').length >= count) break;
      if (i > 600) throw new Error(`${host.name} never held ${count} simulated members`);
      await sleep(100);
    }
  }
}

/** Whether the host's tunnel device forwards the MAC to another host (one entry asked for, not the whole table). */
async function programmed(host: ClusterHost, device: string, address: string): Promise<boolean> {
  const asked = await sh('ip', [
    'netns',
    'exec',
    host.namespace,
    'bridge',
    'fdb',
    'get',
    address,
    'dev',
    device,
    'self',
  ]);
  return asked.code === 0 && asked.stdout.includes(' dst ');
}

/** The network's tunnel device on the host. */
async function tunnelOf(host: ClusterHost): Promise<string> {
  const [device] = JSON.parse(await host.exec('ip', '-json', 'link', 'show', 'type', 'vxlan')) as { ifname: string }[];
  if (!device) throw new Error(`${host.name} has no tunnel device`);
  return device.ifname;
}

interface Point {
  readonly bytes: number[];
  readonly cpuMs: number[];
  /** The two hosts that only hear of the start, less their idle rate over the same time: one start elsewhere. */
  readonly hearingCpuMs: number[];
  readonly programmedMs: number[];
  readonly rssMb: number;
}

/** STARTS container starts, one after the other, each on the next host. */
async function measure(underlay: Underlay, hosts: readonly ClusterHost[], members: number): Promise<Point> {
  const [h1] = hosts as [ClusterHost];
  const point = {
    bytes: [] as number[],
    cpuMs: [] as number[],
    hearingCpuMs: [] as number[],
    programmedMs: [] as number[],
  };
  const devices = new Map<ClusterHost, string>();
  for (const host of hosts) devices.set(host, await tunnelOf(host));
  // A tether's own rounds (leases, collection every 2 s) cost it CPU with no start at all.
  const idleFrom = [tetherCpuMs([h1]), performance.now()] as const;
  await sleep(6_000);
  const idlePerMs = (tetherCpuMs([h1]) - idleFrom[0]) / (performance.now() - idleFrom[1]);
  for (let i = 0; i < STARTS; i++) {
    const host = hosts[i % hosts.length] as ClusterHost;
    const others = hosts.filter((h) => h !== host);
    const [sent, cpu, hearing, started] = [
      await etcdSent(underlay, h1),
      tetherCpuMs(hosts),
      tetherCpuMs(others),
      performance.now(),
    ];
    const name = `scale${members}-${i}`;
    await host.dockerOk('run', '-d', '--name', name, '--network', NETWORK, IMAGE, 'sleep', '600');
    const address = await host.address(name, NETWORK, 'MacAddress');
    for (const other of others) {
      for (let waited = 0; !(await programmed(other, devices.get(other) ?? '', address)); waited++) {
        if (waited > 2_000) throw new Error(`${other.name} never programmed ${name}`);
        await sleep(5);
      }
    }
    point.programmedMs.push(performance.now() - started);
    // The container's name reaches etcd a moment after the start (read from Docker after Join).
    await sleep(700);
    point.bytes.push((await etcdSent(underlay, h1)) - sent);
    point.cpuMs.push(tetherCpuMs(hosts) - cpu);
    const window = performance.now() - started;
    point.hearingCpuMs.push((tetherCpuMs(others) - hearing) / others.length - idlePerMs * window);
  }
  for (const [i, host] of hosts.entries()) {
    const names = Array.from({ length: STARTS }, (_, k) => k).filter((k) => k % hosts.length === i);
    await host.dockerOk('rm', '-f', ...names.map((k) => `scale${members}-${k}`));
  }
  await sleep(2_000);
  const rss = hosts.map(rssMb);
  return { ...point, rssMb: rss.reduce((a, b) => a + b, 0) / rss.length };
}

export async function scaleFigures(env: Environment, comparisons: Comparison[], figures: Figure[]): Promise<void> {
  const underlay = new Underlay(env.work);
  const hosts = [1, 2, 3].map((i) => new ClusterHost(env, underlay, i, { hostTtl: 10, deadHostGrace: 300 }));
  const [h1] = hosts as [ClusterHost];
  try {
    await underlay.create();
    await Promise.all(hosts.map((h) => h.start()));
    await h1.dockerOk(
      ...networkCreate(env.driver),
      ...['--subnet', SUBNET, '--ip-range', IP_RANGE, '-o', `tether.cluster=${NETWORK}`, NETWORK],
    );
    for (const host of hosts) {
      for (let i = 0; (await host.docker('network', 'inspect', NETWORK)).code !== 0; i++) {
        if (i > 100) throw new Error(`the network never reached ${host.name}`);
        await sleep(200);
      }
    }
    const points = new Map<number, Point>();
    let written = 0;
    for (const members of POINTS) {
      await simulate(underlay, h1, written, members);
      written = members;
      await known(hosts, members);
      await sleep(2_000);
      points.set(members, await measure(underlay, hosts, members));
    }
    report(points, comparisons, figures);
  } finally {
    for (const host of hosts) await host.stop();
    await underlay.delete();
  }
}

function report(points: Map<number, Point>, comparisons: Comparison[], figures: Figure[]): void {
  const zero = points.get(0);
  if (!zero) throw new Error('no 0-member point');
  for (const members of POINTS.slice(1)) {
    const at = points.get(members);
    if (!at) continue;
    const versus = { baselineName: 'the same with 0 other members' };
    const each = `with ${members.toLocaleString('en')} members of a 4th host (3 hosts, 1 start at a time)`;
    comparisons.push(
      compare(`bytes etcd sends per container start, ${each}`, 'bytes', at.bytes, zero.bytes, {
        ...versus,
        goal: '<= 1.50',
        pass: (r) => r <= 1.5,
      }),
      compare(`tethers' CPU per container start, ${each}`, 'ms', at.cpuMs, zero.cpuMs, {
        ...versus,
        goal: '<= 1.50',
        pass: (r) => r <= 1.5,
      }),
      compare(`docker run to programmed on the 2 other hosts, ${each}`, 'ms', at.programmedMs, zero.programmedMs, {
        ...versus,
        goal: '<= 1.20 (flat)',
        pass: (r) => r <= 1.2,
      }),
    );
  }
  figures.push({
    name: "a host's CPU for a start on another (2 that hear of it, less their idle rate), 0 / 1,000 / 10,000 members",
    value: POINTS.map((m) => `${summarize(points.get(m)?.hearingCpuMs ?? []).median.toFixed(1)} ms`).join(' / '),
    // Our own bound: a host hears of every start of the cluster, so this is what sets how many a host can follow.
    goal: '<= 20 ms at 10,000',
    met: summarize(points.get(POINTS.at(-1) ?? 0)?.hearingCpuMs ?? []).median <= 20,
  });
  const largest = POINTS.at(-1) ?? 0;
  const top = points.get(largest);
  if (!top) return;
  const perTenThousand = ((top.rssMb - zero.rssMb) / largest) * 10_000;
  figures.push({
    name: `tether RSS per 10,000 members of other hosts (mean of 3 hosts, 0 to ${largest.toLocaleString('en')})`,
    value: `${perTenThousand.toFixed(1)} MB (${zero.rssMb.toFixed(1)} at 0, ${top.rssMb.toFixed(1)} at ${largest})`,
    // Our own goal: the issue names none for memory. About 5 KB a member, three indexes included.
    goal: '<= 50 MB',
    met: perTenThousand <= 50,
  });
}
