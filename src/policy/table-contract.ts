// What every PolicyTable must do, run against the fake always and against
// nftables where the test runs as root with nft (policy-table.test.ts).
import assert from 'node:assert/strict';
import { type IpAddress, parseIp } from '../net/ip.js';
import { parsePolicy } from './records.js';
import { computeRuleset } from './ruleset.js';
import type { PolicyTable } from './table.js';
import { compareTable } from './table.js';

const ip = (text: string) => parseIp(text) as IpAddress;
const POLICY = parsePolicy({ name: 'db', select: 'role=db', from: ['role=api'], ports: ['tcp/5432'] });
const NETWORK = { key: 'n', bridge: 'tthbrcontract', ports: [] };
const api = { network: 'n', addresses: [ip('10.0.0.2'), ip('fd00::2')], labels: { role: 'api' }, local: true };
const db = { network: 'n', addresses: [ip('10.0.0.3')], labels: { role: 'db' }, local: true };

export async function policyTableContract(table: PolicyTable, name: string): Promise<void> {
  await table.remove();
  assert.equal(await table.read(), undefined, 'no table after remove');
  const first = computeRuleset([POLICY], [NETWORK], [api, db]);
  await table.apply(first);
  assert.deepEqual(compareTable(await table.read(), first, name), []);
  // Elements only, then a rule change, then back: each read equals what was applied.
  const second = computeRuleset([POLICY], [NETWORK], [api]);
  await table.apply(second);
  assert.deepEqual(compareTable(await table.read(), second, name), []);
  const third = computeRuleset([], [NETWORK], [api]);
  await table.apply(third);
  assert.deepEqual(compareTable(await table.read(), third, name), []);
  await table.apply(first);
  assert.deepEqual(compareTable(await table.read(), first, name), []);
  assert.match(compareTable(await table.read(), third, name).join('\n'), /not wanted|expected/);
  // Ports shut while the bridge hooks cannot be had go with the table.
  await table.shut(['tthshutcontract']);
  await table.remove();
  await table.remove();
  assert.equal(await table.read(), undefined);
}
