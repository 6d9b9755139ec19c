// How the cluster view reads each kind of record: the schema first, then
// whether it makes sense where it is (its key, its network, this host). A
// record that fails either is left out with why; see followed.ts.
import type { z } from 'zod';
import { type IpAddress, parseIp, subnetContaining } from '../../net/ip.js';
import type { ReadResult } from '../../store/followed.js';
import { HOSTS, type HostRecord, hostRecord, MEMBERS, type MemberRecord, memberRecord } from '../records.js';

/** A member record as the view holds it: where its key puts it, and its addresses parsed. */
export interface Member extends MemberRecord {
  readonly key: string;
  readonly network: string;
  readonly endpoint: string;
  readonly ips: readonly IpAddress[];
}

/** The record in the text, checked against the schema, or why not. */
export function readRecord<T>(schema: z.ZodType<T>, value: string): ReadResult<T> {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { skip: 'not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { record: parsed.data };
  return { skip: parsed.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`).join('; ') };
}

/** A host's registration, under its own name only. */
export function readHost(key: string, value: string): ReadResult<HostRecord> {
  const read = readRecord(hostRecord, value);
  if ('skip' in read) return read;
  const named = key.slice(HOSTS.length);
  return read.record.host === named ? read : { skip: `registers host ${read.record.host} under the name ${named}` };
}

export interface MemberContext {
  /** The subnets of a cluster or swarm network, as their records say; undefined while unknown. */
  readonly subnetsOf: (network: string) => readonly string[] | undefined;
  /** Whether the address is this host's own (its tunnel address): no endpoint of another may take it. */
  readonly local: (address: IpAddress) => boolean;
}

/** Addresses no endpoint has: the host's own loopback, none at all, a group's. */
function special(address: IpAddress): string | undefined {
  const bits = address.version === 4 ? 32n : 128n;
  const top = (n: bigint) => address.value >> (bits - n);
  if (address.value === 0n) return 'unspecified';
  if (address.version === 4 ? top(8n) === 127n : address.value === 1n) return 'loopback';
  if (address.version === 4 ? top(4n) === 14n : top(8n) === 0xffn) return 'multicast';
  return undefined;
}

/** A member record, where its key says (network/endpoint), with addresses of its network and a unicast MAC. */
export function memberReader(context: MemberContext): (key: string, value: string) => ReadResult<Member> {
  return (key, value) => {
    const read = readRecord(memberRecord, value);
    if ('skip' in read) return read;
    const { record } = read;
    const [network = '', endpoint = '', ...rest] = key.slice(MEMBERS.length).split('/');
    if (!network || !endpoint || rest.length) return { skip: 'the key is not members/<network>/<endpoint>' };
    // The first octet's lowest bit marks a group address: a bridge would flood it, not forward it.
    if (Number.parseInt(record.mac.slice(0, 2), 16) & 1) return { skip: `MAC ${record.mac} is a multicast address` };
    const ips = record.addresses.flatMap((text) => parseIp(text) ?? []);
    const subnets = context.subnetsOf(network);
    for (const [i, ip] of ips.entries()) {
      const text = record.addresses[i];
      const kind = special(ip);
      if (kind) return { skip: `address ${text} is ${kind}` };
      if (context.local(ip)) return { skip: `address ${text} is this host's own` };
      const ofFamily = subnets?.filter((s) => s.includes(':') === (ip.version === 6));
      if (ofFamily?.length && !subnetContaining(ofFamily, ip))
        return { skip: `address ${text} is outside network ${network}'s subnets (${ofFamily.join(', ')})` };
    }
    return { record: { ...record, key, network, endpoint, ips } };
  };
}
