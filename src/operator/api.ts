// Read-only routes for the tether CLI on the plugin's own socket: what the
// daemon holds, as the store has it, and whether the kernel agrees. Each
// answer is built to the contract's type (contract.ts).
import type { FastifyInstance } from 'fastify';
import { type AuditedDriver, audit } from '../audit.js';
import type { ClusterReport } from '../cluster/cluster.js';
import { kindOf } from '../driver/kinds/kind-of.js';
import type { UplinkReport } from '../driver/kinds/uplink/report.js';
import { endpointText, networkText } from '../driver/records.js';
import type { PoolReport } from '../ipam/report.js';
import { type PolicyParts, policyKeyOf } from '../policy/index.js';
import {
  AUDIT_PATH,
  type AuditReportView,
  CLUSTER_PATH,
  type ClusterViewAnswer,
  type DaemonState,
  STATE_PATH,
  STATUS_PATH,
  type StatusView,
} from './contract.js';
import { registerPolicyApi } from './policy-api.js';

export interface OperatorDeps {
  readonly driver: AuditedDriver;
  readonly pools: PoolReport;
  /** Resolves when the store answers now (Store.health). */
  readonly storeHealth: () => Promise<void>;
  readonly cluster?: { report(): ClusterReport; networks(): Promise<{ name: string }[]> };
  /** Cluster mode's services: the names service and the check of this host's published members. */
  readonly clustered?: {
    readonly audit: () => Promise<string[]>;
    readonly namesService?: () => { address: string; serving: boolean };
  };
  readonly policy: Pick<PolicyParts, 'book' | 'enforcer'>;
  /** The host interfaces --uplinks allows, checked now. */
  readonly uplinks: () => Promise<UplinkReport[]>;
}

export function registerOperatorApi(app: FastifyInstance, parts: OperatorDeps): void {
  app.get(STATUS_PATH, async (): Promise<StatusView> => {
    const { networks, endpoints } = parts.driver.snapshot();
    const store = await parts.storeHealth().then(
      () => 'ok',
      (error: Error) => error.message,
    );
    const { length: pools } = parts.pools.usage();
    return { store, networks: networks.length, endpoints: endpoints.length, pools, uplinks: await parts.uplinks() };
  });
  app.get(STATE_PATH, async (): Promise<DaemonState> => {
    const { networks, endpoints } = parts.driver.snapshot();
    return {
      networks: networks.map((n) => {
        const { label, bridge, span, lan } = kindOf(n);
        return { ...networkText(n), label, lan, ...(bridge ? { bridge } : {}), ...(span ? { span } : {}) };
      }),
      endpoints: endpoints.map(endpointText),
      pools: parts.pools.usage(),
    };
  });
  app.get(AUDIT_PATH, async (): Promise<AuditReportView> => audit(parts.driver, parts.pools, parts.clustered?.audit));
  app.get(
    CLUSTER_PATH,
    async (): Promise<ClusterViewAnswer> =>
      parts.cluster
        ? {
            enabled: true,
            ...parts.cluster.report(),
            ...(parts.clustered?.namesService ? { namesService: parts.clustered.namesService() } : {}),
          }
        : { enabled: false },
  );
  const { cluster } = parts;
  registerPolicyApi(app, {
    ...parts.policy,
    networks: () => parts.driver.snapshot().networks.map((n) => ({ id: n.id, key: policyKeyOf(n) })),
    ...(cluster ? { clusterNetworks: async () => (await cluster.networks()).map((n) => n.name) } : {}),
  });
}
