// Networks on the host's own interfaces, with a real Docker and a real LAN
// (lan.ts): macvlan and a bridged uplink put containers on the LAN with their
// own addresses, the host shim lets the host in, the host's own interfaces are
// refused, a crash and restart keep everything, and the uplinks are untouched.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { Environment, must, nothingLeftBehind, sh, useEnvironment } from './harness.js';
import { Lan } from './lan.js';

const lan = new Lan('10.230.40');
const env = new Environment();
const MACVLAN_UPLINK = 'tteup0';
const BRIDGED_UPLINK = 'tteup1';
/** The interface of the host's default route, if it has one: listed, not marked shared, so to be refused. */
const defaultRouteLink = (
  JSON.parse(execFileSync('ip', ['-j', 'route', 'show', 'default'], { encoding: 'utf8' })) as { dev?: string }[]
)[0]?.dev;
env.tether.env = {
  TETHER_UPLINKS: [`lan=${MACVLAN_UPLINK}`, BRIDGED_UPLINK, ...(defaultRouteLink ? [defaultRouteLink] : [])].join(','),
};
const tearDown = useEnvironment(env, {
  setUp: async () => {
    await lan.create();
    await lan.addUplink(MACVLAN_UPLINK);
    await lan.addUplink(BRIDGED_UPLINK);
  },
  tearDown: () => lan.delete(),
});

/** The uplink as the kernel shows it, to prove tether left it as it was. */
const uplinkState = async (name: string) => {
  const [link] = JSON.parse(await must('ip', '-j', '-d', 'address', 'show', 'dev', name)) as Record<string, unknown>[];
  const { ifname, flags, mtu, master, address, addr_info } = link ?? {};
  const addresses = (addr_info as { local: string; prefixlen: number }[]).map((a) => `${a.local}/${a.prefixlen}`);
  return { ifname, flags, mtu, master, address, addresses };
};
const before = new Map<string, Awaited<ReturnType<typeof uplinkState>>>();
const lanNetwork = (name: string, ...options: string[]) =>
  env.network(
    name,
    '--subnet',
    lan.subnet,
    '--gateway',
    lan.router,
    '--aux-address',
    `lanhost=${lan.lanHost}`,
    ...options,
  );
const mac = (container: string, network: string) => env.address(container, network, 'MacAddress');

/** Two containers on the network reach each other, the router and the LAN host, which sees their own MACs. */
async function onTheLan(network: string, first: string, second: string): Promise<void> {
  await env.run(first, '--network', network);
  await env.run(second, '--network', network);
  const [a, b] = [await env.address(first, network), await env.address(second, network)];
  assert.ok(await env.ping(first, b), `${first} -> ${second}`);
  assert.ok(await env.ping(first, lan.lanHost), `${first} -> the LAN host`);
  assert.ok(await env.ping(second, lan.router), `${second} -> the router`);
  assert.equal(
    (await lan.tryOnLanHost('busybox', 'ping', '-c', '1', '-W', '2', a)).code,
    0,
    'the LAN host -> a container',
  );
  assert.equal(await lan.macSeenFor(a), await mac(first, network), 'the LAN host saw the container itself: no NAT');
  const routes = (await env.exec(first, 'ip', 'route')).stdout;
  assert.match(routes, new RegExp(`default via ${lan.router.replaceAll('.', '\\.')}`), 'the LAN router is the gateway');
}

test('the uplinks as they were before any network', async () => {
  for (const name of [MACVLAN_UPLINK, BRIDGED_UPLINK]) before.set(name, await uplinkState(name));
});

test('macvlan: containers are on the LAN with their own addresses', async () => {
  await lanNetwork('lan-mv', '-o', 'tether.parent=lan');
  await onTheLan('lan-mv', 'mv1', 'mv2');
  assert.deepEqual(await env.audit(), []);
  await env.dockerOk('rm', '-f', 'mv1', 'mv2');
  await env.dockerOk('network', 'rm', 'lan-mv');
});

