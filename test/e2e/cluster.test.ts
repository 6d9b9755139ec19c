// Cluster mode end to end: three (then four) Docker hosts in namespaces on one
// underlay, a three-member etcd, one tether network spanning them over VXLAN.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { clusterView } from '../../src/operator/contract.js';
import { launchChromium, screenshot } from './browser.js';
import { ClusterHost, eventually, Underlay } from './cluster-harness.js';
import { Environment, IMAGE, networkCreate, nothingLeftBehind, useEnvironment } from './harness.js';
import { Lan } from './lan.js';

const env = new Environment();
const underlay = new Underlay(env.work);
const hosts = [1, 2, 3].map((i) => new ClusterHost(env, underlay, i));
const late = new ClusterHost(env, underlay, 4);
const NETWORK = 'web';
/** A LAN all three hosts have an interface on, named differently on each: one logical uplink, "data". */
const lan = new Lan('10.230.44');
const LAN_NICS = ['eth1', 'ens4', 'lan3'];
for (const [i, host] of hosts.entries()) host.tether.env = { TETHER_UPLINKS: `data=${LAN_NICS[i]}` };
/** h1's dashboard, on loopback in h1's namespace, where the test's browser runs too. */
const DASHBOARD = 'http://127.0.0.1:9180';
if (hosts[0]) hosts[0].tether.env['TETHER_UI_ADDR'] = '127.0.0.1:9180';
let browser: Browser | undefined;

const tearDown = useEnvironment(env, {
  async setUp() {
    await underlay.create();
    await Promise.all(hosts.map((h) => h.start()));
    await lan.create();
    for (const [i, host] of hosts.entries()) await lan.addUplink(LAN_NICS[i] ?? '', host.namespace);
  },
  async tearDown() {
    await browser?.close();
    for (const host of [...hosts, late]) await host.stop();
    await lan.delete();
    await underlay.delete();
  },
});

const [h1, h2, h3] = hosts as [ClusterHost, ClusterHost, ClusterHost];

const hasNetwork = async (host: ClusterHost) => (await host.docker('network', 'inspect', NETWORK)).code === 0;
const ping = async (host: ClusterHost, container: string, address: string, family: 4 | 6 = 4) =>
  (await host.docker('exec', container, 'ping', `-${family}`, '-c', '1', '-W', '2', address)).code === 0;

/** The cluster network's VXLAN device on a host. */
async function vxlanDevice(host: ClusterHost): Promise<string | undefined> {
  return (JSON.parse(await host.exec('ip', '-json', 'link', 'show', 'type', 'vxlan')) as { ifname: string }[])[0]
    ?.ifname;
}

/** The MACs in the FDB of the VXLAN device, each sent to a tunnel address. */
async function fdbMacs(host: ClusterHost): Promise<string[]> {
  const device = await vxlanDevice(host);
  if (!device) return [];
  const entries = JSON.parse(await host.exec('bridge', '-json', 'fdb', 'show', 'dev', device)) as {
    mac: string;
    dst?: string;
  }[];
  return entries.filter((e) => e.dst).map((e) => e.mac);
}

/** The addresses the VXLAN device answers ARP and ND for. */
async function neighbours(host: ClusterHost): Promise<string[]> {
  const device = await vxlanDevice(host);
  if (!device) return [];
  return (JSON.parse(await host.exec('ip', '-json', 'neigh', 'show', 'dev', device)) as { dst: string }[]).map(
    (n) => n.dst,
  );
}

test('a network created on one host appears on every host', async () => {
  await h1.dockerOk(
    ...networkCreate(env.driver),
    '--ipv6',
    '--subnet',
    '10.230.60.0/24',
    '--subnet',
    'fd7e:7e7e:60::/64',
    '-o',
    `tether.cluster=${NETWORK}`,
    NETWORK,
  );
  for (const host of [h2, h3]) await eventually(`${host.name} has the network`, () => hasNetwork(host));
  const subnets = await h3.dockerOk('network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', NETWORK);
  assert.equal(subnets, '10.230.60.0/24 fd7e:7e7e:60::/64');
});

const containers = new Map<string, { host: ClusterHost; v4: string; v6: string; mac: string }>();

