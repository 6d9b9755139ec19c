// What the IPAM keeps in the store: a record per pool, with the hosts holding
// it; a key per address handed out, with what it was handed out as; and, when
// hosts share the store, a key per block of a pool a host has claimed.
import { z } from 'zod';
import { formatIp, formatPrefix, type IpAddress, type IpPrefix, parseIp, parsePrefix } from '../net/ip.js';

export const LOCAL_SPACE = 'local';
export const GLOBAL_SPACE = 'global';

const prefix = z.string().transform((text, ctx): IpPrefix => {
  const value = parsePrefix(text);
  if (!value) ctx.addIssue({ code: 'custom', message: `stored "${text}" is not a subnet` });
  return value ?? z.NEVER;
});

const poolRecord = z.object({
  id: z.string(),
  space: z.string(),
  pool: prefix,
  range: prefix.optional(),
  /** Host name to how many times it requested the pool; the pool goes when nobody holds it. */
  holders: z.record(z.string(), z.number().int().positive()),
});
export type PoolRecord = z.output<typeof poolRecord>;

const addressRecord = z.object({
  /** aux: reserved in a swarm pool by --ipam-opt tether.aux-addresses (Docker drops --aux-address in swarm). */
  kind: z.enum(['gateway', 'address', 'aux']),
  host: z.string().optional(),
  /** Swarm's addresses only: when a node released it (its task's container went). */
  released: z.number().optional(),
});
export type AddressRecord = z.output<typeof addressRecord>;
export type AddressKind = AddressRecord['kind'];

/** A block of a pool a host allocates from first (blocks.ts); the address keys stay the truth. */
const blockRecord = z.object({ host: z.string() });

export const parsePool = (text: string): PoolRecord => poolRecord.parse(JSON.parse(text));
export const parseAddress = (text: string): AddressRecord => addressRecord.parse(JSON.parse(text));
export const parseBlock = (text: string): string => blockRecord.parse(JSON.parse(text)).host;
export const blockText = (host: string): string => JSON.stringify({ host });

export const poolText = (record: PoolRecord): string =>
  JSON.stringify({
    ...record,
    pool: formatPrefix(record.pool),
    ...(record.range ? { range: formatPrefix(record.range) } : {}),
  });

/** Every key of the IPAM's: its pools, addresses and blocks. */
export const IPAM = 'ipam/';
export const POOLS = 'ipam/pools/';
export const ADDRESSES = 'ipam/addresses/';
export const BLOCKS = 'ipam/blocks/';
export const poolKey = (id: string) => `${POOLS}${encodeURIComponent(id)}`;
export const addressPrefix = (id: string) => `${ADDRESSES}${encodeURIComponent(id)}/`;
export const addressKey = (id: string, address: IpAddress) => `${addressPrefix(id)}${formatIp(address)}`;
export const blockPrefix = (id: string) => `${BLOCKS}${encodeURIComponent(id)}/`;
export const blockKey = (id: string, base: IpAddress) => `${blockPrefix(id)}${formatIp(base)}`;

/** The pool ID and address an address key names, if it names one. */
export const addressOfKey = (key: string) => poolAndAddress(key.slice(ADDRESSES.length));

/** The pool ID and first address a block key names, if it names one. */
export const blockOfKey = (key: string) => poolAndAddress(key.slice(BLOCKS.length));

function poolAndAddress(rest: string): { poolId: string; address: IpAddress } | undefined {
  const [encodedId = '', text = ''] = rest.split('/');
  const address = parseIp(text);
  return address && { poolId: decodeURIComponent(encodedId), address };
}

/** The parsed record, or undefined for one that does not parse: one bad record stops nobody (the replica lists it). */
export function readable<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}
