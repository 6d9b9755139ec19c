// Wires the daemon together: store, IPAM, driver, reconcile, then the socket.
import { chmod, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { Cluster, type ClusterDeps } from './cluster/cluster.js';
import { syncDockerNetworks } from './cluster/docker-networks.js';
import { NETWORKS, hostScope } from './cluster/records.js';
import type { Config } from './config.js';
import type { Firewall, LinkPlane, PortKeeper } from './dataplane/dataplane.js';
import { SocketPortKeeper } from './dataplane/port-keeper.js';
import { IpRoute } from './dataplane/iproute.js';
import { IpTables, chainsFor } from './dataplane/iptables.js';
import { endpointsDockerHolds } from './docker-view.js';
import { Driver } from './driver/driver.js';
import { DriverState } from './driver/records.js';
import { type DefaultPool, formatDefaultPool, parseDefaultPool, randomUlaPool } from './ipam/auto-pool.js';
import { Ipam } from './ipam/ipam.js';
import { unusedAddresses } from './audit.js';
import { parseIp } from './net/ip.js';
import { registerOperatorApi } from './operator-api.js';
import { ipamRoutes } from './protocol/ipam.js';
import { networkRoutes } from './protocol/network.js';
import { type ServerOptions, buildServer } from './protocol/server.js';
import { SqliteStore } from './store/sqlite.js';
import type { Leases, Store } from './store/store.js';
import { Coalesced } from './util/serial.js';

export interface Daemon {
  /** The server for the UNIX socket. */
  readonly app: FastifyInstance;
  readonly driver: Driver;
  readonly ipam: Ipam;
  /** Another server with the same routes (the TCP transport), closed with the daemon. */
  server(https?: ServerOptions['https']): FastifyInstance;
  /** Sets who hears of each call (metrics). */
  observe(onCall: (call: string, ok: boolean, seconds: number) => void): void;
  close(): Promise<void>;
}

export interface DaemonParts {
  readonly store: Store;
  /** Cluster mode: the store's leases (etcd's), for the hosts' registrations. */
  readonly leases?: Leases;
  readonly links: LinkPlane;
  readonly firewall: Firewall;
  readonly ports: PortKeeper;
  readonly log: Logger;
}

/** How long a collection round waits for Docker's API before deciding nothing. */
const DOCKER_TIMEOUT_MS = 5_000;

/** Builds the daemon on the given parts and reconciles the kernel; does not listen. */
export async function createDaemon(config: Config, parts: DaemonParts): Promise<Daemon> {
  const { store, links, firewall, ports, log, leases } = parts;
  const ipam = await Ipam.open(store, {
    defaultPool: config.defaultPool,
    defaultPool6: config.defaultPool6 ?? (await ulaPool(store)),
    hostRoutes: () => links.hostRoutes(),
    host: config.hostName,
    shared: config.store.kind === 'etcd',
  });
  const cluster = leases && await openCluster(config, { store, leases, links, log, forgetHost: (host, unless) => ipam.forgetHost(host, unless) });
  const driver = await Driver.open(
    { state: new DriverState(store, cluster ? `${hostScope(config.hostName)}driver/` : 'driver/'), links, firewall, ports, log,
      abandonGraceMs: config.orphanGraceMs, releaseContainerAddress: (a) => ipam.releaseContainerAddress(a),
      endpointsDockerHolds: (networkIds) => endpointsDockerHolds(config.dockerSocket, networkIds, DOCKER_TIMEOUT_MS),
      poolRange: (space, subnet) => ipam.rangeOf(space, subnet), ...(cluster ? { cluster } : {}) },
    { prefix: config.interfacePrefix, instance: config.name, defaultMtu: config.mtu },
  );
  ipam.setHolderOf((address) => {
    const endpoint = driver.endpointWith(address);
    return endpoint && `endpoint ${endpoint.id.slice(0, 12)}`;
  });
  const started = performance.now();
  const reconciled = await driver.reconcile();
  log.info({ ...reconciled, ms: Math.round(performance.now() - started) }, 'reconciled the kernel with the store');
  const sweep = scheduleOrphanSweep(driver, ipam, log, config.orphanGraceMs);
  const dockerNetworks = cluster && followClusterNetworks(config, cluster, driver, store, log);
  if (cluster) {
    cluster.setLocalNetworks(() => driver.clusterNetworks().flatMap((n) => (n.vxlan ? [{ name: n.name, vxlan: n.vxlan }] : [])));
    cluster.setRejoin(async () => {
      await driver.rewriteRecords();
      const lost = await ipam.reclaim();
      for (const problem of lost.problems) log.error({ problem }, 'lost to another host while this one was taken for dead; the container using it conflicts');
      const conflicting = new Set(lost.addresses);
      await cluster.republish(driver.clusterEndpoints().filter((e) => !e.addresses.some((a) => conflicting.has(a))));
      log.info({ lost: lost.problems.length }, 'claimed back this host\'s records after registering again');
    });
    await cluster.republish(driver.clusterEndpoints());
    await cluster.start();
    cluster.requestOverlaySync();
  }
  const collector = setInterval(() => {
    driver.freeGoneEndpoints().catch((error: unknown) => log.error({ err: error }, 'freeing gone endpoints failed'));
    // Watches bring changes at once; the rounds catch up on anything missed while etcd was away.
    cluster?.catchUp();
    dockerNetworks?.sync.request();
  }, config.gcIntervalMs);
  collector.unref();
  let onCall: ((call: string, ok: boolean, seconds: number) => void) | undefined;
  const servers: FastifyInstance[] = [];
  const server = (https?: ServerOptions['https']) => {
    const built = buildServer({
      logger: log,
      routes: [...networkRoutes(driver), ...ipamRoutes(ipam)],
      extend: (app) => registerOperatorApi(app, {
        driver, ipam, storeReachable: async () => { await store.get('meta/default-pool6'); return true; }, ...(cluster ? { cluster } : {}),
      }),
      onCall: (...call) => onCall?.(...call),
      ...(https ? { https } : {}),
    });
    servers.push(built);
    return built;
  };
  return {
    app: server(),
    driver,
    ipam,
    server,
    observe: (listener) => { onCall = listener; },
    close: async () => {
      clearTimeout(await sweep);
      clearInterval(collector);
      for (const built of servers) await built.close();
      dockerNetworks?.stop();
      await cluster?.close();
      ipam.close();
      await store.close();
    },
  };
}

/**
 * A crash between RequestAddress and its reply makes Docker ask again, and the first address is
 * orphaned. Addresses that nothing uses at start-up and still nothing uses after the grace period
 * are freed; a live container's address is in use within milliseconds, never that long.
 */
async function scheduleOrphanSweep(driver: Driver, ipam: Ipam, log: Logger, graceMs: number): Promise<NodeJS.Timeout> {
  const key = ([pool, address]: [string, string]) => `${pool} ${address}`;
  const suspects = new Set((await unusedAddresses(driver, ipam)).map(key));
  const timer = setTimeout(() => {
    void (async () => {
      for (const orphan of await unusedAddresses(driver, ipam)) {
        if (!suspects.has(key(orphan))) continue;
        const address = parseIp(orphan[1]);
        if (address) await ipam.releaseAddress(orphan[0], address);
        log.info({ pool: orphan[0], address: orphan[1] }, 'freed an address nothing used since start-up');
      }
    })().catch((error: unknown) => log.error({ err: error }, 'orphan address sweep failed'));
  }, graceMs);
  timer.unref();
  return timer;
}

/** Cluster mode: finds this host's tunnel address and the underlay's MTU, then joins. */
async function openCluster(config: Config, deps: ClusterDeps): Promise<Cluster> {
  const { advertiseAddress } = config.cluster;
  let underlay: { source: string; mtu: number };
  if (advertiseAddress) {
    const link = (await deps.links.listLinks()).find((l) => l.addresses.some((a) => a.startsWith(`${advertiseAddress}/`)));
    if (!link) throw new Error(`--advertise-address ${advertiseAddress} is not an address of this host`);
    underlay = { source: advertiseAddress, mtu: link.mtu };
  } else {
    // The address the host reaches etcd from is the one the other hosts can reach it at.
    const etcd = config.store.kind === 'etcd' ? new URL(config.store.hosts[0] ?? '').hostname.replace(/^\[|\]$/g, '') : '';
    underlay = await deps.links.routeTowards((await lookup(etcd)).address);
  }
  const { hostTtlSeconds, deadHostGraceMs, vxlanPort } = config.cluster;
  deps.log.info({ host: config.hostName, vtep: underlay.source, underlayMtu: underlay.mtu }, 'cluster mode');
  return new Cluster(deps, {
    host: config.hostName, vtep: underlay.source, underlayMtu: underlay.mtu, vxlanPort, hostTtlSeconds, deadHostGraceMs,
  });
}

/** Creates the cluster's networks in this host's Docker, on each change and each collection round. */
function followClusterNetworks(config: Config, cluster: Cluster, driver: Driver, store: Store, log: Logger): { sync: Coalesced; stop: () => void } {
  const reported = new Map<string, string>();
  const sync = new Coalesced(() => syncDockerNetworks({
    wanted: () => cluster.networks(),
    local: () => driver.clusterNetworks(),
    dockerSocket: config.dockerSocket,
    driver: config.name,
    log,
  }, reported), (error) => log.warn({ err: error.message }, 'following the cluster\'s networks failed; will retry'));
  const stop = store.watch(NETWORKS, () => sync.request());
  sync.request();
  return { sync, stop };
}

/** The unique local range of this host: chosen at random once, then kept. */
async function ulaPool(store: Store): Promise<DefaultPool> {
  const key = 'meta/default-pool6';
  const stored = await store.get(key);
  const parsed = stored ? parseDefaultPool(stored.value) : undefined;
  if (parsed) return parsed;
  const pool = randomUlaPool();
  await store.commit([{ key, revision: 0 }], [{ type: 'put', key, value: formatDefaultPool(pool) }]);
  return parseDefaultPool((await store.get(key))?.value ?? '') ?? pool;
}

const SHUTDOWN_GRACE_MS = 5_000;

/** `tether serve`: runs until SIGTERM or SIGINT, leaving networks in place. */
export async function serve(config: Config): Promise<void> {
  const log = pino({ level: config.logLevel, base: { driver: config.name } });
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  await mkdir(dirname(config.socket), { recursive: true });
  const store = await openStore(config);
  const daemon = await createDaemon(config, { store, ...(isLeases(store) ? { leases: store } : {}), links: new IpRoute(), firewall: new IpTables(chainsFor(config.name)), ports: new SocketPortKeeper(), log });
  if (config.tcp) {
    const tls = config.tcp.tls;
    const https = tls && { key: await readFile(tls.key), cert: await readFile(tls.cert), ca: await readFile(tls.ca) };
    await daemon.server(https).listen({ host: config.tcp.host, port: config.tcp.port });
  }
  const spec = config.specDir ? await writeSpec(config) : undefined;
  const metrics = config.metrics && (await import('./observe/metrics.js').then((m) => m.startMetrics(config.metrics ?? { host: '', port: 0 }, daemon)));
  if (metrics) daemon.observe((call, ok, seconds) => metrics.observe(call, ok, seconds));
  // The UNIX socket comes last: once it answers, the TCP transport, spec file and metrics are up too.
  // A socket left by a killed daemon would make listen fail; nobody else may own this path.
  await unlink(config.socket).catch(() => undefined);
  const umask = process.umask(0o177);
  try {
    await daemon.app.listen({ path: config.socket });
  } finally {
    process.umask(umask);
  }
  await chmod(config.socket, 0o600);
  log.info({ socket: config.socket, tcp: config.tcp && `${config.tcp.host}:${config.tcp.port}`, tls: Boolean(config.tcp?.tls), spec, metrics: metrics?.address, stateDir: config.stateDir }, 'tether is serving');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down; networks stay in place');
    // A client that keeps a connection open (Docker does) must not keep tether from stopping:
    // after the grace, the socket and spec file go and the process exits all the same.
    const closed = (async () => {
      await metrics?.close();
      await daemon.close();
    })().then(() => true, (error: unknown) => { log.error({ err: error }, 'shutdown failed'); return true; });
    const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), SHUTDOWN_GRACE_MS).unref());
    if (!(await Promise.race([closed, timer]))) log.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'connections still open at shutdown; exiting anyway');
    await unlink(config.socket).catch(() => undefined);
    if (spec) await unlink(spec).catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

