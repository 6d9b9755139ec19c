// Several Docker hosts on one machine for the cluster tests. The underlay is
// a namespace of its own holding a bridge and a three-member etcd; each host
// is a namespace linked to that bridge, with its own dockerd (and containerd)
// and tether, every process of it in a cgroup of the harness's own, so that
// a host can be killed whole, by pid, as a machine dies.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DaemonState, daemonState } from '../../src/operator/contract.js';
import {
  AUTO_POOL,
  AUTO_POOL6,
  type Environment,
  IMAGE,
  must,
  PREFIX,
  type Result,
  ROOT,
  removeCgroup,
  sh,
  stopProcess,
  Tether,
  waitFor,
} from './harness.js';

const UNDERLAY_NET = '10.230.240';
/** Where each host's tether serves the cluster's names (its default --names-addr), Docker's dns points at it. */
export const NAMES_ADDRESS = '169.254.53.53';
/**
 * The hosts' own "usual resolver": an address of the test range, unreachable from every host (no default
 * route there, and an unreachable route in the root namespace), so a name nobody owns dies on the machine.
 */
export const DEAD_RESOLVER = '10.230.255.254';

/** Polls until the check holds; fails the test, naming what never happened, after the timeout. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`never happened within ${timeoutMs / 1000} s: ${what}`);
}
const ETCD_PORTS = [12379, 12479, 12579];
/** The cgroup v1 controllers mounted again in each host's namespace (test-environment.md). */
const CGROUP_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd'];

export class Underlay {
  readonly namespace = `tether-e2e-ul-${process.pid}`;
  readonly address = `${UNDERLAY_NET}.1`;
  private readonly members: (ChildProcess | undefined)[] = [];
  /** /etc/netns holds the hosts' spec files; removed at the end if this run made it. */
  private readonly madeEtcNetns = !existsSync('/etc/netns');

  constructor(private readonly work: string) {}

  get storeUrl(): string {
    return `etcd://${ETCD_PORTS.map((port) => `${this.address}:${port}`).join(',')}`;
  }

  async create(): Promise<void> {
    await must('ip', 'netns', 'add', this.namespace);
    await this.exec('ip', 'link', 'set', 'lo', 'up');
    await this.exec('ip', 'link', 'add', 'ul0', 'type', 'bridge');
    await this.exec('ip', 'address', 'add', `${this.address}/24`, 'dev', 'ul0');
    await this.exec('ip', 'link', 'set', 'ul0', 'up');
    await Promise.all(ETCD_PORTS.map((_, i) => this.startEtcd(i)));
    await waitFor('etcd', () => this.healthy());
  }

  exec(...command: string[]): Promise<string> {
    return must('ip', 'netns', 'exec', this.namespace, ...command);
  }

  /** Starts member i (again: its data stays between a kill and a start). */
  async startEtcd(i: number): Promise<void> {
    const peer = (m: number) => `http://${this.address}:${(ETCD_PORTS[m] ?? 0) + 1}`;
    const client = `http://${this.address}:${ETCD_PORTS[i]}`;
    const log = openSync(join(this.work, `etcd${i}.log`), 'a');
    this.members[i] = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.namespace,
        'etcd',
        '--name',
        `m${i}`,
        '--data-dir',
        join(this.work, `etcd${i}`),
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer(i),
        '--initial-advertise-peer-urls',
        peer(i),
        '--initial-cluster',
        ETCD_PORTS.map((_, m) => `m${m}=${peer(m)}`).join(','),
        '--initial-cluster-state',
        'new',
        '--heartbeat-interval',
        '100',
        '--election-timeout',
        '1000',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
  }

  /** kill -9 of one member. */
  async killEtcd(i: number): Promise<void> {
    await stopProcess(this.members[i], 'SIGKILL');
  }

  /** Whether every member answers /health with a leader. */
  async healthy(): Promise<boolean> {
    const answers = await Promise.all(
      ETCD_PORTS.map((port) =>
        sh('ip', [
          'netns',
          'exec',
          this.namespace,
          'timeout',
          '3',
          'busybox',
          'wget',
          '-q',
          '-O',
          '-',
          `http://${this.address}:${port}/health`,
        ]),
      ),
    );
    return answers.every((a) => a.code === 0 && a.stdout.includes('"health":"true"'));
  }

