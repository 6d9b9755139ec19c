// The names a person knows things by, from Docker's API: tether holds network
// and endpoint IDs only. Read every few seconds (a page refreshes its view
// more often), at once when tether's networks or endpoints change, and soon
// again while a new ID has no name yet (Docker records a network after its
// driver made it). Where Docker does not answer (a managed plugin has no
// socket), the IDs stand.
import { z } from 'zod';
import { getJson } from '../util/http.js';

const networkList = z.array(z.object({ Id: z.string(), Name: z.string() }));
const containerList = z.array(
  z.object({
    Names: z.array(z.string()),
    NetworkSettings: z
      .object({ Networks: z.record(z.string(), z.object({ EndpointID: z.string() })).nullish() })
      .nullish(),
  }),
);

export interface DockerNames {
  /** Network ID to its Docker name. */
  readonly networks: ReadonlyMap<string, string>;
  /** Endpoint ID to its container's name. */
  readonly containers: ReadonlyMap<string, string>;
}

const NONE: DockerNames = { networks: new Map(), containers: new Map() };
const TIMEOUT_MS = 1_000;
const REFRESH_MS = 2_000;
/** How soon Docker is asked again while a new ID has no name, and for how long. */
const UNNAMED_RETRY_MS = 250;
const UNNAMED_PATIENCE_MS = 10_000;

export class DockerNameReader {
  private last = NONE;
  private readAt = 0;
  private readFor = '';
  private readonly firstSeen = new Map<string, number>();

  constructor(private readonly socket: string) {}

  /** `ids` names what tether holds now: its networks and endpoints. */
  async names(ids: readonly string[]): Promise<DockerNames> {
    const now = Date.now();
    for (const id of ids) if (!this.firstSeen.has(id)) this.firstSeen.set(id, now);
    const held = new Set(ids);
    for (const id of this.firstSeen.keys()) if (!held.has(id)) this.firstSeen.delete(id);
    const key = ids.join(',');
    const age = now - this.readAt;
    const newAndUnnamed = ids.some(
      (id) =>
        now - (this.firstSeen.get(id) ?? 0) < UNNAMED_PATIENCE_MS &&
        !this.last.networks.has(id) &&
        !this.last.containers.has(id),
    );
    if (key === this.readFor && age < REFRESH_MS && !(newAndUnnamed && age >= UNNAMED_RETRY_MS)) return this.last;
    this.readFor = key;
    this.readAt = now;
    this.last = await this.read().catch(() => this.last);
    return this.last;
  }

  private async read(): Promise<DockerNames> {
    const [networks, containers] = await Promise.all([
      getJson(this.socket, '/networks', TIMEOUT_MS).then((n) => networkList.parse(n)),
      getJson(this.socket, '/containers/json', TIMEOUT_MS).then((c) => containerList.parse(c)),
    ]);
    const byEndpoint = new Map<string, string>();
    for (const container of containers) {
      const name = container.Names[0]?.replace(/^\//, '');
      if (!name) continue;
      for (const { EndpointID } of Object.values(container.NetworkSettings?.Networks ?? {}))
        if (EndpointID) byEndpoint.set(EndpointID, name);
    }
    return { networks: new Map(networks.map((n) => [n.Id, n.Name])), containers: byEndpoint };
  }
}
