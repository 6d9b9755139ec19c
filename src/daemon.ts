// Wires the daemon together: store, IPAM, driver, reconcile, then the socket.
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import type { Firewall, LinkPlane, PortKeeper } from './dataplane/dataplane.js';
import { SocketPortKeeper } from './dataplane/port-keeper.js';
import { IpRoute } from './dataplane/iproute.js';
import { IpTables, chainsFor } from './dataplane/iptables.js';
import { Driver } from './driver/driver.js';
import { DriverState } from './driver/records.js';
import { type DefaultPool, formatDefaultPool, parseDefaultPool, randomUlaPool } from './ipam/auto-pool.js';
import { Ipam } from './ipam/ipam.js';
import { unusedAddresses } from './audit.js';
import { parseIp } from './net/ip.js';
import { registerOperatorApi } from './operator-api.js';
import { ipamRoutes } from './protocol/ipam.js';
import { networkRoutes } from './protocol/network.js';
import { buildServer } from './protocol/server.js';
import { SqliteStore } from './store/sqlite.js';
import type { Store } from './store/store.js';

export interface Daemon {
  readonly app: FastifyInstance;
  readonly driver: Driver;
  readonly ipam: Ipam;
  close(): Promise<void>;
}

export interface DaemonParts {
  readonly store: Store;
  readonly links: LinkPlane;
  readonly firewall: Firewall;
  readonly ports: PortKeeper;
  readonly log: Logger;
}

/** Builds the daemon on the given parts and reconciles the kernel; does not listen. */
export async function createDaemon(config: Config, parts: DaemonParts): Promise<Daemon> {
  const { store, links, firewall, ports, log } = parts;
  const ipam = await Ipam.open(store, {
    defaultPool: config.defaultPool,
    defaultPool6: config.defaultPool6 ?? (await ulaPool(store)),
    hostRoutes: () => links.hostRoutes(),
  });
  const driver = await Driver.open(
    { state: new DriverState(store), links, firewall, ports, log, releaseContainerAddress: (a) => ipam.releaseContainerAddress(a) },
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
  const app = buildServer({
    logger: log,
    routes: [...networkRoutes(driver), ...ipamRoutes(ipam)],
    extend: (server) => registerOperatorApi(server, { driver, ipam }),
  });
  return { app, driver, ipam, close: async () => { clearTimeout(await sweep); await app.close(); await store.close(); } };
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

/** `tether serve`: runs until SIGTERM or SIGINT, leaving networks in place. */
export async function serve(config: Config): Promise<void> {
  const log = pino({ level: config.logLevel, base: { driver: config.name } });
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  await mkdir(dirname(config.socket), { recursive: true });
  const store = new SqliteStore(join(config.stateDir, 'tether.db'));
  const daemon = await createDaemon(config, { store, links: new IpRoute(), firewall: new IpTables(chainsFor(config.name)), ports: new SocketPortKeeper(), log });
  // A socket left by a killed daemon would make listen fail; nobody else may own this path.
  await unlink(config.socket).catch(() => undefined);
  const umask = process.umask(0o177);
  try {
    await daemon.app.listen({ path: config.socket });
  } finally {
    process.umask(umask);
  }
  await chmod(config.socket, 0o600);
  log.info({ socket: config.socket, stateDir: config.stateDir }, 'tether is serving');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down; networks stay in place');
    await daemon.close();
    await unlink(config.socket).catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
