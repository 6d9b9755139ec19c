// A container's address written with its endpoint's transaction (cluster
// mode): nothing stored until the endpoint claims it, released without a
// write, written alone if no endpoint comes, and never handed out twice.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { parseCidr, parsePrefix } from '../net/ip.js';
import { FaultyStore } from '../store/faulty.js';
import { SqliteStore } from '../store/sqlite.js';
import { sharedIpam } from './index.js';
import { ADDRESSES } from './records.js';
import { ipamConfig } from './testing.js';

let dir: string;
let store: FaultyStore;
const warnings: string[] = [];
const open = async (host: string) =>
  (await sharedIpam(store, { ...ipamConfig(host), defersWrite: () => true, warn: (m) => warnings.push(m) })).ipam;
const request = { addressSpace: 'local', pool: parsePrefix('10.9.12.0/24') ?? assert.fail(), options: {}, v6: false };
const stored = async () => (await store.list(ADDRESSES)).map((e) => e.key.slice(e.key.lastIndexOf('/') + 1));
const addressOf = (cidr: string) => parseCidr(cidr)?.address ?? assert.fail(cidr);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-deferred-'));
  store = new FaultyStore(new SqliteStore(join(dir, 'db')));
  warnings.length = 0;
});
afterEach(async () => {
  mock.timers.reset();
  await store.close();
  rmSync(dir, { recursive: true });
});

test("an address waits for its endpoint's transaction, which writes it; memory holds it meanwhile", async () => {
  const ipam = await open('a');
  const poolId = await ipam.requestPool(request);
  const first = await ipam.requestAddress({ poolId, options: {} });
  const second = await ipam.requestAddress({ poolId, options: {} });
  assert.notEqual(first, second);
  assert.deepEqual(await stored(), []);
  const claim = ipam.claims.claimFor([addressOf(first)]);
  assert.equal(await store.commit(claim.guards, claim.operations), true);
  claim.settle('written');
  assert.deepEqual(await stored(), [first.split('/')[0]]);
  assert.deepEqual(ipam.claims.claimFor([addressOf(first)]).operations, [], 'claimed once');
});

test('an address released before any endpoint claimed it is free again, and nothing was written', async () => {
  const ipam = await open('a');
  const poolId = await ipam.requestPool(request);
  const address = await ipam.requestAddress({ poolId, options: {} });
  const writes = store.writes;
  await ipam.releaseAddress(poolId, addressOf(address));
  assert.equal(store.writes, writes);
  assert.deepEqual(ipam.claims.claimFor([addressOf(address)]).operations, []);
  await assert.doesNotReject(ipam.requestAddress({ poolId, options: {}, address: addressOf(address) }));
});

test('an address no endpoint claims is written alone after a while', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const ipam = await open('a');
  const poolId = await ipam.requestPool(request);
  const address = await ipam.requestAddress({ poolId, options: {} });
  mock.timers.tick(3_000);
  for (let i = 0; i < 20 && (await stored()).length === 0; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(await stored(), [address.split('/')[0]]);
  assert.deepEqual(warnings, []);
});

test("the endpoint's transaction fails if another host wrote the address meanwhile", async () => {
  const [a, b] = [await open('a'), await open('b')];
  const poolId = await a.requestPool(request);
  await b.requestPool(request);
  const address = await a.requestAddress({ poolId, options: {} });
  // b was told to take this very address (as with --ip) before a's endpoint came.
  await b.requestAddress({ poolId, options: {}, address: addressOf(address) });
  const claim = a.claims.claimFor([addressOf(address)]);
  assert.equal(await store.commit(claim.guards, claim.operations), false);
  claim.settle('refused');
  // Docker releases it after the failed CreateEndpoint: b's record stays.
  await a.releaseAddress(poolId, addressOf(address));
  assert.deepEqual(await stored(), [address.split('/')[0]]);
});

test('without a network of its own on the pool, an address is written at once', async () => {
  const ipam = (await sharedIpam(store, { ...ipamConfig('a'), defersWrite: () => false })).ipam;
  const poolId = await ipam.requestPool(request);
  const address = await ipam.requestAddress({ poolId, options: {} });
  assert.deepEqual(await stored(), [address.split('/')[0]]);
});

test('an address whose endpoint the store failed waits again: Docker releases it without the store', async () => {
  const ipam = await open('a');
  const poolId = await ipam.requestPool(request);
  const address = await ipam.requestAddress({ poolId, options: {} });
  ipam.claims.claimFor([addressOf(address)]).settle('unknown');
  store.failEverything();
  await ipam.releaseAddress(poolId, addressOf(address));
  store.heal();
  await assert.doesNotReject(ipam.requestAddress({ poolId, options: {}, address: addressOf(address) }));
  assert.deepEqual(await stored(), [address.split('/')[0]]);
});
