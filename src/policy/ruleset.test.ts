import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { type IpAddress, parseIp } from '../net/ip.js';
import { changeScript, fullScript, removeScript, tableFor } from './nft-script.js';
import { parsePolicy } from './records.js';
import { computeRuleset, type PolicyEndpoint } from './ruleset.js';

const ip = (text: string) => parseIp(text) as IpAddress;
const NETWORKS = [{ key: 'tiers', bridge: 'tthbrtiers', ports: [] }];
const endpoint = (addresses: string[], labels?: Record<string, string>, local = true): PolicyEndpoint => ({
  network: 'tiers',
  addresses: addresses.map(ip),
  ...(labels ? { labels } : {}),
  local,
});
const web = endpoint(['10.0.0.2', 'fd00::2'], { role: 'web' });
const api = endpoint(['10.0.0.3', 'fd00::3'], { role: 'api' });
const db = endpoint(['10.0.0.4', 'fd00::4'], { role: 'db' });
const POLICIES = [
  parsePolicy({ name: 'web-to-api', select: 'role=api', from: ['role=web'], cidrs: [], ports: ['tcp/8080'] }),
  parsePolicy({ name: 'api-to-db', network: 'tiers', select: 'role=db', from: ['role=api'], ports: ['tcp/5432'] }),
  parsePolicy({ name: 'ops', select: 'role in (api,db)', cidrs: ['10.99.0.0/16'], ports: ['tcp/9000-9100', 'icmp'] }),
];

/** Compares with the file under testdata/; UPDATE_GOLDEN=1 writes it instead. */
function golden(name: string, text: string): void {
  const path = new URL(`testdata/${name}`, import.meta.url);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(path, text);
  assert.equal(text, readFileSync(path, 'utf8'));
}

test('three tiers: the whole table, as nft reads it', () => {
  const ruleset = computeRuleset(POLICIES, NETWORKS, [web, api, db]);
  golden('three-tiers.nft', fullScript('tether', ruleset));
});

test('an endpoint whose labels are not known is in no set; another host is a source only', () => {
  const unknown = endpoint(['10.0.0.5']);
  const remoteWeb = endpoint(['10.0.0.6'], { role: 'web' }, false);
  const remoteApi = endpoint(['10.0.0.7'], { role: 'api' }, false);
  const { sets } = computeRuleset(POLICIES, NETWORKS, [web, api, unknown, remoteWeb, remoteApi]);
  const holding = (address: string) => [...sets].filter(([, s]) => s.elements.includes(address)).map(([n]) => n);
  assert.deepEqual(holding('10.0.0.5'), []);
  assert.deepEqual(holding('10.0.0.6').sort(), ['remote4', 's4_' + holding('10.0.0.2')[0]?.slice(3)].sort());
  assert.ok(!holding('10.0.0.7').some((n) => n.startsWith('t')), "another host's api is no target here");
});

test('endpoints coming and going change set elements only; a policy rewrites the chain in the same script', () => {
  const before = computeRuleset(POLICIES, NETWORKS, [web, api, db]);
  const newApi = endpoint(['10.0.0.8', 'fd00::8'], { role: 'api' });
  const joined = computeRuleset(POLICIES, NETWORKS, [web, api, db, newApi]);
  golden('endpoint-joins.nft', changeScript('tether', before, joined) ?? '');
  assert.equal(changeScript('tether', joined, joined), undefined, 'nothing to do');
  const dropped = computeRuleset(POLICIES.slice(1), NETWORKS, [web, api, db, newApi]);
  golden('policy-removed.nft', changeScript('tether', joined, dropped) ?? '');
});

test('with no deny network the rules still drop nothing: no bridge is in the set', () => {
  const { sets, rules } = computeRuleset(POLICIES, [], [web, api]);
  assert.deepEqual(sets.get('bridges')?.elements, []);
  assert.ok(
    [...sets.values()].every((s) => s.elements.length === 0),
    'no endpoint of a deny network',
  );
  assert.equal(rules.at(-1), 'drop');
});

test('tables are per instance; removal tolerates an absent table', () => {
  assert.equal(tableFor('tether'), 'tether');
  assert.equal(tableFor('blue'), 'tether_blue');
  assert.match(tableFor('a b'), /^tether_[0-9a-f]{8}$/);
  assert.equal(
    removeScript('tether'),
    'table inet tether\ndelete table inet tether\ntable bridge tether\ndelete table bridge tether\n',
  );
});
