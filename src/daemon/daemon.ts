// The daemon's composition, and nothing else: each part gets what it needs in
// its constructor, in this order: store -> driver state -> the host's mode
// (IPAM, cluster: solo.ts or clustered.ts) -> policies -> driver -> reconcile
// -> the background services -> the routes. Each part's closer goes on one
// stack as it is built (closers.ts).

import type { FastifyInstance } from 'fastify';
import type { ClusterStats } from '../cluster/cluster.js';
import { loadHostDriverState } from '../cluster/host-records.js';
import type { Config } from '../config.js';
import { containerOfEndpoint, endpointsDockerHolds } from '../docker-view.js';
import { Driver } from '../driver/driver.js';
import { reportUplinks } from '../driver/kinds/uplink/report.js';
import { DriverState } from '../driver/state.js';
import { hostAddressesFrom } from '../ipam/index.js';
import type { Ipam } from '../ipam/ipam.js';
import type { PoolReport } from '../ipam/report.js';
import type { DnsStats } from '../names/stats.js';
import { PROBE_TIMINGS, Readiness } from '../operator/readiness.js';
import { buildPolicy } from '../policy/index.js';
import { tableFor } from '../policy/nft-script.js';
import { ipamRoutes } from '../protocol/ipam.js';
import { networkRoutes } from '../protocol/network.js';
import type { ServerOptions } from '../protocol/server.js';
import { startCollector } from '../services/collector.js';
import { ContainerReader } from '../services/container-reader.js';
import { scheduleOrphanSweep } from '../services/orphan-sweep.js';
import { readinessChecks } from '../services/readiness-checks.js';
import { StoreBeat } from '../services/store-beat.js';
import { Closers } from './closers.js';
import { buildClustered } from './clustered.js';
import type { DaemonDeps } from './deps.js';
import { DaemonServers } from './servers.js';
import { buildSolo } from './solo.js';

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
  /** What the cluster view and overlay counted (metrics; cluster mode). */
  clusterStats(): ClusterStats | undefined;
  /** A server for the TCP transport, closed with the daemon; the operator API only with TLS (servers.ts). */
  server(https?: ServerOptions['https']): FastifyInstance;
  /** Sets who hears of each call (metrics). */
  observe(onCall: (call: string, ok: boolean, seconds: number) => void): void;
  close(): Promise<void>;
}

/** How long a collection round waits for Docker's API before deciding nothing. */
const DOCKER_TIMEOUT_MS = 5_000;
/** How long each readiness check may take before it counts as failed. */
const READINESS_DEADLINE_MS = 2_000;

/** Builds the daemon on what it is given and reconciles the kernel; does not listen. */
export async function createDaemon(config: Config, deps: DaemonDeps): Promise<Daemon> {
  const closers = new Closers(deps.log);
  try {
    return await compose(config, deps, closers);
  } catch (error) {
    await closers.close();
    throw error;
  }
}

async function compose(config: Config, deps: DaemonDeps, closers: Closers): Promise<Daemon> {
  const { store, hostStore, links, firewall, ports, log, leases } = deps;
  closers.push('store', () => store.close());
  if (hostStore) closers.push("the host's own store", () => hostStore.close());
  if (leases && !hostStore) throw new Error("cluster mode needs a store of the host's own");
  const state = hostStore
    ? await loadHostDriverState(store, hostStore, config.hostName, log)
    : await DriverState.load(store);
  const input = { config, deps, state, closers };
  const mode = leases && hostStore ? await buildClustered(input, leases, hostStore) : await buildSolo(input);
  const { ipam, report, cluster, namesAddress } = mode;
  const policy = await buildPolicy({
    store,
    table: deps.policyTable,
    tableName: tableFor(config.name),
    log,
    snapshot: () => state.snapshot(),
    ...(mode.cluster ? { cluster: { view: mode.cluster.view, host: mode.cluster.settings.host } } : {}),
  });
  closers.push('policies', () => policy.close());
  const containers = new ContainerReader({
    read: (ref) => containerOfEndpoint(config.dockerSocket, ref, DOCKER_TIMEOUT_MS),
    log,
  });
  closers.push('container reader', () => containers.close());
  const driver = new Driver(
    {
      state,
      policy: policy.port,
      containers: { joined: () => containers.wake(), failures: () => containers.failures() },
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
  containers.serve(driver);
  const timings = deps.probeTimings ?? PROBE_TIMINGS;
  const storeBeat = new StoreBeat(store, timings.storeBeatMs);
  closers.push('store beat', () => storeBeat.stop());
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
  closers.push('orphan sweep', () => orphans.cancel());
  const running = await mode.start(driver, closers);
  const stopCollector = startCollector(
    {
      freeGoneEndpoints: () => driver.freeGoneEndpoints(),
      sweepOrphans: orphans.round,
      // Swarm's IPAM frees what nodes released; the core has nothing of swarm's to free.
      freeReleasedSwarmAddresses: () => ipam.collectSwarm(config.orphanGraceMs),
      ...(running.catchUp ? { catchUp: running.catchUp } : {}),
    },
    config.gcIntervalMs,
    log,
  );
  closers.push('collector', stopCollector);
  const servers = new DaemonServers({
    log,
    routes: [...networkRoutes(driver), ...ipamRoutes(ipam)],
    readiness,
    operator: {
      driver,
      pools: report,
      policy,
      uplinks: () => reportUplinks(links, config.uplinks, state.snapshot().networks),
      storeHealth: () => store.health(),
      ...running.operator,
    },
  });
  closers.push('servers', () => servers.close());
  return {
    app: servers.build(undefined, true),
    driver,
    ipam,
    pools: report,
    readiness,
    dnsStats: () => running.dnsStats?.(),
    clusterStats: () => mode.cluster?.stats(),
    server: (https) => servers.build(https, https !== undefined),
    observe: (listener) => servers.observe(listener),
    close: () => closers.close(),
  };
}