test('containers on three hosts reach each other over IPv4 and IPv6, through their own gateways', async () => {
  for (const host of hosts) {
    const name = `c${host.index}`;
    await host.run(name, NETWORK);
    containers.set(name, {
      host,
      v4: await host.address(name, NETWORK),
      v6: await host.address(name, NETWORK, 'GlobalIPv6Address'),
      mac: await host.address(name, NETWORK, 'MacAddress'),
    });
  }
  assert.equal(new Set([...containers.values()].map((c) => c.v4)).size, 3);
  for (const [from, { host }] of containers) {
    for (const [to, target] of containers) {
      if (from === to) continue;
      assert.ok(await ping(host, from, target.v4), `${from} -> ${to} ${target.v4}`);
      assert.ok(await ping(host, from, target.v6, 6), `${from} -> ${to} ${target.v6}`);
    }
  }
  // The gateway answers on each host's own bridge, and the MTU leaves room for VXLAN.
  assert.match(await h2.dockerOk('exec', 'c2', 'ip', 'route'), /default via 10\.230\.60\.1/);
  assert.ok(await ping(h2, 'c2', '10.230.60.1'));
  const bridgeMac = (
    JSON.parse(await h2.exec('ip', '-json', 'link', 'show', 'type', 'bridge')) as { address: string }[]
  )[0]?.address;
  assert.match(
    await h2.dockerOk('exec', 'c2', 'ip', 'neigh', 'show', '10.230.60.1'),
    new RegExp(`lladdr ${bridgeMac}`),
    "the gateway is h2's own bridge",
  );
  assert.match(await h2.dockerOk('exec', 'c2', 'ip', 'link', 'show', 'eth0'), /mtu 1450/);
  // Only known hosts are in the FDB: no all-zero flooding entry.
  assert.ok(!(await fdbMacs(h1)).includes('00:00:00:00:00:00'));
});

test('policies across hosts: three tiers on three hosts, each path open only as the policies say', async () => {
  await h1.dockerOk(
    ...networkCreate(env.driver),
    ...['--ipv6', '--subnet', '10.230.62.0/24', '--subnet', 'fd7e:7e7e:62::/64'],
    ...['-o', 'tether.cluster=tiers', '-o', 'tether.policy=deny', 'tiers'],
  );
  const serve = `for p in 8080 9090 5432; do nc -ll -p $p -e echo $(hostname)-$p & done; exec sleep 3600`;
  const tiers = [
    [h1, 'web', ['--network', 'name=tiers,driver-opt=tether.label.role=web']],
    [h2, 'api', ['--network', 'tiers', '--label', 'tether.label.role=api']],
    [h3, 'db', ['--network', 'tiers', '--label', 'org.projectcalico.label.role=db']],
  ] as const;
  const where = new Map<string, { host: ClusterHost; v4: string; v6: string }>();
  for (const [host, name, options] of tiers) {
    await eventually(
      `${host.name} has tiers`,
      async () => (await host.docker('network', 'inspect', 'tiers')).code === 0,
    );
    await host.dockerOk('run', '-d', '--name', name, '--hostname', name, ...options, IMAGE, 'sh', '-c', serve);
    const field = (f: string) => host.dockerOk('inspect', '-f', `{{.NetworkSettings.Networks.tiers.${f}}}`, name);
    where.set(name, { host, v4: await field('IPAddress'), v6: await field('GlobalIPv6Address') });
  }
  for (const args of [
    ['web-to-api', '--select', 'role=api', '--from', 'role=web', '--port', 'tcp/8080'],
    ['api-to-db', '--select', 'role=db', '--from', 'role=api', '--port', 'tcp/5432'],
  ]) {
    const added = await h1.tether.cli('policy', 'add', ...args, '--network', 'tiers');
    assert.equal(added.code, 0, added.stderr);
  }
  const reaches = async (from: string, to: string, port: number, family: 4 | 6 = 4) => {
    const source = where.get(from);
    const target = where.get(to);
    if (!source || !target) throw new Error(`no ${from} or ${to}`);
    const address = family === 4 ? target.v4 : target.v6;
    const out = await source.host.docker('exec', from, 'nc', '-w', '1', address, String(port));
    return out.stdout.includes(`${to}-${port}`);
  };
  // The other hosts learn the policies and labels through etcd.
  await eventually('web reaches api on 8080 across hosts', () => reaches('web', 'api', 8080));
  await eventually('api reaches db on 5432 across hosts', () => reaches('api', 'db', 5432));
  assert.ok(!(await reaches('web', 'api', 9090)), 'web -> api on 9090');
  assert.ok(!(await reaches('web', 'db', 5432)), 'web -> db');
  assert.ok(!(await reaches('db', 'web', 8080)), 'db -> web');
  assert.ok(await reaches('api', 'db', 5432, 6), 'IPv6 api -> db');
  assert.ok(!(await reaches('web', 'db', 5432, 6)), 'IPv6 web -> db');
  const verdict = await h2.tether.cli('policy', 'test', 'web', 'api', 'tcp/8080');
  assert.equal(verdict.stdout.trim(), 'allowed: policy web-to-api lets it in', verdict.stderr);
  for (const host of hosts) assert.deepEqual(await host.audit(), [], host.name);
  for (const [host, name] of tiers) await host.dockerOk('rm', '-f', name);
  for (const name of ['web-to-api', 'api-to-db']) assert.equal((await h3.tether.cli('policy', 'rm', name)).code, 0);
  await h1.dockerOk('network', 'rm', 'tiers');
  for (const host of [h2, h3]) {
    await eventually(
      `tiers leaves ${host.name}`,
      async () => (await host.docker('network', 'inspect', 'tiers')).code !== 0,
    );
  }
});

