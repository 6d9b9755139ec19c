// The one way tether retries a compare-and-swap on the store: a bounded number
// of attempts, with a random pause between them, then a clear error.
import { setTimeout as sleep } from 'node:timers/promises';
import { TetherError } from '../errors.js';

/** How many times a compare-and-swap is tried before the caller is told to retry. */
export const CAS_ATTEMPTS = 10;

/**
 * Runs the attempt until it gives an answer (anything but undefined), waiting a random few
 * milliseconds between attempts so that hosts racing for one key fall out of step.
 */
export async function retryCas<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  for (let tried = 1; ; tried++) {
    const answer = await attempt();
    if (answer !== undefined) return answer;
    if (tried >= CAS_ATTEMPTS) break;
    await sleep(Math.random() * 2 ** Math.min(tried, 5));
  }
  throw new TetherError('CONFLICT', `${what} changed concurrently ${CAS_ATTEMPTS} times; retry`);
}
