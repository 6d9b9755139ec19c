// The IpamDriver interface as Docker speaks it.
import { z } from 'zod';
import type { AddressRequest, PoolRequest } from '../ipam/ipam.js';
import type { IpAddress } from '../net/ip.js';
import type { Route } from './route.js';
import { emptyOr, ipAddress, optionalMap, prefix, stringMap, text } from './schemas.js';

const poolId = text.min(1).max(256);

export const schemas = {
  RequestPool: z.object({
    AddressSpace: text.min(1).max(64),
    Pool: emptyOr(prefix),
    SubPool: emptyOr(prefix),
    Options: optionalMap(stringMap),
    V6: z.boolean().optional(),
  }).transform((r): PoolRequest => ({
    addressSpace: r.AddressSpace,
    ...(r.Pool ? { pool: r.Pool } : {}),
    ...(r.SubPool ? { subPool: r.SubPool } : {}),
    options: r.Options,
    v6: r.V6 ?? false,
  })),
  ReleasePool: z.object({ PoolID: poolId }).transform((r) => r.PoolID),
  RequestAddress: z.object({ PoolID: poolId, Address: emptyOr(ipAddress), Options: optionalMap(stringMap) })
    .transform((r): AddressRequest => ({ poolId: r.PoolID, ...(r.Address ? { address: r.Address } : {}), options: r.Options })),
  ReleaseAddress: z.object({ PoolID: poolId, Address: ipAddress })
    .transform((r) => ({ poolId: r.PoolID, address: r.Address })),
} as const;

export interface IpamDriver {
  defaultAddressSpaces(): { LocalDefaultAddressSpace: string; GlobalDefaultAddressSpace: string };
  requestPool(request: PoolRequest): Promise<{ poolId: string; pool: string }>;
  releasePool(poolId: string): Promise<void>;
  requestAddress(request: AddressRequest): Promise<string>;
  releaseAddress(poolId: string, address: IpAddress): Promise<void>;
}

export function ipamRoutes(ipam: IpamDriver): Route[] {
  const route = <K extends keyof typeof schemas>(method: K, handle: (r: z.output<(typeof schemas)[K]>) => Promise<unknown>): Route =>
    ({ path: `/IpamDriver.${method}`, schema: schemas[method], handle: handle as Route['handle'] });
  return [
    { path: '/IpamDriver.GetCapabilities', handle: async () => ({ RequiresMACAddress: false, RequiresRequestReplay: false }) },
    { path: '/IpamDriver.GetDefaultAddressSpaces', handle: async () => ipam.defaultAddressSpaces() },
    route('RequestPool', async (r) => {
      const { poolId, pool } = await ipam.requestPool(r);
      return { PoolID: poolId, Pool: pool, Data: {} };
    }),
    route('ReleasePool', (id) => ipam.releasePool(id)),
    route('RequestAddress', async (r) => ({ Address: await ipam.requestAddress(r), Data: {} })),
    route('ReleaseAddress', (r) => ipam.releaseAddress(r.poolId, r.address)),
  ];
}