  async delete(): Promise<void> {
    for (const member of this.members) await stopProcess(member, 'SIGTERM');
    await sh('ip', ['netns', 'del', this.namespace]);
    if (this.madeEtcNetns) rmSync('/etc/netns', { recursive: true, force: true });
  }
}

/** One Docker host: a namespace on the underlay with its own dockerd and tether. */
/** A process's command line, NUL-separated; empty once it has exited. */
function commandLine(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** The parent of a process ('' if it is gone): the field after the command's closing parenthesis. */
function parentOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] ?? '';
  } catch {
    return '';
  }
}

export class ClusterHost {
  readonly namespace: string;
  /** The host's address on the underlay (its tunnel end). */
  readonly underlayAddress: string;
  readonly dockerHost: string;
  private readonly dir: string;
  private readonly cgroup: string;
  private dockerd?: ChildProcess;
  readonly tether: Tether;
  /** tether runs as Docker's managed plugin (swarm), which the test creates, not as a process of the harness. */
  private readonly managed: boolean;

  constructor(
    private readonly env: Environment,
    private readonly underlay: Underlay,
    readonly index: number,
    settings: { hostTtl: number; deadHostGrace: number; managed?: boolean } = { hostTtl: 3, deadHostGrace: 8 },
  ) {
    this.managed = settings.managed ?? false;
    this.namespace = `tether-e2e-h${index}-${process.pid}`;
    this.underlayAddress = `${UNDERLAY_NET}.${10 + index}`;
    this.dir = join(env.work, `h${index}`);
    this.dockerHost = `unix://${this.dir}/docker.sock`;
    this.cgroup = this.namespace;
    this.tether = new Tether(
      this.dir,
      env.driver,
      PREFIX,
      [
        '--store',
        underlay.storeUrl,
        '--host-name',
        this.name,
        '--docker-socket',
        join(this.dir, 'docker.sock'),
        '--host-ttl',
        String(settings.hostTtl),
        '--dead-host-grace',
        String(settings.deadHostGrace),
        '--gc-interval',
        '2',
        '--orphan-grace',
        '5',
        '--default-pool',
        AUTO_POOL,
        '--default-pool6',
        AUTO_POOL6,
      ],
      `/run/${this.namespace}/${env.driver}.sock`,
      (command) => this.inHost(command),
    );
  }

  get socket(): string {
    return this.tether.socket;
  }

  get name(): string {
    return `h${this.index}`;
  }

