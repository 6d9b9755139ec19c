// The cluster view on a real etcd whose history is compacted while the view is
// cut off from it: its watch cannot resume where it was, so the view reads
// again at a new revision and tells the difference as changes.
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { compactEtcd, useEtcd } from '../../../test/support/etcd.js';
import { freePorts } from '../../../test/support/free-ports.js';
import { EtcdStore } from '../../store/etcd.js';
import { HOSTS, MEMBERS } from '../records.js';
import { startedView } from './testing.js';

const etcd = useEtcd();

/** A TCP relay to etcd that can be cut (every connection closed, none taken) and mended. */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: number,
  ) {}

  async open(): Promise<void> {
    this.server = createServer((inbound) => {
      const outbound = connect(this.target, '127.0.0.1');
      for (const socket of [inbound, outbound]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => this.sockets.delete(socket));
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
  }

  async cut(): Promise<void> {
    const server = this.server;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

let relay: Relay | undefined;
after(() => relay?.cut());

test('a view cut off while etcd compacts past its watch reads again and tells what changed', async () => {
  const target = Number(new URL(etcd.url()).port);
  relay = new Relay(await freePorts(1), target);
  await relay.open();
  const direct = new EtcdStore({ hosts: etcd.url() }, 'compacted/');
  const relayed = new EtcdStore({ hosts: `http://127.0.0.1:${relay.port}` }, 'compacted/');
  const put = (key: string, value: unknown) => direct.commit([], [{ type: 'put', key, value: JSON.stringify(value) }]);
  const member = (mac: string, address: string) => ({ host: 'b', mac, addresses: [address] });
  await put(`${HOSTS}b`, { host: 'b', vtep: '192.0.2.2', startedAt: 1 });
  await put(`${MEMBERS}web/goes`, member('02:42:0a:01:00:02', '10.1.0.2'));
  const view = await startedView(relayed);
  const told: string[] = [];
  view.onMember((now, before) => told.push(`${before?.endpoint ?? '-'} -> ${now?.endpoint ?? '-'}`));
  await put(`${MEMBERS}web/seen`, member('02:42:0a:01:00:03', '10.1.0.3'));
  for (let i = 0; i < 100 && told.length < 1; i++) await sleep(20);
  assert.deepEqual(told, ['- -> seen']);

  await relay.cut();
  await direct.commit([], [{ type: 'delete', key: `${MEMBERS}web/goes` }]);
  await put(`${MEMBERS}web/comes`, member('02:42:0a:01:00:04', '10.1.0.4'));
  const revision = (await direct.get(`${MEMBERS}web/comes`))?.revision ?? assert.fail('not written');
  await compactEtcd(etcd.url(), revision);
  await relay.open();

  for (let i = 0; i < 300 && told.length < 3; i++) await sleep(50);
  assert.deepEqual(told.slice(1).sort(), ['- -> comes', 'goes -> -']);
  assert.deepEqual([...view.membersOf('web')].map((m) => m.endpoint).sort(), ['comes', 'seen']);
  // Followed again, from the new revision.
  await put(`${MEMBERS}web/after`, member('02:42:0a:01:00:05', '10.1.0.5'));
  for (let i = 0; i < 100 && !told.includes('- -> after'); i++) await sleep(20);
  assert.ok(told.includes('- -> after'));
  view.close();
  await relayed.close();
  await direct.close();
});
