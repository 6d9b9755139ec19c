// A "LAN" for networks on host interfaces: a namespace holding a bridge and the
// LAN's router (its .1), a second namespace as a host on that LAN (its .10),
// and veth pairs whose outer ends serve as uplinks, in the test's own host or
// in a namespaced Docker host. Every address is in the test range.
import { must, type Result, sh } from './harness.js';

export class Lan {
  readonly namespace = `tether-e2e-lan-${process.pid}`;
  readonly hostNamespace = `tether-e2e-lanhost-${process.pid}`;
  readonly router: string;
  readonly lanHost: string;

  /** prefix: the first three octets of the LAN's /24. */
  constructor(readonly prefix: string) {
    this.router = `${prefix}.1`;
    this.lanHost = `${prefix}.10`;
  }

  get subnet(): string {
    return `${this.prefix}.0/24`;
  }

  async create(): Promise<void> {
    await must('ip', 'netns', 'add', this.namespace);
    await must('ip', 'netns', 'add', this.hostNamespace);
    await this.inLan('ip', 'link', 'add', 'lan0', 'type', 'bridge');
    await this.inLan('ip', 'address', 'add', `${this.router}/24`, 'dev', 'lan0');
    await this.inLan('ip', 'link', 'set', 'lan0', 'up');
    await this.inLan('ip', 'link', 'set', 'lo', 'up');
    await must(
      'ip',
      'link',
      'add',
      'lanhost',
      'netns',
      this.hostNamespace,
      'type',
      'veth',
      'peer',
      'name',
      'lanhostp',
      'netns',
      this.namespace,
    );
    await this.inLan('ip', 'link', 'set', 'lanhostp', 'master', 'lan0', 'up');
    await this.onLanHost('ip', 'address', 'add', `${this.lanHost}/24`, 'dev', 'lanhost');
    await this.onLanHost('ip', 'link', 'set', 'lanhost', 'up');
    await this.onLanHost('ip', 'link', 'set', 'lo', 'up');
    await this.onLanHost('ip', 'route', 'add', 'default', 'via', this.router);
  }

  /** A veth from the LAN's bridge: `name` is the uplink, in this host or moved into a namespace. */
  async addUplink(name: string, namespace?: string): Promise<void> {
    const where = namespace ? ['netns', namespace] : [];
    await must(
      'ip',
      'link',
      'add',
      name,
      ...where,
      'type',
      'veth',
      'peer',
      'name',
      `${name}l`,
      'netns',
      this.namespace,
    );
    await this.inLan('ip', 'link', 'set', `${name}l`, 'master', 'lan0', 'up');
    await must('ip', ...(namespace ? ['-n', namespace] : []), 'link', 'set', name, 'up');
  }

  inLan(...command: string[]): Promise<string> {
    return must('ip', 'netns', 'exec', this.namespace, ...command);
  }

  onLanHost(...command: string[]): Promise<string> {
    return must('ip', 'netns', 'exec', this.hostNamespace, ...command);
  }

  tryOnLanHost(...command: string[]): Promise<Result> {
    return sh('ip', ['netns', 'exec', this.hostNamespace, ...command]);
  }

  /** The MAC the LAN host has learned for an address: who it really talked to. */
  async macSeenFor(address: string): Promise<string | undefined> {
    const line = await this.onLanHost('ip', 'neigh', 'show', address);
    return /lladdr (\S+)/.exec(line)?.[1];
  }

  /** Deleting the namespaces takes the bridge and every veth with them, uplinks included. */
  async delete(): Promise<void> {
    await sh('ip', ['netns', 'del', this.hostNamespace]);
    await sh('ip', ['netns', 'del', this.namespace]);
  }
}
