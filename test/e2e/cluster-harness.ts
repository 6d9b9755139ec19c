// Several Docker hosts on one machine for the cluster tests. The underlay is
// a namespace of its own holding a bridge and a three-member etcd
// (underlay.ts); each host is a namespace linked to that bridge, with its own
// dockerd (and containerd) and tether, every process of it in a cgroup of the
// harness's own (host-processes.ts), so that a host can be killed whole.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type DaemonState, daemonState } from '../../src/operator/contract.js';
import { checkEngine } from './engine.js';
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
import { dockerdScript, killCgroup, stopContainerd, tetherIn } from './host-processes.js';
import { DEAD_RESOLVER, NAMES_ADDRESS, UNDERLAY_NET, type Underlay } from './underlay.js';

/** One Docker host: a namespace on the underlay with its own dockerd and tether. */
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
        ...['--store', underlay.storeUrl, '--host-name', this.name, '--docker-socket', join(this.dir, 'docker.sock')],
        ...['--host-ttl', String(settings.hostTtl), '--dead-host-grace', String(settings.deadHostGrace)],
        ...['--gc-interval', '2', '--orphan-grace', '5', '--default-pool', AUTO_POOL, '--default-pool6', AUTO_POOL6],
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
    const ends = [...[link, 'netns', this.underlay.namespace], ...['type', 'veth', 'peer', 'name', 'ul']];
    await must('ip', 'link', 'add', ...ends, 'netns', this.namespace);
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
    const load = 'docker -H "$1" save "$3" | docker -H "$2" load';
    await must('sh', '-c', load, 'sh', this.env.dockerHost, this.dockerHost, IMAGE);
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

  /** The host's dockerd, in its namespace and cgroup (host-processes.ts). */
  async startDockerd(): Promise<void> {
    const script = dockerdScript({
      dockerHost: this.dockerHost,
      dir: this.dir,
      cgroup: this.cgroup,
      // Containers' lookups of names their own Docker does not know go to tether (the managed plugin of
      // the swarm tests serves no names: it may not bind port 53).
      resolver: this.managed ? DEAD_RESOLVER : NAMES_ADDRESS,
    });
    const log = openSync(join(this.dir, 'dockerd.log'), 'a');
    const [command = '', ...args] = this.inHost(['sh', '-c', script]);
    // Swarm's tasks pull their image before they start unless told otherwise: there is no registry here.
    const env = { ...process.env, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' };
    this.dockerd = spawn(command, args, { stdio: ['ignore', log, log], env });
    closeSync(log);
    await waitFor(`${this.name}'s dockerd`, async () => (await this.docker('version')).code === 0);
    await checkEngine(this.dockerHost);
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
    await stopContainerd(this.dir);
  }

  /** The directory this host's managed plugin keeps its state in. */
  get pluginStateDir(): string {
    return join(this.dir, 'plugin-state');
  }

  /** The socket of this host's managed plugin, reached through its process's root (it changes at each start). */
  async pluginSocket(plugin: string): Promise<string> {
    const id = await this.dockerOk('plugin', 'inspect', '-f', '{{.Id}}', plugin);
    const pid = tetherIn(`${this.cgroup}/${id}`);
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
    await killCgroup(this.cgroup);
    await stopProcess(this.dockerd, 'SIGKILL');
    await this.tether.kill();
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
    const logs = [
      this.tether.logPath,
      join(this.dir, 'dockerd.log'),
      join(this.dir, 'containerd.log'),
      join(this.pluginStateDir, 'tether.log'),
    ];
    for (const log of logs) {
      const name = `${this.name}-${log.startsWith(this.pluginStateDir) ? 'plugin' : basename(log, '.log')}.log`;
      if (existsSync(log)) renameSync(log, join(this.env.work, name));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export { DEAD_RESOLVER, eventually, NAMES_ADDRESS, Underlay } from './underlay.js';
