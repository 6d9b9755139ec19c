// Every state-changing call with the store failing at each of its writes in
// turn: afterwards memory, store and the (fake) kernel agree, and the same call
// made again either succeeds fully or fails clearly. The number of writes is
// counted on a healthy run of the same call first.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Rig } from '../test/support/daemon-rig.js';
import { type Case, cases } from '../test/support/fault-cases.js';
import type { Answer } from '../test/support/plugin-client.js';
import { audit } from './audit.js';
import { hostPortOf } from './driver/publishing.js';
import { endpointText, networkText } from './driver/records.js';
import { DriverState } from './driver/state.js';

/** Memory is what the store holds, the kernel is what memory says, and the ports held are those published. */
async function agree(rig: Rig, label: string, leaves?: RegExp): Promise<void> {
  const daemon = rig.running();
  const memory = daemon.driver.snapshot();
  const stored = (await DriverState.load(rig.store)).snapshot();
  const text = (s: typeof memory) => ({
    networks: s.networks.map(networkText),
    endpoints: s.endpoints.map(endpointText),
  });
  assert.deepEqual(text(memory), text(stored), `${label}: the driver's memory is what the store holds`);
  assert.deepEqual(
    (await daemon.pools.allocations()).problems,
    [],
    `${label}: the IPAM's memory is what the store holds`,
  );
  const drift = (await daemon.driver.audit()).filter((problem) => !leaves?.test(problem));
  assert.deepEqual(drift, [], `${label}: the kernel is what the driver holds`);
  const published = memory.endpoints.flatMap((e) => e.ports.map(hostPortOf));
  const held = published.map((p) => `${p.proto}/${p.family}/${p.port}`).sort();
  assert.deepEqual([...rig.ports.held].sort(), held, `${label}: the host ports held are those published`);
}

/** Runs the case on a fresh rig; fail: which write from the call's start fails (none if undefined). */
async function attempt(
  c: Case,
  fail?: number,
): Promise<{ rig: Rig; answer: Answer; writes: number; given: Record<string, string> }> {
  const rig = new Rig(c.orphanGraceMs === undefined ? {} : { orphanGraceMs: c.orphanGraceMs });
  const given = await c.prepare(rig);
  const before = rig.store.writes;
  if (fail !== undefined) rig.store.failWrite(fail);
  const answer = await c.act(rig, given);
  return { rig, answer, writes: rig.store.writes - before, given };
}

describe('with the store failing at each write of a call', () => {
  for (const c of cases) {
    test(c.name, async () => {
      const healthy = await attempt(c);
      assert.equal(healthy.answer.status, 200, `healthy run: ${JSON.stringify(healthy.answer.json)}`);
      assert.ok(healthy.writes > 0, 'the call writes to the store');
      await healthy.rig.close();
      for (let n = 1; n <= healthy.writes; n++) {
        const label = `${c.name}, write ${n} of ${healthy.writes} failing`;
        const { rig, answer, given } = await attempt(c, n);
        try {
          if (answer.status !== 200) assert.match(String(answer.json['Err']), /.+/, `${label}: a clear error`);
          // A start that failed leaves no daemon to compare; its retry must reconcile everything.
          if (rig.daemon) await agree(rig, label, c.leaves);
          rig.store.heal();
          const retry = await c.act(rig, given);
          if (answer.status !== 200)
            assert.equal(retry.status, 200, `${label}: the retry succeeds: ${JSON.stringify(retry.json)}`);
          else if (retry.status !== 200)
            assert.match(String(retry.json['Err']), /.+/, `${label}: the retry fails clearly`);
          await agree(rig, `${label}, retried`);
          if (c.orphanGraceMs !== undefined) await sleep(c.orphanGraceMs * 3);
          if (c.settled) assert.deepEqual((await audit(rig.running().driver, rig.running().pools)).problems, [], label);
        } finally {
          await rig.close();
        }
      }
    });
  }
});
