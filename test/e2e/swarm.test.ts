// Swarm mode end to end: three Docker hosts in namespaces form a swarm (one
// manager, two workers) over the underlay; tether runs on each as the managed
// plugin with --scope global on one etcd; swarm's services carry tasks across
// the nodes on a tether network, with one IPAM for the whole swarm.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterHost, eventually, Underlay } from './cluster-harness.js';
import { test } from './engine.js';
import { AUTO_POOL, Environment, IMAGE, must, nothingLeftBehind, ROOT, sh, useEnvironment } from './harness.js';

const env = new Environment();
const underlay = new Underlay(env.work);
const hosts = [1, 2, 3].map((i) => new ClusterHost(env, underlay, i, { hostTtl: 3, deadHostGrace: 8, managed: true }));
const [manager, w1, w2] = hosts as [ClusterHost, ClusterHost, ClusterHost];
const PLUGIN = `tethersw${process.pid}`;
const DRIVER = `${PLUGIN}:latest`;
const NETWORK = 'web';
const SUBNET = '10.230.70.0/24';
const SUBNET6 = 'fd7e:7e7e:70::/64';
/** Inside the ip-range, reserved: no task may get it. */
const AUX = '10.230.70.130';
/** Swarm's tasks name their image by ID: a name would send each node to a registry first. */
let image = '';

const tearDown = useEnvironment(env, {
  async setUp() {
    await underlay.create();
    await Promise.all(hosts.map((h) => h.start()));
    await manager.dockerOk('swarm', 'init', '--advertise-addr', manager.underlayAddress);
    const token = await manager.dockerOk('swarm', 'join-token', '-q', 'worker');
    for (const worker of [w1, w2]) {
      await worker.dockerOk('swarm', 'join', '--token', token, `${manager.underlayAddress}:2377`);
    }
    const started = Date.now();
    await Promise.all(hosts.map((h) => createPlugin(h)));
    console.log(`# the managed plugin created and enabled on three nodes in ${Date.now() - started} ms`);
    // The manager schedules a task only on nodes that reported the plugin.
    await eventually(
      'every node reports the plugin',
      async () =>
        (await manager.dockerOk('node', 'ls', '-q')).split('\n').length === 3 && (await nodesWithPlugin()) === 3,
      60_000,
    );
    image = await manager.dockerOk('image', 'inspect', '-f', '{{.Id}}', IMAGE);
  },
  async tearDown() {
    for (const host of hosts) await host.stop();
    await underlay.delete();
  },
});

/** `tether plugin create` on the node, as the README's swarm section says. */
async function createPlugin(host: ClusterHost): Promise<void> {
  const settings = {
    TETHER_SCOPE: 'global',
    TETHER_STORE: underlay.storeUrl,
    TETHER_HOST_NAME: host.name,
    TETHER_LOG_LEVEL: 'debug',
    TETHER_INTERFACE_PREFIX: 'tte',
    TETHER_DEFAULT_POOL: AUTO_POOL,
    TETHER_HOST_TTL: '3',
    TETHER_DEAD_HOST_GRACE: '8',
    TETHER_ORPHAN_GRACE: '5',
    TETHER_GC_INTERVAL: '2',
  };
  const result = await sh(process.execPath, [
    join(ROOT, 'bin/tether.js'),
    'plugin',
    'create',
    '--name',
    PLUGIN,
    '--docker-host',
    host.dockerHost,
    '--state-dir',
    host.pluginStateDir,
    ...Object.entries(settings).flatMap(([key, value]) => ['--set', `${key}=${value}`]),
  ]);
  assert.equal(result.code, 0, `${host.name}: ${result.stderr}`);
}

async function nodesWithPlugin(): Promise<number> {
  const ids = (await manager.dockerOk('node', 'ls', '-q')).split('\n');
  const plugins = await manager.dockerOk(
    'node',
    'inspect',
    '-f',
    '{{range .Description.Engine.Plugins}}{{.Type}}={{.Name}} {{end}}',
    ...ids,
  );
  return plugins.split('\n').filter((line) => line.includes(`Network=${DRIVER}`)).length;
}

