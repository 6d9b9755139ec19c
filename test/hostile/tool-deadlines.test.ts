// Hostile conditions around the tools tether runs: a tool that never answers
// (a lock held by someone else, a wedged kernel call) fails its call within the
// deadline and leaves nothing running; the ip batch channel starts anew.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { IpChannel } from '../../src/dataplane/ip-channel.js';
import { run } from '../../src/util/exec.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a tool that never answers fails its call at the deadline and is killed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-hang-'));
  try {
    const pidFile = join(dir, 'pid');
    const started = performance.now();
    await assert.rejects(
      run('sh', ['-c', `echo $$ > ${pidFile}; exec sleep 600`], undefined, 300),
      /no answer within 300 ms/,
    );
    const waited = performance.now() - started;
    assert.ok(waited < 2_000, `failed after ${Math.round(waited)} ms`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.equal(alive(pid), false, 'the hung tool is gone');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('an ip batch command that never answers fails, with those behind it; the next runs on a new process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-hang-'));
  // The first process hangs (reads nothing, answers nothing); later ones are a real `ip -batch`.
  const flag = join(dir, 'hung-once');
  const channel = new IpChannel({
    command: ['sh', '-c', `if [ -e ${flag} ]; then exec ip -force -batch -; else touch ${flag}; exec sleep 600; fi`],
    deadlineMs: 300,
  });
  try {
    const first = channel.run(['link', 'show', 'dev', 'lo']);
    const second = channel.run(['link', 'show', 'dev', 'lo']);
    await assert.rejects(first, /no answer within 300 ms .*restarted/);
    await assert.rejects(second, /no answer within 300 ms/);
    await channel.run(['link', 'show', 'dev', 'lo']);
  } finally {
    channel.close();
    rmSync(dir, { recursive: true });
  }
});
