// Hostile input to the names service, on real sockets: amplification, floods,
// a stranger's stream, oversized and non-queries, connection hoarding, and
// forged answers from "upstream". Each attack says what it measured.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket from 'dns-packet';
import pino from 'pino';
import { startedView } from '../../src/cluster/view/testing.js';
import type { ClusterView } from '../../src/cluster/view/view.js';
import { FakeServiceAddresses } from '../../src/dataplane/fake-firewall.js';
import { type NamesService, startNames } from '../../src/names/index.js';
import { lengthOf } from '../../src/names/upstream.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'tether-dns-hostile-'));
const store = new SqliteStore(join(dir, 'db'));
let names: NamesService;
let view: ClusterView;
/** How often the service read the host's links (each a spawned `ip` in production). */
let linkReads = 0;
const upstream = createSocket('udp4');
/** How the stand-in upstream answers: forged datagrams first, then (or not) the true answer. */
let forgeries: ((query: Buffer) => Buffer)[] = [];
let answersTruly = true;

before(async () => {
  upstream.on('message', (bytes, from) => {
    const query = dnsPacket.decode(bytes);
    const truth = dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: 0x8180,
      questions: query.questions ?? [],
      answers: [{ type: 'A', name: query.questions?.[0]?.name ?? '', data: '192.0.2.9' }],
    });
    for (const forge of forgeries) upstream.send(forge(truth), from.port, from.address);
    if (answersTruly) upstream.send(truth, from.port, from.address);
  });
  await new Promise<void>((resolve) => upstream.bind(0, '127.0.0.9', resolve));
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.9\n');
  view = await startedView(store);
  names = await startNames({
    view,
    log: pino({ level: 'silent' }),
    address: '127.0.0.1',
    port: 0,
    upstreamPort: upstream.address().port,
    serviceAddress: new FakeServiceAddresses().for('127.0.0.1'),
    snapshot: () => ({ networks: [], endpoints: [] }),
    links: async () => {
      linkReads++;
      return [];
    },
    defaultRouteLinks: async () => [],
    resolvConf: join(dir, 'resolv.conf'),
    limits: { perSecond: 200, burst: 400, inFlight: 64, sources: 16 },
  });
});

after(async () => {
  await names.close();
  view.close();
  upstream.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const query = (name: string, questions = 1, id = 7) =>
  dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: Array.from({ length: questions }, (_, i) => ({ type: 'A' as const, name: `${i}.${name}` })),
  });

/** Sends datagrams from `from`, 50 each 10 ms (no socket buffer overflows); collects replies until `waitMs` after. */
async function udp(datagrams: Buffer[], from = '127.0.0.1', waitMs = 500): Promise<Buffer[]> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, from, resolve));
  const got: Buffer[] = [];
  socket.on('message', (m) => got.push(m));
  for (const [i, datagram] of datagrams.entries()) {
    socket.send(datagram, names.port, '127.0.0.1');
    if (i % 50 === 49) await sleep(10);
  }
  await sleep(waitMs);
  socket.close();
  return got;
}

/** Opens a TCP connection from `from`; resolves once it is open or refused. */
function tcp(from = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: names.port, localAddress: from });
    socket.on('connect', () => resolve(socket));
    socket.on('error', () => resolve(socket));
  });
}

const closed = (socket: Socket, withinMs = 1_000) =>
  Promise.race([new Promise<boolean>((r) => socket.once('close', () => r(true))), sleep(withinMs).then(() => false)]);

test('amplification: 200 questions in one query get a bare 12-byte refusal, not 200 answers', async () => {
  const big = query('example.test', 200);
  const [reply, ...more] = await udp([big]);
  assert.ok(reply, 'a refusal comes back');
  assert.equal(more.length, 0);
  console.log(
    `# ${big.length} bytes asked, ${reply.length} bytes answered (${(reply.length / big.length).toFixed(3)}x)`,
  );
  assert.equal(reply.length, 12);
  assert.equal(reply.readUInt16BE(0), 7, 'the ID, so that the client knows');
  assert.equal(reply.readUInt16BE(2) & 0xf, 1, 'FORMERR');
  assert.equal(reply.readUInt16BE(4), 0, 'no question copied');
});

test('a UDP query over 512 bytes without EDNS, a response, or a short datagram: refused bare, or nothing', async () => {
  const padded = Buffer.concat([query('x'.repeat(60)), Buffer.alloc(600)]);
  const [refusal] = await udp([padded]);
  assert.equal(refusal?.length, 12);
  const response = Buffer.from(query('example.test'));
  response.writeUInt16BE(0x8180, 2);
  assert.deepEqual(await udp([response, Buffer.alloc(5)]), [], 'no reply to a response, or to noise');
});

