import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { FakeLinks } from '../dataplane/fake.js';
import { SqliteStore } from '../store/sqlite.js';
import { VxlanTunnel } from '../tunnel/vxlan.js';
import { Overlay } from './overlay.js';

test('a network deleted while a round programs it is skipped without a warning; a missing device is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-overlay-'));
  const store = new SqliteStore(join(dir, 'db'));
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  let local = [{ name: 'web', device: 'tthvxgone' }];
  // The round lists the network, then finds its device gone: deleted meanwhile.
  const tunnel = new VxlanTunnel(new FakeLinks(), { local: '192.0.2.1', port: 4789 });
  const deps = { store, tunnel, log, localNetworks: () => local.splice(0, 1) };
  const overlay = new Overlay(deps, 'a');
  overlay.requestSync();
  await sleep(50);
  assert.deepEqual(warnings, []);
  // Listed and still there, but its device is missing: that is worth a warning.
  local = [{ name: 'web', device: 'tthvxgone' }];
  const stays = new Overlay({ ...deps, localNetworks: () => local }, 'a');
  stays.requestSync();
  await sleep(50);
  assert.match(warnings.join(''), /programming the overlay failed/);
  stays.close();
  overlay.close();
  await store.close();
  rmSync(dir, { recursive: true });
});
