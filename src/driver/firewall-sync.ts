// The firewall follows the driver's state: every sync hands the firewall the
// whole set of networks with their published ports, one sync at a time.
import type { Firewall, FirewallNetwork } from '../dataplane/dataplane.js';
import { Serial } from '../util/serial.js';
import type { DriverState } from './state.js';

export class FirewallSync {
  private readonly queue = new Serial();

  constructor(
    private readonly state: DriverState,
    private readonly firewall: Firewall,
  ) {}

  sync(): Promise<void> {
    return this.queue.run(() => this.firewall.sync(this.networks()));
  }

  verify(): Promise<string[]> {
    return this.firewall.verify(this.networks());
  }

  private networks(): FirewallNetwork[] {
    return [...this.state.networks.values()].map((n) => ({
      bridge: n.bridge,
      internal: n.internal,
      nat: n.nat,
      subnets: n.subnets,
      ports: this.state.endpointsOf(n.id).flatMap((e) => e.ports),
    }));
  }
}
