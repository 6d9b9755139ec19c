// `tether plugin create` and `tether image build`: the managed (v2) plugin and
// the container image, both from the rootfs assembled on this host, offline.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestJson } from '../util/http.js';
import { APP_DIR, buildRootfs } from './rootfs.js';

const ENTRYPOINT = ['/usr/bin/node', `${APP_DIR}/bin/tether.js`, 'serve'];
const PATH = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';

export interface PluginOptions {
  readonly name: string;
  readonly project: string;
  /** The host directory holding the plugin's state (mounted at /var/lib/tether). */
  readonly stateDir: string;
  /** A Docker API address for the docker CLI (-H), or undefined for its default. */
  readonly dockerHost?: string;
  /** KEY=VALUE settings (docker plugin set) made before the plugin first starts. */
  readonly settings?: readonly string[];
}

/** The settable variables of the plugin (`docker plugin set NAME KEY=VALUE`): name, description, default. */
const SETTABLE_ENV: readonly (readonly [string, string, string])[] = [
  // A plugin's socket is tether.sock in a directory of its own, so its name would be "tether", as is a
  // daemon's beside it on the host (scripts/install.sh): the two would rewrite each other's chains and take
  // each other's links for orphans.
  [
    'TETHER_NAME',
    "this tether's name on the host: its iptables chains, nftables table and the mark on its links",
    'plugin',
  ],
  ['TETHER_LOG_LEVEL', 'log level', 'info'],
  // A managed plugin has no docker logs: its log also goes to a file under the state mount.
  ['TETHER_LOG_FILE', 'log file, rotated by size (read it with tether logs --log-file)', '/var/lib/tether/tether.log'],
  ['TETHER_INTERFACE_PREFIX', 'prefix of the interfaces tether creates', 'tth'],
  ['TETHER_DEFAULT_POOL', 'where IPv4 subnets come from', '10.200.0.0/13:24'],
  ['TETHER_DEFAULT_POOL6', 'where IPv6 subnets come from (empty: a random ULA /48)', ''],
  ['TETHER_MTU', 'MTU of networks that set none', '1500'],
  // Cluster and swarm mode (README "Swarm"): each node's plugin on the same etcd.
  ['TETHER_SCOPE', 'local, or global for swarm networks (needs TETHER_STORE=etcd://...)', 'local'],
  ['TETHER_STORE', 'sqlite, or etcd://host:port[,host:port...] for cluster and swarm mode', 'sqlite'],
  ['TETHER_HOST_NAME', "this host's name in the cluster (empty: the machine's host name)", ''],
  ['TETHER_ADVERTISE_ADDRESS', 'VXLAN tunnel address (empty: the source of the route to etcd)', ''],
  ['TETHER_HOST_TTL', "seconds a host's registration outlives its last renewal", '10'],
  ['TETHER_DEAD_HOST_GRACE', "seconds after a host's registration expires before its addresses go", '300'],
  // Names need the containers' names from docker.sock, which a managed plugin does not get.
  ['TETHER_NAMES_ADDR', 'where cluster names are served (off: a managed plugin cannot read container names)', 'off'],
  ['TETHER_ORPHAN_GRACE', 'seconds an address may look abandoned before tether frees it', '60'],
  ['TETHER_GC_INTERVAL', 'seconds between collection rounds', '30'],
  // Contiv's iflist: docker plugin set tether TETHER_UPLINKS=eth1,data=ens4.
  ['TETHER_UPLINKS', 'host interfaces networks may use: [NAME=]IFACE[:shared],... (empty: none)', ''],
  // The plugin shares the host's network: a loopback address is the host's. No token file can be mounted.
  ['TETHER_UI_ADDR', 'serve the read-only dashboard at this loopback HOST:PORT (empty: off)', ''],
];

/** KEY=VALUE for each of the plugin's settings set in the environment, as `tether serve` reads its flags. */
export function settingsFromEnvironment(environment: NodeJS.ProcessEnv): string[] {
  return SETTABLE_ENV.flatMap(([name]) => {
    const value = environment[name];
    return value === undefined ? [] : [`${name}=${value}`];
  });
}

/** The plugin's config.json: both interfaces, host network, only CAP_NET_ADMIN, settable env and state. */
export function pluginConfig(stateDir: string): object {
  const env = (name: string, description: string, value: string) => ({ name, description, value, settable: ['value'] });
  return {
    description: 'tether: Docker network and IPAM driver (bridges, veth pairs, IPv4 and IPv6)',
    documentation: 'README.md in the tether repository',
    entrypoint: ENTRYPOINT,
    workdir: '/',
    interface: { types: ['docker.networkdriver/1.0', 'docker.ipamdriver/1.0'], socket: 'tether.sock' },
    network: { type: 'host' },
    linux: { capabilities: ['CAP_NET_ADMIN'] },
    mounts: [
      {
        name: 'state',
        description: 'where the state database lives',
        source: stateDir,
        destination: '/var/lib/tether',
        type: 'bind',
        options: ['rbind'],
        settable: ['source'],
      },
    ],
    env: [
      { name: 'PATH', description: 'where tether finds ip and iptables', value: PATH.slice('PATH='.length) },
      ...SETTABLE_ENV.map(([name, description, value]) => env(name, description, value)),
    ],
  };
}

