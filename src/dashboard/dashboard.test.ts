// The dashboard on a daemon of the unit rig (in-memory kernel, SQLite): what
// the view holds, how it is pushed, and who it refuses. The browser tests are
// in test/e2e/dashboard.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import pino from 'pino';
import { EP, NET, useDaemon } from '../../test/support/daemon-rig.js';
import { openEventStream } from '../../test/support/event-stream.js';
import { pki } from '../../test/support/pki.js';
import type { TlsFiles } from '../listen-config.js';
import { CLUSTER_PATH } from '../operator/contract.js';
import { RecentProblems } from '../process/recent-problems.js';
import { type Dashboard, startDashboard } from './server.js';
import { buildView, type DashboardView, type ViewSources } from './view.js';

const { daemon, createNetwork, runContainer } = useDaemon();
const problems = new RecentProblems();
let dashboard: Dashboard | undefined;
let dir: string | undefined;
afterEach(async () => {
  await dashboard?.close();
  dashboard = undefined;
  if (dir) rmSync(dir, { recursive: true });
  dir = undefined;
});

function workDir(): string {
  dir ??= mkdtempSync(join(tmpdir(), 'tether-ui-'));
  return dir;
}

async function start(token?: string, tls?: TlsFiles): Promise<string> {
  let tokenFile: string | undefined;
  if (token) {
    tokenFile = join(workDir(), 'token');
    writeFileSync(tokenFile, `${token}\n`);
  }
  dashboard = await startDashboard(
    { host: '127.0.0.1', port: 0, ...(tokenFile ? { tokenFile } : {}), ...(tls ? { tls } : {}) },
    {
      app: daemon().app,
      host: 'unit',
      mode: 'single host',
      problems: () => problems.list(),
      dockerSocket: '/nonexistent/docker.sock',
      log: pino({ level: 'silent' }),
    },
  );
  return dashboard.address;
}

const view = async (base: string, headers: Record<string, string> = {}) =>
  (await (await fetch(`${base}/api/view`, { headers })).json()) as DashboardView;

test('the view holds the networks, their pools filling, and each endpoint with its address and MAC', async () => {
  const base = await start();
  const { poolId } = await createNetwork('10.60.0.0/24');
  const before = await view(base);
  assert.equal(before.mode, 'single host');
  assert.deepEqual(before.hosts, [{ name: 'unit', state: 'this host', endpoints: 0 }]);
  const network = before.networks[0];
  assert.equal(network?.id, NET);
  assert.equal(network?.name, NET.slice(0, 12), "the ID stands for the name when Docker's API does not answer");
  assert.equal(network?.mode, 'bridge');
  assert.deepEqual(network?.pools, [{ subnet: '10.60.0.0/24', used: 1, capacity: '254' }]);
  const { address } = await runContainer(poolId);
  const after = await view(base);
  assert.equal(after.networks[0]?.pools[0]?.used, 2);
  assert.equal(after.endpoints.length, 1);
  assert.equal(after.endpoints[0]?.id, EP);
  assert.deepEqual(after.endpoints[0]?.addresses, [address.replace(/\/\d+$/, '')]);
  assert.match(after.endpoints[0]?.mac ?? '', /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  assert.equal(after.hosts[0]?.endpoints, 1);
  assert.deepEqual(
    after.readiness.checks.map((c) => [c.name, c.ok]),
    [
      ['store', true],
      ['reconcile', true],
      ['firewall', true],
    ],
  );
});

test('a part of the view out of reach (the cluster store away) is said, and the rest still shown', async () => {
  await createNetwork('10.60.2.0/24');
  const app = daemon().app;
  const clusterAway = {
    inject: (options: { method: 'GET'; url: string }) =>
      app.inject(options.url === CLUSTER_PATH ? { method: 'GET', url: '/no-such-route' } : options),
  } as unknown as ViewSources['app'];
  const view = await buildView(
    {
      app: clusterAway,
      host: 'unit',
      mode: 'cluster',
      problems: () => [],
      dockerNames: async () => ({ networks: new Map(), containers: new Map() }),
    },
    { ready: true, checks: [] },
  );
  assert.equal(view.mode, 'cluster');
  assert.equal(view.networks.length, 1, "the host's own networks are shown");
  assert.match(view.problems[0]?.message ?? '', /cannot read \/tether\/v1\/cluster now/);
  assert.match(view.problems[0]?.detail ?? '', /answered 404/);
});

test('a change reaches an open event stream within a second', async () => {
  const base = await start();
  const stream = openEventStream(`${base}/api/events`);
  const views = () => stream.events.map((e) => JSON.parse(e.data) as DashboardView);
  try {
    await until(() => stream.events.length === 1);
    assert.equal(views()[0]?.networks.length, 0);
    const created = Date.now();
    await createNetwork('10.60.1.0/24');
    await until(() => views().some((e) => e.networks.length === 1));
    assert.ok(Date.now() - created < 1_000, `pushed after ${Date.now() - created} ms`);
    const count = stream.events.length;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assert.equal(stream.events.length, count, 'nothing is pushed while nothing changes');
  } finally {
    stream.close();
  }
});

test('with a token, the page and the API refuse a client without it, and a login gives a session', async () => {
  const base = await start('s3cret-token');
  const page = await fetch(`${base}/`, { redirect: 'manual' });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get('location'), '/login');
  assert.equal((await fetch(`${base}/api/view`)).status, 401);
  assert.equal((await fetch(`${base}/api/events`)).status, 401);
  assert.equal(
    (await fetch(`${base}/vendor/preact.mjs`, { redirect: 'manual' })).status,
    303,
    'only the login page is open',
  );
  assert.equal((await fetch(`${base}/login`)).status, 200);
  const login = (token: string) =>
    fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
  const wrong = await login('guess');
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /not the token/);
  const json = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: 's3cret-token' }),
  });
  assert.equal(json.status, 401, 'a login is a form, nothing else');
  const right = await login('s3cret-token');
  assert.equal(right.status, 303);
  const cookie = right.headers.get('set-cookie')?.split(';')[0] ?? '';
  assert.ok(cookie.startsWith('tether_ui=') && !cookie.includes('s3cret'), 'the cookie does not carry the token');
  const withSession = await fetch(`${base}/`, { headers: { cookie } });
  assert.equal(withSession.status, 200);
  assert.match(withSession.headers.get('content-security-policy') ?? '', /script-src 'self' 'sha256-/);
  assert.equal((await fetch(`${base}/api/view`, { headers: { authorization: 'Bearer s3cret-token' } })).status, 200);
  assert.equal((await fetch(`${base}/api/view`, { headers: { cookie: 'tether_ui=forged' } })).status, 401);
});

