// Policies on one host, with real containers: three tiers on a deny network,
// labelled by driver option and by container label, probed with TCP
// connections between the containers, over IPv4 and IPv6.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tableFor } from '../../src/policy/nft-script.js';
import { test } from './engine.js';
import { Environment, IMAGE, must, nothingLeftBehind, useEnvironment } from './harness.js';

const env = new Environment();
const tearDown = useEnvironment(env);
const NETWORK = 'tiers';
const TABLE = tableFor(env.driver);

/** A container serving TCP on 8080, 9090 and 5432: each answers with the container's name and the port. */
async function serve(name: string, ...options: string[]): Promise<void> {
  const script = `for p in 8080 9090 5432; do nc -ll -p $p -e echo ${name}-$p & done; exec sleep 3600`;
  await env.dockerOk('run', '-d', '--name', name, ...options, IMAGE, 'sh', '-c', script);
}

const address = (name: string, family: 4 | 6 = 4) =>
  env.address(name, NETWORK, family === 4 ? 'IPAddress' : 'GlobalIPv6Address');

/** Whether a new TCP connection from one container to another's port gets an answer (1 s to connect). */
async function reaches(from: string, to: string, port: number, family: 4 | 6 = 4): Promise<boolean> {
  const result = await env.exec(from, 'nc', '-w', '1', await address(to, family), String(port));
  return result.stdout.includes(`${to}-${port}`);
}

const policy = (...args: string[]) => env.tether.cli('policy', ...args);

/** The addresses in the kernel's target sets (the endpoints policies let traffic in to). */
async function targets(): Promise<string[]> {
  const listing = JSON.parse(await must('nft', '-j', 'list', 'table', 'inet', TABLE)) as {
    nftables: { set?: { name: string; elem?: string[] } }[];
  };
  return listing.nftables.flatMap((i) => (i.set?.name.startsWith('t') ? (i.set.elem ?? []) : []));
}

test('three tiers: each path open only as the policies say, over IPv4 and IPv6', async () => {
  await env.network(NETWORK, '-o', 'tether.policy=deny', '--ipv6');
  await env.network('open', '--subnet', '10.230.31.0/24');
  await serve('web', '--network', `name=${NETWORK},driver-opt=tether.label.role=web`);
  await serve('api', '--network', NETWORK, '--label', 'tether.label.role=api');
  await serve('db', '--network', NETWORK, '--label', 'org.projectcalico.label.role=db');
  await serve('stranger', '--network', NETWORK);
  for (const [args, ok] of [
    [['web-to-api', '--select', 'role=api', '--from', 'role=web', '--port', 'tcp/8080'], true],
    [['api-to-db', '--select', 'role=db', '--from', 'role in (api)', '--port', 'tcp/5432'], true],
    [['bad', '--select', 'role in (', '--port', 'tcp/1'], false],
    [['bad', '--select', 'role=db', '--port', 'tcp/99999'], false],
  ] as const) {
    const added = await policy('add', ...args);
    assert.equal(added.code === 0, ok, added.stderr);
    if (!ok) assert.match(added.stderr, /^tether: (selector|port)/);
  }
  assert.ok(await reaches('web', 'api', 8080), 'web -> api on 8080');
  assert.ok(!(await reaches('web', 'api', 9090)), 'web -> api on 9090 only');
  assert.ok(!(await reaches('web', 'db', 5432)), 'web -> db');
  assert.ok(await reaches('api', 'db', 5432), 'api -> db on 5432');
  assert.ok(!(await reaches('api', 'db', 8080)), 'api -> db on 8080');
  assert.ok(!(await reaches('api', 'web', 8080)), 'nothing lets anyone in to web');
  assert.ok(await reaches('web', 'api', 8080, 6), 'IPv6: web -> api on 8080');
  assert.ok(!(await reaches('web', 'db', 5432, 6)), 'IPv6: web -> db');
  assert.ok(await reaches('api', 'db', 5432, 6), 'IPv6: api -> db');
  // A network without tether.policy is as open as ever.
  await env.dockerOk('network', 'connect', 'open', 'web');
  await env.dockerOk('network', 'connect', 'open', 'db');
  const dbOpen = await env.address('db', 'open');
  assert.match((await env.exec('web', 'nc', '-w', '1', dbOpen, '9090')).stdout, /db-9090/);
  await env.dockerOk('network', 'disconnect', 'open', 'web');
  await env.dockerOk('network', 'disconnect', 'open', 'db');

  const test = await policy('test', 'web', 'api', 'tcp/8080');
  assert.equal(test.stdout.trim(), 'allowed: policy web-to-api lets it in');
  const denied = await policy('test', 'web', 'db', 'tcp/5432');
  assert.equal(denied.code, 1);
  assert.match(denied.stdout, /^denied: no policy lets web in to db on tcp\/5432/);
  const listed = await policy('ls');
  assert.match(listed.stdout, /web-to-api\s+\*\s+role=api\s+role=web\s+tcp\/8080\s+1/);
  assert.deepEqual(await env.audit(), []);
});

