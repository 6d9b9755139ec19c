// The firewall follows the driver's state: every sync hands the firewall the
// whole set of networks with their published ports, one sync at a time, and
// then brings the policy table (deny networks) in line.
import type { Firewall, FirewallNetwork } from '../dataplane/dataplane.js';
import { Serial } from '../util/serial.js';
import { kindOf } from './kinds/kind-of.js';
import type { PolicyPort } from './seams.js';
import type { DriverState } from './state.js';

export class FirewallSync {
  private readonly queue = new Serial();

  constructor(
    private readonly state: DriverState,
    private readonly firewall: Firewall,
    private readonly policy?: PolicyPort,
  ) {}

  async sync(): Promise<void> {
    await this.syncRules();
    await this.syncPolicy();
  }

  /** The iptables rules alone. */
  syncRules(): Promise<void> {
    return this.queue.run(() => this.firewall.sync(this.networks()));
  }

  /** The policy table alone: endpoints of deny networks came, went (or are `leaving`) or got their labels. */
  async syncPolicy(leaving?: string): Promise<void> {
    await this.policy?.sync(leaving);
  }

  async verify(): Promise<string[]> {
    return [...(await this.firewall.verify(this.networks())), ...((await this.policy?.audit()) ?? [])];
  }

  private networks(): FirewallNetwork[] {
    // A macvlan network has no bridge: its traffic never passes the host's forwarding.
    return [...this.state.networks.values()].flatMap((n) => {
      const { bridge, lan } = kindOf(n);
      if (bridge === undefined) return [];
      const ports = this.state.endpointsOf(n.id).flatMap((e) => e.ports);
      return [{ bridge, lan, internal: n.internal, nat: n.nat, subnets: n.subnets, ports }];
    });
  }
}
