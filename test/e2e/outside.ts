// A host outside Docker for the end-to-end tests, in a network namespace.
import { type ChildProcess, spawn } from 'node:child_process';
import { must, type Result, sh } from './host-tools.js';

/**
 * A host "outside" Docker: a network namespace of the test's own, linked to the host by a veth
 * pair on a /24 of the test range, with its default route through the host.
 */
export class Outside {
  readonly namespace: string;
  readonly link: string;

  constructor(
    readonly id: number,
    readonly hostAddress = `10.230.${250 + id}.1`,
    readonly address = `10.230.${250 + id}.2`,
  ) {
    this.namespace = `tether-e2e-out${id}-${process.pid}`;
    this.link = `tteout${id}`;
  }

  async create(): Promise<void> {
    await must('ip', 'netns', 'add', this.namespace);
    await must(
      'ip',
      'link',
      'add',
      this.link,
      'type',
      'veth',
      'peer',
      'name',
      `${this.link}p`,
      'netns',
      this.namespace,
    );
    await must('ip', 'address', 'add', `${this.hostAddress}/24`, 'dev', this.link);
    await must('ip', 'link', 'set', this.link, 'up');
    await this.exec('ip', 'address', 'add', `${this.address}/24`, 'dev', `${this.link}p`);
    await this.exec('ip', 'link', 'set', `${this.link}p`, 'up');
    await this.exec('ip', 'link', 'set', 'lo', 'up');
    await this.exec('ip', 'route', 'add', 'default', 'via', this.hostAddress);
  }

  exec(...command: string[]): Promise<string> {
    return must('ip', 'netns', 'exec', this.namespace, ...command);
  }

  try(...command: string[]): Promise<Result> {
    return sh('ip', ['netns', 'exec', this.namespace, ...command]);
  }

  /** Runs a command in the namespace in the background; returns it, to be killed by pid. */
  spawn(...command: string[]): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.namespace, ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  async delete(): Promise<void> {
    await sh('ip', ['link', 'del', this.link]);
    await sh('ip', ['netns', 'del', this.namespace]);
  }
}
