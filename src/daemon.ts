// The daemon's composition, and nothing else: each part gets what it needs in
// its constructor, in this order: store -> driver state -> IPAM -> cluster ->
// driver -> reconcile -> the background services -> the routes.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadHostDriverState } from './cluster/host-records.js';
import { openCluster } from './cluster/open.js';
import type { Config } from './config.js';
import { DaemonServers } from './daemon-servers.js';
import type { Firewall, LinkPlane, PortKeeper } from './dataplane/dataplane.js';
import type { ServiceAddress } from './dataplane/service-address.js';
import { containerOfEndpoint, endpointsDockerHolds } from './docker-view.js';
import { Driver } from './driver/driver.js';
import { kindOf } from './driver/kinds/kind-of.js';
import { reportUplinks } from './driver/kinds/uplink/report.js';
import type { EndpointRecord } from './driver/records.js';
import { DriverState } from './driver/state.js';
import { storedUlaPool } from './ipam/auto-pool.js';
import { hostAddressesFrom, type Ipams, sharedIpam, soloIpam } from './ipam/index.js';
import type { Ipam } from './ipam/ipam.js';
import type { IpamConfig } from './ipam/parts.js';
import type { PoolReport } from './ipam/report.js';
import type { DnsStats } from './names/stats.js';
import { PROBE_TIMINGS, type ProbeTimings, Readiness } from './operator/readiness.js';
import { buildPolicy } from './policy/index.js';
import { tableFor } from './policy/nft-script.js';
import type { PolicyTable } from './policy/table.js';
import { ipamRoutes } from './protocol/ipam.js';
import { networkRoutes } from './protocol/network.js';
import type { PoolId } from './protocol/pool-id.js';
import type { ServerOptions } from './protocol/server.js';
import { startCollector } from './services/collector.js';
import { ContainerReader } from './services/container-reader.js';
import { scheduleOrphanSweep } from './services/orphan-sweep.js';
import { readinessChecks } from './services/readiness-checks.js';
import { releaseGuard } from './services/release-guard.js';
import { startCluster } from './services/start-cluster.js';
import { StoreBeat } from './services/store-beat.js';
import type { Leases, Store } from './store/store.js';

export interface Daemon {
  /** The server for the UNIX socket. */
  readonly app: FastifyInstance;
  readonly driver: Driver;
  readonly ipam: Ipam;
  readonly pools: PoolReport;
  /** What /readyz answers: can tether work now? */
  readonly readiness: Readiness;
  /** What the cluster's names service did with its queries, where it serves (metrics). */
  dnsStats(): DnsStats | undefined;
  /** A server for the TCP transport, closed with the daemon; the operator API only with TLS (daemon-servers.ts). */
  server(https?: ServerOptions['https']): FastifyInstance;
  /** Sets who hears of each call (metrics). */
  observe(onCall: (call: string, ok: boolean, seconds: number) => void): void;
  close(): Promise<void>;
}

export interface DaemonParts {
  readonly store: Store;
  /** Cluster mode: the store's leases (etcd's), for the hosts' registrations. */
  readonly leases?: Leases;
  /** Cluster mode: the host's own store, for the driver's records (cluster/host-records.ts). */
  readonly hostStore?: Store;
  readonly links: LinkPlane;
  readonly firewall: Firewall;
  readonly ports: PortKeeper;
  /** tether's nftables table for policies (deny networks). */
  readonly policyTable: PolicyTable;
  /** An address of the host's own for a service (the cluster's names). */
  readonly serviceAddress: (address: string) => ServiceAddress;
  readonly log: Logger;
  /** How often the store takes the readiness write, and how long a readiness answer serves (tests' own). */
  readonly probeTimings?: ProbeTimings;
}

/** How long a collection round waits for Docker's API before deciding nothing. */
const DOCKER_TIMEOUT_MS = 5_000;
/** How long each readiness check may take before it counts as failed. */
const READINESS_DEADLINE_MS = 2_000;