interface Task {
  readonly host: ClusterHost;
  readonly container: string;
  readonly v4: string;
  readonly v6: string;
}

/** The running containers of a service, on every node that is up, with their addresses on the network. */
async function tasksOf(service: string, on: readonly ClusterHost[] = hosts): Promise<Task[]> {
  const tasks: Task[] = [];
  for (const host of on) {
    const ids = (await host.dockerOk('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`))
      .split('\n')
      .filter(Boolean);
    for (const container of ids) {
      const field = (name: string) =>
        host.dockerOk('inspect', '-f', `{{(index .NetworkSettings.Networks "${NETWORK}").${name}}}`, container);
      tasks.push({ host, container, v4: await field('IPAddress'), v6: await field('GlobalIPv6Address') });
    }
  }
  return tasks;
}

async function waitForTasks(service: string, count: number, on: readonly ClusterHost[] = hosts): Promise<Task[]> {
  let tasks: Task[] = [];
  await eventually(
    `${count} tasks of ${service} running`,
    async () => {
      tasks = await tasksOf(service, on);
      return tasks.length === count;
    },
    90_000,
  );
  return tasks;
}

const ping = async (task: Task, target: string, family: 4 | 6 = 4) =>
  (await task.host.docker('exec', task.container, 'ping', `-${family}`, '-c', '1', '-W', '2', target)).code === 0;

/** The names a task's resolver gives for `name`, through Docker's embedded DNS. */
async function resolve(task: Task, name: string): Promise<string[]> {
  const out = await task.host.docker('exec', task.container, 'nslookup', name, '127.0.0.11');
  return [...out.stdout.matchAll(/^Address: (\S+)$/gm)].map((m) => m[1] ?? '').sort();
}

/** Every task reaches every other one by address, over IPv4 and IPv6, across the nodes. */
async function assertMesh(tasks: readonly Task[]): Promise<void> {
  for (const from of tasks) {
    for (const to of tasks) {
      if (from === to) continue;
      assert.ok(await ping(from, to.v4), `${from.host.name} reaches ${to.v4} on ${to.host.name}`);
      assert.ok(await ping(from, to.v6, 6), `${from.host.name} reaches ${to.v6} on ${to.host.name}`);
    }
  }
}

/** The swarm pools the manager's tether holds, with how many addresses each has taken. */
async function swarmPools(): Promise<Record<string, number>> {
  const { pools } = await manager.pluginState(DRIVER);
  return Object.fromEntries(pools.filter((p) => p.id.startsWith('global/')).map((p) => [p.pool, p.used]));
}

/** Waits until the manager's swarm pools hold the given counts; on a timeout, says what they held. */
async function poolsReach(what: string, expected: Record<string, number>): Promise<void> {
  let seen: Record<string, number> = {};
  await eventually(what, async () => {
    seen = await swarmPools();
    const sorted = (pools: Record<string, number>) => JSON.stringify(Object.entries(pools).sort());
    return sorted(seen) === sorted(expected);
  }).catch((error: Error) => {
    throw new Error(`${error.message}: pools ${JSON.stringify(seen)}`);
  });
}

const distinct = (values: readonly string[]) => new Set(values).size === values.length;

test('a swarm network on tether: created on the manager with subnet, ip-range, gateway and IPv6', async () => {
  await manager.dockerOk(
    'network',
    'create',
    '-d',
    DRIVER,
    '--ipam-driver',
    DRIVER,
    '--scope',
    'swarm',
    '--attachable',
    '--ipv6',
    '--subnet',
    SUBNET,
    '--ip-range',
    '10.230.70.128/25',
    '--gateway',
    '10.230.70.1',
    '--subnet',
    SUBNET6,
    // Swarm drops --aux-address; tether reserves these in the swarm pool instead.
    '--ipam-opt',
    `tether.aux-addresses=${AUX}`,
    '-o',
    'com.docker.network.driver.mtu=1400',
    NETWORK,
  );
  // Swarm allocates the network a moment after it answers.
  let config = '';
  await eventually('swarm allocated the network', async () => {
    config = await manager.dockerOk('network', 'inspect', '-f', '{{.Scope}} {{json .IPAM.Config}}', NETWORK);
    return !config.endsWith('null');
  });
  assert.match(config, /^swarm /);
  assert.match(config, /"Subnet":"10.230.70.0\/24","IPRange":"10.230.70.128\/25","Gateway":"10.230.70.1"/);
  assert.deepEqual(await swarmPools(), { [SUBNET]: 2, [SUBNET6]: 1 }, 'the gateways, and the reserved address');
});

test('three replicas, one per node: distinct addresses, reaching each other by address and by name', async () => {
  const started = Date.now();
  await manager.dockerOk(
    ...['service', 'create', '-d', '--no-resolve-image', '--name', 'db', '--replicas', '3'],
    ...['--replicas-max-per-node', '1', '--endpoint-mode', 'dnsrr', '--stop-grace-period', '1s'],
    ...['--network', `name=${NETWORK},driver-opt=tether.label.tier=db`, image, 'sleep', '3600'],
  );
  const tasks = await waitForTasks('db', 3);
  await eventually('every replica reaches every other one', async () => {
    for (const from of tasks) for (const to of tasks) if (!(await ping(from, to.v4))) return false;
    return true;
  });
  console.log(`# docker service create to every replica reachable: ${Date.now() - started} ms`);
  assert.deepEqual(new Set(tasks.map((t) => t.host.name)), new Set(['h1', 'h2', 'h3']), 'one task per node');
  assert.ok(distinct(tasks.map((t) => t.v4)) && distinct(tasks.map((t) => t.v6)), JSON.stringify(tasks));
  for (const task of tasks) assert.match(task.v4, /^10\.230\.70\.(1[3-9]\d|2[0-5]\d|12[89])$/, 'inside the ip-range');
  await assertMesh(tasks);
  const everyAddress = tasks.map((t) => t.v4).sort();
  for (const from of tasks) {
    await eventually(`${from.host.name} resolves tasks.db to every replica`, async () => {
      return JSON.stringify(await resolve(from, 'tasks.db')) === JSON.stringify(everyAddress);
    });
    assert.ok(await ping(from, 'db'), `${from.host.name} reaches the service by its name`);
  }
  for (const host of hosts) assert.deepEqual(await host.pluginAudit(DRIVER), [], `${host.name}'s audit`);
  // The attachment's driver option reached CreateEndpoint on every node: the endpoints carry the label.
  for (const host of hosts) {
    const { endpoints } = await host.pluginState(DRIVER);
    assert.deepEqual(
      endpoints.map((e) => e.labels),
      [{ tier: 'db' }],
      host.name,
    );
  }
  assert.deepEqual(await swarmPools(), { [SUBNET]: 5, [SUBNET6]: 4 }, 'the above, and three tasks');
});

/** The average of ten pings, in ms, from a command line that runs busybox ping. */
async function latency(ping: string[]): Promise<number> {
  const out = await must(...(ping as [string, ...string[]]), '-c', '10', '-i', '0.2');
  return Number(/= [\d.]+\/([\d.]+)\//.exec(out)?.[1]);
}

/** Where a shell command runs in a measurement: to completion, or started in the background. */
interface Side {
  run(command: string): Promise<unknown>;
  start(command: string): Promise<unknown>;
}

const taskSide = (task: Task): Side => ({
  run: (command) => task.host.dockerOk('exec', task.container, 'sh', '-c', command),
  start: (command) => task.host.dockerOk('exec', '-d', task.container, 'sh', '-c', command),
});

const hostSide = (host: ClusterHost): Side => ({
  run: (command) => host.exec('sh', '-c', command),
  start: async (command) => host.spawnIn(['sh', '-c', command]),
});

/** MB/s of 512 MiB of zeros sent through busybox nc from one side to the other, at target. */
async function throughput(from: Side, to: Side, target: string): Promise<number> {
  const MIB = 512;
  await to.start('busybox nc -l -p 5201 > /dev/null');
  await sleep(300);
  const started = performance.now();
  await from.run(`busybox dd if=/dev/zero bs=1048576 count=${MIB} 2>/dev/null | busybox nc ${target} 5201`);
  return (MIB * 1.048576) / ((performance.now() - started) / 1000);
}

test('cross-node latency and throughput over VXLAN, beside the underlay (reported)', async () => {
  const tasks = await tasksOf('db');
  const from = tasks.find((t) => t.host === manager) as Task;
  const to = tasks.find((t) => t.host === w1) as Task;
  const vxlanMs = await latency(['docker', '-H', manager.dockerHost, 'exec', from.container, 'ping', to.v4]);
  const underlayMs = await latency(['ip', 'netns', 'exec', manager.namespace, 'busybox', 'ping', w1.underlayAddress]);
  const vxlanRate = await throughput(taskSide(from), taskSide(to), to.v4);
  const underlayRate = await throughput(hostSide(manager), hostSide(w1), w1.underlayAddress);
  console.log(
    `# task to task across nodes: ping ${vxlanMs} ms (underlay ${underlayMs} ms); ${vxlanRate.toFixed(0)} MB/s ` +
      `(underlay ${underlayRate.toFixed(0)} MB/s, ratio ${(vxlanRate / underlayRate).toFixed(2)})`,
  );
  assert.ok(vxlanMs > 0 && vxlanRate > 0 && underlayRate > 0);
});

test('a global service: one task on each node, all reaching each other', async () => {
  await manager.dockerOk(
    ...['service', 'create', '-d', '--no-resolve-image', '--name', 'agent', '--mode', 'global'],
    ...['--endpoint-mode', 'dnsrr', '--stop-grace-period', '1s', '--network', NETWORK, image, 'sleep', '3600'],
  );
  const tasks = await waitForTasks('agent', 3);
  assert.deepEqual(new Set(tasks.map((t) => t.host.name)), new Set(['h1', 'h2', 'h3']));
  assert.ok(distinct(tasks.map((t) => t.v4)));
  await assertMesh(tasks);
  await manager.dockerOk('service', 'rm', 'agent');
});

test('scaling 3 -> 9 -> 0: addresses distinct while up; at 0 the pools hold only what swarm holds', async () => {
  await manager.dockerOk('service', 'update', '-d', '--replicas-max-per-node', '0', 'db');
  await manager.dockerOk('service', 'scale', '-d', 'db=9');
  const nine = await waitForTasks('db', 9);
  assert.ok(distinct(nine.map((t) => t.v4)), JSON.stringify(nine.map((t) => t.v4)));
  assert.ok(!nine.some((t) => t.v4 === AUX), 'the reserved address goes to no task');
  assert.ok(distinct(nine.map((t) => t.v6)));
  await poolsReach('nine tasks, the gateways and the reserved address', { [SUBNET]: 11, [SUBNET6]: 10 });
  await manager.dockerOk('service', 'scale', '-d', 'db=0');
  await waitForTasks('db', 0);
  await poolsReach('only the gateways and the reserved address are held', { [SUBNET]: 2, [SUBNET6]: 1 });
  await manager.dockerOk('service', 'scale', '-d', 'db=3');
  await waitForTasks('db', 3);
});

test('a standalone container on a worker reaches the tasks on other nodes; driver options are checked', async () => {
  await w1.dockerOk(
    ...['run', '-d', '--name', 'standalone', '--network', `name=${NETWORK},driver-opt=tether.label.role=client`],
    ...[IMAGE, 'sleep', '3600'],
  );
  const standalone: Task = {
    host: w1,
    container: 'standalone',
    v4: await w1.address('standalone', NETWORK),
    v6: await w1.address('standalone', NETWORK, 'GlobalIPv6Address'),
  };
  const elsewhere = (await tasksOf('db')).filter((t) => t.host !== w1);
  assert.ok(elsewhere.length > 0);
  await assertMesh([standalone, ...elsewhere]);
  assert.ok(!(await tasksOf('db')).some((t) => t.v4 === standalone.v4), "its address is no task's");
  const labels = (await w1.pluginState(DRIVER)).endpoints.map((e) => e.labels?.['role']);
  assert.ok(labels.includes('client'), JSON.stringify(labels));
  await w1.dockerOk('rm', '-f', 'standalone');
  // An unknown option fails the task, which says why; removing the service leaves nothing behind.
  await manager.dockerOk(
    ...['service', 'create', '-d', '--no-resolve-image', '--name', 'refused', '--restart-condition', 'none'],
    ...['--network', `name=${NETWORK},driver-opt=tether.colour=blue`, image, 'sleep', '3600'],
  );
  await eventually('the task fails with the reason', async () =>
    /unknown endpoint option "tether\.colour"/.test(
      await manager.dockerOk('service', 'ps', '--no-trunc', '--format', '{{.Error}}', 'refused'),
    ),
  );
  await manager.dockerOk('service', 'rm', 'refused');
});

test("the manager's dockerd restarts: other nodes' tasks keep their addresses and links; new tasks start", async () => {
  const before = (await tasksOf('db')).filter((t) => t.host !== manager);
  await manager.stopDockerd();
  await manager.startDockerd();
  await eventually('the manager leads again', async () => (await manager.docker('node', 'ls')).code === 0, 60_000);
  const after = await tasksOf('db', [w1, w2]);
  for (const task of before) {
    assert.ok(
      after.some((t) => t.container === task.container && t.v4 === task.v4),
      `${task.host.name}'s task kept ${task.v4}`,
    );
  }
  await manager.dockerOk('service', 'scale', '-d', 'db=5');
  const five = await waitForTasks('db', 5);
  assert.ok(distinct(five.map((t) => t.v4)), JSON.stringify(five.map((t) => t.v4)));
  const states = await manager.dockerOk(
    'service',
    'ps',
    'db',
    '--filter',
    'desired-state=running',
    '--format',
    '{{.CurrentState}} {{.Error}}',
  );
  assert.doesNotMatch(states, /New|Pending|already/, states);
  await assertMesh(five);
});

test('a worker killed whole: its tasks run elsewhere, connected; its addresses come back after the grace', async () => {
  const onDead = (await tasksOf('db')).filter((t) => t.host === w2);
  assert.ok(onDead.length > 0, 'the worker runs tasks');
  await w2.kill();
  const rescheduled = await waitForTasks('db', 5, [manager, w1]);
  await assertMesh(rescheduled);
  await eventually(
    "the dead worker's addresses are free again",
    async () => (await swarmPools())[SUBNET] === 2 + rescheduled.length,
    60_000,
  ).catch(async (error: Error) => {
    const running = rescheduled.map((t) => `${t.host.name}:${t.v4}`).join(' ');
    throw new Error(`${error.message}: pools ${JSON.stringify(await swarmPools())}, tasks ${running}`);
  });
  // A dead machine leaves swarm as the operator removes it; swarm then forgets its tasks.
  const dead = (await manager.dockerOk('node', 'ls', '--filter', 'role=worker', '--format', '{{.ID}} {{.Status}}'))
    .split('\n')
    .find((line) => line.endsWith(' Down'))
    ?.split(' ')[0];
  assert.ok(dead, 'swarm sees the worker down');
  await manager.dockerOk('node', 'rm', '--force', dead);
});

test('docker service rm and docker network rm free everything, on every node', async () => {
  await manager.dockerOk('service', 'rm', 'db');
  await waitForTasks('db', 0, [manager, w1]);
  await eventually('the network leaves the nodes', async () => {
    for (const host of [manager, w1]) if ((await host.pluginState(DRIVER)).networks.length > 0) return false;
    return true;
  });
  await manager.dockerOk('network', 'rm', NETWORK);
  await eventually('the pools are gone', async () => Object.keys(await swarmPools()).length === 0);
});

nothingLeftBehind(env, tearDown);
