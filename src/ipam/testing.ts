// What the IPAM's unit tests share: one host's configuration.
import assert from 'node:assert/strict';
import type { IpPrefix } from '../net/ip.js';
import { parseDefaultPool } from './auto-pool.js';
import type { IpamConfig } from './parts.js';

export const ipamConfig = (host: string, routes: () => IpPrefix[] = () => []): IpamConfig => ({
  defaultPool: parseDefaultPool('10.50.0.0/22:24') ?? assert.fail(),
  defaultPool6: parseDefaultPool('fd00:1::/48:64') ?? assert.fail(),
  hostRoutes: async () => routes(),
  host,
  holderOf: () => undefined,
});
