// Each named address source, one test each, told apart by what only it does:
// the core's (ipam.ts) on two hosts of one store, swarm's (swarm-ipam.ts) on a
// manager and a node. The order is the semantics: a source earlier in the
// list answers asks that a later one would refuse.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { type IpPrefix, parseIp, parsePrefix } from '../net/ip.js';
import { SqliteStore } from '../store/sqlite.js';
import { firstAnswer } from './address-sources.js';
import { sharedIpam } from './index.js';
import type { IpamConfig } from './parts.js';
import { ADDRESSES, parseAddress } from './records.js';
import type { Pool } from './replica.js';
import { ipamConfig } from './testing.js';

const GATEWAY = { RequestAddressType: 'com.docker.network.gateway' };
const subnet = parsePrefix('10.61.0.0/24') as IpPrefix;
const ip = (text: string) => parseIp(text) ?? assert.fail(text);

let dir: string;
let store: SqliteStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-sources-'));
  store = new SqliteStore(join(dir, 'db'));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true });
});

const host = async (name: string, settings: Partial<IpamConfig> = {}) =>
  (await sharedIpam(store, { ...ipamConfig(name), ...settings })).ipam;
/** The stored address records, as "ADDRESS KIND HOLDER". */
const stored = async () =>
  (await store.list(ADDRESSES)).map((e) => {
    const { kind, host: holder } = parseAddress(e.value);
    return `${e.key.slice(e.key.lastIndexOf('/') + 1)} ${kind} ${holder}`;
  });

test('firstAnswer: the first source that answers, named; none answering is a fault of the list', async () => {
  const ask = { poolId: { space: 'local', prefix: subnet }, pool: {} as Pool, kind: 'address' as const };
  const sources = [
    { name: 'never', take: async () => undefined },
    { name: 'seven', take: async () => 7n },
    { name: 'eight', take: async () => assert.fail('asked after an answer') },
  ];
  assert.deepEqual(await firstAnswer(sources, ask), { value: 7n, source: 'seven' });
  await assert.rejects(firstAnswer(sources.slice(0, 1), ask), /no address source answered \(never\)/);
});

describe("the core's sources, in order", () => {
  const pool = { addressSpace: 'local', pool: subnet, options: {}, v6: false };

  test('the gateway every host of a spanning network shares', async () => {
    const [a, b] = [await host('a'), await host('b')];
    const poolId = await a.requestPool(pool);
    await a.requestAddress({ poolId, address: ip('10.61.0.1'), options: GATEWAY });
    await b.requestPool(pool);
    assert.equal(await b.requestAddress({ poolId, address: ip('10.61.0.1'), options: GATEWAY }), '10.61.0.1/24');
    // As a container's address, it is another host's: the explicit source refuses it.
    await assert.rejects(b.requestAddress({ poolId, address: ip('10.61.0.1'), options: {} }), /already in use/);
    assert.deepEqual(await stored(), ['10.61.0.1 gateway a']);
  });

  test('an aux address another host of a cluster network holds', async () => {
    const [a, b] = [await host('a'), await host('b')];
    const poolId = await a.requestPool(pool);
    await a.requestAddress({ poolId, address: ip('10.61.0.5'), options: {} });
    const pass = b.clusterAux.issue([subnet], [ip('10.61.0.5')]);
    await b.requestPool({ ...pool, options: pass });
    assert.equal(await b.requestAddress({ poolId, address: ip('10.61.0.5'), options: {} }), '10.61.0.5/24');
    assert.deepEqual(await stored(), ['10.61.0.5 address a'], 'held once, by the host that took it');
  });

  test('a new address written with its endpoint', async () => {
    const a = await host('a', { defersWrite: () => true });
    const poolId = await a.requestPool(pool);
    const answer = await a.requestAddress({ poolId, options: {} });
    assert.deepEqual(await stored(), [], 'nothing written until its endpoint claims it');
    const claim = a.claims.claimFor([ip(answer.split('/')[0] ?? '')]);
    assert.equal(claim?.operations.length, 1, "the address's write goes with the endpoint's");
  });

  test('the address asked for', async () => {
    const a = await host('a');
    const poolId = await a.requestPool(pool);
    assert.equal(await a.requestAddress({ poolId, address: ip('10.61.0.9'), options: {} }), '10.61.0.9/24');
    await assert.rejects(a.requestAddress({ poolId, address: ip('10.61.0.9'), options: {} }), /already in use/);
    assert.deepEqual(await stored(), ['10.61.0.9 address a']);
  });

  test('the next free address', async () => {
    const [a, b] = [await host('a'), await host('b')];
    const poolId = await a.requestPool(pool);
    await b.requestPool(pool);
    const answers = [await a.requestAddress({ poolId, options: {} }), await b.requestAddress({ poolId, options: {} })];
    assert.equal(new Set(answers).size, 2, `two hosts, two addresses: ${answers}`);
    assert.equal((await stored()).length, 2);
  });
});

describe("swarm's sources, in order", () => {
  const global = { addressSpace: 'global', pool: subnet, options: {}, v6: false };
  const swarmHost = (name: string) => host(name, { swarmScope: true });

  test("the manager's own choice, replayed once a life", async () => {
    const manager = await swarmHost('m');
    const poolId = await manager.requestPool(global);
    await manager.requestAddress({ poolId, address: ip('10.61.0.20'), options: {} });
    await assert.rejects(manager.requestAddress({ poolId, address: ip('10.61.0.20'), options: {} }), /in use/);
    const again = await swarmHost('m');
    await again.requestPool(global);
    assert.equal(await again.requestAddress({ poolId, address: ip('10.61.0.20'), options: {} }), '10.61.0.20/24');
    await assert.rejects(again.requestAddress({ poolId, address: ip('10.61.0.20'), options: {} }), /in use/);
  });

  test("the manager's choice, replayed on a node", async () => {
    const [manager, node] = [await swarmHost('m'), await swarmHost('n')];
    const poolId = await manager.requestPool(global);
    await manager.requestAddress({ poolId, address: ip('10.61.0.21'), options: {} });
    const view = await node.requestPool({ ...global, addressSpace: 'local' });
    assert.deepEqual(view, { space: 'local', prefix: subnet }, "a view of swarm's pool");
    assert.equal(await node.requestAddress({ poolId: view, address: ip('10.61.0.21'), options: {} }), '10.61.0.21/24');
    assert.deepEqual(await stored(), ['10.61.0.21 address @swarm'], 'the replay writes nothing');
  });

  test('the address asked for, and the next free one, held by swarm', async () => {
    const manager = await swarmHost('m');
    const poolId = await manager.requestPool(global);
    await manager.requestAddress({ poolId, address: ip('10.61.0.1'), options: GATEWAY });
    const next = (await manager.requestAddress({ poolId, options: {} })).split('/')[0];
    assert.deepEqual(await stored(), ['10.61.0.1 gateway @swarm', `${next} address @swarm`], 'no host holds them');
  });
});