test('20 concurrent starts on each host give 60 distinct addresses', async () => {
  const names = (host: ClusterHost) => Array.from({ length: 20 }, (_, i) => `burst${host.index}-${i}`);
  try {
    const started = await Promise.all(
      hosts.flatMap((host) =>
        names(host).map((name) =>
          host.dockerOk('run', '-d', '--network', NETWORK, '--name', name, IMAGE, 'sleep', '3600'),
        ),
      ),
    );
    assert.equal(started.length, 60);
    const addresses = await Promise.all(
      hosts.flatMap((host) => names(host).map((name) => host.address(name, NETWORK))),
    );
    const all = [...addresses, ...[...containers.values()].map((c) => c.v4)];
    assert.equal(new Set(all).size, 63, "every address distinct, the first three containers' included");
  } finally {
    // Whatever happened, the burst goes, so that the tests after this one count from a known state.
    await Promise.all(hosts.map((host) => host.docker('rm', '-f', ...names(host))));
  }
});

test('a macvlan network on a LAN spans the hosts with no tunnel: distinct addresses, one L2', async () => {
  const ON_LAN = 'lan';
  await h1.dockerOk(
    ...networkCreate(env.driver),
    ...['--subnet', lan.subnet, '--gateway', lan.router, '--aux-address', `lanhost=${lan.lanHost}`],
    ...['-o', `tether.cluster=${ON_LAN}`, '-o', 'tether.parent=data'],
    ON_LAN,
  );
  for (const host of [h2, h3]) {
    await eventually(
      `${host.name} has the LAN network`,
      async () => (await host.docker('network', 'inspect', ON_LAN)).code === 0,
    );
  }
  const vxlans = await h2.exec('ip', '-o', 'link', 'show', 'type', 'vxlan');
  const names = (host: ClusterHost) => Array.from({ length: 6 }, (_, i) => `lan${host.index}-${i}`);
  try {
    await Promise.all([h1, h2].flatMap((host) => names(host).map((name) => host.run(name, ON_LAN))));
    const addresses = await Promise.all(
      [h1, h2].flatMap((host) => names(host).map((name) => host.address(name, ON_LAN))),
    );
    assert.equal(new Set(addresses).size, 12, `distinct addresses on two hosts: ${addresses.join(' ')}`);
    const onH2 = await h2.address('lan2-0', ON_LAN);
    assert.ok(await ping(h1, 'lan1-0', onH2), 'h1 -> h2 across the LAN');
    assert.ok(await ping(h2, 'lan2-0', lan.lanHost), 'h2 -> the LAN host');
    assert.equal(await lan.macSeenFor(onH2), await h2.address('lan2-0', ON_LAN, 'MacAddress'));
    assert.equal(await h2.exec('ip', '-o', 'link', 'show', 'type', 'vxlan'), vxlans, 'no VXLAN device for it');
    assert.match(await h3.exec('ip', '-o', 'link', 'show', 'lan3'), /state UP/);
  } finally {
    await Promise.all([h1, h2].map((host) => host.docker('rm', '-f', ...names(host))));
    await h1.docker('network', 'rm', ON_LAN);
  }
  for (const host of [h2, h3]) {
    await eventually(
      `${host.name} dropped the LAN network`,
      async () => (await host.docker('network', 'inspect', ON_LAN)).code !== 0,
    );
  }
});

