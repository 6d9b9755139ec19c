// The NetworkDriver interface as Docker speaks it: one schema per request,
// the typed value each turns into, and the driver contract tether implements.
import { z } from 'zod';
import { TetherError } from '../errors.js';
import type { Route } from './route.js';
import { cidrAddress, emptyOr, id, ipAddress, optionalMap, prefix, stringMap, text } from './schemas.js';

const ipamData = z
  .object({
    AddressSpace: text.optional(),
    Pool: prefix,
    Gateway: cidrAddress.optional(),
    AuxAddresses: optionalMap(z.record(text, cidrAddress)),
  })
  .transform((d) => ({
    addressSpace: d.AddressSpace ?? '',
    pool: d.Pool,
    gateway: d.Gateway,
    auxAddresses: d.AuxAddresses,
  }));
export type IpamData = z.output<typeof ipamData>;

const ipamList = z
  .array(ipamData)
  .max(64)
  .nullish()
  .transform((v) => v ?? []);

const networkOptions = z
  .looseObject({
    'com.docker.network.generic': optionalMap(stringMap),
    'com.docker.network.enable_ipv6': z.boolean().optional(),
    /** Docker 28 and newer only; absent means an engine that always allocates IPv4. */
    'com.docker.network.enable_ipv4': z.boolean().optional(),
    'com.docker.network.internal': z.boolean().optional(),
  })
  .nullish()
  .transform((o) => ({
    generic: o?.['com.docker.network.generic'] ?? {},
    enableIpv6: o?.['com.docker.network.enable_ipv6'] ?? false,
    enableIpv4: o?.['com.docker.network.enable_ipv4'],
    internal: o?.['com.docker.network.internal'] ?? false,
  }));

const networkRef = z.object({ NetworkID: id }).transform((r) => ({ networkId: r.NetworkID }));
const endpointRef = z
  .object({ NetworkID: id, EndpointID: id })
  .transform((r) => ({ networkId: r.NetworkID, endpointId: r.EndpointID }));

const portNumber = z.number().int().min(0).max(65535);
/** One `-p` binding as Docker sends it (Proto 6 is TCP, 17 UDP, 132 SCTP; a HostPort of 0 means any). */
const portBinding = z
  .object({
    Proto: z.number().int(),
    Port: portNumber,
    HostIP: z.union([ipAddress, z.literal('')]).nullish(),
    HostPort: portNumber,
    HostPortEnd: portNumber.optional(),
  })
  .transform((b) => ({
    proto: b.Proto,
    containerPort: b.Port,
    hostIp: b.HostIP || undefined,
    hostPort: b.HostPort,
    hostPortEnd: Math.max(b.HostPort, b.HostPortEnd ?? 0),
  }));
export type PortRequest = z.output<typeof portBinding>;

/** Per-endpoint options: the user's `--driver-opt` keys at the top, Docker's own under com.docker.*. */
const endpointOptions = optionalMap(z.record(text, z.unknown()));

export const schemas = {
  CreateNetwork: z
    .object({
      NetworkID: id,
      Options: networkOptions,
      IPv4Data: ipamList,
      IPv6Data: ipamList,
    })
    .transform((r) => ({ networkId: r.NetworkID, ...r.Options, ipv4: r.IPv4Data, ipv6: r.IPv6Data })),
  DeleteNetwork: networkRef,
  AllocateNetwork: z
    .object({
      NetworkID: id,
      Options: optionalMap(stringMap),
      IPv4Data: ipamList,
      IPv6Data: ipamList,
    })
    .transform((r) => ({ networkId: r.NetworkID, options: r.Options, ipv4: r.IPv4Data })),
  FreeNetwork: networkRef,
  CreateEndpoint: z
    .object({
      NetworkID: id,
      EndpointID: id,
      Interface: z
        .object({
          Address: emptyOr(cidrAddress),
          AddressIPv6: emptyOr(cidrAddress),
          MacAddress: emptyOr(text.regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/, 'must be a MAC address')),
        })
        .nullish(),
      Options: endpointOptions,
    })
    .transform((r) => ({
      networkId: r.NetworkID,
      endpointId: r.EndpointID,
      address: r.Interface?.Address,
      addressIpv6: r.Interface?.AddressIPv6,
      mac: r.Interface?.MacAddress?.toLowerCase(),
      options: r.Options,
    })),
  EndpointOperInfo: endpointRef,
  DeleteEndpoint: endpointRef,
  Join: z
    .object({
      NetworkID: id,
      EndpointID: id,
      SandboxKey: text.min(1),
      Options: endpointOptions,
    })
    .transform((r) => ({
      networkId: r.NetworkID,
      endpointId: r.EndpointID,
      sandboxKey: r.SandboxKey,
      options: r.Options,
    })),
  Leave: endpointRef,
  ProgramExternalConnectivity: z
    .object({
      NetworkID: id,
      EndpointID: id,
      Options: z.looseObject({ 'com.docker.network.portmap': z.array(portBinding).max(4096).nullish() }).nullish(),
    })
    .transform((r) => ({
      networkId: r.NetworkID,
      endpointId: r.EndpointID,
      ports: r.Options?.['com.docker.network.portmap'] ?? [],
    })),
  RevokeExternalConnectivity: endpointRef,
  DiscoverNew: z
    .object({ DiscoveryType: z.number().int(), DiscoveryData: z.unknown() })
    .transform((r) => ({ type: r.DiscoveryType, data: r.DiscoveryData })),
  DiscoverDelete: z
    .object({ DiscoveryType: z.number().int(), DiscoveryData: z.unknown() })
    .transform((r) => ({ type: r.DiscoveryType, data: r.DiscoveryData })),
  GwAllocCheck: z.object({ Options: networkOptions }).transform((r) => r.Options),
} as const;

