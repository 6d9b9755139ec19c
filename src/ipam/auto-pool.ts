// Where pools come from when `docker network create` names no subnet: the
// first block of the configured range that overlaps neither a pool tether
// already holds nor a route of the host.

import { randomBytes } from 'node:crypto';
import { formatPrefix, type IpPrefix, overlaps, parsePrefix, prefixSize } from '../net/ip.js';
import type { Store } from '../store/store.js';

export interface DefaultPool {
  /** The range pools are carved from. */
  readonly range: IpPrefix;
  /** The prefix length of each pool. */
  readonly size: number;
}

/** Parses "10.200.0.0/13:24" (range, then the length of each pool). */
export function parseDefaultPool(text: string): DefaultPool | undefined {
  const [rangeText = '', sizeText = ''] = text.split(/:(?=\d+$)/);
  const range = parsePrefix(rangeText);
  const size = Number(sizeText);
  if (!range || !/^\d+$/.test(sizeText) || size < range.length || size > (range.version === 4 ? 30 : 124))
    return undefined;
  return { range, size };
}

export const formatDefaultPool = (pool: DefaultPool): string => `${formatPrefix(pool.range)}:${pool.size}`;

/** A random RFC 4193 unique local /48, split into /64 pools. */
export function randomUlaPool(): DefaultPool {
  const globalId = randomBytes(5);
  let base = 0xfdn;
  for (const byte of globalId) base = (base << 8n) | BigInt(byte);
  return { range: { version: 6, base: base << 80n, length: 48 }, size: 64 };
}

export function chooseAutoPool(defaults: DefaultPool, taken: readonly IpPrefix[]): IpPrefix | undefined {
  const count = 1n << BigInt(defaults.size - defaults.range.length);
  const step = prefixSize({ ...defaults.range, length: defaults.size });
  for (let i = 0n; i < count; i++) {
    const candidate: IpPrefix = {
      version: defaults.range.version,
      base: defaults.range.base + i * step,
      length: defaults.size,
    };
    if (!taken.some((prefix) => overlaps(prefix, candidate))) return candidate;
  }
  return undefined;
}

/** The unique local range of this host: chosen at random once, then kept. */
export async function storedUlaPool(store: Store): Promise<DefaultPool> {
  const key = 'meta/default-pool6';
  const stored = await store.get(key);
  const parsed = stored ? parseDefaultPool(stored.value) : undefined;
  if (parsed) return parsed;
  const pool = randomUlaPool();
  await store.commit([{ key, revision: 0 }], [{ type: 'put', key, value: formatDefaultPool(pool) }]);
  return parseDefaultPool((await store.get(key))?.value ?? '') ?? pool;
}
