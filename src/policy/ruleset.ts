// What the kernel must hold for the policies: computed, never patched, from the
// policies, this host's deny networks and the endpoints (this host's and, in
// cluster mode, the others'). The nftables text is rendered from it
// (nft-script.ts); explain.ts answers from the same matching.
import { createHash } from 'node:crypto';
import { formatIp, formatPrefix, type IpAddress, type IpVersion } from '../net/ip.js';
import type { Policy, PortRule } from './records.js';
import { formatSelector, matches, type Selector } from './selector.js';

/** A network of this host with `-o tether.policy=deny`, by its policy key (cluster name, or ID). */
export interface DenyNetwork {
  readonly key: string;
  readonly bridge: string;
  /** Its endpoints' host ends on this host: shut while the bridge hooks cannot be had. */
  readonly ports: readonly string[];
}

export interface PolicyEndpoint {
  /** Its network's policy key. */
  readonly network: string;
  readonly addresses: readonly IpAddress[];
  /** Undefined while its container's labels are not known: it matches no selector (fail-closed). */
  readonly labels?: Readonly<Record<string, string>>;
  /** On this host: this host enforces ingress to it. Another host's endpoints are only sources here. */
  readonly local: boolean;
  /** For `tether policy test`: the endpoint's ID and its container's name. */
  readonly id?: string;
  readonly name?: string;
}

export interface AddressSet {
  readonly type: 'ipv4_addr' | 'ipv6_addr' | 'ifname';
  readonly elements: readonly string[];
}

export interface Ruleset {
  /** Named sets: the deny bridges, other hosts' endpoints, and one per selector, scope and family. */
  readonly sets: ReadonlyMap<string, AddressSet>;
  /** The ingress chain, in order. */
  readonly rules: readonly string[];
}

export const BRIDGES_SET = 'bridges';
const REMOTE_SET = { 4: 'remote4', 6: 'remote6' } as const;
const FAMILY = { 4: 'ip', 6: 'ip6' } as const;

/** Whether the policy applies on this network. */
export const appliesTo = (policy: Policy, network: string) =>
  policy.network === undefined || policy.network === network;

/** The endpoints a selector picks in a policy's scope (labels unknown: none). */
export function selected(policy: Policy, selector: Selector, endpoint: PolicyEndpoint): boolean {
  return appliesTo(policy, endpoint.network) && endpoint.labels !== undefined && matches(selector, endpoint.labels);
}

/** Whether a port rule lets in this protocol and port. */
export function portAllows(rule: PortRule, proto: PortRule['proto'], port?: number): boolean {
  if (rule.proto !== proto) return false;
  return !rule.ports || (port !== undefined && port >= rule.ports.from && port <= rule.ports.to);
}

export function computeRuleset(
  policies: readonly Policy[],
  networks: readonly DenyNetwork[],
  endpoints: readonly PolicyEndpoint[],
): Ruleset {
  const deny = new Set(networks.map((n) => n.key));
  const onDeny = endpoints.filter((e) => deny.has(e.network));
  const sets = new Map<string, AddressSet>();
  sets.set(BRIDGES_SET, { type: 'ifname', elements: [...new Set(networks.map((n) => n.bridge))].sort() });
  for (const family of [4, 6] as const) {
    const remote = onDeny.filter((e) => !e.local).flatMap((e) => addressesIn(e, family));
    sets.set(REMOTE_SET[family], setOf(family, remote));
  }
  const rules = [
    'ct state established,related accept',
    // Published ports: publishing a port is the operator letting it in.
    'ct status dnat accept',
    'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept',
    // Another host's endpoint: that host judges what reaches it.
    ...([4, 6] as const).map((f) => `${FAMILY[f]} daddr @${REMOTE_SET[f]} accept`),
  ];
  for (const policy of [...policies].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const family of [4, 6] as const) {
      const setFor = (selector: Selector, local: boolean) => {
        const name = setName(policy, selector, local, family);
        const members = onDeny.filter((e) => (!local || e.local) && selected(policy, selector, e));
        sets.set(
          name,
          setOf(
            family,
            members.flatMap((e) => addressesIn(e, family)),
          ),
        );
        return name;
      };
      const target = setFor(policy.select, true);
      const ip = FAMILY[family];
      const sources = [
        ...policy.from.map((selector) => `${ip} saddr @${setFor(selector, false)}`),
        ...policy.cidrs.filter((c) => c.version === family).map((c) => `${ip} saddr ${formatPrefix(c)}`),
      ];
      const anySource = policy.from.length === 0 && policy.cidrs.length === 0;
      for (const source of anySource ? [''] : sources) {
        for (const l4 of l4Matches(policy.ports, family)) {
          const parts = [`${ip} daddr @${target}`, source, l4, `accept comment "${policy.name}"`];
          rules.push(parts.filter(Boolean).join(' '));
        }
      }
    }
  }
  rules.push('drop');
  return { sets, rules };
}

function addressesIn(endpoint: PolicyEndpoint, family: IpVersion): string[] {
  return endpoint.addresses.filter((a) => a.version === family).map(formatIp);
}

function setOf(family: IpVersion, elements: readonly string[]): AddressSet {
  return { type: family === 4 ? 'ipv4_addr' : 'ipv6_addr', elements: [...new Set(elements)].sort() };
}

/** One set per scope, selector, locality and family: equal selectors share it. */
function setName(policy: Policy, selector: Selector, local: boolean, family: IpVersion): string {
  const identity = `${policy.network ?? '*'}|${formatSelector(selector)}`;
  return `${local ? 't' : 's'}${family}_${createHash('sha256').update(identity).digest('hex').slice(0, 12)}`;
}

/** The layer-4 matches of a policy's port rules, merged per protocol; [''] for every protocol. */
function l4Matches(rules: readonly PortRule[], family: IpVersion): string[] {
  if (rules.length === 0) return [''];
  const matches: string[] = [];
  for (const proto of ['tcp', 'udp'] as const) {
    const mine = rules.filter((r) => r.proto === proto);
    if (mine.length === 0) continue;
    if (mine.some((r) => !r.ports)) {
      matches.push(`meta l4proto ${proto}`);
      continue;
    }
    const ports = mine.map(({ ports }) =>
      ports && ports.from !== ports.to ? `${ports.from}-${ports.to}` : ports?.from,
    );
    matches.push(`${proto} dport { ${[...new Set(ports)].join(', ')} }`);
  }
  if (rules.some((r) => r.proto === 'icmp')) matches.push(`meta l4proto ${family === 4 ? 'icmp' : 'ipv6-icmp'}`);
  return matches;
}