  /** Namespace, underlay link, spec file, cgroup; then tether and dockerd, and the test image. */
  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    await must('ip', 'netns', 'add', this.namespace);
    const link = `tteul${this.index}`;
    await must(
      'ip',
      'link',
      'add',
      link,
      'netns',
      this.underlay.namespace,
      'type',
      'veth',
      'peer',
      'name',
      'ul',
      'netns',
      this.namespace,
    );
    await this.underlay.exec('ip', 'link', 'set', link, 'master', 'ul0', 'up');
    await this.exec('ip', 'address', 'add', `${this.underlayAddress}/24`, 'dev', 'ul');
    await this.exec('ip', 'link', 'set', 'ul', 'up');
    await this.exec('ip', 'link', 'set', 'lo', 'up');
    mkdirSync(`/sys/fs/cgroup/pids/${this.cgroup}`, { recursive: true });
    // `ip netns exec` shows it as /etc/resolv.conf: tether passes the names it does not own there.
    mkdirSync(`/etc/netns/${this.namespace}`, { recursive: true });
    writeFileSync(`/etc/netns/${this.namespace}/resolv.conf`, `nameserver ${DEAD_RESOLVER}\n`);
    if (!this.managed) {
      // `ip netns exec` shows /etc/netns/NS/docker as /etc/docker: this host's dockerd finds its tether there.
      mkdirSync(`/etc/netns/${this.namespace}/docker/plugins`, { recursive: true });
      writeFileSync(`/etc/netns/${this.namespace}/docker/plugins/${this.env.driver}.spec`, `unix://${this.socket}\n`);
      await this.startTether();
    }
    await this.startDockerd();
    await must(
      'sh',
      '-c',
      'docker -H "$1" save "$3" | docker -H "$2" load',
      'sh',
      this.env.dockerHost,
      this.dockerHost,
      IMAGE,
    );
  }

  /** A command line that runs the command in the host's namespace, its process placed in the host's cgroup first. */
  private inHost(command: string[]): string[] {
    return [
      'sh',
      '-c',
      `echo $$ > /sys/fs/cgroup/pids/${this.cgroup}/cgroup.procs && exec ip netns exec ${this.namespace} "$@"`,
      'sh',
      ...command,
    ];
  }

  async startTether(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    await this.tether.start();
  }

  /**
   * dockerd needs the cgroup hierarchies mounted again (ip netns exec remounts /sys), and its own plugin and
   * containerd directories.
   */
  async startDockerd(): Promise<void> {
    const mounts = [
      'mount -t tmpfs tmpfs /sys/fs/cgroup',
      ...CGROUP_CONTROLLERS.map(
        (c) =>
          `mkdir /sys/fs/cgroup/${c} && mount -t cgroup -o ${c === 'systemd' ? 'none,name=systemd' : c} ` +
          `cgroup /sys/fs/cgroup/${c}`,
      ),
      'mkdir -p /run/docker/plugins /run/containerd',
      'mount -t tmpfs tmpfs /run/docker/plugins',
      'mount -t tmpfs tmpfs /run/containerd',
    ];
    const dockerd = [
      'dockerd',
      '--host',
      this.dockerHost,
      '--data-root',
      join(this.dir, 'docker'),
      '--exec-root',
      join(this.dir, 'exec'),
      '--pidfile',
      join(this.dir, 'docker.pid'),
      '--cgroup-parent',
      `/${this.cgroup}`,
      '--bridge=none',
      '--dns',
      // Containers' lookups of names their own Docker does not know go to tether (the managed plugin of
      // the swarm tests serves no names: it may not bind port 53).
      this.managed ? DEAD_RESOLVER : NAMES_ADDRESS,
      '--log-level',
      'info',
    ];
    const log = openSync(join(this.dir, 'dockerd.log'), 'a');
    const [command = '', ...args] = this.inHost(['sh', '-c', `${mounts.join(' && ')} && exec ${dockerd.join(' ')}`]);
    // Swarm's tasks pull their image before they start unless told otherwise: there is no registry here.
    const env = { ...process.env, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' };
    this.dockerd = spawn(command, args, { stdio: ['ignore', log, log], env });
    closeSync(log);
    await waitFor(`${this.name}'s dockerd`, async () => (await this.docker('version')).code === 0);
  }

  exec(...command: string[]): Promise<string> {
    return must('ip', 'netns', 'exec', this.namespace, ...command);
  }

  /** Starts a command in the host (its namespace and cgroup), not waiting for it: it ends with the host. */
  spawnIn(command: string[]): void {
    const [file = '', ...args] = this.inHost(command);
    spawn(file, args, { stdio: 'ignore', detached: false }).unref();
  }

  docker(...args: string[]): Promise<Result> {
    return sh('docker', ['-H', this.dockerHost, ...args]);
  }

  async dockerOk(...args: string[]): Promise<string> {
    const result = await this.docker(...args);
    if (result.code !== 0) throw new Error(`${this.name}: docker ${args.join(' ')} failed: ${result.stderr.trim()}`);
    return result.stdout.trim();
  }

  async run(name: string, network: string, ...args: string[]): Promise<string> {
    return this.dockerOk('run', '-d', '--name', name, '--network', network, ...args, IMAGE, 'sleep', '3600');
  }

  async address(container: string, network: string, field = 'IPAddress'): Promise<string> {
    return this.dockerOk('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").${field}}}`, container);
  }

  /** `tether audit` on this host, Docker's view included. */
  audit(): Promise<string[]> {
    return this.tether.audit(join(this.dir, 'docker.sock'));
  }

  /** Cuts this host off the underlay (false), or links it again (true): its processes run on. */
  async setLinked(linked: boolean): Promise<void> {
    await this.underlay.exec('ip', 'link', 'set', `tteul${this.index}`, linked ? 'up' : 'down');
  }

  /** dockerd alone stops (SIGTERM), as `systemctl stop docker` does; its managed plugins stop with it. */
  async stopDockerd(): Promise<void> {
    await stopProcess(this.dockerd, 'SIGTERM');
  }

  /** The directory this host's managed plugin keeps its state in. */
  get pluginStateDir(): string {
    return join(this.dir, 'plugin-state');
  }

  /** The socket of this host's managed plugin, reached through its process's root (it changes at each start). */
  async pluginSocket(plugin: string): Promise<string> {
    const id = await this.dockerOk('plugin', 'inspect', '-f', '{{.Id}}', plugin);
    // The plugin's cgroup also holds the short-lived tools tether runs, and one forked but not yet
    // running its program still shows tether's command line: find tether itself, whose parent is not.
    const pids = readFileSync(`/sys/fs/cgroup/pids/${this.cgroup}/${id}/cgroup.procs`, 'utf8').split('\n');
    const serving = pids.filter((p) => p && commandLine(p).includes('tether.js\0serve'));
    const pid = serving.find((p) => !serving.includes(parentOf(p)));
    if (!pid) throw new Error(`${this.name}: plugin ${plugin} runs no tether`);
    return `/proc/${pid}/root/run/docker/plugins/tether.sock`;
  }

  /** `tether audit` of this host's managed plugin, Docker's view included. */
  async pluginAudit(plugin: string): Promise<string[]> {
    return this.tether.audit(join(this.dir, 'docker.sock'), {
      socket: await this.pluginSocket(plugin),
      driver: plugin,
    });
  }

  /** What `tether ls --json` prints for this host's managed plugin. */
  async pluginState(plugin: string): Promise<DaemonState> {
    const socket = await this.pluginSocket(plugin);
    return daemonState.parse(
      JSON.parse(await must(process.execPath, join(ROOT, 'bin/tether.js'), 'ls', '--json', '--socket', socket)),
    );
  }

  /** Every process of the host, at once, with SIGKILL: a machine that died. */
  async kill(): Promise<void> {
    for (let round = 0; round < 50; round++) {
      const pids = this.cgroupPids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await sleep(100);
    }
    await stopProcess(this.dockerd, 'SIGKILL');
    await this.tether.kill();
  }

  private cgroupPids(): number[] {
    const pids: number[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(dir, entry.name));
      }
      pids.push(...readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
    };
    try {
      walk(`/sys/fs/cgroup/pids/${this.cgroup}`);
    } catch {
      /* no cgroup: nothing runs */
    }
    return pids;
  }

  /** Containers removed, dockerd and tether stopped, then whatever is left killed and the host's traces removed. */
  async stop(): Promise<void> {
    if (this.dockerd && this.dockerd.exitCode === null && this.dockerd.signalCode === null) {
      const ids = (await this.docker('ps', '-aq')).stdout.split('\n').filter(Boolean);
      if (ids.length) await this.docker('rm', '-f', ...ids);
    }
    await stopProcess(this.dockerd, 'SIGTERM');
    await this.tether.stop();
    await this.kill();
    removeCgroup(this.cgroup);
    await sh('ip', ['netns', 'del', this.namespace]);
    rmSync(`/etc/netns/${this.namespace}`, { recursive: true, force: true });
    rmSync(dirname(this.socket), { recursive: true, force: true });
    // The logs move up to the work folder, where TETHER_E2E_LOGS finds them; dockerd's bind mounts
    // died with its mount namespace, so the rest can go.
    const logs = [this.tether.logPath, join(this.dir, 'dockerd.log'), join(this.pluginStateDir, 'tether.log')];
    for (const log of logs) {
      const name = `${this.name}-${log.startsWith(this.pluginStateDir) ? 'plugin' : basename(log, '.log')}.log`;
      if (existsSync(log)) renameSync(log, join(this.env.work, name));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
