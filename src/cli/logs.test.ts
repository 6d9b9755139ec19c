import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLogger } from '../process/log.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const tether = (...args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, ...args]);
const line = (level: number, msg: string) => JSON.stringify({ level, time: 0, msg });

test('the daemon writes its log to the file too, and tether logs reads it from a level up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-logs-'));
  const file = join(dir, 'tether.log');
  try {
    const { log, close } = createLogger({ level: 'debug', name: 'tether', file });
    log.debug('quiet');
    log.warn({ network: 'abc' }, 'loud');
    await close();
    assert.match(readFileSync(file, 'utf8'), /"msg":"quiet"/);
    const { stdout } = await tether('logs', '--log-file', file, '--level', 'warn');
    assert.match(stdout, /^\S+ WARN {2}loud network=abc$/m);
    assert.doesNotMatch(stdout, /quiet/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('rotated files are read oldest first, then the current one; --json prints lines as written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-logs-'));
  const file = join(dir, 'tether.log');
  try {
    writeFileSync(`${file}.2`, `${line(30, 'first')}\n`);
    writeFileSync(`${file}.1`, `${line(30, 'second')}\n`);
    writeFileSync(file, `${line(30, 'third')}\n`);
    const { stdout } = await tether('logs', '--log-file', file, '--json');
    assert.deepEqual(
      stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { msg: string }).msg),
      ['first', 'second', 'third'],
    );
    await assert.rejects(tether('logs', '--log-file', join(dir, 'none.log')), /no log at/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('-f prints lines as they are appended, through a rotation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-logs-'));
  const file = join(dir, 'tether.log');
  writeFileSync(file, `${line(30, 'before')}\n`);
  const follower = spawn(process.execPath, ['--import', 'tsx', MAIN, 'logs', '--log-file', file, '-f', '--json']);
  let out = '';
  follower.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const seen = async (msg: string) => {
    for (let i = 0; i < 100 && !out.includes(msg); i++) await sleep(50);
    assert.ok(out.includes(msg), `${msg} in ${out}`);
  };
  try {
    await seen('before');
    appendFileSync(file, `${line(30, 'appended')}\n`);
    await seen('appended');
    renameSync(file, `${file}.1`);
    writeFileSync(file, `${line(30, 'after rotation')}\n`);
    await seen('after rotation');
  } finally {
    follower.kill();
    rmSync(dir, { recursive: true });
  }
});
