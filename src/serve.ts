// `tether serve`: the daemon as a process. Locks its state directory, opens the
// log and the store, builds the daemon on the real kernel, listens (TCP and
// spec file first, the UNIX socket last), tells systemd, watches itself for a
// wedge, and stops on SIGTERM or SIGINT, leaving networks in place.

import { chmod, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { dirname, join } from 'node:path';
import type { Config } from './config.js';
import { createDaemon } from './daemon/daemon.js';
import { IpRoute } from './dataplane/iproute.js';
import { chainsFor, IpTables } from './dataplane/iptables.js';
import { SocketPortKeeper } from './dataplane/port-keeper.js';
import { loopbackAddress } from './dataplane/service-address.js';
import { tableFor } from './policy/nft-script.js';
import { NftTable } from './policy/nftables.js';
import { createLogger } from './process/log.js';
import { watchLoopStalls } from './process/loop-stall.js';
import { lockStateDir, socketAnswers } from './process/state-lock.js';
import { watchStoreHangs } from './process/store-hang.js';
import { systemdFromEnvironment } from './process/systemd.js';
import { SqliteStore } from './store/sqlite.js';
import type { Leases, Store } from './store/store.js';

const SHUTDOWN_GRACE_MS = 5_000;
/** How often the store is asked whether it still answers, without a systemd watchdog to set the pace. */
const STORE_WATCH_MS = 10_000;

/** `tether serve`: runs until SIGTERM or SIGINT, leaving networks in place. */
export async function serve(config: Config): Promise<void> {
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  await mkdir(dirname(config.socket), { recursive: true });
  // Before anything is touched: one daemon per state, and nobody else's socket taken over.
  const lock = await lockStateDir(config.stateDir, { pid: process.pid, socket: config.socket });
  if (await socketAnswers(config.socket)) {
    await lock.release();
    throw new Error(`${config.socket} is served by another process; stop it first, or give this tether --socket`);
  }
  const {
    log,
    problems,
    close: closeLog,
  } = createLogger({
    level: config.logLevel,
    name: config.name,
    ...(config.logFile ? { file: config.logFile } : {}),
  });
  const stopStallWatch = watchLoopStalls(config.wedgeLimitMs);
  const store = await openStore(config);
  const daemon = await createDaemon(config, {
    store,
    // Cluster mode: the driver's records stay in the host's own database (cluster/host-records.ts).
    ...(isLeases(store) ? { leases: store, hostStore: new SqliteStore(join(config.stateDir, 'tether.db')) } : {}),
    links: new IpRoute(),
    firewall: new IpTables(chainsFor(config.name)),
    ports: new SocketPortKeeper(),
    policyTable: new NftTable(tableFor(config.name)),
    serviceAddress: loopbackAddress,
    log,
  });
  if (config.tcp) {
    const tls = config.tcp.tls;
    const https = tls && { key: await readFile(tls.key), cert: await readFile(tls.cert), ca: await readFile(tls.ca) };
    await daemon.server(https).listen({ host: config.tcp.host, port: config.tcp.port });
  }
  const spec = config.specDir ? await writeSpec(config) : undefined;
  const metrics =
    config.metrics &&
    (await import('./observe/metrics.js').then((m) => m.startMetrics(config.metrics ?? { host: '', port: 0 }, daemon)));
  if (metrics) daemon.observe((call, ok, seconds) => metrics.observe(call, ok, seconds));
  const ui = config.ui;
  const dashboard =
    ui &&
    (await import('./dashboard/server.js').then((m) =>
      m.startDashboard(ui, {
        app: daemon.app,
        host: config.hostName,
        mode: config.store.kind === 'sqlite' ? 'single host' : config.scope === 'global' ? 'swarm' : 'cluster',
        problems: () => problems.list(),
        dockerSocket: config.dockerSocket,
        log,
      }),
    ));
  // The UNIX socket comes last: once it answers, the TCP transport, spec file, metrics and dashboard are up too.
  // A socket left by a killed daemon would make listen fail; nobody serves it (checked above).
  await unlink(config.socket).catch(() => undefined);
  // The umask makes the socket 0600 from the moment it exists, not only after the chmod.
  const umask = process.umask(0o177);
  try {
    await daemon.app.listen({ path: config.socket });
  } finally {
    process.umask(umask);
  }
  await chmod(config.socket, 0o600);
  log.info(
    {
      socket: config.socket,
      tcp: config.tcp && `${config.tcp.host}:${config.tcp.port}`,
      tls: Boolean(config.tcp?.tls),
      spec,
      metrics: metrics?.address,
      dashboard: dashboard?.address,
      stateDir: config.stateDir,
    },
    'tether is serving',
  );
  const systemd = systemdFromEnvironment(process.env, log);
  systemd?.ready();
  const stopHangWatch = watchStoreHangs({
    probe: () => store.get('meta/probe'),
    limitMs: config.wedgeLimitMs,
    everyMs: systemd?.watchdogIntervalMs ?? STORE_WATCH_MS,
    log,
    ...(systemd?.watchdogIntervalMs ? { onWell: () => systemd.watchdog() } : {}),
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down; networks stay in place');
    // A client that keeps a connection open (Docker does) must not keep tether from stopping:
    // after the grace, the socket and spec file go and the process exits all the same.
    stopHangWatch();
    const closed = (async () => {
      await metrics?.close();
      await dashboard?.close();
      await daemon.close();
      await stopStallWatch();
    })().then(
      () => true,
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        return true;
      },
    );
    const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), SHUTDOWN_GRACE_MS).unref());
    if (!(await Promise.race([closed, timer])))
      log.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'connections still open at shutdown; exiting anyway');
    await unlink(config.socket).catch(() => undefined);
    if (spec) await unlink(spec).catch(() => undefined);
    await lock.release();
    await closeLog();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
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
  const host = isIPv6(config.tcp.host) ? `[${config.tcp.host}]` : config.tcp.host;
  const path = join(dir, `${config.name}.json`);
  const tls = config.tcp.tls;
  await writeFile(
    path,
    `${JSON.stringify(
      {
        Name: config.name,
        Addr: `${tls ? 'https' : 'http'}://${host}:${config.tcp.port}`,
        ...(tls
          ? {
              TLSConfig: {
                InsecureSkipVerify: false,
                CAFile: tls.ca,
                ...(config.dockerCert ? { CertFile: config.dockerCert.cert, KeyFile: config.dockerCert.key } : {}),
              },
            }
          : {}),
      },
      null,
      2,
    )}\n`,
  );
  return path;
}

export const isLeases = (store: Store): store is Store & Leases => 'putLeased' in store;

export async function openStore(config: Config): Promise<Store> {
  if (config.store.kind === 'sqlite') return new SqliteStore(join(config.stateDir, 'tether.db'));
  const tls = config.store.tls;
  const { EtcdStore } = await import('./store/etcd.js');
  return new EtcdStore({
    hosts: config.store.hosts.map((h) => (tls ? h.replace(/^http:/, 'https:') : h)),
    ...(tls
      ? {
          credentials: {
            rootCertificate: await readFile(tls.ca),
            certChain: await readFile(tls.cert),
            privateKey: await readFile(tls.key),
          },
        }
      : {}),
  });
}
