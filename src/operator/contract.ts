// The operator API's one contract: the paths and the shape of each answer, as
// JSON. The daemon builds its answers to these types, the CLI and the tests
// parse them with these schemas; nobody declares them twice.
import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { textShapes } from '../driver/record-shapes.js';
import { policyText } from '../policy/records.js';

export const STATE_PATH = '/tether/v1/state';
export const AUDIT_PATH = '/tether/v1/audit';
export const STATUS_PATH = '/tether/v1/status';
export const HEALTH_PATH = '/healthz';
export const READY_PATH = '/readyz';
export const CLUSTER_PATH = '/tether/v1/cluster';

const port = textShapes.port;
export type PortView = z.infer<typeof port>;

/** A network as the store holds it, with what its kind says of it (driver/kinds/facts.ts). */
const network = textShapes.network.extend({
  /** The CLI's MODE, the dashboard's: "bridge", "swarm", "macvlan on eth1, VLAN 10"... */
  label: z.string(),
  /** The bridge its endpoints are on; none on a macvlan network. */
  bridge: z.string().optional(),
  /** The name and VNI under which it spans hosts, and who creates it on each. */
  span: z.object({ name: z.string(), vni: z.number(), by: z.enum(['tether', 'swarm']) }).optional(),
  /** Its containers are on a LAN of the host's, whose router routes them. */
  lan: z.boolean(),
});

const endpoint = textShapes.endpoint;

const pool = z.object({
  id: z.string(),
  pool: z.string(),
  range: z.string().optional(),
  refs: z.number(),
  hosts: z.number(),
  used: z.number(),
  capacity: z.string(),
});

export const daemonState = z.object({ networks: z.array(network), endpoints: z.array(endpoint), pools: z.array(pool) });
export type DaemonState = z.infer<typeof daemonState>;

export const auditReport = z.object({
  problems: z.array(z.string()),
  networks: z.number(),
  endpoints: z.number(),
  pools: z.number(),
  addresses: z.number(),
});
export type AuditReportView = z.infer<typeof auditReport>;

const uplinkStatus = z.object({
  name: z.string(),
  iface: z.string(),
  shared: z.boolean(),
  networks: z.array(z.string()),
  vlans: z.array(z.number()),
  problem: z.string().optional(),
});
export const status = z.object({
  store: z.string(),
  networks: z.number(),
  endpoints: z.number(),
  pools: z.number(),
  /** The host interfaces --uplinks allows, as the host has them. */
  uplinks: z.array(uplinkStatus).default([]),
});
export type StatusView = z.infer<typeof status>;

/** GET /healthz: the process serves. */
export const health = z.object({ status: z.literal('ok'), pid: z.number(), uptimeSeconds: z.number() });
export type HealthView = z.infer<typeof health>;

/** GET /readyz: each check (store, lease, reconcile, firewall) with what it found; 503 when one fails. */
export const readiness = z.object({
  ready: z.boolean(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string(), ms: z.number() })),
});
export type ReadinessView = z.infer<typeof readiness>;

const clusterHost = z.object({ host: z.string(), vtep: z.string(), startedAt: z.number() });
export const clusterView = z.discriminatedUnion('enabled', [
  z.object({ enabled: z.literal(false) }),
  z.object({
    enabled: z.literal(true),
    host: z.string(),
    vtep: z.string(),
    hosts: z.array(clusterHost),
    /** Hosts no longer renewing their registration, until their endpoints are given back (absent before 0.1). */
    dead: z
      .array(
        z.object({
          host: z.string(),
          /** Absent when this host never read the dead host's record. */
          vtep: z.string().optional(),
          startedAt: z.number().optional(),
          since: z.number().optional(),
        }),
      )
      .default([]),
    /** Records of the cluster store left out as unreadable, by key, with why (absent before 0.2). */
    unreadable: z.array(z.object({ key: z.string(), why: z.string() })).default([]),
    networks: z.array(
      z.object({
        name: z.string(),
        vni: z.number(),
        subnets: z.array(z.string()),
        endpoints: z.record(z.string(), z.number()),
        swarm: z.boolean().optional(),
      }),
    ),
    /** Where this host serves the cluster's names, and whether it does (absent: --names-addr off). */
    namesService: z.object({ address: z.string(), serving: z.boolean() }).optional(),
    /** The names other hosts answer DNS with: each endpoint's container name and aliases (absent before 0.1). */
    names: z
      .array(
        z.object({
          network: z.string(),
          host: z.string(),
          name: z.string(),
          aliases: z.array(z.string()),
          addresses: z.array(z.string()),
        }),
      )
      .default([]),
    /** Every endpoint the hosts publish (absent before 0.1). */
    members: z
      .array(
        z.object({
          network: z.string(),
          endpoint: z.string(),
          host: z.string(),
          mac: z.string(),
          addresses: z.array(z.string()),
          name: z.string().optional(),
        }),
      )
      .default([]),
  }),
]);
export type ClusterViewAnswer = z.infer<typeof clusterView>;

const bracketed = (address: string) => (isIPv6(address) ? `[${address}]` : address);

export const formatPort = (p: PortView) =>
  `${bracketed(p.hostIp)}:${p.hostPort}->${bracketed(p.containerIp)}:${p.containerPort}/${p.proto}`;

export const POLICIES_PATH = '/tether/v1/policies';
export const POLICY_TEST_PATH = '/tether/v1/policy-test';

/** An endpoint a policy selects (or lets in), as `tether policy inspect` shows it. */
const policyMember = z.object({
  network: z.string(),
  addresses: z.array(z.string()),
  name: z.string().optional(),
  id: z.string().optional(),
  local: z.boolean(),
});

/** A policy as text (the store's form too), with the endpoints its selector picks now. */
export const policyView = z.object({
  policy: policyText,
  selected: z.array(policyMember),
  sources: z.array(policyMember),
});
export type PolicyView = z.infer<typeof policyView>;
export const policyList = z.object({ policies: z.array(policyView) });
export type PolicyListView = z.infer<typeof policyList>;

/** POST /tether/v1/policies: a policy to add, or to put in place of the one of its name. */
export const policyAdd = z.object({ policy: policyText, replace: z.boolean().default(false) });

/** POST /tether/v1/policy-test: would a new connection from FROM to TO on PORT get in? */
export const policyTest = z.object({ from: z.string().min(1), to: z.string().min(1), port: z.string().min(1) });
export const policyVerdict = z.object({ allowed: z.boolean(), policy: z.string().optional(), reason: z.string() });
export type PolicyVerdictView = z.infer<typeof policyVerdict>;
