// Read-only routes for the tether CLI on the plugin's own socket: what the
// daemon holds, as the store has it, and whether the kernel agrees.
import type { FastifyInstance } from 'fastify';
import { audit } from './audit.js';
import type { ClusterView } from './cluster/cluster.js';
import type { Driver } from './driver/driver.js';
import type { Ipam } from './ipam/ipam.js';

export const STATE_PATH = '/tether/v1/state';
export const AUDIT_PATH = '/tether/v1/audit';
export const STATUS_PATH = '/tether/v1/status';
export const CLUSTER_PATH = '/tether/v1/cluster';

export function registerOperatorApi(app: FastifyInstance, parts: {
  driver: Driver; ipam: Ipam; storeReachable: () => Promise<boolean>; cluster?: { view(): Promise<ClusterView> };
}): void {
  app.get(STATUS_PATH, async () => {
    const { networks, endpoints } = parts.driver.snapshot();
    const store = await parts.storeReachable().then((ok) => (ok ? 'ok' : 'unreachable'), (error: Error) => error.message);
    return { store, networks: networks.length, endpoints: endpoints.length, pools: parts.ipam.usage().length };
  });
  app.get(STATE_PATH, async () => ({ ...parts.driver.snapshot(), pools: parts.ipam.usage() }));
  app.get(AUDIT_PATH, async () => audit(parts.driver, parts.ipam));
  app.get(CLUSTER_PATH, async () => (parts.cluster ? { enabled: true, ...(await parts.cluster.view()) } : { enabled: false }));
}
