// The torture suite: garbage on the socket, many containers at once, and
// kill -9 at random moments. Each ends with the audit: Docker, the store and
// the kernel must agree exactly, with nothing leaked and nothing duplicated.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Environment,
  FUZZ_PREFIX,
  IMAGE,
  must,
  nothingLeftBehind,
  pluginCall,
  Tether,
  useEnvironment,
} from './harness.js';

const env = new Environment();

/** mulberry32: a small seeded generator, so that a failing run can be replayed exactly. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const METHODS = [
  'Plugin.Activate',
  'NetworkDriver.GetCapabilities',
  'NetworkDriver.CreateNetwork',
  'NetworkDriver.DeleteNetwork',
  'NetworkDriver.AllocateNetwork',
  'NetworkDriver.FreeNetwork',
  'NetworkDriver.CreateEndpoint',
  'NetworkDriver.EndpointOperInfo',
  'NetworkDriver.DeleteEndpoint',
  'NetworkDriver.Join',
  'NetworkDriver.Leave',
  'NetworkDriver.ProgramExternalConnectivity',
  'NetworkDriver.RevokeExternalConnectivity',
  'NetworkDriver.DiscoverNew',
  'NetworkDriver.DiscoverDelete',
  'NetworkDriver.GwAllocCheck',
  'IpamDriver.GetCapabilities',
  'IpamDriver.GetDefaultAddressSpaces',
  'IpamDriver.RequestPool',
  'IpamDriver.ReleasePool',
  'IpamDriver.RequestAddress',
  'IpamDriver.ReleaseAddress',
  'NetworkDriver.Nonexistent',
  'Plugin.Deactivate',
];

function fuzzer(seed: number) {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const hostile = [
    '',
    ' ',
    '$(reboot)',
    '`id`',
    '; rm -rf /',
    'a\u0000b',
    '../../etc/passwd',
    'x'.repeat(70),
    '\u202e',
    '%s%n',
    'eth0',
    'lo',
    '-j ACCEPT',
    'tte"quote',
    '\n-A FORWARD -j ACCEPT',
  ];
  const ids = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64), '0123456789abcdef'.repeat(4), 'abc'];
  const cidrs = [
    '10.230.200.0/24',
    '10.230.200.0/25',
    '10.230.200.128/25',
    '10.230.201.0/30',
    '10.230.200.1/24',
    '0.0.0.0/0',
    '10.230.202.0/33',
    '300.1.1.0/24',
    'fd7e:7e7e:200::/64',
    'fd7e:7e7e:200::/120',
    'fd7e:7e7e:200::1/64',
    '::/0',
    'garbage',
    '',
  ];
  const addresses = [
    '10.230.200.5',
    '10.230.200.0',
    '10.230.200.255',
    '10.230.201.2',
    '10.230.250.1',
    'fd7e:7e7e:200::5',
    '1.2.3',
    '',
  ];
  const value = (depth = 0): unknown => {
    switch (Math.floor(next() * (depth > 2 ? 5 : 7))) {
      case 0:
        return pick(hostile);
      case 1:
        return Math.floor(next() * 2 ** 40) * (next() < 0.5 ? -1 : 1);
      case 2:
        return next() < 0.5;
      case 3:
        return null;
      case 4:
        return pick([...cidrs, ...addresses, ...ids]);
      case 5:
        return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: Math.floor(next() * 4) }, () => [pick(hostile), value(depth + 1)]),
        );
    }
  };
  const plausible = (): Record<string, unknown> => ({
    NetworkID: pick(ids),
    EndpointID: pick(ids),
    PoolID: pick([`local/${pick(cidrs)}`, pick(hostile)]),
    AddressSpace: pick(['local', 'global', ...hostile]),
    Pool: pick(cidrs),
    SubPool: pick(cidrs),
    V6: next() < 0.3,
    Address: pick(addresses),
    Options: pick([
      {},
      null,
      { 'com.docker.network.generic': { [pick(['mtu', 'bridge', ...hostile])]: pick(hostile) } },
      { RequestAddressType: pick(['com.docker.network.gateway', ...hostile]) },
      value(),
    ]),
    IPv4Data: pick([[], null, [{ AddressSpace: 'local', Pool: pick(cidrs), Gateway: pick(cidrs) }], value()]),
    IPv6Data: pick([[], null, value()]),
    Interface: pick([
      { Address: pick(cidrs), AddressIPv6: '', MacAddress: pick(['', '02:00:00:00:00:01', ...hostile]) },
      null,
      value(),
    ]),
    SandboxKey: pick(['/var/run/docker/netns/x', ...hostile]),
    DiscoveryType: pick([1, 2, 'x']),
    DiscoveryData: value(),
  });
  return (): { method: string; body: Buffer | string } => {
    const method = pick(METHODS);
    const kind = next();
    if (kind < 0.15) return { method, body: randomBytes(Math.floor(next() * 300)) };
    if (kind < 0.3) return { method, body: JSON.stringify(value()) };
    if (kind < 0.35) return { method, body: JSON.stringify(value()).slice(0, -1) };
    const body = plausible();
    for (const key of Object.keys(body)) if (next() < 0.3) delete body[key];
    if (next() < 0.3) body[pick(Object.keys(body).length ? Object.keys(body) : ['x'])] = value();
    return { method, body: JSON.stringify(body) };
  };
}

describe('torture', { concurrency: false }, () => {
  const tearDown = useEnvironment(env);

  test('fuzz: thousands of random, malformed and hostile requests, each answered in JSON; nothing leaks', async () => {
    const tether = new Tether(env.work, 'tetherfuzz', FUZZ_PREFIX);
    await tether.start();
    try {
      const next = fuzzer(20261125);
      const statuses = new Map<number, number>();
      for (let i = 0; i < 3000; i++) {
        const { method, body } = next();
        const response = await pluginCall(tether.socket, method, body);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const parsed: unknown = JSON.parse(response.body);
        assert.equal(typeof parsed, 'object', `${method} answered ${response.body}`);
        if (response.status !== 200)
          assert.equal(typeof (parsed as { Err?: unknown }).Err, 'string', `${method}: ${response.body}`);
      }
      // A 2 MiB body is refused at the 1 MiB limit: with a 413, or, when the refusal closes the
      // connection while the body is still being written, with a broken pipe. Either way tether lives on.
      for (let i = 0; i < 3; i++) {
        const huge = await pluginCall(tether.socket, 'NetworkDriver.CreateNetwork', 'x'.repeat(2 * 1024 * 1024)).catch(
          (error: NodeJS.ErrnoException) => ({ status: error.code ?? 'error', body: '{"Err":"closed"}' }),
        );
        assert.ok(huge.status === 413 || huge.status === 'EPIPE' || huge.status === 'ECONNRESET', String(huge.status));
        assert.equal((await pluginCall(tether.socket, 'Plugin.Activate')).status, 200);
      }
      assert.ok(tether.running, 'tether is still alive');
      assert.ok((statuses.get(200) ?? 0) > 100, `some requests were valid: ${JSON.stringify([...statuses])}`);
      assert.deepEqual(await tether.audit(), [], 'the audit is clean after the fuzz');

      // Undo whatever the valid requests built, through the protocol, and nothing may remain.
      const state = await tether.state();
      for (const e of state.endpoints) {
        assert.equal(
          (
            await pluginCall(
              tether.socket,
              'NetworkDriver.DeleteEndpoint',
              JSON.stringify({ NetworkID: e.networkId, EndpointID: e.id }),
            )
          ).status,
          200,
        );
      }
      for (const n of state.networks) {
        assert.equal(
          (await pluginCall(tether.socket, 'NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: n.id }))).status,
          200,
        );
      }
      for (const p of state.pools) {
        for (let i = 0; i < p.refs; i++)
          await pluginCall(tether.socket, 'IpamDriver.ReleasePool', JSON.stringify({ PoolID: p.id }));
      }
      const links = await must('ip', '-o', 'link', 'show');
      assert.doesNotMatch(links, new RegExp(`: ${FUZZ_PREFIX}`), 'no interface left');
      assert.deepEqual(await tether.audit(), []);
    } finally {
      await tether.stop();
    }
  });

  test('50 containers started at once on a /24 get 50 distinct addresses; removed at once, all free', async (t) => {
    await env.network('crowd', '--subnet', '10.230.20.0/24');
    const names = Array.from({ length: 50 }, (_, i) => `crowd-${i}`);
    const started = await Promise.all(
      names.map((name) => env.docker('run', '-d', '--name', name, '--net', 'crowd', IMAGE, 'sleep', '3600')),
    );
    assert.deepEqual(
      started.filter((r) => r.code !== 0).map((r) => r.stderr),
      [],
    );
    const addresses = await Promise.all(names.map((name) => env.address(name, 'crowd')));
    assert.equal(new Set(addresses).size, 50, 'no duplicate address');
    assert.deepEqual(await env.audit(), []);
    const removed = await Promise.all(names.map((name) => env.docker('rm', '-f', name)));
    assert.deepEqual(
      removed.filter((r) => r.code !== 0).map((r) => r.stderr),
      [],
    );
    assert.deepEqual(await env.audit(), []);
    const { pools } = await env.tether.state();
    assert.equal(pools.find((p) => p.id === 'local/10.230.20.0/24')?.used, 1, 'only the gateway is left');
    // Every endpoint Docker made, tether was asked to delete, and deleted.
    const calls = (call: string) => env.tether.log.split('\n').filter((l) => l.includes(`"call":"${call}"`)).length;
    assert.equal(calls('NetworkDriver.DeleteEndpoint'), calls('NetworkDriver.CreateEndpoint'));
    assert.doesNotMatch(env.tether.log, /"msg":"call failed"/);
    let rm = await env.docker('network', 'rm', 'crowd');
    if (rm.code !== 0 && /active endpoints/.test(rm.stderr)) {
      // Docker 20.10's own count of a network's endpoints races with itself under concurrent starts
      // and removals (libnetwork endpoint_cnt.go updates a shared object outside its lock), and can stay
      // above zero with no endpoint left, as here: Docker lists none. Docker corrects the count when it
      // starts (cleanupLocalEndpoints), so a restart of dockerd is the remedy, as it is for users.
      const listed = await env.dockerOk('network', 'inspect', '-f', '{{len .Containers}}', 'crowd');
      assert.equal(listed, '0', `Docker still lists endpoints on crowd: ${rm.stderr}`);
      t.diagnostic("Docker's endpoint count of crowd stayed above zero with none listed: dockerd restarted");
      await env.restartDockerd();
      rm = await env.docker('network', 'rm', 'crowd');
    }
    assert.equal(rm.code, 0, rm.stderr);
  });

  test('crash loop: kill -9 at random while containers start and stop; then all three views agree', async () => {
    await env.network('chaos', '--subnet', '10.230.21.0/24');
    const next = random(7);
    let running = true;
    let failures = 0;
    const churn = async (worker: number) => {
      for (let i = 0; running; i++) {
        const name = `chaos-${worker}-${i}`;
        const result = await env.docker('run', '-d', '--name', name, '--net', 'chaos', IMAGE, 'sleep', '3600');
        if (result.code !== 0) failures++;
        if (i % 2 === 1) await env.docker('rm', '-f', `chaos-${worker}-${i - 1}`);
      }
    };
    const workers = [churn(0), churn(1)];
    for (let kill = 0; kill < 8; kill++) {
      await sleep(300 + next() * 1500);
      await env.killTether();
      await sleep(next() * 400);
      await env.startTether();
    }
    running = false;
    await Promise.all(workers);
    // What a crash left half-done (an address requested but never bound, an endpoint Docker dropped
    // after its retry arrived with an empty body) is freed after the orphan grace, 15 s in the tests.
    const problems = await env.settledAudit();
    assert.deepEqual(problems, [], `after 8 crashes (${failures} docker run failures along the way)`);
    const ids = (await env.docker('ps', '-aq', '--filter', 'name=chaos-')).stdout.split('\n').filter(Boolean);
    const addresses = await Promise.all(ids.map((id) => env.address(id, 'chaos').catch(() => '')));
    const live = addresses.filter(Boolean);
    assert.equal(new Set(live).size, live.length, 'no address handed out twice');
    if (ids.length) await env.dockerOk('rm', '-f', ...ids);
    assert.deepEqual(await env.audit(), []);
    await env.dockerOk('network', 'rm', 'chaos');
  });

  nothingLeftBehind(env, tearDown);
});
