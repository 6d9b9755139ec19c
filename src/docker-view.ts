// Docker's own view of tether's networks, read from its API, compared with
// what tether holds: the third leg of the audit (kernel and store are the others).
import { z } from 'zod';
import { getJson, HttpStatusError } from './util/http.js';

const networkList = z.array(z.object({ Id: z.string(), Name: z.string(), Driver: z.string() }));
const networkInspect = z.object({
  Id: z.string(),
  Containers: z
    .record(
      z.string(),
      z.object({
        EndpointID: z.string(),
        IPv4Address: z.string(),
        IPv6Address: z.string(),
      }),
    )
    .nullish(),
});

export interface EndpointView {
  readonly id: string;
  readonly networkId: string;
  readonly address?: string;
  readonly addressIpv6?: string;
}

/** Endpoints of the running containers on networks whose driver is the given name. */
export async function dockerEndpoints(
  dockerSocket: string,
  driver: string,
): Promise<{ networks: string[]; endpoints: EndpointView[] }> {
  const filter = encodeURIComponent(JSON.stringify({ driver: [driver] }));
  const networks = networkList
    .parse(await getJson(dockerSocket, `/networks?filters=${filter}`))
    .filter((n) => n.Driver === driver);
  const endpoints: EndpointView[] = [];
  for (const network of networks) {
    const inspected = networkInspect.parse(await getJson(dockerSocket, `/networks/${network.Id}`));
    for (const container of Object.values(inspected.Containers ?? {})) {
      endpoints.push({
        id: container.EndpointID,
        networkId: network.Id,
        ...(container.IPv4Address ? { address: container.IPv4Address } : {}),
        ...(container.IPv6Address ? { addressIpv6: container.IPv6Address } : {}),
      });
    }
  }
  return { networks: networks.map((n) => n.Id), endpoints };
}

/**
 * The IDs of the endpoints Docker holds on the given networks, those of containers still starting
 * included; undefined when no Docker listens at the socket (tether runs as a managed plugin, or
 * Docker is down). Throws when Docker is there but does not answer in time or in shape.
 */
export async function endpointsDockerHolds(
  dockerSocket: string,
  networkIds: Iterable<string>,
  timeoutMs: number,
): Promise<Set<string> | undefined> {
  const held = new Set<string>();
  for (const id of networkIds) {
    let inspected: z.infer<typeof networkInspect>;
    try {
      inspected = networkInspect.parse(await getJson(dockerSocket, `/networks/${id}`, timeoutMs));
    } catch (error) {
      if (error instanceof HttpStatusError && error.status === 404) continue;
      const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT' || code === 'ECONNREFUSED') return undefined;
      throw error;
    }
    for (const endpoint of Object.values(inspected.Containers ?? {})) held.add(endpoint.EndpointID);
  }
  return held;
}

// DNSNames came with API 1.44 (Docker 25), where Aliases lost the short ID Docker 20.10 put there.
const endpointSettings = z.object({
  EndpointID: z.string(),
  Aliases: z.array(z.string()).nullish(),
  DNSNames: z.array(z.string()).nullish(),
});
const containerInspect = z.object({
  Name: z.string(),
  Config: z.object({ Labels: z.record(z.string(), z.string()).nullish() }),
  NetworkSettings: z.object({ Networks: z.record(z.string(), endpointSettings).nullish() }),
});

/** What Docker says of the container behind an endpoint. */
export type EndpointContainer =
  | {
      readonly found: true;
      readonly name: string;
      /** The endpoint's other names on its network, the container's name left out. */
      readonly aliases: string[];
      readonly labels: Readonly<Record<string, string>>;
    }
  /** Docker does not list the endpoint on its network (yet: a start in progress). */
  | { readonly found: false }
  /** No Docker listens at the socket (a managed plugin): no container labels to read, ever. */
  | undefined;

/** The container of an endpoint, from its network's listing and the container's own. */
export async function containerOfEndpoint(
  dockerSocket: string,
  ref: { networkId: string; endpointId: string },
  timeoutMs: number,
): Promise<EndpointContainer> {
  let inspected: z.infer<typeof networkInspect>;
  try {
    inspected = networkInspect.parse(await getJson(dockerSocket, `/networks/${ref.networkId}`, timeoutMs));
  } catch (error) {
    if (((error as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    throw error;
  }
  const entry = Object.entries(inspected.Containers ?? {}).find(([, c]) => c.EndpointID === ref.endpointId);
  // Docker lists an endpoint whose container it does not hold (yet) under "ep-ID".
  if (!entry || entry[0] === `ep-${ref.endpointId}`) return { found: false };
  const container = containerInspect.parse(await getJson(dockerSocket, `/containers/${entry[0]}/json`, timeoutMs));
  const name = container.Name.replace(/^\//, '');
  const settings = Object.values(container.NetworkSettings.Networks ?? {}).find((n) => n.EndpointID === ref.endpointId);
  const names = new Set([...(settings?.Aliases ?? []), ...(settings?.DNSNames ?? [])]);
  names.delete(name);
  return { found: true, name, aliases: [...names], labels: container.Config.Labels ?? {} };
}

/** Differences between Docker's endpoints and tether's, in words. */
export function compareWithDocker(
  docker: { networks: readonly string[]; endpoints: readonly EndpointView[] },
  tether: { networks: readonly { id: string }[]; endpoints: readonly EndpointView[] },
): string[] {
  const problems: string[] = [];
  const dockerNetworks = new Set(docker.networks);
  for (const network of tether.networks) {
    if (!dockerNetworks.has(network.id))
      problems.push(`network ${network.id.slice(0, 12)} is in tether but not in Docker`);
  }
  const tetherNetworks = new Set(tether.networks.map((n) => n.id));
  for (const id of docker.networks)
    if (!tetherNetworks.has(id)) problems.push(`network ${id.slice(0, 12)} is in Docker but not in tether`);
  const ours = new Map(tether.endpoints.map((e) => [e.id, e]));
  for (const endpoint of docker.endpoints) {
    const mine = ours.get(endpoint.id);
    if (!mine) {
      problems.push(`endpoint ${endpoint.id.slice(0, 12)} (${endpoint.address ?? ''}) is in Docker but not in tether`);
      continue;
    }
    if (
      (mine.address ?? '') !== (endpoint.address ?? '') ||
      (mine.addressIpv6 ?? '') !== (endpoint.addressIpv6 ?? '')
    ) {
      problems.push(
        `endpoint ${endpoint.id.slice(0, 12)}: Docker has ${endpoint.address} ` +
          `${endpoint.addressIpv6 ?? ''}, tether ${mine.address} ${mine.addressIpv6 ?? ''}`,
      );
    }
    ours.delete(endpoint.id);
  }
  for (const endpoint of ours.values())
    problems.push(`endpoint ${endpoint.id.slice(0, 12)} (${endpoint.address ?? ''}) is in tether but not in Docker`);
  return problems;
}