const isLeases = (store: Store): store is Store & Leases => 'putLeased' in store;

async function openStore(config: Config): Promise<Store> {
  if (config.store.kind === 'sqlite') return new SqliteStore(join(config.stateDir, 'tether.db'));
  const tls = config.store.tls;
  const { EtcdStore } = await import('./store/etcd.js');
  return new EtcdStore({
    hosts: config.store.hosts.map((h) => (tls ? h.replace(/^http:/, 'https:') : h)),
    ...(tls ? { credentials: { rootCertificate: await readFile(tls.ca), certChain: await readFile(tls.cert), privateKey: await readFile(tls.key) } } : {}),
  });
}

/**
 * Tells Docker where tether is when it is not a socket in /run/docker/plugins: NAME.json with the TLS
 * files for TCP, NAME.spec with the socket's URL otherwise. Returns the file written.
 */
async function writeSpec(config: Config): Promise<string> {
  const dir = config.specDir ?? '';
  await mkdir(dir, { recursive: true });
  if (!config.tcp) {
    const path = join(dir, `${config.name}.spec`);
    await writeFile(path, `unix://${config.socket}\n`);
    return path;
  }
  const host = config.tcp.host.includes(':') ? `[${config.tcp.host}]` : config.tcp.host;
  const path = join(dir, `${config.name}.json`);
  const tls = config.tcp.tls;
  await writeFile(path, `${JSON.stringify({
    Name: config.name,
    Addr: `${tls ? 'https' : 'http'}://${host}:${config.tcp.port}`,
    ...(tls ? {
      TLSConfig: {
        InsecureSkipVerify: false,
        CAFile: tls.ca,
        ...(config.dockerCert ? { CertFile: config.dockerCert.cert, KeyFile: config.dockerCert.key } : {}),
      },
    } : {}),
  }, null, 2)}\n`);
  return path;
}
