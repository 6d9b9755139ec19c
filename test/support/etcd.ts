// A real etcd (Debian's etcd-server) for one test file: on loopback ports
// chosen free, in a directory of its own, stopped by its pid.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { freePorts } from './free-ports.js';

/** Makes etcd forget its history up to the revision, as its own compaction does. */
export async function compactEtcd(url: string, revision: number): Promise<void> {
  const client = new Etcd3({ hosts: url });
  await client.kv.compact({ revision: String(revision), physical: true }).finally(() => client.close());
}

/** Starts etcd before the file's tests and stops it after; `url()` is its client URL once started. */
export function useEtcd(): { url: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'tether-etcd-'));
  let etcd: ChildProcess | undefined;
  let url = '';
  before(async () => {
    const client = await freePorts(2);
    const peer = `http://127.0.0.1:${client + 1}`;
    url = `http://127.0.0.1:${client}`;
    etcd = spawn(
      'etcd',
      [
        ...['--name', 'test', '--data-dir', join(dir, 'data')],
        ...['--listen-client-urls', url, '--advertise-client-urls', url],
        ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `test=${peer}`],
      ],
      { stdio: 'ignore' },
    );
    const probe = new Etcd3({ hosts: url, dialTimeout: 500 });
    try {
      for (
        let i = 0;
        !(await probe.get('probe').then(
          () => true,
          () => false,
        ));
        i++
      ) {
        if (i === 100) throw new Error('etcd did not start');
        await sleep(100);
      }
    } finally {
      probe.close();
    }
  });
  after(async () => {
    const running = etcd;
    if (running && running.exitCode === null) {
      await new Promise((done) => {
        running.once('exit', done);
        running.kill('SIGTERM');
      });
    }
    rmSync(dir, { recursive: true });
  });
  return { url: () => url };
}
