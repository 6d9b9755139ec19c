// What the dashboard shows, built from the routes `tether ls`, `cluster ls`,
// `policy ls` and /readyz answer (read through the daemon's own server, so the
// page and the CLI never disagree), with Docker's names for IDs.
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import {
  CLUSTER_PATH,
  clusterView,
  daemonState,
  formatPort,
  POLICIES_PATH,
  policyList,
  READY_PATH,
  type ReadinessView,
  readiness,
  STATE_PATH,
} from '../operator/contract.js';
import type { Problem } from '../process/recent-problems.js';
import type { DockerNames } from './docker-names.js';
import { type HostView, hostsOf, type NetworkView, networksOf } from './view-parts.js';

export type { HostView, NetworkView };

export interface EndpointView {
  readonly id: string;
  readonly network: string;
  readonly host: string;
  readonly container?: string;
  readonly addresses: string[];
  readonly mac: string;
  readonly ports: string[];
}

export interface PolicyRow {
  readonly name: string;
  readonly network: string;
  readonly select: string;
  readonly from: string[];
  /** The endpoints the policy selects now, by container name or address. */
  readonly selected: string[];
}

export interface DashboardView {
  readonly host: string;
  readonly mode: 'single host' | 'cluster' | 'swarm';
  readonly readiness: { ready: boolean; checks: { name: string; ok: boolean; detail: string }[] };
  readonly problems: Problem[];
  readonly hosts: HostView[];
  readonly networks: NetworkView[];
  readonly endpoints: EndpointView[];
  readonly policies: PolicyRow[];
}

export interface ViewSources {
  /** The daemon's server for the UNIX socket. */
  readonly app: Pick<FastifyInstance, 'inject'>;
  readonly host: string;
  readonly mode: DashboardView['mode'];
  readonly problems: () => Problem[];
  readonly dockerNames: (ids: readonly string[]) => Promise<DockerNames>;
}

async function read<T>(app: ViewSources['app'], url: string, schema: z.ZodType<T>): Promise<T> {
  // /readyz answers 503 with the same body when a check fails: the body is what counts.
  const answer = await app.inject({ method: 'GET', url });
  const parsed = schema.safeParse(answer.json());
  if (!parsed.success) throw new Error(`${url} answered ${answer.statusCode}: ${answer.body.slice(0, 200)}`);
  return parsed.data;
}

/**
 * What the cluster store holds can be out of reach (etcd away) while the host's own state is not:
 * the page then shows the host's own, says what it could not read, and goes on updating.
 */
async function readOr<T>(
  app: ViewSources['app'],
  url: string,
  schema: z.ZodType<T>,
  fallback: T,
  unread: Problem[],
): Promise<T> {
  try {
    return await read(app, url, schema);
  } catch (error) {
    // No time: the view would change at every round while the failure lasts.
    unread.push({
      time: 0,
      level: 'error',
      message: `the dashboard cannot read ${url} now`,
      detail: (error as Error).message,
    });
    return fallback;
  }
}

export const readReadiness = async (app: ViewSources['app']): Promise<DashboardView['readiness']> => {
  const answer: ReadinessView = await read(app, READY_PATH, readiness);
  // Without the timings, which change at every run and would make every view look new.
  return { ready: answer.ready, checks: answer.checks.map(({ name, ok, detail }) => ({ name, ok, detail })) };
};

export async function buildView(sources: ViewSources, ready: DashboardView['readiness']): Promise<DashboardView> {
  const { app, host } = sources;
  const unread: Problem[] = [];
  const [state, cluster, policies] = await Promise.all([
    read(app, STATE_PATH, daemonState),
    readOr(app, CLUSTER_PATH, clusterView, { enabled: false }, unread),
    readOr(app, POLICIES_PATH, policyList, { policies: [] }, unread),
  ]);
  const names = await sources.dockerNames([...state.networks, ...state.endpoints].map((r) => r.id));
  const members = cluster.enabled ? cluster.members : [];
  const networks = networksOf(state, names, cluster.enabled ? cluster.networks : []);
  const networkName = new Map(networks.map((n) => [n.id, n.name]));
  const local: EndpointView[] = state.endpoints.map((e) => {
    const container = names.containers.get(e.id) ?? e.container?.name;
    return {
      id: e.id,
      network: networkName.get(e.networkId) ?? e.networkId,
      host,
      ...(container ? { container } : {}),
      addresses: [e.address, e.addressIpv6].flatMap((a) => (a ? [a.replace(/\/\d+$/, '')] : [])),
      mac: e.mac,
      ports: e.ports.map(formatPort),
    };
  });
  const remote: EndpointView[] = members
    .filter((m) => m.host !== host)
    .map((m) => ({
      id: m.endpoint,
      network: m.network,
      host: m.host,
      ...(m.name ? { container: m.name } : {}),
      addresses: m.addresses,
      mac: m.mac,
      ports: [],
    }));
  return {
    host,
    mode: sources.mode,
    readiness: ready,
    problems: [...unread, ...sources.problems()],
    hosts: hostsOf(host, cluster, local.length),
    networks,
    endpoints: [...local, ...remote],
    policies: policies.policies.map((p) => ({
      name: p.policy.name,
      network: p.policy.network ?? 'every deny network',
      select: p.policy.select,
      from: p.policy.from,
      selected: p.selected.map((m) => m.name ?? m.addresses.join(', ')),
    })),
  };
}
