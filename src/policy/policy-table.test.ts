import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { FakePolicyTable } from './fake-table.js';
import { tableFor } from './nft-script.js';
import { NftTable } from './nftables.js';
import { policyTableContract } from './table-contract.js';

test('the fake policy table keeps the contract', () => policyTableContract(new FakePolicyTable(), 'fake'));

const nftMissing = (() => {
  if (process.getuid?.() !== 0) return 'needs root';
  try {
    execFileSync('nft', ['--version']);
    return undefined;
  } catch {
    return 'nft is not installed';
  }
})();

test('nftables keeps the contract', { skip: nftMissing }, async () => {
  const table = tableFor(`contract${process.pid}`);
  await policyTableContract(new NftTable(table), table);
});
