import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendOf, dockerBackends, judgeBackends } from './iptables-backend.js';

test('the backend is read from iptables --version', () => {
  assert.equal(backendOf('iptables v1.8.9 (nf_tables)'), 'nf_tables');
  assert.equal(backendOf('iptables v1.8.9 (legacy)'), 'legacy');
  assert.equal(backendOf('iptables v1.4.21'), undefined);
});

test('the same backend is fine; another is a problem with the commands that fix it', () => {
  assert.equal(judgeBackends('nf_tables', ['nf_tables']).ok, true);
  assert.equal(judgeBackends('nf_tables', []).ok, true, 'no Docker chains yet: nothing to compare');
  const mismatch = judgeBackends('nf_tables', ['legacy']);
  assert.equal(mismatch.ok, false);
  assert.match(mismatch.detail, /tether writes through nf_tables, Docker's chains are in legacy/);
  assert.match(mismatch.fix ?? '', /update-alternatives --set iptables \/usr\/sbin\/iptables-legacy/);
  assert.match(mismatch.fix ?? '', /update-alternatives --set ip6tables \/usr\/sbin\/ip6tables-legacy/);
});

test("Docker's chain is looked for in both backends; an 'incompatible' chain is there", async () => {
  const answers: Record<string, string | Error> = {
    'iptables-nft': new Error("chain `DOCKER-USER' in table `filter' is incompatible, use 'nft' tool."),
    'iptables-legacy': new Error('iptables: No chain/target/match by that name.'),
  };
  const run = async (tool: string) => {
    const answer = answers[tool];
    if (answer instanceof Error) throw answer;
    return answer ?? '';
  };
  assert.deepEqual(await dockerBackends(run, ['filter']), ['nf_tables']);
  answers['iptables-legacy'] = '-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n';
  answers['iptables-nft'] = new Error('iptables: No chain/target/match by that name.');
  assert.deepEqual(await dockerBackends(run, ['filter']), ['legacy']);
  assert.deepEqual(await dockerBackends(run, []), [], 'no legacy filter table: the legacy backend is not asked');
});
