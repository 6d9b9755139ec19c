import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { runSteps, type Step } from './steps.js';

const log = pino({ level: 'silent' });

/** A step that records its do and undo, and fails its do when told. */
const step = (name: string, done: string[], fails = false): Step => ({
  name,
  do: async () => {
    if (fails) throw new Error(`${name} failed`);
    done.push(`do ${name}`);
  },
  undo: async () => {
    done.push(`undo ${name}`);
  },
});

test('steps run in order', async () => {
  const done: string[] = [];
  await runSteps([step('a', done), step('b', done), step('c', done)], log, {});
  assert.deepEqual(done, ['do a', 'do b', 'do c']);
});

test('a failing step undoes those done, in reverse, and its error is the one thrown', async () => {
  const done: string[] = [];
  await assert.rejects(runSteps([step('a', done), step('b', done), step('c', done, true)], log, {}), /c failed/);
  assert.deepEqual(done, ['do a', 'do b', 'undo b', 'undo a']);
});

test('an undo that fails does not stop the others or hide the first error', async () => {
  const done: string[] = [];
  const broken: Step = { name: 'broken', do: async () => undefined, undo: () => Promise.reject(new Error('no undo')) };
  const steps = [step('a', done), broken, { name: 'plain', do: async () => undefined }, step('z', done, true)];
  await assert.rejects(runSteps(steps, log, {}), /z failed/);
  assert.deepEqual(done, ['do a', 'undo a']);
});
