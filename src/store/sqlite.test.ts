import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { SqliteStore } from './sqlite.js';
import { storeContract } from './store-contract.js';

describe('SqliteStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-sqlite-'));
  let n = 0;
  after(() => rmSync(dir, { recursive: true }));
  storeContract(
    async () => new SqliteStore(join(dir, `db${n++}`)),
    async (store, revision) => store.compact(revision),
  );
});
