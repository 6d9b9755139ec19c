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

test('one unreadable record is left out, said once; the other peers are programmed and republish goes on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-overlay-'));
  const store = new SqliteStore(join(dir, 'db'));
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  const links = new FakeLinks();
  links.links.set('tthvxweb', { name: 'tthvxweb', kind: 'vxlan', up: true, mtu: 1450, addresses: [] });
  const put = (key: string, value: unknown) =>
    store.commit([], [{ type: 'put', key, value: typeof value === 'string' ? value : JSON.stringify(value) }]);
  await put('cluster/hosts/b', { host: 'b', vtep: '192.0.2.2', startedAt: 1 });
  await put('cluster/hosts/c', { host: 'c' });
  await put('cluster/members/web/good', { host: 'b', mac: '02:42:0a:00:00:02', addresses: ['10.0.0.2'] });
  await put('cluster/members/web/upper', { host: 'b', mac: '02:42:0A:00:00:03', addresses: ['10.0.0.3'] });
  await put('cluster/members/web/garbage', '{');
  const tunnel = new VxlanTunnel(links, { local: '192.0.2.1', port: 4789 });
  const overlay = new Overlay({ store, tunnel, log, localNetworks: () => [{ name: 'web', device: 'tthvxweb' }] }, 'a');
  overlay.requestSync();
  await sleep(50);
  assert.deepEqual(links.overlays.get('tthvxweb'), [
    { mac: '02:42:0a:00:00:02', vtep: '192.0.2.2', addresses: ['10.0.0.2'] },
  ]);
  await overlay.republish([]);
  overlay.requestSync();
  await sleep(50);
  const said = warnings.map((w) => JSON.parse(w).key as string).sort();
  assert.deepEqual(said, ['cluster/hosts/c', 'cluster/members/web/garbage', 'cluster/members/web/upper']);
  assert.match(warnings.join(''), /lower-case MAC/);
  overlay.close();
  await store.close();
  rmSync(dir, { recursive: true });
});
