// Building blocks for the request schemas: every string that reaches the
// driver is bounded and printable, and every address is parsed here, once.
import { z } from 'zod';
import { type Cidr, type IpAddress, type IpPrefix, parseCidr, parseIp, parsePrefix } from '../net/ip.js';

/** Docker's network and endpoint IDs: 64 hex digits, or swarm's 25 alphanumerics. */
export const id = z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'must be 1 to 64 letters or digits');

/** Printable ASCII only: no NUL, no control characters, no shell surprises in logs. */
export const text = z
  .string()
  .max(1024)
  .regex(/^[\x20-\x7e]*$/, 'must be printable ASCII');

export const stringMap = z.record(text, text);

/** A map Docker may send as null. */
export const optionalMap = <T extends z.ZodType>(schema: T) =>
  schema.nullish().transform((v) => v ?? ({} as NonNullable<typeof v>));

const refine = <T>(parse: (s: string) => T | undefined, what: string) =>
  text.transform((value, ctx): T => {
    const parsed = parse(value);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not ${what}` });
      return z.NEVER;
    }
    return parsed;
  });

export const ipAddress = refine<IpAddress>(parseIp, 'an IP address');

/** "a.b.c.d/n": an address with the prefix length of its subnet. */
export const cidrAddress = refine<Cidr>(parseCidr, 'an address in CIDR form');

export const prefix = refine<IpPrefix>(parsePrefix, 'a subnet in CIDR form with no host bits set');

/** Docker sends "" for "not given". */
export const emptyOr = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());