test('the host shim lets the host reach its own macvlan containers, and survives kill -9 and a lost link', async () => {
  await lanNetwork('lan-shim', '-o', 'tether.parent=lan', '-o', 'tether.host-shim=true');
  await env.run('shim1', '--network', 'lan-shim');
  const address = await env.address('shim1', 'lan-shim');
  assert.equal((await sh('busybox', ['ping', '-c', '1', '-W', '2', address])).code, 0, 'the host -> the container');
  const [shim] = (await must('ip', '-o', 'link', 'show', 'type', 'macvlan'))
    .split('\n')
    .filter((l) => l.includes(': tte'));
  const shimName = shim?.split(': ')[1]?.split('@')[0] ?? assert.fail('no host shim');
  await env.killTether();
  await must('ip', 'link', 'del', shimName);
  assert.ok(await env.ping('shim1', lan.lanHost), 'the container keeps the LAN while tether is down');
  await env.startTether();
  assert.equal(
    (await sh('busybox', ['ping', '-c', '1', '-W', '2', address])).code,
    0,
    'the restart made the shim again',
  );
  await env.run('shim2', '--network', 'lan-shim');
  assert.ok(await env.ping('shim2', address), 'a container started after the restart');
  assert.deepEqual(await env.audit(), []);
  await env.dockerOk('rm', '-f', 'shim1', 'shim2');
  await env.dockerOk('network', 'rm', 'lan-shim');
});

test('bridged uplink: the uplink on the bridge puts veth endpoints on the LAN', async () => {
  await lanNetwork('lan-br', '-o', `tether.uplink=${BRIDGED_UPLINK}`);
  await onTheLan('lan-br', 'br1', 'br2');
  await env.killTether();
  await env.startTether();
  assert.ok(await env.ping('br1', lan.lanHost), 'after kill -9 and a restart');
  assert.deepEqual(await env.audit(), []);
  await env.dockerOk('rm', '-f', 'br1', 'br2');
  await env.dockerOk('network', 'rm', 'lan-br');
});

test("interfaces not allowed, and the host's own, are refused with the reason", async (t) => {
  const refused = async (parent: string) => {
    const result = await env.docker(
      'network',
      'create',
      '-d',
      env.driver,
      '--ipam-driver',
      env.driver,
      '--subnet',
      '10.230.42.0/24',
      '-o',
      `tether.parent=${parent}`,
      'refused',
    );
    assert.notEqual(result.code, 0);
    return result.stderr;
  };
  assert.match(await refused('eth9'), /interface eth9 is not one of this host's uplinks .*it allows lan, tteup1/);
  if (!defaultRouteLink) return t.skip('this host has no default route to refuse');
  assert.match(await refused(defaultRouteLink), /carries the host's default route/);
  assert.equal((await env.docker('network', 'inspect', 'refused')).code, 1, 'no network was made');
});

test('VLAN tags: a sub-interface made and removed with the network', async (t) => {
  const probe = await sh('ip', ['link', 'add', 'link', MACVLAN_UPLINK, 'name', 'tteprobe', 'type', 'vlan', 'id', '99']);
  if (probe.code !== 0) return t.skip(`this kernel cannot make 802.1q sub-interfaces: ${probe.stderr.trim()}`);
  await must('ip', 'link', 'del', 'tteprobe');
  await lanNetwork('lan-vlan', '-o', 'tether.parent=lan', '-o', 'tether.vlan=10');
  await env.run('vlan1', '--network', 'lan-vlan');
  assert.match(await must('ip', '-d', 'link', 'show', `${MACVLAN_UPLINK}.10`), /vlan protocol 802.1Q id 10/);
  await env.dockerOk('rm', '-f', 'vlan1');
  await env.dockerOk('network', 'rm', 'lan-vlan');
  assert.notEqual((await sh('ip', ['link', 'show', `${MACVLAN_UPLINK}.10`])).code, 0);
});

test('tether status and doctor show each allowed uplink and what keeps networks off it', async () => {
  const status = JSON.parse((await env.tether.cli('status', '--json')).stdout) as {
    uplinks: { name: string; iface: string; problem?: string }[];
  };
  const byName = new Map(status.uplinks.map((u) => [u.name, u]));
  assert.deepEqual(byName.get('lan'), { name: 'lan', iface: MACVLAN_UPLINK, shared: false, networks: [], vlans: [] });
  const findings = JSON.parse((await env.tether.cli('doctor', '--json')).stdout) as { check: string; ok: boolean }[];
  assert.ok(findings.find((f) => f.check === 'uplink lan')?.ok);
  assert.ok(findings.find((f) => f.check === 'kernel macvlan')?.ok);
  if (!defaultRouteLink) return;
  assert.match(byName.get(defaultRouteLink)?.problem ?? '', /default route/);
  assert.equal(findings.find((f) => f.check === `uplink ${defaultRouteLink}`)?.ok, false);
});

test('the uplinks are as they were', async () => {
  for (const name of [MACVLAN_UPLINK, BRIDGED_UPLINK])
    assert.deepEqual(await uplinkState(name), before.get(name), name);
});

nothingLeftBehind(env, tearDown);
