// What tether says to one DNS query: the addresses of the cluster's endpoints
// for the names it owns, on the networks of the container asking; for any other
// name, "pass it to the host's resolvers", unless the asker may not reach them.
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';
import { formatIp, type IpAddress, parseIp } from '../net/ip.js';
import type { NamedEndpoint } from './book.js';

/** Short: a container that goes stops resolving within seconds, even for a client that caches. */
export const NAME_TTL_SECONDS = 5;

/** The container a query came from, as far as tether knows it. */
export interface Asker {
  /** The cluster networks it is on: NAME and NAME.NETWORK are looked up on these. */
  readonly networks: readonly string[];
  /** Whether other names may go to the host's resolvers (not for a container on internal networks only). */
  readonly mayForward: boolean;
}

export interface NameLookup {
  find(networks: readonly string[], name: string): NamedEndpoint[];
  holder(networks: readonly string[], address: IpAddress): NamedEndpoint | undefined;
}

export type Decision = { readonly kind: 'answer'; readonly packet: Packet } | { readonly kind: 'forward' };

/** The response codes tether sends or counts (RFC 1035), by name. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODE;

/** A message's rcode by name: a bounded set, OTHER for the rest. */
export function rcodeOf(message: Buffer): Rcode | 'OTHER' {
  const code = message.length >= 4 ? message.readUInt16BE(2) & 0xf : -1;
  return (Object.keys(RCODE) as Rcode[]).find((name) => RCODE[name] === code) ?? 'OTHER';
}

/** A response to the query with the rcode and answers; authoritative when tether owns the name. */
export function reply(query: Packet, rcode: Rcode, answers: Answer[] = [], authoritative = false): Packet {
  const rd = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  return {
    type: 'response',
    id: query.id ?? 0,
    flags: rd | dnsPacket.RECURSION_AVAILABLE | (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | RCODE[rcode],
    questions: query.questions ?? [],
    answers,
  };
}

export function decide(query: DecodedPacket & { opcode?: string }, asker: Asker, book: NameLookup): Decision {
  const question = query.questions?.[0];
  if (!question || query.questions?.length !== 1) return { kind: 'answer', packet: reply(query, 'FORMERR') };
  if (query.opcode !== undefined && query.opcode !== 'QUERY') return { kind: 'answer', packet: reply(query, 'NOTIMP') };
  const { name, type } = question;
  const ownAnswer = (answers: Answer[]): Decision => ({
    kind: 'answer',
    packet: reply(query, 'NOERROR', answers, true),
  });
  if (type === 'PTR') {
    const address = reverseAddress(name);
    const holder = address && book.holder(asker.networks, address);
    if (holder)
      return ownAnswer([{ type: 'PTR', name, ttl: NAME_TTL_SECONDS, data: `${holder.name}.${holder.network}` }]);
  } else {
    const endpoints = findName(asker.networks, name, book);
    if (endpoints.length > 0) {
      // A name tether owns answers every type: A and AAAA with addresses, any other with none (no data).
      const family = type === 'A' ? 4 : type === 'AAAA' ? 6 : undefined;
      const addresses = new Set(
        endpoints.flatMap((e) => e.addresses.filter((a) => a.version === family).map((a) => formatIp(a))),
      );
      return ownAnswer(
        [...addresses].map((data) => ({ type: family === 4 ? 'A' : 'AAAA', name, ttl: NAME_TTL_SECONDS, data })),
      );
    }
  }
  return asker.mayForward ? { kind: 'forward' } : { kind: 'answer', packet: reply(query, 'REFUSED') };
}

/** NAME on any of the networks, else NAME.NETWORK on that network (a container's name may hold dots). */
function findName(networks: readonly string[], name: string, book: NameLookup): NamedEndpoint[] {
  const exact = book.find(networks, name);
  if (exact.length > 0) return exact;
  const lower = name.toLowerCase();
  return networks.flatMap((network) => {
    const suffix = `.${network.toLowerCase()}`;
    return lower.endsWith(suffix) ? book.find([network], name.slice(0, -suffix.length)) : [];
  });
}

/** The address a reverse-lookup name stands for (4.3.2.1.in-addr.arpa, or 32 nibbles of ip6.arpa). */
export function reverseAddress(name: string): IpAddress | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.in-addr.arpa')) {
    const parts = lower.slice(0, -'.in-addr.arpa'.length).split('.');
    return parts.length === 4 ? parseIp(parts.reverse().join('.')) : undefined;
  }
  if (lower.endsWith('.ip6.arpa')) {
    const nibbles = lower.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || nibbles.some((n) => !/^[0-9a-f]$/.test(n))) return undefined;
    const hex = nibbles.reverse().join('');
    return parseIp(hex.match(/.{4}/g)?.join(':') ?? '');
  }
  return undefined;
}
