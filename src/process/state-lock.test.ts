import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lockStateDir, StateLockedError, socketAnswers } from './state-lock.js';

test('a second lock on one state directory, by any path to it, is refused naming the holder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-lock-'));
  const alias = `${dir}-alias`;
  symlinkSync(dir, alias);
  try {
    const first = await lockStateDir(dir, { pid: 4242, socket: '/run/a.sock' });
    await assert.rejects(lockStateDir(alias, { pid: 1, socket: '/run/b.sock' }), (error: unknown) => {
      assert.ok(error instanceof StateLockedError);
      assert.match(error.message, /in use by another tether \(pid 4242, socket \/run\/a\.sock\)/);
      return true;
    });
    await first.release();
    const again = await lockStateDir(dir, { pid: 1, socket: '/run/b.sock' });
    await again.release();
  } finally {
    rmSync(alias);
    rmSync(dir, { recursive: true });
  }
});

test('a socket file nobody serves does not answer; a served one does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-sock-'));
  const path = join(dir, 'x.sock');
  try {
    assert.equal(await socketAnswers(path), false);
    const server = createServer((c) => c.end());
    await new Promise<void>((resolve) => server.listen(path, resolve));
    assert.equal(await socketAnswers(path), true);
    await new Promise((resolve) => server.close(resolve));
  } finally {
    rmSync(dir, { recursive: true });
  }
});