test('a container without labels reaches nothing, and nothing reaches it', async () => {
  for (const from of ['web', 'api', 'db']) assert.ok(!(await reaches(from, 'stranger', 8080)), `${from} -> stranger`);
  for (const to of ['web', 'api', 'db']) assert.ok(!(await reaches('stranger', to, 8080)), `stranger -> ${to}`);
  assert.ok(!(await reaches('stranger', 'db', 5432)));
});

test("a new api container is let in within 1 s of its start; a removed policy's path closes at once", async () => {
  const started = Date.now();
  await serve('api2', '--network', NETWORK, '--label', 'tether.label.role=api');
  const running = Date.now();
  const api2 = await address('api2');
  while (!(await targets()).includes(api2) && Date.now() - running < 5_000) await sleep(20);
  const inForce = Date.now() - running;
  console.log(`# docker run took ${running - started} ms; the policy held api2 ${inForce} ms after it returned`);
  assert.ok(inForce <= 1_000, `in force after ${inForce} ms`);
  assert.ok(await reaches('web', 'api2', 8080));
  assert.ok(await reaches('api2', 'db', 5432), 'as a source too');

  assert.equal((await policy('rm', 'web-to-api')).code, 0);
  assert.ok(!(await reaches('web', 'api2', 8080)), 'closed when tether policy rm returns');
  assert.ok(!(await reaches('web', 'api', 8080)));
  assert.equal(
    (await policy('add', 'web-to-api', '--select', 'role=api', '--from', 'role=web', '--port', 'tcp/8080')).code,
    0,
  );
  assert.ok(await reaches('web', 'api', 8080));
});

test('kill -9 and a restart of tether never open a denied path; allowed paths work after', async () => {
  // Probes from inside the containers, every 0.2 s, through the crash and the restart: each try is
  // logged, and so is each answer. The image has no /tmp and no pkill: the log is at the root, and
  // the loop ends when /stop appears.
  const loop = (to: string) =>
    `while [ ! -e /stop ]; do echo try; nc -w 1 ${to} 5432; sleep 0.2; done > /probe.log 2>&1`;
  const db = await address('db');
  const probing = ['web', 'stranger', 'api'];
  for (const container of probing) await env.dockerOk('exec', '-d', container, 'sh', '-c', loop(db));
  await sleep(1_000);
  await env.killTether();
  await sleep(2_000);
  await env.startTether();
  await sleep(2_000);
  for (const container of probing) await env.exec(container, 'sh', '-c', ': > /stop');
  await sleep(1_500);
  const log = async (container: string) => (await env.exec(container, 'cat', '/probe.log')).stdout;
  const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;
  const tries: string[] = [];
  for (const container of ['web', 'stranger']) {
    const probed = await log(container);
    assert.ok(count(probed, /^try$/gm) >= 4, `${container} probed all along: ${JSON.stringify(probed)}`);
    assert.equal(count(probed, /db-5432/g), 0, `${container} never reached db`);
    tries.push(`${container} tried ${count(probed, /^try$/gm)} times`);
  }
  // The allowed path, probed the same way, stayed open while tether was down and after.
  const allowed = await log('api');
  console.log(`# through the crash: ${tries.join(', ')}, none got in; api got in ${count(allowed, /db-5432/g)} times`);
  assert.ok(count(allowed, /db-5432/g) >= 10, `api reached db all along: ${JSON.stringify(allowed)}`);
  assert.equal(count(allowed, /db-5432/g), count(allowed, /^try$/gm), 'every try of api got in');
  assert.ok(await reaches('web', 'api', 8080));
  assert.deepEqual(await env.audit(), []);
});

test("br_netfilter's hooks off, as Docker 28 leaves them: tether turns them on, denied paths stay closed", async () => {
  const hooks = ['iptables', 'ip6tables'].map((t) => `/proc/sys/net/bridge/bridge-nf-call-${t}`);
  const settings = () => hooks.map((h) => readFileSync(h, 'utf8').trim());
  const found = settings();
  try {
    await env.killTether();
    for (const hook of hooks) writeFileSync(hook, '0');
    await env.startTether();
    for (const family of [4, 6] as const) {
      assert.ok(!(await reaches('web', 'db', 5432, family)), `IPv${family}: web -> db`);
      assert.ok(!(await reaches('stranger', 'api', 8080, family)), `IPv${family}: stranger -> api`);
      assert.ok(await reaches('api', 'db', 5432, family), `IPv${family}: api -> db`);
    }
    assert.deepEqual(settings(), ['1', '1'], 'tether turned both on at its start');
    // Turned off under a running tether: on again within its check's few seconds.
    for (const hook of hooks) writeFileSync(hook, '0');
    const off = Date.now();
    while (settings().includes('0') && Date.now() - off < 5_000) await sleep(100);
    console.log(`# the hooks, turned off under tether, were on again after ${Date.now() - off} ms`);
    assert.deepEqual(settings(), ['1', '1']);
    assert.ok(!(await reaches('web', 'db', 5432)));
    assert.deepEqual(await env.audit(), []);
  } finally {
    for (const [i, hook] of hooks.entries()) writeFileSync(hook, found[i] ?? '1');
  }
});

nothingLeftBehind(env, tearDown);
