// What the CLI reads from a running daemon, parsed at the edge like any input.
import { z } from 'zod';
import { AUDIT_PATH, CLUSTER_PATH, STATE_PATH, STATUS_PATH } from '../operator-api.js';
import { getJson } from '../util/http.js';

const port = z.object({ proto: z.string(), hostIp: z.string(), hostPort: z.number(), containerIp: z.string(), containerPort: z.number() });
export type Port = z.infer<typeof port>;

const daemonState = z.object({
  networks: z.array(z.object({
    id: z.string(), bridge: z.string(), mtu: z.number(), subnets: z.array(z.string()), gateways: z.array(z.string()),
    internal: z.boolean(), nat: z.boolean(),
  })),
  endpoints: z.array(z.object({
    id: z.string(), networkId: z.string(), hostName: z.string(), mac: z.string(),
    address: z.string().optional(), addressIpv6: z.string().optional(), sandboxKey: z.string().optional(),
    ports: z.array(port).default([]),
  })),
  pools: z.array(z.object({ id: z.string(), pool: z.string(), range: z.string().optional(), refs: z.number(), hosts: z.number(), used: z.number(), capacity: z.string() })),
});
export type DaemonState = z.infer<typeof daemonState>;

const auditReport = z.object({
  problems: z.array(z.string()), networks: z.number(), endpoints: z.number(), pools: z.number(), addresses: z.number(),
});
export type AuditReport = z.infer<typeof auditReport>;

const status = z.object({ store: z.string(), networks: z.number(), endpoints: z.number(), pools: z.number() });

const clusterView = z.discriminatedUnion('enabled', [
  z.object({ enabled: z.literal(false) }),
  z.object({
    enabled: z.literal(true),
    host: z.string(),
    vtep: z.string(),
    hosts: z.array(z.object({ host: z.string(), vtep: z.string(), startedAt: z.number() })),
    networks: z.array(z.object({ name: z.string(), vni: z.number(), subnets: z.array(z.string()), endpoints: z.record(z.string(), z.number()) })),
  }),
]);
export type ClusterView = z.infer<typeof clusterView>;

export const readCluster = async (socket: string) => clusterView.parse(await getJson(socket, CLUSTER_PATH));
export const readState = async (socket: string) => daemonState.parse(await getJson(socket, STATE_PATH));
export const readAudit = async (socket: string) => auditReport.parse(await getJson(socket, AUDIT_PATH));
export const readStatus = async (socket: string) => status.parse(await getJson(socket, STATUS_PATH));

export const formatPort = (p: Port) =>
  `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort}->${p.containerIp.includes(':') ? `[${p.containerIp}]` : p.containerIp}:${p.containerPort}/${p.proto}`;
