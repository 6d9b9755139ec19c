// The names service on a real socket (127.0.0.1, a port of the kernel's
// choice), over a real SQLite store holding member and host records, with a
// stand-in upstream resolver of the test's own: what it answers, what it passes
// on, whom it refuses, and how fast a name goes.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket, { type DecodedPacket, type Packet } from 'dns-packet';
import pino from 'pino';
import { HOSTS, memberKey } from '../cluster/records.js';
import { startedView } from '../cluster/view/testing.js';
import type { ClusterView } from '../cluster/view/view.js';
import { FakeServiceAddresses } from '../dataplane/fake-firewall.js';
import type { EndpointRecord, NetworkRecord } from '../driver/records.js';
import { parseCidr, parsePrefix } from '../net/ip.js';
import { SqliteStore } from '../store/sqlite.js';
import { reverseAddress } from './answer.js';
import { type NamesService, startNames } from './index.js';
import { lengthOf } from './upstream.js';

const dir = mkdtempSync(join(tmpdir(), 'tether-names-'));
const store = new SqliteStore(join(dir, 'db'));
const addresses = new FakeServiceAddresses();
let names: NamesService;
let view: ClusterView;
let upstreamPort = 0;
const upstream = createSocket('udp4');
const upstreamSeen: string[] = [];

/** The asking container: tether's endpoint with 127.0.0.1 on cluster network web, and one on internal-only db. */
const network = (id: string, cluster: string, internal: boolean) =>
  ({
    id,
    kind: { type: 'cluster', bridge: 'b', name: cluster, vni: 1, device: 'v' },
    internal,
    subnets: [parsePrefix('127.0.0.0/8')],
  }) as unknown as NetworkRecord;
const endpoint = (id: string, networkId: string, address: string, sandboxKey: string) =>
  ({ id, networkId, address: parseCidr(address), sandboxKey }) as unknown as EndpointRecord;
const snapshot = {
  networks: [network('n1', 'web', false), network('n2', 'db', true)],
  endpoints: [endpoint('e1', 'n1', '127.0.0.1/8', 's1'), endpoint('e2', 'n2', '127.0.0.2/8', 's2')],
};

const put = (key: string, value: unknown) => store.commit([], [{ type: 'put', key, value: JSON.stringify(value) }]);
const member = (host: string, name: string, addresses: string[], aliases?: string[]) => ({
  host,
  mac: '02:00:00:00:00:01',
  addresses,
  name,
  ...(aliases ? { aliases } : {}),
});

before(async () => {
  upstream.on('message', (bytes, from) => {
    const query = dnsPacket.decode(bytes);
    upstreamSeen.push(query.questions?.[0]?.name ?? '');
    const answer: Packet = { type: 'response', id: query.id ?? 0, flags: 0x8180, questions: query.questions ?? [] };
    upstream.send(
      dnsPacket.encode({ ...answer, answers: [{ type: 'A', name: 'outside', data: '192.0.2.9' }] }),
      from.port,
      from.address,
    );
  });
  await new Promise<void>((resolve) => upstream.bind(0, '127.0.0.9', resolve));
  upstreamPort = upstream.address().port;
  for (const host of ['h1', 'h2']) await put(HOSTS + host, { host, vtep: '10.0.0.1', startedAt: 0 });
  await put(memberKey('web', 'a'), member('h2', 'alpha', ['10.1.0.2', 'fd00::2'], ['api', '0123456789ab']));
  await put(memberKey('web', 'b'), member('h1', 'twin', ['10.1.0.3']));
  await put(memberKey('web', 'c'), member('h2', 'twin', ['10.1.0.4']));
  await put(memberKey('db', 'd'), member('h2', 'store', ['10.2.0.2']));
  await put(memberKey('other', 'e'), member('h2', 'hidden', ['10.3.0.2']));
  // The stand-in upstream listens on another port than 53: the service is given a resolv.conf and a port.
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.9\nnameserver 127.0.0.53\n');
  view = await startedView(store);
  names = await startNames({
    view,
    log: pino({ level: 'silent' }),
    address: '127.0.0.1',
    port: 0,
    upstreamPort,
    serviceAddress: addresses.for('127.0.0.1'),
    snapshot: () => snapshot,
    links: async () => [],
    defaultRouteLinks: async () => [],
    resolvConf: join(dir, 'resolv.conf'),
  });
});

