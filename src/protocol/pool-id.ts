// A pool's ID is its address space and its subnet ("local/10.0.0.0/24"): one
// parse and one format, and the parsed value everywhere in between.
import { formatPrefix, type IpPrefix, parsePrefix } from '../net/ip.js';

export interface PoolId {
  readonly space: string;
  readonly prefix: IpPrefix;
}

export const formatPoolId = (id: PoolId): string => `${id.space}/${formatPrefix(id.prefix)}`;

export function parsePoolId(text: string): PoolId | undefined {
  const slash = text.indexOf('/');
  const prefix = slash > 0 ? parsePrefix(text.slice(slash + 1)) : undefined;
  return prefix && { space: text.slice(0, slash), prefix };
}
