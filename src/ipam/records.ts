// What the IPAM keeps in the store: a record per pool, with the hosts holding
// it, and a key per address handed out, with what it was handed out as.
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

export const parsePool = (text: string): PoolRecord => poolRecord.parse(JSON.parse(text));
export const parseAddress = (text: string): AddressRecord => addressRecord.parse(JSON.parse(text));

export const poolText = (record: PoolRecord): string =>
  JSON.stringify({
    ...record,
    pool: formatPrefix(record.pool),
    ...(record.range ? { range: formatPrefix(record.range) } : {}),
  });

export const POOLS = 'ipam/pools/';
export const ADDRESSES = 'ipam/addresses/';
export const poolKey = (id: string) => `${POOLS}${encodeURIComponent(id)}`;
export const addressPrefix = (id: string) => `${ADDRESSES}${encodeURIComponent(id)}/`;
export const addressKey = (id: string, address: IpAddress) => `${addressPrefix(id)}${formatIp(address)}`;

/** The pool ID and address an address key names, if it names one. */
export function addressOfKey(key: string): { poolId: string; address: IpAddress } | undefined {
  const [encodedId = '', text = ''] = key.slice(ADDRESSES.length).split('/');
  const address = parseIp(text);
  return address && { poolId: decodeURIComponent(encodedId), address };
}