function docker(host: string | undefined, ...args: string[]): string {
  const result = spawnSync('docker', [...(host ? ['-H', host] : []), ...args], { encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`docker ${args.join(' ')}: ${result.stderr.trim() || result.error?.message}`);
  return result.stdout;
}

/** Builds the rootfs, creates the plugin and enables it; returns what the operator wants to know. */
export function createPlugin(options: PluginOptions): { rootfsBytes: number; createMs: number; enableMs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'tether-plugin-'));
  try {
    const { bytes } = buildRootfs(options.project, join(dir, 'rootfs'));
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify(pluginConfig(options.stateDir), null, 2)}\n`);
    execFileSync('mkdir', ['-p', options.stateDir]);
    let started = performance.now();
    docker(options.dockerHost, 'plugin', 'create', options.name, dir);
    const createMs = performance.now() - started;
    try {
      if (options.settings?.length) docker(options.dockerHost, 'plugin', 'set', options.name, ...options.settings);
    } catch (error) {
      // A setting the plugin does not have: no half-made plugin is left behind.
      docker(options.dockerHost, 'plugin', 'rm', options.name);
      throw error;
    }
    started = performance.now();
    docker(options.dockerHost, 'plugin', 'enable', options.name);
    return { rootfsBytes: bytes, createMs, enableMs: performance.now() - started };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Upgrades an installed plugin in place, offline: the new rootfs from this checkout replaces the
 * plugin's own while it is disabled (-f: its networks stay, and their containers keep their links,
 * which live in the kernel), then the plugin is enabled and takes its state back from its mount.
 * With a registry, `docker plugin upgrade` does the same from a pushed image.
 */
export function upgradePlugin(options: Omit<PluginOptions, 'stateDir'>): { rootfsBytes: number; downMs: number } {
  const { dockerHost, name } = options;
  const id = docker(dockerHost, 'plugin', 'inspect', '-f', '{{.Id}}', name).trim();
  const dataRoot = docker(dockerHost, 'info', '-f', '{{.DockerRootDir}}').trim();
  const rootfs = join(dataRoot, 'plugins', id, 'rootfs');
  const staged = mkdtempSync(join(tmpdir(), 'tether-upgrade-'));
  try {
    const { bytes } = buildRootfs(options.project, staged);
    const started = performance.now();
    docker(dockerHost, 'plugin', 'disable', '-f', name);
    rmSync(rootfs, { recursive: true, force: true });
    execFileSync('cp', ['-a', `${staged}/.`, rootfs]);
    docker(dockerHost, 'plugin', 'enable', name);
    return { rootfsBytes: bytes, downMs: performance.now() - started };
  } finally {
    rmSync(staged, { recursive: true, force: true });
  }
}

/** What the image's HEALTHCHECK runs: ready means the store, lease, reconcile and firewall checks pass. */
const HEALTH_CMD = ['/usr/bin/node', `${APP_DIR}/bin/tether.js`, 'status', '--ready'];

/** Docker's API socket for a `docker -H` address (only UNIX sockets: the image is built on this host). */
function apiSocket(dockerHost: string | undefined): string {
  if (!dockerHost) return '/var/run/docker.sock';
  if (!dockerHost.startsWith('unix://')) throw new Error(`--docker-host must be a unix:// address, not ${dockerHost}`);
  return dockerHost.slice('unix://'.length);
}

/**
 * docker import takes no HEALTHCHECK, and the CLI's --health-cmd is always the shell form, which a
 * FROM-scratch image cannot run. A container created through the API with the exec form, then
 * committed, passes it to the image.
 */
async function addHealthcheck(tag: string, dockerHost: string | undefined): Promise<void> {
  const socket = apiSocket(dockerHost);
  const seconds = (n: number) => n * 1e9;
  const created = (await requestJson(socket, 'POST', '/containers/create', {
    Image: tag,
    Healthcheck: {
      Test: ['CMD', ...HEALTH_CMD],
      Interval: seconds(30),
      Timeout: seconds(10),
      StartPeriod: seconds(10),
      Retries: 3,
    },
  })) as { Id: string };
  try {
    const [repo = tag, version = 'latest'] = tag.split(/:(?=[^:/]+$)/);
    const query = new URLSearchParams({ container: created.Id, repo, tag: version });
    await requestJson(socket, 'POST', `/commit?${query}`);
  } finally {
    await requestJson(socket, 'DELETE', `/containers/${created.Id}`);
  }
}

/** Builds a FROM-scratch image of the same rootfs, to run with --net=host --privileged. */
export async function buildImage(project: string, tag: string, dockerHost?: string): Promise<{ rootfsBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tether-image-'));
  try {
    const { bytes } = buildRootfs(project, dir);
    const tar = spawnSync('tar', ['-C', dir, '-c', '.'], { maxBuffer: 1 << 30 });
    if (tar.status !== 0) throw new Error(`tar: ${tar.stderr.toString()}`);
    const imported = spawnSync(
      'docker',
      [
        ...(dockerHost ? ['-H', dockerHost] : []),
        'import',
        '--change',
        `ENTRYPOINT ${JSON.stringify(ENTRYPOINT)}`,
        '--change',
        `ENV ${PATH}`,
        '-',
        tag,
      ],
      { input: tar.stdout, encoding: 'utf8' },
    );
    if (imported.status !== 0) throw new Error(`docker import: ${imported.stderr}`);
    await addHealthcheck(tag, dockerHost);
    return { rootfsBytes: bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