after(async () => {
  await names.close();
  view.close();
  upstream.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One query over UDP from the given local address. */
async function ask(
  name: string,
  type: 'A' | 'AAAA' | 'MX' | 'PTR',
  from = '127.0.0.1',
  waitMs = 3000,
): Promise<DecodedPacket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, from, resolve));
  const answer = new Promise<Buffer>((resolve) => socket.once('message', resolve));
  socket.send(
    dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }),
    names.port,
    '127.0.0.1',
  );
  const bytes = await Promise.race([answer, sleep(waitMs).then(() => undefined)]);
  socket.close();
  if (!bytes) assert.fail(`no answer for ${name}`);
  return dnsPacket.decode(bytes);
}

const data = (packet: DecodedPacket) => (packet.answers ?? []).map((a) => ('data' in a ? String(a.data) : '')).sort();
const rcode = (packet: DecodedPacket) => (packet as DecodedPacket & { rcode: string }).rcode;

test('the service address is put on the host while the service runs', () => {
  assert.deepEqual([...addresses.held], ['127.0.0.1']);
});

test('NAME, NAME.NETWORK and an alias on the asker’s cluster network, with A and AAAA', async () => {
  for (const name of ['alpha', 'alpha.web', 'api', 'API.web', '0123456789ab']) {
    const answer = await ask(name, 'A');
    assert.deepEqual(data(answer), ['10.1.0.2'], name);
    assert.equal(answer.flag_aa, true);
    assert.equal((answer.answers?.[0] as { ttl?: number } | undefined)?.ttl, 5);
  }
  assert.deepEqual(data(await ask('alpha', 'AAAA')), ['fd00::2']);
});

test('a name on two hosts answers with both; a name it owns answers other types with no data', async () => {
  assert.deepEqual(data(await ask('twin', 'A')), ['10.1.0.3', '10.1.0.4']);
  const mx = await ask('alpha', 'MX');
  assert.equal(rcode(mx), 'NOERROR');
  assert.deepEqual(mx.answers, []);
});

test('reverse lookups of cluster addresses give NAME.NETWORK', async () => {
  assert.deepEqual(data(await ask('2.0.1.10.in-addr.arpa', 'PTR')), ['alpha.web']);
  assert.deepEqual(reverseAddress('2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa'), {
    version: 6,
    value: 0xfd000000000000000000000000000002n,
  });
});

test('names of networks the asker is not on, and unknown names, go to the host’s resolvers unchanged', async () => {
  upstreamSeen.length = 0;
  assert.deepEqual(data(await ask('hidden', 'A')), ['192.0.2.9']);
  assert.deepEqual(data(await ask('example.test', 'A')), ['192.0.2.9']);
  assert.deepEqual(upstreamSeen, ['hidden', 'example.test']);
});

test('a container on internal networks only gets the cluster’s names, and nothing from outside', async () => {
  upstreamSeen.length = 0;
  assert.deepEqual(data(await ask('store', 'A', '127.0.0.2')), ['10.2.0.2']);
  assert.equal(rcode(await ask('example.test', 'A', '127.0.0.2')), 'REFUSED');
  assert.deepEqual(upstreamSeen, []);
});

test('over TCP too', async () => {
  const query = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'alpha.web' }] });
  const socket = connect({ host: '127.0.0.1', port: names.port, localAddress: '127.0.0.1' });
  socket.write(Buffer.concat([lengthOf(query), query]));
  const chunks: Buffer[] = [];
  for await (const chunk of socket) {
    chunks.push(chunk as Buffer);
    const all = Buffer.concat(chunks);
    if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) break;
  }
  socket.destroy();
  assert.deepEqual(data(dnsPacket.decode(Buffer.concat(chunks).subarray(2))), ['10.1.0.2']);
});

test('a stranger (not a container of this host, not the host) gets nothing back; nothing is passed on', async () => {
  upstreamSeen.length = 0;
  await assert.rejects(ask('alpha', 'A', '127.0.0.3', 300), /no answer/);
  await assert.rejects(ask('example.test', 'A', '127.0.0.3', 300), /no answer/);
  assert.deepEqual(upstreamSeen, []);
});

test('a removed endpoint stops resolving at once; a host whose registration lapsed loses its names', async () => {
  await store.commit([], [{ type: 'delete', key: memberKey('web', 'c') }]);
  await until(async () => JSON.stringify(data(await ask('twin', 'A'))) === '["10.1.0.3"]');
  await store.commit([], [{ type: 'delete', key: `${HOSTS}h2` }]);
  await until(async () => data(await ask('alpha', 'A')).includes('192.0.2.9'));
});

test('when no resolver answers, the client hears SERVFAIL at once instead of waiting', async () => {
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.10\n');
  const started = Date.now();
  assert.equal(rcode(await ask('example.test', 'A')), 'SERVFAIL');
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
});

async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail('never happened within 3 s');
    await sleep(20);
  }
}