test('with the --tls-* files, only a client with a certificate of the CA gets an answer', async () => {
  const pkiDir = workDir();
  await pki(pkiDir);
  const file = (name: string) => join(pkiDir, name);
  const base = await start(undefined, { cert: file('server.pem'), key: file('server.key'), ca: file('ca.pem') });
  assert.match(base, /^https:/);
  const get = (client?: string) =>
    new Promise<number>((resolve, reject) => {
      const identity = client
        ? { cert: readFileSync(file(`${client}.pem`)), key: readFileSync(file(`${client}.key`)) }
        : {};
      https
        .get(`${base}/api/view`, { ca: readFileSync(file('ca.pem')), ...identity }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        })
        .on('error', reject);
    });
  assert.equal(await get('docker'), 200);
  await assert.rejects(get(), 'no certificate');
  await assert.rejects(get('rogue'), 'a certificate of another CA');
});

test('the page and the libraries it imports are served from the package', async () => {
  const base = await start();
  const page = await (await fetch(`${base}/`)).text();
  assert.match(page, /<script type="importmap">/);
  assert.doesNotMatch(page, /https?:\/\//, 'nothing from another origin');
  for (const path of ['/app.js', '/tables.js', '/topology.js', '/style.css', '/vendor/preact.mjs', '/vendor/htm.mjs']) {
    const answer = await fetch(`${base}${path}`);
    assert.equal(answer.status, 200, path);
    assert.ok((await answer.text()).length > 100, path);
  }
});

test('the last warnings and errors of the log are kept, newest first, at most twenty', () => {
  const kept = new RecentProblems();
  const log = pino({ level: 'info' }, kept);
  log.info('not a problem');
  log.warn({ err: 'etcd is away', host: 'h3', graceSeconds: 300 }, 'cannot register with the cluster');
  log.error({ err: new Error('disk full') }, 'a write failed');
  const [newest, older] = kept.list();
  assert.deepEqual(
    { level: newest?.level, message: newest?.message, detail: newest?.detail },
    { level: 'error', message: 'a write failed', detail: 'disk full' },
  );
  assert.equal(older?.detail, 'etcd is away; host=h3; graceSeconds=300');
  for (let i = 0; i < 30; i++) log.warn(`warning ${i}`);
  assert.equal(kept.list().length, 20);
  assert.equal(kept.list()[0]?.message, 'warning 29');
});

async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
