// A policy, as the store keeps it (text) and as tether uses it (parsed once):
// which endpoints it selects, from where it lets traffic in, on which ports.
// One key per policy under policies/, in etcd shared by the whole cluster.
import { z } from 'zod';
import { invalidOption } from '../errors.js';
import { formatPrefix, type IpPrefix, parsePrefix } from '../net/ip.js';
import { formatSelector, parseSelector, type Selector } from './selector.js';

export const POLICIES = 'policies/';
export const policyKey = (name: string) => POLICIES + name;

/** What a policy lets in: a protocol, and for tcp and udp a port range (none: every port). */
export interface PortRule {
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly ports?: { readonly from: number; readonly to: number };
}

export interface Policy {
  readonly name: string;
  /** The network it applies to (a cluster network's name, or a Docker network's ID); absent: every deny network. */
  readonly network?: string;
  /** The endpoints it lets traffic in to. */
  readonly select: Selector;
  /** Sources by label, on the same network; with `cidrs` empty too, every source. */
  readonly from: readonly Selector[];
  readonly cidrs: readonly IpPrefix[];
  /** Empty: every protocol and port. */
  readonly ports: readonly PortRule[];
}

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const PORT = /^(tcp|udp)(?:\/(\d{1,5})(?:-(\d{1,5}))?)?$|^icmp$/;

export function parsePortRule(text: string): PortRule {
  const match = PORT.exec(text.trim());
  if (!match) throw invalidOption(`port "${text}" is not tcp/PORT, udp/PORT, tcp/FROM-TO, tcp, udp or icmp`);
  const proto = (match[1] ?? 'icmp') as PortRule['proto'];
  if (match[2] === undefined) return { proto };
  const from = Number(match[2]);
  const to = Number(match[3] ?? match[2]);
  if (from < 1 || to > 65_535 || from > to) throw invalidOption(`port "${text}": ports run from 1 to 65535, low-high`);
  return { proto, ports: { from, to } };
}

function formatPortRule(rule: PortRule): string {
  if (!rule.ports) return rule.proto;
  const { from, to } = rule.ports;
  return `${rule.proto}/${from === to ? from : `${from}-${to}`}`;
}

/** The policy as text: the store's form, the operator API's, and what the CLI sends. */
export const policyText = z.object({
  name: z.string(),
  network: z.string().min(1).optional(),
  select: z.string(),
  from: z.array(z.string()).default([]),
  cidrs: z.array(z.string()).default([]),
  ports: z.array(z.string()).default([]),
});
type PolicyText = z.infer<typeof policyText>;

/** Parses a policy's text; every error names the part that is wrong. */
export function parsePolicy(input: z.input<typeof policyText>): Policy {
  const text = policyText.parse(input);
  if (!NAME.test(text.name)) {
    throw invalidOption(`policy name "${text.name}": lower-case letters, digits and "_.-", at most 63`);
  }
  const cidrs = text.cidrs.map((c) => {
    const prefix = parsePrefix(c.trim());
    if (!prefix) throw invalidOption(`"${c}" is not a subnet in CIDR form (such as 10.0.0.0/8)`);
    return prefix;
  });
  return {
    name: text.name,
    ...(text.network === undefined ? {} : { network: text.network }),
    select: parseSelector(text.select),
    from: text.from.map(parseSelector),
    cidrs,
    ports: text.ports.map(parsePortRule),
  };
}

export function formatPolicy(policy: Policy): PolicyText {
  return {
    name: policy.name,
    ...(policy.network === undefined ? {} : { network: policy.network }),
    select: formatSelector(policy.select),
    from: policy.from.map(formatSelector),
    cidrs: policy.cidrs.map(formatPrefix),
    ports: policy.ports.map(formatPortRule),
  };
}
