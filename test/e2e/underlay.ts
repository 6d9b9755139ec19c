// The cluster tests' underlay: a namespace of its own holding a bridge the
// hosts are linked to, and a three-member etcd on it.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { must, sh, stopProcess, waitFor } from './host-tools.js';

export const UNDERLAY_NET = '10.230.240';
/** Where each host's tether serves the cluster's names (its default --names-addr), Docker's dns points at it. */
export const NAMES_ADDRESS = '169.254.53.53';
/**
 * The hosts' own "usual resolver": an address of the test range, unreachable from every host (no default
 * route there, and an unreachable route in the root namespace), so a name nobody owns dies on the machine.
 */
export const DEAD_RESOLVER = '10.230.255.254';

/** Polls until the check holds; fails the test, naming what never happened, after the timeout. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`never happened within ${timeoutMs / 1000} s: ${what}`);
}
/** etcd's client ports, inside the underlay's namespace: no other process on the machine can hold them. */
const ETCD_PORTS = [12379, 12479, 12579];
const base64 = (text: string) => Buffer.from(text).toString('base64');
export class Underlay {
  readonly namespace = `tether-e2e-ul-${process.pid}`;
  readonly address = `${UNDERLAY_NET}.1`;
  private readonly members: (ChildProcess | undefined)[] = [];
  /** /etc/netns holds the hosts' spec files; removed at the end if this run made it. */
  private readonly madeEtcNetns = !existsSync('/etc/netns');

  constructor(private readonly work: string) {}

  get storeUrl(): string {
    return `etcd://${ETCD_PORTS.map((port) => `${this.address}:${port}`).join(',')}`;
  }

  async create(): Promise<void> {
    await must('ip', 'netns', 'add', this.namespace);
    await this.exec('ip', 'link', 'set', 'lo', 'up');
    await this.exec('ip', 'link', 'add', 'ul0', 'type', 'bridge');
    await this.exec('ip', 'address', 'add', `${this.address}/24`, 'dev', 'ul0');
    await this.exec('ip', 'link', 'set', 'ul0', 'up');
    await Promise.all(ETCD_PORTS.map((_, i) => this.startEtcd(i)));
    await waitFor('etcd', () => this.healthy());
  }

  exec(...command: string[]): Promise<string> {
    return must('ip', 'netns', 'exec', this.namespace, ...command);
  }

  /** Starts member i (again: its data stays between a kill and a start). */
  async startEtcd(i: number): Promise<void> {
    const peer = (m: number) => `http://${this.address}:${(ETCD_PORTS[m] ?? 0) + 1}`;
    const client = `http://${this.address}:${ETCD_PORTS[i]}`;
    const log = openSync(join(this.work, `etcd${i}.log`), 'a');
    this.members[i] = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.namespace,
        'etcd',
        '--name',
        `m${i}`,
        '--data-dir',
        join(this.work, `etcd${i}`),
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer(i),
        '--initial-advertise-peer-urls',
        peer(i),
        '--initial-cluster',
        ETCD_PORTS.map((_, m) => `m${m}=${peer(m)}`).join(','),
        '--initial-cluster-state',
        'new',
        '--heartbeat-interval',
        '100',
        '--election-timeout',
        '1000',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
  }

  /** kill -9 of one member. */
  async killEtcd(i: number): Promise<void> {
    await stopProcess(this.members[i], 'SIGKILL');
  }

  /** Whether every member answers /health with a leader. */
  /** Writes a key of tether's in etcd as any client could, through etcd's JSON gateway: a record not tether's. */
  async putRecord(key: string, value: string): Promise<void> {
    await this.gateway('put', { key: base64(`tether/${key}`), value: base64(value) });
  }

  async deleteRecord(key: string): Promise<void> {
    await this.gateway('deleterange', { key: base64(`tether/${key}`) });
  }

  private async gateway(call: string, body: unknown): Promise<void> {
    const url = `http://${this.address}:${ETCD_PORTS[0]}/v3/kv/${call}`;
    await this.exec('busybox', 'wget', '-q', '-O', '-', '--post-data', JSON.stringify(body), url);
  }

  async healthy(): Promise<boolean> {
    const answers = await Promise.all(
      ETCD_PORTS.map((port) =>
        sh('ip', [
          'netns',
          'exec',
          this.namespace,
          'timeout',
          '3',
          'busybox',
          'wget',
          '-q',
          '-O',
          '-',
          `http://${this.address}:${port}/health`,
        ]),
      ),
    );
    return answers.every((a) => a.code === 0 && a.stdout.includes('"health":"true"'));
  }

  async delete(): Promise<void> {
    for (const member of this.members) await stopProcess(member, 'SIGTERM');
    await sh('ip', ['netns', 'del', this.namespace]);
    if (this.madeEtcNetns) rmSync('/etc/netns', { recursive: true, force: true });
  }
}