/** Builds the daemon on the given parts and reconciles the kernel; does not listen. */
export async function createDaemon(config: Config, parts: DaemonParts): Promise<Daemon> {
  const { store, links, firewall, ports, log, leases } = parts;
  if (leases && !parts.hostStore) throw new Error("cluster mode needs a store of the host's own");
  const state = parts.hostStore
    ? await loadHostDriverState(store, parts.hostStore, config.hostName, log)
    : await DriverState.load(store);
  const ipamConfig: IpamConfig = {
    defaultPool: config.defaultPool,
    defaultPool6: config.defaultPool6 ?? (await storedUlaPool(store)),
    hostRoutes: () => links.hostRoutes(),
    host: config.hostName,
    holderOf: releaseGuard(state),
    swarmScope: config.scope === 'global',
    warn: (message) => log.warn(message),
    // A container's address is written with its endpoint when the two share one store (etcd).
    ...(leases ? { defersWrite: (poolId: PoolId) => state.hasSubnet(poolId) } : {}),
  };
  const shared = leases ? await sharedIpam(store, ipamConfig) : undefined;
  const { ipam, report }: Ipams = shared ?? (await soloIpam(store, ipamConfig));
  const cluster =
    leases &&
    shared &&
    (await openCluster(config, {
      store,
      leases,
      links,
      log,
      forgetHost: async (host, unless, endpoints) =>
        (await shared.shared.forgetHost(host, unless)) + (await ipam.forgetSwarmEndpoints(endpoints, unless)),
      localNetworks: () =>
        [...state.networks.values()].flatMap((n) => {
          const { span, tunnel } = kindOf(n);
          return span && tunnel ? [{ name: span.name, vxlan: tunnel.device }] : [];
        }),
    }));
  const namesAddress = cluster ? config.cluster.namesAddress : undefined;
  const policy = buildPolicy({
    store,
    table: parts.policyTable,
    tableName: tableFor(config.name),
    log,
    snapshot: () => state.snapshot(),
    ...(cluster ? { host: config.hostName } : {}),
  });
  const containers: ContainerReader = new ContainerReader({
    // Called after a Join only, once the driver exists.
    target: {
      awaitingContainer: (): EndpointRecord[] => driver.awaitingContainer(),
      recordContainer: (id, container) => driver.recordContainer(id, container),
    },
    read: (ref) => containerOfEndpoint(config.dockerSocket, ref, DOCKER_TIMEOUT_MS),
    log,
  });
  const driver: Driver = new Driver(
    {
      state,
      policy: policy.port,
      containers: { joined: () => containers.wake(), failures: (): string[] => containers.failures() },
      links,
      firewall,
      ports,
      log,
      releaseContainerAddress: (address) => ipam.releaseContainerAddress(address),
      endpointsDockerHolds: (networkIds) => endpointsDockerHolds(config.dockerSocket, networkIds, DOCKER_TIMEOUT_MS),
      poolRange: (space, subnet) => report.rangeOf(space, subnet),
      hostAddresses: hostAddressesFrom(ipam),
      claims: ipam.claims,
      ...(cluster ? { cluster } : {}),
    },
    {
      prefix: config.interfacePrefix,
      instance: config.name,
      defaultMtu: config.mtu,
      abandonGraceMs: config.orphanGraceMs,
      scope: config.scope,
      uplinks: config.uplinks,
      ...(namesAddress ? { namesAddress } : {}),
    },
  );
  const started = performance.now();
  const reconciled = { ...(await driver.reconcile()), ms: Math.round(performance.now() - started) };
  log.info(reconciled, 'reconciled the kernel with the store');
  // Endpoints of an earlier life may still wait for their containers to be read.
  containers.wake();
  const timings = parts.probeTimings ?? PROBE_TIMINGS;
  const storeBeat = new StoreBeat(store, timings.storeBeatMs);
  const readiness = new Readiness(
    readinessChecks({
      storeBeat,
      reconciled,
      verifyFirewall: () => driver.verifyFirewall(),
      ...(cluster ? { cluster } : {}),
    }),
    READINESS_DEADLINE_MS,
    timings.readinessMaxAgeMs,
  );
  const orphans = await scheduleOrphanSweep({ driver, ipam, report, log }, config.orphanGraceMs);
  const clustered =
    cluster &&
    shared &&
    (await startCluster(cluster, {
      driver,
      ipam,
      state,
      shared: shared.shared,
      store,
      links,
      serviceAddress: parts.serviceAddress,
      log,
      config,
    }));
  const stopCollector = startCollector(
    {
      freeGoneEndpoints: () => driver.freeGoneEndpoints(),
      sweepOrphans: orphans.round,
      ...(config.scope === 'global'
        ? { freeReleasedSwarmAddresses: () => ipam.collectSwarm(config.orphanGraceMs) }
        : {}),
      ...(cluster && clustered
        ? {
            catchUp: () => {
              // Watches bring changes at once; the rounds catch up on anything missed while etcd was away.
              cluster.catchUp();
              const ghostsLeft = (error: Error) =>
                log.warn({ err: error.message }, 'ghost sweep left for the next round');
              clustered.withdrawGhosts().catch(ghostsLeft);
              clustered.followed.request();
              clustered.names?.refresh();
            },
          }
        : {}),
    },
    config.gcIntervalMs,
    log,
  );
  const servers = new DaemonServers({
    log,
    routes: [...networkRoutes(driver), ...ipamRoutes(ipam)],
    readiness,
    operator: {
      driver,
      pools: report,
      policy,
      uplinks: () => reportUplinks(links, config.uplinks, state.snapshot().networks),
      storeReachable: async () => {
        await store.get('meta/default-pool6');
        return true;
      },
      ...(cluster && clustered ? { cluster, clustered } : {}),
    },
  });
  return {
    app: servers.build(undefined, true),
    driver,
    ipam,
    pools: report,
    readiness,
    dnsStats: () => clustered?.names?.stats,
    server: (https) => servers.build(https, https !== undefined),
    observe: (listener) => servers.observe(listener),
    close: async () => {
      stopCollector();
      storeBeat.stop();
      orphans.cancel();
      await servers.close();
      clustered?.followed.stop();
      await clustered?.names?.close();
      policy.close();
      containers.close();
      await cluster?.close();
      ipam.close();
      await store.close();
      await parts.hostStore?.close();
    },
  };
}
