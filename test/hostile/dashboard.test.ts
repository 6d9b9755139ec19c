// Hostile clients of the dashboard: a bearer-token guesser, a page of another
// site rebinding its name to 127.0.0.1, a client hoarding event streams or not
// reading them, an old session after the token changed or its time ran out.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Access, SESSION_MS } from '../../src/dashboard/access.js';
import { EventStreams } from '../../src/dashboard/events.js';
import { type Dashboard, startDashboard } from '../../src/dashboard/server.js';
import { useDaemon } from '../support/daemon-rig.js';

const { daemon } = useDaemon();
const logged: string[] = [];
const log = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _encoding, done) {
      logged.push(String(chunk));
      done();
    },
  }),
);
let dashboard: Dashboard | undefined;
const dir = mkdtempSync(join(tmpdir(), 'tether-ui-hostile-'));
afterEach(async () => {
  await dashboard?.close();
  dashboard = undefined;
});
test.after(() => rmSync(dir, { recursive: true }));

async function start(token?: string): Promise<string> {
  const tokenFile = join(dir, 'token');
  if (token) writeFileSync(tokenFile, `${token}\n`);
  dashboard = await startDashboard(
    { host: '127.0.0.1', port: 0, ...(token ? { tokenFile } : {}) },
    {
      app: daemon().app,
      host: 'unit',
      mode: 'single host',
      problems: () => [],
      dockerSocket: '/nonexistent/docker.sock',
      log,
    },
  );
  return dashboard.address;
}

/** A GET with any Host header (fetch will not send a forged one). */
function get(base: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, headers }, (response) => {
      response.destroy();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('a wrong bearer token waits as a wrong login does, and is logged', async () => {
  const base = await start('s3cret-token');
  logged.length = 0;
  const started = performance.now();
  const status = await get(base, '/api/view', { authorization: 'Bearer guess' });
  const waited = performance.now() - started;
  assert.equal(status, 401);
  assert.ok(waited >= 450, `answered after ${Math.round(waited)} ms`);
  assert.match(logged.join(''), /a dashboard request with a wrong token/);
  assert.equal(await get(base, '/api/view', { authorization: 'Bearer s3cret-token' }), 200);
});

test('open on loopback, only requests for a loopback host are answered (DNS rebinding)', async () => {
  const base = await start();
  const port = new URL(base).port;
  assert.equal(await get(base, '/api/view', { host: `rebound.example:${port}` }), 421);
  assert.equal(await get(base, '/', { host: 'evil.example' }), 421);
  for (const host of [`127.0.0.1:${port}`, 'localhost:8022', '[::1]:9180']) {
    assert.equal(await get(base, '/api/view', { host }), 200, host);
  }
});

test('a client may hold four event streams; the fifth is refused', async () => {
  const base = await start();
  const { hostname, port } = new URL(base);
  const open = () =>
    new Promise<{ status: number; close: () => void }>((resolve) => {
      const req = request({ host: hostname, port, path: '/api/events' }, (response) =>
        resolve({ status: response.statusCode ?? 0, close: () => req.destroy() }),
      );
      req.on('error', () => undefined);
      req.end();
    });
  const streams = [];
  for (let i = 0; i < 5; i++) streams.push(await open());
  assert.deepEqual(
    streams.map((s) => s.status),
    [200, 200, 200, 200, 429],
  );
  streams[0]?.close();
  await sleep(100);
  const again = await open();
  assert.equal(again.status, 200, 'a closed stream makes room');
  for (const stream of [...streams, again]) stream.close();
});

test('a client that does not read its event stream is cut off, not buffered for', async () => {
  const streams = new EventStreams({ total: 8, perClient: 2, unread: 256 * 1024 });
  let push: (json: string) => void = () => undefined;
  let ended = false;
  const server: Server = createServer((_request, response) => {
    response.on('close', () => {
      ended = true;
    });
    streams.open('client', response, (subscriber) => {
      push = subscriber;
      return () => undefined;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const req = request({ host: '127.0.0.1', port, path: '/' }, (response) => response.pause());
  req.on('error', () => undefined);
  req.end();
  await sleep(100);
  const view = JSON.stringify('x'.repeat(64 * 1024));
  let pushed = 0;
  while (!ended && pushed < 2_000) {
    push(view);
    pushed++;
    await sleep(1);
  }
  console.log(`# a client that reads nothing was cut off after ${pushed} pushes of 64 KiB`);
  assert.ok(ended, 'the stream was ended');
  req.destroy();
  server.close();
});

test('a session ends after its time, and every session ends when the token changes', async () => {
  let now = 1_000_000;
  const access = new Access('t0ken', () => now);
  const cookie = (access.login('t0ken', false) ?? '').split(';')[0] ?? '';
  assert.equal(access.check({ cookie }), 'allowed');
  now += SESSION_MS + 1;
  assert.equal(access.check({ cookie }), 'none', 'expired');
  const fresh = (access.login('t0ken', false) ?? '').split(';')[0] ?? '';
  access.rotate('n3w-t0ken');
  assert.equal(access.check({ cookie: fresh }), 'none', 'revoked by the new token');
  assert.equal(access.check({ authorization: 'Bearer t0ken' }), 'wrong');
  assert.equal(access.check({ authorization: 'Bearer n3w-t0ken' }), 'allowed');
});

test('rotating the token file ends the sessions of a running dashboard', async () => {
  const base = await start('first-token');
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: 'first-token' }).toString(),
  });
  const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
  assert.equal(await get(base, '/api/view', { cookie }), 200);
  writeFileSync(join(dir, 'token'), 'second-token\n');
  const until = Date.now() + 6_000;
  while ((await get(base, '/api/view', { cookie })) === 200 && Date.now() < until) await sleep(200);
  assert.equal(await get(base, '/api/view', { cookie }), 401);
  assert.equal(await get(base, '/api/view', { authorization: 'Bearer second-token' }), 200);
});
