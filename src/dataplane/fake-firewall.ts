// In-memory Firewall, PortKeeper and service addresses for unit tests: each
// holds what the kernel would, and the firewall renders its rules with the real
// rule builder.
import { TetherError } from '../errors.js';
import { formatIp, formatPrefix } from '../net/ip.js';
import type { Firewall, FirewallNetwork, HostPort, PortKeeper } from './dataplane.js';
import { familyRules } from './iptables.js';
import type { ServiceAddress } from './service-address.js';

/** A network's rules as text, as the kernel would hold them. */
const rulesOf = (n: FirewallNetwork) => ({
  bridge: n.bridge,
  internal: n.internal,
  nat: n.nat,
  subnets: n.subnets.map(formatPrefix),
  ports: n.ports.map((p) => ({
    proto: p.proto,
    hostIp: p.hostIp ? formatIp(p.hostIp) : '',
    hostPort: p.hostPort,
    containerIp: formatIp(p.containerIp),
    containerPort: p.containerPort,
  })),
});

/** What the real firewall writes for the networks, both families, from the same rule builder. */
const rendered = (networks: readonly FirewallNetwork[]) => ({
  4: familyRules(networks, 4),
  6: familyRules(networks, 6),
});

export class FakeFirewall implements Firewall {
  /** The networks as last synced, as text (tests read them). */
  networks: ReturnType<typeof rulesOf>[] = [];
  /** The rules the real firewall would hold now. */
  rules = rendered([]);

  async sync(networks: readonly FirewallNetwork[]): Promise<void> {
    this.networks = networks.map(rulesOf);
    this.rules = rendered(networks);
  }

  /** As IpTables.verify: the rules the networks need, against those held. */
  async verify(networks: readonly FirewallNetwork[]): Promise<string[]> {
    const same = JSON.stringify(rendered(networks)) === JSON.stringify(this.rules);
    return same ? [] : ['firewall rules are not those of the networks'];
  }
}

export class FakePortKeeper implements PortKeeper {
  readonly held = new Set<string>();
  private nextFree = 49153;

  async hold({ proto, hostIp, family, port }: HostPort): Promise<number> {
    const actual = port || this.nextFree++;
    const key = `${proto}/${hostIp ? formatIp(hostIp) : family}/${actual}`;
    if (this.held.has(key))
      throw new TetherError('CONFLICT', `host port ${actual}/${proto} is not available: EADDRINUSE`);
    this.held.add(key);
    return actual;
  }

  async release({ proto, hostIp, family, port }: HostPort): Promise<void> {
    this.held.delete(`${proto}/${hostIp ? formatIp(hostIp) : family}/${port}`);
  }
}

/** The service addresses on the host's lo, as the kernel would hold them. */
export class FakeServiceAddresses {
  readonly held = new Set<string>();

  for(address: string): ServiceAddress {
    return {
      add: async () => void this.held.add(address),
      remove: async () => void this.held.delete(address),
    };
  }
}