type In<K extends keyof typeof schemas> = z.output<(typeof schemas)[K]>;
export type CreateNetworkRequest = In<'CreateNetwork'>;
export type CreateEndpointRequest = In<'CreateEndpoint'>;
export type JoinRequest = In<'Join'>;
export type EndpointRef = In<'Leave'>;
export type NetworkRef = In<'DeleteNetwork'>;
export type ExternalConnectivityRequest = In<'ProgramExternalConnectivity'>;
export type AllocateNetworkRequest = In<'AllocateNetwork'>;
export type DiscoveryRequest = In<'DiscoverNew'>;
export type GwAllocCheckRequest = In<'GwAllocCheck'>;

export interface Capabilities {
  Scope: 'local' | 'global';
  ConnectivityScope: 'local' | 'global';
  GwAllocChecker: boolean;
}
export interface JoinResponse {
  InterfaceName: { SrcName: string; DstPrefix: string };
  Gateway?: string;
  GatewayIPv6?: string;
  /** RouteType 0: through NextHop; 1: on the link (connected). */
  StaticRoutes?: { Destination: string; RouteType: 0 | 1; NextHop?: string }[];
  DisableGatewayService?: boolean;
}

export interface NetworkDriver {
  capabilities(): Capabilities;
  createNetwork(request: CreateNetworkRequest): Promise<void>;
  deleteNetwork(request: NetworkRef): Promise<void>;
  allocateNetwork(request: AllocateNetworkRequest): Promise<{ Options: Record<string, string> }>;
  freeNetwork(request: NetworkRef): Promise<void>;
  createEndpoint(request: CreateEndpointRequest): Promise<{ Interface?: { MacAddress?: string } }>;
  endpointOperInfo(request: EndpointRef): Promise<{ Value: Record<string, unknown> }>;
  deleteEndpoint(request: EndpointRef): Promise<void>;
  join(request: JoinRequest): Promise<JoinResponse>;
  leave(request: EndpointRef): Promise<void>;
  programExternalConnectivity(request: ExternalConnectivityRequest): Promise<void>;
  revokeExternalConnectivity(request: EndpointRef): Promise<void>;
  discoverNew(request: DiscoveryRequest): Promise<void>;
  discoverDelete(request: DiscoveryRequest): Promise<void>;
  gwAllocCheck(request: GwAllocCheckRequest): Promise<{ SkipIPv4: boolean; SkipIPv6: boolean }>;
}

/**
 * Docker takes a 404 from the external-connectivity calls for "not implemented", that is success,
 * so an endpoint tether does not hold must come back with another status there, or ports would
 * silently go unpublished.
 */
const notFoundIsAnError = (call: Promise<void>): Promise<void> =>
  call.catch((error: unknown) => {
    throw error instanceof TetherError && error.code === 'NOT_FOUND' ? new TetherError('GONE', error.message) : error;
  });

export function networkRoutes(driver: NetworkDriver): Route[] {
  const route = <K extends keyof typeof schemas>(method: K, handle: (r: In<K>) => Promise<unknown>): Route => ({
    path: `/NetworkDriver.${method}`,
    schema: schemas[method],
    handle: handle as Route['handle'],
  });
  return [
    { path: '/NetworkDriver.GetCapabilities', probe: true, handle: async () => driver.capabilities() },
    route('CreateNetwork', (r) => driver.createNetwork(r)),
    route('DeleteNetwork', (r) => driver.deleteNetwork(r)),
    route('AllocateNetwork', (r) => driver.allocateNetwork(r)),
    route('FreeNetwork', (r) => driver.freeNetwork(r)),
    route('CreateEndpoint', (r) => driver.createEndpoint(r)),
    route('EndpointOperInfo', (r) => driver.endpointOperInfo(r)),
    route('DeleteEndpoint', (r) => driver.deleteEndpoint(r)),
    route('Join', (r) => driver.join(r)),
    route('Leave', (r) => driver.leave(r)),
    route('ProgramExternalConnectivity', (r) => notFoundIsAnError(driver.programExternalConnectivity(r))),
    route('RevokeExternalConnectivity', (r) => notFoundIsAnError(driver.revokeExternalConnectivity(r))),
    route('DiscoverNew', (r) => driver.discoverNew(r)),
    route('DiscoverDelete', (r) => driver.discoverDelete(r)),
    route('GwAllocCheck', (r) => driver.gwAllocCheck(r)),
  ];
}
