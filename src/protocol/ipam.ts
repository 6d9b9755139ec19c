// The IpamDriver interface as Docker speaks it: schemas, the typed requests
// they turn into, the contract tether's IPAM implements, and the routes.
import { z } from 'zod';
import { formatPrefix, type IpAddress, type IpPrefix } from '../net/ip.js';
import { formatPoolId, type PoolId, parsePoolId } from './pool-id.js';
import type { Route } from './route.js';
import { emptyOr, ipAddress, optionalMap, prefix, stringMap, text } from './schemas.js';

const poolId = text
  .min(1)
  .max(256)
  .transform((value, ctx): PoolId => {
    const id = parsePoolId(value);
    if (!id) ctx.addIssue({ code: 'custom', message: `"${value}" is not a tether pool ID` });
    return id ?? z.NEVER;
  });

export interface PoolRequest {
  readonly addressSpace: string;
  readonly pool?: IpPrefix;
  readonly subPool?: IpPrefix;
  readonly options: Readonly<Record<string, string>>;
  readonly v6: boolean;
}

export interface AddressRequest {
  readonly poolId: PoolId;
  readonly address?: IpAddress;
  readonly options: Readonly<Record<string, string>>;
}

export const schemas = {
  RequestPool: z
    .object({
      AddressSpace: text.min(1).max(64),
      Pool: emptyOr(prefix),
      SubPool: emptyOr(prefix),
      Options: optionalMap(stringMap),
      V6: z.boolean().optional(),
    })
    .transform(
      (r): PoolRequest => ({
        addressSpace: r.AddressSpace,
        ...(r.Pool ? { pool: r.Pool } : {}),
        ...(r.SubPool ? { subPool: r.SubPool } : {}),
        options: r.Options,
        v6: r.V6 ?? false,
      }),
    ),
  ReleasePool: z.object({ PoolID: poolId }).transform((r) => r.PoolID),
  RequestAddress: z
    .object({ PoolID: poolId, Address: emptyOr(ipAddress), Options: optionalMap(stringMap) })
    .transform(
      (r): AddressRequest => ({ poolId: r.PoolID, ...(r.Address ? { address: r.Address } : {}), options: r.Options }),
    ),
  ReleaseAddress: z
    .object({ PoolID: poolId, Address: ipAddress })
    .transform((r) => ({ poolId: r.PoolID, address: r.Address })),
} as const;

export interface IpamDriver {
  defaultAddressSpaces(): { LocalDefaultAddressSpace: string; GlobalDefaultAddressSpace: string };
  requestPool(request: PoolRequest): Promise<PoolId>;
  releasePool(poolId: PoolId): Promise<void>;
  requestAddress(request: AddressRequest): Promise<string>;
  releaseAddress(poolId: PoolId, address: IpAddress): Promise<void>;
}

export function ipamRoutes(ipam: IpamDriver): Route[] {
  const route = <K extends keyof typeof schemas>(
    method: K,
    handle: (r: z.output<(typeof schemas)[K]>) => Promise<unknown>,
  ): Route => ({ path: `/IpamDriver.${method}`, schema: schemas[method], handle: handle as Route['handle'] });
  return [
    {
      path: '/IpamDriver.GetCapabilities',
      probe: true,
      handle: async () => ({ RequiresMACAddress: false, RequiresRequestReplay: false }),
    },
    { path: '/IpamDriver.GetDefaultAddressSpaces', handle: async () => ipam.defaultAddressSpaces() },
    route('RequestPool', async (r) => {
      const poolId = await ipam.requestPool(r);
      return { PoolID: formatPoolId(poolId), Pool: formatPrefix(poolId.prefix), Data: {} };
    }),
    route('ReleasePool', (id) => ipam.releasePool(id)),
    route('RequestAddress', async (r) => ({ Address: await ipam.requestAddress(r), Data: {} })),
    route('ReleaseAddress', (r) => ipam.releaseAddress(r.poolId, r.address)),
  ];
}