let page: Page;

test("h1's dashboard shows every host, and the containers of the others with their addresses", async () => {
  browser = await launchChromium(env.work, h1.namespace);
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(DASHBOARD);
  for (const host of hosts) await page.locator(`tr[data-host=${host.name}][data-state]`).waitFor();
  assert.equal(await page.locator('tr[data-host=h1]').getAttribute('data-state'), 'this host');
  assert.equal(await page.locator('tr[data-host=h3]').getAttribute('data-state'), 'alive');
  const c2 = page.locator('tr[data-container=c2]');
  await c2.waitFor();
  assert.match(await c2.innerText(), new RegExp(`h2\\s+${NETWORK}\\s+${containers.get('c2')?.v4}`));
  assert.match(await page.locator(`tr[data-network=${NETWORK}]`).innerText(), /cluster/);
  await screenshot(page, '6-cluster');
});

test("a dead host leaves the others' tunnels at once and gives its addresses back after the grace period", async () => {
  const dead = containers.get('c3');
  assert.ok(dead);
  const usedBefore = (await h1.tether.state()).pools.find((p) => p.id.includes('10.230.60.0'))?.used ?? 0;
  await eventually('h1 has c3 in its FDB', async () => (await fdbMacs(h1)).includes(dead.mac));
  await h3.kill();
  const killedAt = Date.now();
  // Dead from the end of its lease (3 s) until the grace period ends (8 s later): the page says so.
  const shownDead = page
    .locator('tr[data-host=h3][data-state=dead]')
    .waitFor({ timeout: 10_000 })
    .then(() => screenshot(page, '7-cluster-host-dead'))
    .then(
      () => undefined,
      (error: Error) => error,
    );
  assert.ok((await neighbours(h1)).includes(dead.v4) && (await neighbours(h1)).includes(dead.v6));
  await eventually(
    "c3 left h1's and h2's FDB and neighbours",
    async () =>
      !(await fdbMacs(h1)).includes(dead.mac) &&
      !(await fdbMacs(h2)).includes(dead.mac) &&
      !(await neighbours(h1)).includes(dead.v4) &&
      !(await neighbours(h2)).includes(dead.v6),
    15_000,
  );
  await eventually(
    "c3's address is free",
    async () =>
      ((await h1.tether.state()).pools.find((p) => p.id.includes('10.230.60.0'))?.used ?? 0) === usedBefore - 1,
    30_000,
  );
  assert.ok(Date.now() - killedAt >= 8_000, 'not before the grace period');
  assert.equal(await shownDead, undefined, 'the dashboard showed h3 dead');
  await page.locator('tr[data-host=h3]').waitFor({ state: 'detached', timeout: 5_000 });
  await h1.run('heir', NETWORK, '--ip', dead.v4);
  assert.ok(await ping(h2, 'c2', dead.v4), 'the address works again, on another host');
});

test('a new host gets the existing networks by itself and joins the overlay', async () => {
  await late.start();
  await eventually('h4 has the network', () => hasNetwork(late));
  await late.run('c4', NETWORK);
  assert.ok(await ping(late, 'c4', containers.get('c1')?.v4 ?? ''));
  assert.ok(await ping(h1, 'c1', await late.address('c4', NETWORK)));
  const view = await h1.tether.cli('cluster', 'ls', '--json');
  const cluster = clusterView.parse(JSON.parse(view.stdout));
  assert.ok(cluster.enabled);
  assert.deepEqual(cluster.hosts.map((h) => h.host).sort(), ['h1', 'h2', 'h4'], 'the dead host is not listed');
  assert.equal(cluster.networks[0]?.name, NETWORK);
  assert.equal(cluster.networks[0]?.endpoints['h4'], 1);
  assert.equal(cluster.networks[0]?.endpoints['h3'], undefined);
});

test('a tether killed and restarted on one host keeps its containers connected and publishes new ones', async () => {
  await h2.tether.kill();
  assert.ok(await ping(h1, 'c1', containers.get('c2')?.v4 ?? ''), 'the kernel keeps carrying c2 while tether is down');
  await h2.tether.start();
  await h2.run('after-restart', NETWORK);
  const address = await h2.address('after-restart', NETWORK);
  await eventually('c1 reaches the container started after the restart', () => ping(h1, 'c1', address), 15_000);
  assert.ok(await ping(h2, 'after-restart', containers.get('c1')?.v4 ?? ''));
});

