// The dashboard in a real browser (Debian's Chromium, headless) against a real
// dockerd and tether: what a user sees change as they create networks and run
// containers, and that a browser without the token sees nothing. A screenshot
// of each state goes to test-output/dashboard/. The cluster's dead host is in
// cluster.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { freePorts } from '../support/free-ports.js';
import { pki } from '../support/pki.js';
import { launchChromium, logIn, screenshot } from './browser.js';
import { Environment, IMAGE, nothingLeftBehind, Tether, useEnvironment } from './harness.js';

const env = new Environment();
const TOKEN = 'e2e-dashboard-token';
const NETWORK = 'dash';
/** A second changes nothing the page has to show within (the bound). */
const LIVE_MS = 1_000;

let base = '';
let browser: Browser | undefined;
let page: Page;

before(async () => {
  const port = await freePorts();
  base = `http://127.0.0.1:${port}`;
  const tokenFile = join(env.work, 'ui-token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  env.tether.env = { TETHER_UI_ADDR: `127.0.0.1:${port}`, TETHER_UI_TOKEN_FILE: tokenFile };
});
const tearDown = useEnvironment(env, {
  async setUp() {
    browser = await launchChromium(env.work);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  },
  async tearDown() {
    await browser?.close();
    browser = undefined;
  },
});

test('without the token the browser gets the login page and the API answers 401', async () => {
  await page.goto(`${base}/`);
  assert.match(page.url(), /\/login$/);
  assert.equal((await page.request.get(`${base}/api/view`)).status(), 401);
  await page.locator('input[name=token]').fill('a guess');
  await page.locator('button[type=submit]').click();
  await page.locator('.refused').waitFor();
  assert.equal(await page.locator('[data-testid=live]').count(), 0, 'no dashboard is shown');
  await screenshot(page, '1-refused');
});

test('a network created with docker is listed within a second', async () => {
  await logIn(page, base, TOKEN);
  await page.locator('[data-host]').first().waitFor();
  await env.network(NETWORK, '--subnet', '10.230.60.0/24');
  const created = Date.now();
  const row = page.locator(`tr[data-network=${NETWORK}]`);
  await row.waitFor({ timeout: LIVE_MS });
  assert.ok(Date.now() - created <= LIVE_MS, `listed after ${Date.now() - created} ms`);
  assert.match(await row.innerText(), /bridge/);
  assert.equal(await usedOf('10.230.60.0/24'), 1, 'the gateway');
  await screenshot(page, '2-network');
});

test("a container's address and published port show, and its pool's use rises as containers start", async () => {
  const published = await freePorts();
  await env.dockerOk(
    'run',
    '-d',
    '--name',
    'web',
    '--network',
    NETWORK,
    '-p',
    `127.0.0.1:${published}:80`,
    IMAGE,
    'sleep',
    '3600',
  );
  const started = Date.now();
  const row = page.locator('tr[data-container=web]');
  await row.waitFor({ timeout: LIVE_MS + 2_000 });
  const address = await env.address('web', NETWORK);
  await page.locator('tr[data-container=web] td.ports', { hasText: String(published) }).waitFor({ timeout: LIVE_MS });
  const text = await row.innerText();
  assert.ok(text.includes(address), `${address} in "${text}"`);
  assert.match(text, new RegExp(`127\\.0\\.0\\.1:${published}->10\\.230\\.60\\.\\d+:80/tcp`));
  assert.ok(Date.now() - started <= LIVE_MS + 2_000);
  assert.equal(await usedOf('10.230.60.0/24'), 2);
  for (const name of ['api', 'db']) {
    await env.run(name, '--network', NETWORK);
    const after = Date.now();
    await page.locator(`tr[data-container=${name}]`).waitFor({ timeout: LIVE_MS + 2_000 });
    assert.ok(Date.now() - after <= LIVE_MS + 2_000);
  }
  await page.locator('.pool[data-used="4"]').waitFor({ timeout: LIVE_MS });
  assert.match(await page.locator('.pool[data-pool="10.230.60.0/24"] .use').innerText(), /^4 of 254 \(1\.6%\)$/);
  await screenshot(page, '3-containers');
});

test('the search box finds a container by its address', async () => {
  const address = await env.address('api', NETWORK);
  await page.locator('input[type=search]').fill(address);
  await page.locator('tr[data-container]').first().waitFor();
  const shown = await page
    .locator('tr[data-container]')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-container')));
  assert.deepEqual(shown, ['api']);
  await screenshot(page, '4-search');
  await page.locator('input[type=search]').fill('');
});

test('a container removed leaves the page within a second', async () => {
  await env.dockerOk('rm', '-f', 'db');
  const removed = Date.now();
  await page.locator('tr[data-container=db]').waitFor({ state: 'detached', timeout: LIVE_MS });
  assert.ok(Date.now() - removed <= LIVE_MS);
  await page.locator('.pool[data-used="3"]').waitFor({ timeout: LIVE_MS });
});

test('client certificates: a browser without one is refused, one with a certificate of the CA served', async () => {
  const pkiDir = join(env.work, 'pki');
  mkdirSync(pkiDir);
  await pki(pkiDir);
  const file = (name: string) => join(pkiDir, name);
  const port = await freePorts();
  const origin = `https://127.0.0.1:${port}`;
  const guarded = new Tether(
    env.work,
    'tetheruitls',
    'tui',
    ['--ui-addr', `127.0.0.1:${port}`, '--tls-cert', file('server.pem'), '--tls-key', file('server.key')],
    join(env.work, 'tetheruitls.sock'),
  );
  guarded.env = { TETHER_TLS_CA: file('ca.pem') };
  await guarded.start();
  try {
    const stranger = await browser?.newContext({ ignoreHTTPSErrors: true });
    const refused = await stranger?.newPage();
    await assert.rejects(refused?.goto(`${origin}/`) ?? Promise.reject(), /ERR_/, 'no certificate, no page');
    await stranger?.close();
    const known = await browser?.newContext({
      ignoreHTTPSErrors: true,
      clientCertificates: [{ origin, certPath: file('docker.pem'), keyPath: file('docker.key') }],
    });
    const served = await known?.newPage();
    await served?.goto(`${origin}/`);
    await served?.locator('[data-testid=live]', { hasText: 'live' }).waitFor({ timeout: 10_000 });
    if (served) await screenshot(served, '5-client-certificate');
    await known?.close();
  } finally {
    await guarded.stop();
  }
});

nothingLeftBehind(env, tearDown);

async function usedOf(subnet: string): Promise<number> {
  return Number(await page.locator(`.pool[data-pool="${subnet}"]`).getAttribute('data-used'));
}
