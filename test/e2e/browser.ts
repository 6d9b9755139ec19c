// Headless Chromium from Debian, driven by playwright-core, for the dashboard's
// tests. Every host name resolves to nothing inside it (the tests use
// addresses), so the browser cannot reach beyond the test's own daemons.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ROOT } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
/** The screenshots of each state, kept after the run. */
export const SHOTS = join(ROOT, 'test-output', 'dashboard');

/**
 * Chromium, in the network namespace given through a wrapper script (playwright talks to the browser
 * over pipes, so only the pages' traffic is in the namespace).
 */
export async function launchChromium(work: string, namespace?: string): Promise<Browser> {
  let executablePath = CHROMIUM;
  if (namespace) {
    executablePath = join(work, `chromium-${namespace}`);
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${namespace} ${CHROMIUM} "$@"\n`);
    chmodSync(executablePath, 0o755);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--no-proxy-server', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Opens the dashboard at `base`, typing the token into its login page. */
export async function logIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator('input[name=token]').fill(token);
  await page.locator('button[type=submit]').click();
  await page.locator('[data-testid=live]', { hasText: 'live' }).waitFor({ timeout: 10_000 });
}