test('with one etcd member down everything works', async () => {
  await underlay.killEtcd(0);
  try {
    await h2.run('during-member-loss', NETWORK);
    const address = await h2.address('during-member-loss', NETWORK);
    await eventually('c1 reaches the new container', () => ping(h1, 'c1', address), 15_000);
  } finally {
    await underlay.startEtcd(0);
  }
});

test('etcd unreachable: new work fails clearly, running containers keep talking, tether catches up', async () => {
  await eventually('etcd is whole again', () => underlay.healthy());
  for (const member of [0, 1, 2]) await underlay.killEtcd(member);
  try {
    const refused = await h1.docker(
      'run',
      '-d',
      '--name',
      'during-outage',
      '--network',
      NETWORK,
      IMAGE,
      'sleep',
      '3600',
    );
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /cluster store \(etcd\)/);
    assert.ok(await ping(h1, 'c1', containers.get('c2')?.v4 ?? ''), 'c1 still reaches c2');
  } finally {
    await Promise.all([0, 1, 2].map((member) => underlay.startEtcd(member)));
  }
  await h1.docker('rm', '-f', 'during-outage');
  await eventually(
    'a container starts again',
    async () => {
      const run = await h1.docker('run', '-d', '--name', 'after-outage', '--network', NETWORK, IMAGE, 'sleep', '3600');
      if (run.code === 0) return true;
      await h1.docker('rm', '-f', 'after-outage');
      return false;
    },
    60_000,
  );
  const address = await h1.address('after-outage', NETWORK);
  await eventually('c2 reaches the container started after the outage', () => ping(h2, 'c2', address), 20_000);
});

test('a host cut off past the grace claims back, when it returns, the addresses nobody took meanwhile', async () => {
  const c2 = containers.get('c2');
  assert.ok(c2);
  const used = async () => (await h1.tether.state()).pools.find((p) => p.id.includes('10.230.60.0'))?.used ?? 0;
  const usedBefore = await used();
  const onH2 = (await h2.dockerOk('ps', '-q')).split('\n').filter(Boolean).length;
  await h2.setLinked(false);
  try {
    await eventually("h1 gave back h2's addresses", async () => (await used()) === usedBefore - onH2, 40_000);
    assert.ok(!(await fdbMacs(h1)).includes(c2.mac), 'h1 no longer tunnels to c2');
  } finally {
    await h2.setLinked(true);
  }
  await eventually('h2 holds its addresses again', async () => (await used()) === usedBefore, 60_000);
  const duplicate = await h1.docker(
    'run',
    '-d',
    '--name',
    'duplicate',
    '--network',
    NETWORK,
    '--ip',
    c2.v4,
    IMAGE,
    'sleep',
    '3600',
  );
  await h1.docker('rm', '-f', 'duplicate');
  assert.notEqual(duplicate.code, 0, "c2's address is h2's again");
  assert.match(duplicate.stderr, /already in use/);
  await eventually('c1 reaches c2 again', () => ping(h1, 'c1', c2.v4), 20_000);
  assert.deepEqual(await h2.audit(), []);
});

test("every host's audit is clean past the orphan grace: no host frees or counts another's addresses", async () => {
  await sleep(6_000); // the hosts run with --orphan-grace 5; the late one started well before
  for (const host of [h1, h2, late]) assert.deepEqual(await host.audit(), [], host.name);
  const running = (
    await Promise.all(
      [h1, h2, late].map(async (h) => (await h.dockerOk('ps', '-q')).split('\n').filter(Boolean).length),
    )
  ).reduce((a, b) => a + b, 0);
  const pool = (await h1.tether.state()).pools.find((p) => p.id.includes('10.230.60.0'));
  // Each pool entry counts every host's addresses: the running containers' and the shared gateway.
  assert.equal(pool?.used, running + 1);
});

nothingLeftBehind(env, tearDown);

test('no namespace, cgroup or per-host file of the cluster is left', () => {
  assert.equal(
    existsSync('/etc/netns') && readdirSync('/etc/netns').length === 0,
    false,
    'no empty /etc/netns made by the run',
  );
  for (const host of [...hosts, late]) {
    assert.ok(!existsSync(`/etc/netns/${host.namespace}`), host.namespace);
    assert.ok(!readdirSync('/sys/fs/cgroup/pids').includes(host.namespace), `cgroup ${host.namespace}`);
  }
});
