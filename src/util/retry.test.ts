import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CAS_ATTEMPTS, retryCas } from './retry.js';

test('the first answer is returned, after as many attempts as it takes', async () => {
  let attempts = 0;
  assert.equal(await retryCas('k', async () => (++attempts === 3 ? 'done' : undefined)), 'done');
  assert.equal(attempts, 3);
});

test('attempts are bounded, and running out is a clear conflict', async () => {
  let attempts = 0;
  await assert.rejects(
    retryCas('pool p', async () => {
      attempts++;
      return undefined;
    }),
    { code: 'CONFLICT', message: `pool p changed concurrently ${CAS_ATTEMPTS} times; retry` },
  );
  assert.equal(attempts, CAS_ATTEMPTS);
});