test("a stranger's 3,400 queries in one TCP stream: no answer, and no reading of the host's links each", async () => {
  const before = linkReads;
  const socket = await tcp('127.0.0.3');
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const one = query('example.test');
  const stream = Buffer.concat(Array.from({ length: 3_400 }, () => Buffer.concat([lengthOf(one), one])));
  socket.write(stream);
  await sleep(1_000);
  socket.destroy();
  console.log(
    `# 3,400 queries of a stranger: ${linkReads - before} readings of the host's links, ${received.length} replies`,
  );
  assert.ok(linkReads - before <= 1, `the links were read ${linkReads - before} times`);
  assert.equal(received.length, 0);
  assert.ok((names.stats.drops.get('outsider') ?? 0) >= 1_000, 'dropped as a stranger, not for its rate');
});

test('a 64 KB TCP query is cut off at its length, before anything is read into memory or decoded', async () => {
  const socket = await tcp();
  const cpu = process.cpuUsage();
  socket.write(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(65_535)]));
  assert.ok(await closed(socket), 'the connection is closed');
  const used = process.cpuUsage(cpu);
  console.log(`# a 64 KB query cost ${((used.user + used.system) / 1000).toFixed(1)} ms of CPU in this process`);
});

test('one source may hold 16 TCP connections; the 17th and later are closed at once', async () => {
  const sockets = await Promise.all(Array.from({ length: 24 }, () => tcp('127.0.0.4')));
  const gone = await Promise.all(sockets.map((s) => closed(s, 500)));
  for (const socket of sockets) socket.destroy();
  assert.equal(gone.filter(Boolean).length, 8);
  assert.ok((names.stats.drops.get('connections') ?? 0) >= 8);
});

test('a flood from one source is limited to its bucket: the rest is dropped unanswered', async () => {
  // From the host itself (a source that may ask), 3,000 queries in about 0.6 s: its bucket holds 400, 200/s.
  const started = performance.now();
  const replies = await udp(
    Array.from({ length: 3_000 }, (_, i) => query('flood.test', 1, i)),
    '127.0.0.1',
    500,
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `# 3,000 queries from one source in ${seconds.toFixed(1)} s: ${replies.length} answered, the rest dropped`,
  );
  assert.ok(replies.length <= 400 + 200 * seconds + 10, `${replies.length} answered`);
  assert.ok(replies.length >= 100, 'the source is still served up to its limit');
  assert.ok((names.stats.drops.get('rate') ?? 0) >= 1_000);
});

test('forged upstream answers (wrong ID, wrong question) are not taken; the true one is', async () => {
  await sleep(2_000);
  const wrongId = (truth: Buffer) => {
    const forged = Buffer.from(truth);
    forged.writeUInt16BE((truth.readUInt16BE(0) + 1) & 0xffff, 0);
    return forged;
  };
  const wrongQuestion = (truth: Buffer) => {
    const decoded = dnsPacket.decode(truth);
    return dnsPacket.encode({
      ...decoded,
      questions: [{ type: 'A', name: 'other.test' }],
      answers: [{ type: 'A', name: 'other.test', data: '203.0.113.66' }],
    });
  };
  forgeries = [wrongId, wrongQuestion];
  const [reply] = await udp([query('true.test', 1, 4242)], '127.0.0.1', 1_000);
  assert.ok(reply);
  const answer = dnsPacket.decode(reply);
  assert.equal(answer.id, 4242, "the client's own ID");
  assert.deepEqual(
    answer.answers?.map((a) => ('data' in a ? a.data : '')),
    ['192.0.2.9'],
  );
  answersTruly = false;
  const [servfail] = await udp([query('forged.test', 1, 4343)], '127.0.0.1', 2_500);
  const rcode = servfail && (dnsPacket.decode(servfail) as { rcode?: string }).rcode;
  assert.equal(rcode, 'SERVFAIL', 'only forgeries: no answer taken');
  forgeries = [];
  answersTruly = true;
});

test('what happened is counted: queries, answers by rcode, refusals by rule, drops by reason', () => {
  const { stats } = names;
  const counts = Object.fromEntries([...stats.answers, ...stats.refusals, ...stats.drops]);
  console.log(`# counted: ${stats.queries} queries, ${JSON.stringify(counts)}`);
  assert.ok(stats.queries > 3_000);
  assert.ok((stats.answers.get('NOERROR') ?? 0) >= 1);
  assert.ok((stats.refusals.get('questions') ?? 0) >= 1);
  assert.ok((stats.refusals.get('size') ?? 0) >= 1);
  assert.ok((stats.drops.get('malformed') ?? 0) >= 2);
});
