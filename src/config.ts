// Daemon configuration, parsed and checked once at start into a frozen value
// that is passed down; no other module reads flags or the environment.
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { parseUplinks, type Uplink } from './driver/kinds/uplink/allowed.js';
import { type DefaultPool, parseDefaultPool } from './ipam/auto-pool.js';
import { isLoopbackHost, parseHostPort, parseUiConfig, type TlsFiles, type UiConfig } from './listen-config.js';
import { parseIp } from './net/ip.js';
import { parseEtcdUrl } from './store/etcd-url.js';

export interface Config {
  readonly socket: string;
  /** The driver name Docker knows: --name, or the socket's base name. */
  readonly name: string;
  /** Serve the protocol over TCP too: with mutual TLS, or (loopback only, asked for) in plain HTTP. */
  readonly tcp?: { readonly host: string; readonly port: number; readonly tls?: TlsFiles };
  /** Where to write NAME.json (for --tcp) or NAME.spec (pointing at the UNIX socket) for Docker to find. */
  readonly specDir?: string;
  /** The certificate and key Docker presents to tether, named in the .json spec. */
  readonly dockerCert?: { readonly cert: string; readonly key: string };
  readonly metrics?: { readonly host: string; readonly port: number };
  /** The dashboard (--ui-addr). */
  readonly ui?: UiConfig;
  /** The embedded SQLite store under --state-dir, or etcd members: cluster mode. */
  readonly store:
    | { readonly kind: 'sqlite' }
    | { readonly kind: 'etcd'; readonly hosts: string[]; readonly tls?: TlsFiles };
  readonly stateDir: string;
  readonly logLevel: string;
  readonly interfacePrefix: string;
  readonly mtu: number;
  /** How long an address may go unused after start-up, or a joined peer stay on the host, before tether frees it. */
  readonly orphanGraceMs: number;
  /** How often to look for endpoints whose container vanished without Docker saying so. */
  readonly gcIntervalMs: number;
  readonly defaultPool: DefaultPool;
  /** Undefined: a random unique local /48, chosen once and kept in the store. */
  readonly defaultPool6?: DefaultPool;
  /** This host's name in the cluster (--host-name, default the machine's). */
  readonly hostName: string;
  /** Docker's API on this host: whether an endpoint is still Docker's, and where cluster networks are created. */
  readonly dockerSocket: string;
  readonly cluster: ClusterConfig;
  /**
   * What GetCapabilities reports: local (networks of one Docker host, tether.cluster spanning hosts),
   * or global (swarm networks, with swarm's allocations in tether's cluster-wide IPAM).
   */
  readonly scope: 'local' | 'global';
  /** How long the event loop may stall, or a store call hang, before tether exits to be restarted. */
  readonly wedgeLimitMs: number;
  /** Besides stdout, the log goes to this file, rotated by size (--log-file). */
  readonly logFile?: string;
  /** Host interfaces networks may put containers on (--uplinks). */
  readonly uplinks: readonly Uplink[];
}

export interface ClusterConfig {
  /** The VXLAN tunnel address other hosts send to; undefined: the source of the route towards etcd. */
  readonly advertiseAddress?: string;
  /** How long a host's registration outlives its last renewal. */
  readonly hostTtlSeconds: number;
  /** How long after a host's registration expires its endpoints and addresses are given back. */
  readonly deadHostGraceMs: number;
  readonly vxlanPort: number;
  /** Where the cluster's names are served (--names-addr); undefined: not served. */
  readonly namesAddress?: string;
}

/** Seconds of a stalled event loop or a hung store call before tether exits (--wedge-limit). */
export const DEFAULT_WEDGE_LIMIT = '60';

