import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { MEMBERS } from '../cluster/records.js';
import { startedView } from '../cluster/view/testing.js';
import type { ClusterMember } from '../driver/seams.js';
import { formatIp } from '../net/ip.js';
import { SqliteStore } from '../store/sqlite.js';
import { ghostSweep } from './ghost-sweep.js';

test('a member record of an endpoint this host lacks goes at the second round it is seen unchanged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-ghosts-'));
  const store = new SqliteStore(join(dir, 'db'));
  try {
    const record = (host: string, address: string) =>
      JSON.stringify({ host, mac: '02:74:0a:00:00:02', addresses: [address] });
    const put = (key: string, value: string) => store.commit([], [{ type: 'put', key: MEMBERS + key, value }]);
    await put('web/ghost', record('a', '10.0.0.2'));
    await put('web/live', record('a', '10.0.0.3'));
    await put('web/moving', record('a', '10.0.0.4'));
    await put('web/theirs', record('b', '10.0.0.5'));
    const own: ClusterMember[] = [{ network: 'web', id: 'live', mac: '02:74:0a:00:00:03', addresses: ['10.0.0.3'] }];
    const released: string[] = [];
    const view = await startedView(store);
    const round = ghostSweep({
      store,
      view,
      host: 'a',
      own: () => own,
      release: async (address) => released.push(formatIp(address)) > 0,
      log: pino({ level: 'silent' }),
    });
    await round();
    assert.equal((await store.list(MEMBERS)).length, 4, 'the first round only notes');
    // Written again between the rounds: an endpoint on its way, not a ghost yet.
    await put('web/moving', record('a', '10.0.0.4'));
    // The view hears its own store's changes as they are made: a SQLite store tells its watches at once.
    await round();
    assert.deepEqual(
      (await store.list(MEMBERS)).map((e) => e.key.slice(MEMBERS.length)),
      ['web/live', 'web/moving', 'web/theirs'],
    );
    assert.deepEqual(released, ['10.0.0.2']);
    view.close();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true });
  }
});
