// The operator API's policy routes: `tether policy add|ls|inspect|rm|test`.
// A change answers once this host's kernel holds it; the other hosts follow
// the store's watch.
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { invalidOption } from '../errors.js';
import { formatIp } from '../net/ip.js';
import type { PolicyBook } from '../policy/book.js';
import type { PolicyEnforcer } from '../policy/enforcer.js';
import { explain } from '../policy/explain.js';
import { formatPolicy, type Policy, parsePolicy, parsePortRule } from '../policy/records.js';
import { type PolicyEndpoint, selected } from '../policy/ruleset.js';
import { parseBody } from '../protocol/server.js';
import {
  POLICIES_PATH,
  POLICY_TEST_PATH,
  type PolicyListView,
  type PolicyVerdictView,
  type PolicyView,
  policyAdd,
  policyTest,
} from './contract.js';

export interface PolicyApiDeps {
  readonly book: PolicyBook;
  readonly enforcer: PolicyEnforcer;
  /** This host's networks, for `--network`: Docker's ID, and the cluster's name for one spanning hosts. */
  readonly networks: () => readonly { readonly id: string; readonly key: string }[];
  /** Cluster mode: the names of the cluster's networks, those this host lacks included. */
  readonly clusterNetworks?: () => Promise<string[]>;
}

const memberView = (e: PolicyEndpoint) => ({
  network: e.network,
  addresses: e.addresses.map(formatIp),
  local: e.local,
  ...(e.name === undefined ? {} : { name: e.name }),
  ...(e.id === undefined ? {} : { id: e.id }),
});

export function registerPolicyApi(app: FastifyInstance, parts: PolicyApiDeps): void {
  const viewOf = async (policies: readonly Policy[], endpoints: readonly PolicyEndpoint[]): Promise<PolicyView[]> =>
    policies.map((policy) => ({
      policy: formatPolicy(policy),
      selected: endpoints.filter((e) => selected(policy, policy.select, e)).map(memberView),
      sources: endpoints.filter((e) => policy.from.some((s) => selected(policy, s, e))).map(memberView),
    }));
  const viewOne = async (policy: Policy): Promise<PolicyView> =>
    (await viewOf([policy], (await parts.enforcer.inputs()).endpoints))[0] as PolicyView;
  app.get(POLICIES_PATH, async (): Promise<PolicyListView> => {
    const { policies, endpoints } = await parts.enforcer.inputs();
    return { policies: await viewOf(policies, endpoints) };
  });
  app.get<{ Params: { name: string } }>(`${POLICIES_PATH}/:name`, async (request) =>
    viewOne(await parts.book.get(request.params.name)),
  );
  app.post(POLICIES_PATH, async (request, reply): Promise<PolicyView> => {
    const body = parseBody(request.url, request.body, policyAdd) as z.infer<typeof policyAdd>;
    const parsed = parsePolicy(body.policy);
    const policy =
      parsed.network === undefined ? parsed : { ...parsed, network: await networkKey(parts, parsed.network) };
    await parts.book.add(policy, body.replace);
    await parts.enforcer.sync();
    reply.code(201);
    return viewOne(policy);
  });
  app.delete<{ Params: { name: string } }>(`${POLICIES_PATH}/:name`, async (request, reply) => {
    await parts.book.remove(request.params.name);
    await parts.enforcer.sync();
    reply.code(204);
  });
  app.post(POLICY_TEST_PATH, async (request): Promise<PolicyVerdictView> => {
    const body = parseBody(request.url, request.body, policyTest) as z.infer<typeof policyTest>;
    return explain(await parts.enforcer.inputs(), body.from, body.to, parsePortRule(body.port));
  });
}

/** The policy key of `--network`: a network's ID (or its first 12 characters or more), or a cluster network's name. */
async function networkKey(parts: PolicyApiDeps, given: string): Promise<string> {
  const local = parts.networks();
  const byId = local.filter((n) => given.length >= 12 && n.id.startsWith(given));
  if (byId.length === 1) return (byId[0] as { key: string }).key;
  if (local.some((n) => n.key === given)) return given;
  if ((await parts.clusterNetworks?.())?.includes(given)) return given;
  throw invalidOption(`no tether network "${given}" here (give its ID, or a cluster network's name)`);
}