export interface RawConfig {
  socket: string;
  name?: string;
  tcp?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  insecureTcp?: boolean;
  specDir?: string;
  dockerCert?: string;
  dockerKey?: string;
  metricsAddr?: string;
  uiAddr?: string;
  uiTokenFile?: string;
  store: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdCa?: string;
  stateDir: string;
  logLevel: string;
  interfacePrefix: string;
  mtu: string;
  orphanGrace: string;
  gcInterval: string;
  wedgeLimit?: string;
  logFile?: string;
  defaultPool: string;
  defaultPool6?: string;
  hostName?: string;
  advertiseAddress?: string;
  hostTtl: string;
  deadHostGrace: string;
  vxlanPort: string;
  namesAddr?: string;
  dockerSocket: string;
  scope: string;
  uplinks?: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export function parseConfig(raw: RawConfig): Config {
  const fail = (message: string): never => {
    throw new Error(message);
  };
  if (!raw.socket.endsWith('.sock')) fail(`--socket ${raw.socket}: the socket's name must end in .sock`);
  if (!LOG_LEVELS.includes(raw.logLevel)) fail(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  // Interface names are at most 15 bytes; the prefix leaves room for at least six hex digits of an ID.
  if (!/^[a-z][a-z0-9]{0,6}$/.test(raw.interfacePrefix))
    fail('--interface-prefix must be 1 to 7 lower-case letters or digits, starting with a letter');
  const mtu = Number(raw.mtu);
  if (!/^\d+$/.test(raw.mtu) || mtu < 1280 || mtu > 65535) fail('--mtu must be a whole number from 1280 to 65535');
  if (raw.wedgeLimit !== undefined && (!/^\d+$/.test(raw.wedgeLimit) || Number(raw.wedgeLimit) < 5))
    fail('--wedge-limit must be a whole number of seconds, at least 5');
  if (!/^\d+$/.test(raw.orphanGrace)) fail('--orphan-grace must be a whole number of seconds');
  if (!/^\d+$/.test(raw.gcInterval) || Number(raw.gcInterval) < 1)
    fail('--gc-interval must be a whole number of seconds, at least 1');
  const name = raw.name ?? basename(raw.socket, '.sock');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) fail(`--name ${name}: letters, digits and "_.-" only`);
  const tcp = raw.tcp ? parseHostPort('--tcp', raw.tcp, fail) : undefined;
  const tlsGiven = [raw.tlsCert, raw.tlsKey, raw.tlsCa].filter(Boolean).length;
  if (tlsGiven !== 0 && tlsGiven !== 3) fail('--tls-cert, --tls-key and --tls-ca go together');
  const uiAddr = raw.uiAddr ? parseHostPort('--ui-addr', raw.uiAddr, fail) : undefined;
  if (tlsGiven && !tcp && !uiAddr) fail('--tls-* need --tcp or --ui-addr');
  if (tcp && !tlsGiven && !raw.insecureTcp)
    fail('--tcp needs --tls-cert, --tls-key and --tls-ca (or --insecure-tcp on a loopback address)');
  if (tcp && !tlsGiven && !isLoopbackHost(tcp.host))
    fail('--insecure-tcp serves plain HTTP, so only on a loopback address');
  const tls = tlsGiven ? { cert: raw.tlsCert ?? '', key: raw.tlsKey ?? '', ca: raw.tlsCa ?? '' } : undefined;
  const ui = parseUiConfig(uiAddr, raw.uiTokenFile, tls, fail);
  if (Boolean(raw.dockerCert) !== Boolean(raw.dockerKey)) fail('--docker-cert and --docker-key go together');
  const metrics = raw.metricsAddr ? parseHostPort('--metrics-addr', raw.metricsAddr, fail) : undefined;
  const etcdTls = [raw.etcdCert, raw.etcdKey, raw.etcdCa].filter(Boolean).length;
  if (etcdTls !== 0 && etcdTls !== 3) fail('--etcd-cert, --etcd-key and --etcd-ca go together');
  let store: Config['store'] = { kind: 'sqlite' };
  if (raw.store !== 'sqlite') {
    try {
      store = {
        kind: 'etcd',
        hosts: parseEtcdUrl(raw.store),
        ...(etcdTls ? { tls: { cert: raw.etcdCert ?? '', key: raw.etcdKey ?? '', ca: raw.etcdCa ?? '' } } : {}),
      };
    } catch (error) {
      fail((error as Error).message);
    }
  }
  const defaultPool = parseDefaultPool(raw.defaultPool);
  if (defaultPool?.range.version !== 4)
    fail(`--default-pool ${raw.defaultPool}: expected an IPv4 range and pool size, such as 10.200.0.0/13:24`);
  const defaultPool6 = raw.defaultPool6 ? parseDefaultPool(raw.defaultPool6) : undefined;
  if (raw.defaultPool6 && defaultPool6?.range.version !== 6)
    fail(`--default-pool6 ${raw.defaultPool6}: expected an IPv6 range and pool size, such as fd00:1::/48:64`);
  // The managed plugin's settings are never unset, only empty.
  const hostName = raw.hostName || hostname();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(hostName))
    fail(`--host-name ${hostName}: letters, digits and "_.-" only`);
  if (raw.advertiseAddress && !parseIp(raw.advertiseAddress))
    fail(`--advertise-address ${raw.advertiseAddress}: expected an IP address`);
  if (!/^\d+$/.test(raw.hostTtl) || Number(raw.hostTtl) < 2)
    fail('--host-ttl must be a whole number of seconds, at least 2');
  if (!/^\d+$/.test(raw.deadHostGrace)) fail('--dead-host-grace must be a whole number of seconds');
  const scope = raw.scope === 'global' ? 'global' : 'local';
  if (raw.scope !== scope) fail(`--scope must be local or global, not "${raw.scope}"`);
  // Swarm's manager allocates every task's address, and tasks run on every node: one IPAM for all.
  if (scope === 'global' && store.kind !== 'etcd')
    fail('--scope global (swarm networks) needs the cluster store: --store etcd://host:port[,host:port...]');
  let uplinks: Uplink[] = [];
  try {
    uplinks = parseUplinks(raw.uplinks ?? '');
  } catch (error) {
    fail((error as Error).message);
  }
  const vxlanPort = Number(raw.vxlanPort);
  if (!/^\d+$/.test(raw.vxlanPort) || vxlanPort < 1 || vxlanPort > 65535)
    fail('--vxlan-port must be a UDP port number');
  const namesAddr = raw.namesAddr ?? 'off';
  if (namesAddr !== 'off' && parseIp(namesAddr)?.version !== 4)
    fail(`--names-addr ${namesAddr}: expected an IPv4 address (such as 169.254.53.53), or off`);
  return Object.freeze({
    hostName,
    cluster: {
      ...(raw.advertiseAddress ? { advertiseAddress: raw.advertiseAddress } : {}),
      hostTtlSeconds: Number(raw.hostTtl),
      deadHostGraceMs: Number(raw.deadHostGrace) * 1000,
      vxlanPort,
      ...(namesAddr === 'off' ? {} : { namesAddress: namesAddr }),
    },
    dockerSocket: raw.dockerSocket,
    scope,
    uplinks,
    socket: raw.socket,
    name,
    ...(tcp ? { tcp: { ...tcp, ...(tls ? { tls } : {}) } } : {}),
    ...(ui ? { ui } : {}),
    ...(raw.specDir ? { specDir: raw.specDir } : {}),
    ...(raw.dockerCert && raw.dockerKey ? { dockerCert: { cert: raw.dockerCert, key: raw.dockerKey } } : {}),
    ...(metrics ? { metrics } : {}),
    store,
    stateDir: raw.stateDir,
    logLevel: raw.logLevel,
    interfacePrefix: raw.interfacePrefix,
    mtu,
    orphanGraceMs: Number(raw.orphanGrace) * 1000,
    gcIntervalMs: Number(raw.gcInterval) * 1000,
    wedgeLimitMs: Number(raw.wedgeLimit ?? DEFAULT_WEDGE_LIMIT) * 1000,
    ...(raw.logFile ? { logFile: raw.logFile } : {}),
    defaultPool: defaultPool as DefaultPool,
    ...(defaultPool6 ? { defaultPool6 } : {}),
  });
}
