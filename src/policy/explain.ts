// `tether policy test FROM TO PORT/PROTO`: would a new connection be let in,
// and by which policy. It judges with the same selectors and scopes that fill
// the kernel's sets (ruleset.ts), from the same inputs.
import { invalidOption } from '../errors.js';
import { contains, formatIp, type IpAddress, parseIp, sameIp } from '../net/ip.js';
import type { Policy, PortRule } from './records.js';
import { appliesTo, type DenyNetwork, type PolicyEndpoint, portAllows, selected } from './ruleset.js';

export interface Verdict {
  readonly allowed: boolean;
  /** The policy that lets it in, when one does. */
  readonly policy?: string;
  readonly reason: string;
}

/** An endpoint by address, container name or endpoint ID (12 characters or more). */
function find(endpoints: readonly PolicyEndpoint[], what: string): PolicyEndpoint | undefined {
  const address = parseIp(what);
  return endpoints.find(
    (e) =>
      (address && e.addresses.some((a) => sameIp(a, address))) ||
      e.name === what ||
      (what.length >= 12 && e.id?.startsWith(what)),
  );
}

const describe = (e: PolicyEndpoint) => e.name ?? e.addresses.map(formatIp).join(' ');

export function explain(
  input: { policies: readonly Policy[]; networks: readonly DenyNetwork[]; endpoints: readonly PolicyEndpoint[] },
  from: string,
  to: string,
  port: PortRule,
): Verdict {
  const target = find(input.endpoints, to);
  if (!target) throw invalidOption(`no endpoint is "${to}" (an address, a container name or an endpoint ID)`);
  if (!input.networks.some((n) => n.key === target.network)) {
    return { allowed: true, reason: `${describe(target)} is on a network without tether.policy=deny` };
  }
  const source = find(input.endpoints, from);
  const address: IpAddress | undefined = source ? undefined : parseIp(from);
  if (!source && !address) throw invalidOption(`no endpoint is "${from}", and it is not an IP address`);
  if (!target.labels) return { allowed: false, reason: `the labels of ${describe(target)} are not known yet` };
  const portNumber = port.ports?.from;
  for (const policy of [...input.policies].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!appliesTo(policy, target.network) || !selected(policy, policy.select, target)) continue;
    const anySource = policy.from.length === 0 && policy.cidrs.length === 0;
    const bySelector =
      source !== undefined &&
      source.network === target.network &&
      policy.from.some((selector) => selected(policy, selector, source));
    const sourceAddresses = source ? source.addresses : address ? [address] : [];
    const byCidr = policy.cidrs.some((c) => sourceAddresses.some((a) => contains(c, a)));
    const portOk = policy.ports.length === 0 || policy.ports.some((r) => portAllows(r, port.proto, portNumber));
    if ((anySource || bySelector || byCidr) && portOk) {
      return { allowed: true, policy: policy.name, reason: `policy ${policy.name} lets it in` };
    }
  }
  const unknown = source && !source.labels ? `; the labels of ${describe(source)} are not known yet` : '';
  return {
    allowed: false,
    reason: `no policy lets ${from} in to ${describe(target)} on ${formatPort(port)}${unknown}`,
  };
}

const formatPort = (rule: PortRule) => (rule.ports ? `${rule.proto}/${rule.ports.from}` : rule.proto);
