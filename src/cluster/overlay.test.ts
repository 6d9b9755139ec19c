import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { FakeLinks } from '../dataplane/fake.js';
import { FaultyStore } from '../store/faulty.js';
import { SqliteStore } from '../store/sqlite.js';
import { VxlanTunnel } from '../tunnel/vxlan.js';
import { type LocalClusterNetwork, Overlay } from './overlay.js';
import { startedView } from './view/testing.js';

/** An overlay of host a over a fresh store, with the fake kernel's tunnel, and what it warned. */
async function rig(localNetworks: () => LocalClusterNetwork[]) {
  const dir = mkdtempSync(join(tmpdir(), 'tether-overlay-'));
  const store = new FaultyStore(new SqliteStore(join(dir, 'db')));
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  const links = new FakeLinks();
  links.links.set('tthvxweb', { name: 'tthvxweb', kind: 'vxlan', up: true, mtu: 1450, addresses: [] });
  const tunnel = new VxlanTunnel(links, { local: '192.0.2.1', port: 4789 });
  const put = (key: string, value: unknown) =>
    store.commit([], [{ type: 'put', key, value: typeof value === 'string' ? value : JSON.stringify(value) }]);
  return {
    store,
    links,
    warnings,
    put,
    open: async () => {
      const view = await startedView(store);
      const overlay = new Overlay({ view, store, tunnel, log, localNetworks }, 'a');
      overlay.start();
      return { view, overlay };
    },
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true });
    },
  };
}

test('a network deleted while a round programs it is skipped without a warning; a missing device is not', async () => {
  let local = [{ name: 'web', device: 'tthvxgone' }];
  // The round lists the network, then finds its device gone: deleted meanwhile.
  const gone = await rig(() => local.splice(0, 1));
  const { view, overlay } = await gone.open();
  overlay.requestSync();
  await sleep(50);
  assert.deepEqual(gone.warnings, []);
  overlay.close();
  view.close();
  // Listed and still there, but its device is missing: that is worth a warning.
  local = [{ name: 'web', device: 'tthvxgone' }];
  const stays = await rig(() => local);
  const opened = await stays.open();
  opened.overlay.requestSync();
  await sleep(50);
  assert.match(stays.warnings.join(''), /programming the overlay failed/);
  opened.overlay.close();
  opened.view.close();
  await gone.close();
  await stays.close();
});

test('a member that comes, moves or goes changes its own entries, with no read of the store', async () => {
  const r = await rig(() => [{ name: 'web', device: 'tthvxweb' }]);
  await r.put('cluster/hosts/b', { host: 'b', vtep: '192.0.2.2', startedAt: 1 });
  await r.put('cluster/hosts/c', { host: 'c', vtep: '192.0.2.3', startedAt: 1 });
  await r.put('cluster/members/web/one', { host: 'b', mac: '02:42:0a:00:00:02', addresses: ['10.0.0.2'] });
  const { view, overlay } = await r.open();
  overlay.requestSync();
  await sleep(20);
  const lists = r.store.lists;
  await r.put('cluster/members/web/two', { host: 'c', mac: '02:42:0a:00:00:03', addresses: ['10.0.0.3'] });
  await r.put('cluster/members/web/one', { host: 'c', mac: '02:42:0a:00:00:02', addresses: ['10.0.0.2'] });
  await r.store.commit([], [{ type: 'delete', key: 'cluster/members/web/two' }]);
  await r.put('cluster/members/web/mine', { host: 'a', mac: '02:42:0a:00:00:04', addresses: ['10.0.0.4'] });
  await sleep(20);
  assert.deepEqual(r.links.overlays.get('tthvxweb'), [
    { mac: '02:42:0a:00:00:02', vtep: '192.0.2.3', addresses: ['10.0.0.2'] },
  ]);
  // Its host's registration goes: its entries go; it comes back: they come back.
  await r.store.commit([], [{ type: 'delete', key: 'cluster/hosts/c' }]);
  await sleep(20);
  assert.deepEqual(r.links.overlays.get('tthvxweb'), []);
  await r.put('cluster/hosts/c', { host: 'c', vtep: '192.0.2.9', startedAt: 2 });
  await sleep(20);
  assert.deepEqual(r.links.overlays.get('tthvxweb'), [
    { mac: '02:42:0a:00:00:02', vtep: '192.0.2.9', addresses: ['10.0.0.2'] },
  ]);
  assert.equal(r.store.lists, lists, 'no list or snapshot of the store on a change');
  overlay.close();
  view.close();
  await r.close();
});

test('an entry put wrong is found by a whole program; republish goes on past bad records', async () => {
  const r = await rig(() => [{ name: 'web', device: 'tthvxweb' }]);
  await r.put('cluster/hosts/b', { host: 'b', vtep: '192.0.2.2', startedAt: 1 });
  await r.put('cluster/members/web/good', { host: 'b', mac: '02:42:0a:00:00:02', addresses: ['10.0.0.2'] });
  await r.put('cluster/members/web/upper', { host: 'b', mac: '02:42:0A:00:00:03', addresses: ['10.0.0.3'] });
  await r.put('cluster/members/web/garbage', '{');
  await r.put('cluster/members/web/stale', { host: 'a', mac: '02:42:0a:00:00:05', addresses: ['10.0.0.5'] });
  const { view, overlay } = await r.open();
  overlay.requestSync();
  await sleep(20);
  const good = { mac: '02:42:0a:00:00:02', vtep: '192.0.2.2', addresses: ['10.0.0.2'] };
  assert.deepEqual(r.links.overlays.get('tthvxweb'), [good]);
  // A removal of an entry that is not there fails in the kernel: the device is programmed whole.
  r.links.overlays.set('tthvxweb', []);
  await r.store.commit([], [{ type: 'delete', key: 'cluster/members/web/good' }]);
  await sleep(20);
  assert.deepEqual(r.links.overlays.get('tthvxweb'), []);
  await overlay.republish([]);
  assert.equal(await r.store.get('cluster/members/web/stale'), undefined, "this host's stale record went");
  assert.ok(await r.store.get('cluster/members/web/garbage'), "what is not this host's stays");
  assert.deepEqual(
    view.unreadable().map((u) => u.key),
    ['cluster/members/web/garbage', 'cluster/members/web/upper'],
  );
  overlay.close();
  view.close();
  await r.close();
});
