// The enforcer beneath the daemon: a burst of the cluster's changes (a view read
// at start tells every member) costs a few syncs of the table, not one each.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { SqliteStore } from '../store/sqlite.js';
import { PolicyBook } from './book.js';
import { PolicyEnforcer } from './enforcer.js';
import { FakePolicyTable } from './fake-table.js';

test('a thousand changes told at once bring the table in line a few times, not a thousand', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-enforcer-'));
  const store = new SqliteStore(join(dir, 'db'));
  const log = pino({ level: 'silent' });
  const book = new PolicyBook(store, log);
  await book.start();
  const table = new FakePolicyTable();
  const listeners: (() => void)[] = [];
  let remote = 0;
  const enforcer = new PolicyEnforcer({
    table,
    tableName: 'tether_test',
    book,
    log,
    local: () => ({ networks: [{ key: 'web', bridge: 'tthbrweb', ports: [] }], endpoints: [] }),
    remote: {
      list: () =>
        Array.from({ length: remote }, (_, i) => ({
          network: 'web',
          id: `e${i}`,
          addresses: [{ version: 4 as const, value: 0x0a000000n + BigInt(i) }],
          local: false,
          labels: { role: 'web' },
        })),
      watch: (listener) => {
        listeners.push(listener);
        return () => undefined;
      },
    },
  });
  enforcer.start();
  try {
    for (let i = 0; i < 1_000; i++) {
      remote++;
      for (const listener of listeners) listener();
    }
    for (let i = 0; i < 100 && table.applies === 0; i++) await sleep(10);
    await enforcer.sync();
    assert.ok(table.applies <= 3, `${table.applies} applies for 1,000 changes`);
  } finally {
    enforcer.close();
    book.close();
    await store.close();
    rmSync(dir, { recursive: true });
  }
});
