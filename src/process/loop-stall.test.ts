import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('./loop-stall.ts', import.meta.url));

/** Runs a child that watches its loop with a 1.5 s limit, then does what it is told. */
function child(
  then: string,
): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string; ms: number }> {
  const script = `const { watchLoopStalls } = await import(${JSON.stringify(MODULE)}); watchLoopStalls(1500); ${then}`;
  const started = Date.now();
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal, stderr, ms: Date.now() - started })),
  );
}

test('a stalled event loop ends the process, saying why', async () => {
  const { signal, stderr, ms } = await child('const end = Date.now() + 20_000; while (Date.now() < end) {}');
  assert.equal(signal, 'SIGKILL');
  assert.match(stderr, /the event loop has not run for \d+ ms/);
  assert.ok(ms < 15_000, `killed after ${ms} ms, not at the end of the 20 s stall`);
});

test('a loop that keeps running is left alone', async () => {
  const { code, signal } = await child('setTimeout(() => process.exit(0), 3000);');
  assert.equal(signal, null);
  assert.equal(code, 0);
});
