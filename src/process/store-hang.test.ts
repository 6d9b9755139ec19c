import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { watchStoreHangs } from './store-hang.js';

const log = pino({ level: 'silent' });

test('a store call that never ends makes the process exit after the limit, not before', async () => {
  const exits: number[] = [];
  const stop = watchStoreHangs({
    probe: () => new Promise(() => undefined),
    limitMs: 200,
    everyMs: 20,
    log,
    exit: (c) => exits.push(c),
  });
  await sleep(100);
  assert.deepEqual(exits, []);
  await sleep(250);
  assert.deepEqual(exits, [1]);
  stop();
});

test('a store that fails fast is not wedged, and each round while well pings the watchdog', async () => {
  const exits: number[] = [];
  let pings = 0;
  const stop = watchStoreHangs({
    probe: () => Promise.reject(new Error('14 UNAVAILABLE')),
    limitMs: 100,
    everyMs: 20,
    log,
    exit: (c) => exits.push(c),
    onWell: () => pings++,
  });
  await sleep(300);
  stop();
  assert.deepEqual(exits, []);
  assert.ok(pings >= 5, `${pings} pings`);
});
