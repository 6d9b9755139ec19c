// A real Docker daemon and a real tether for end-to-end tests, each started
// by pid and stopped by pid. Before anything runs the harness installs an
// egress guard: forwarded traffic from the test ranges to anywhere else is
// dropped, so no test packet can leave the machine. At the end it puts the
// firewall, routes and sysctls back exactly as it found them.

import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  type Dirent,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { auditReport, type DaemonState, daemonState } from '../../src/operator/contract.js';

export const TEST_RANGE = '10.230.0.0/15';
export const TEST_RANGE6 = 'fd7e:7e7e::/32';
/** Explicit test subnets come from 10.230.0.0/16; automatic ones from 10.231.0.0/16. */
export const AUTO_POOL = '10.231.0.0/16:24';
export const AUTO_POOL6 = 'fd7e:7e7e:ff00::/40:64';
export const PREFIX = 'tte';
/** The fuzzed daemon's interfaces: not a PREFIX followed by hex, so neither daemon takes the other's for its own. */
export const FUZZ_PREFIX = 'tfz';
export const IMAGE = 'tether-test:busybox';
const DNS = '10.230.255.254';
const GUARD = 'TETHER-E2E-EGRESS';
export const ROOT = resolve(import.meta.dirname, '../..');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Every cgroup hierarchy mounted here, the v1 controllers' and cgroup v2's (`unified`): runc makes a cgroup parent
 * in each.
 */
function cgroupHierarchies(): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, point, type]) => (type === 'cgroup' || type === 'cgroup2') && point?.startsWith('/sys/fs/cgroup'))
    .map(([, point]) => point ?? '');
}

/** Removes a cgroup and those below it in every hierarchy, deepest first (only directories can be removed). */
export function removeCgroup(name: string): void {
  const removeTree = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory()) removeTree(join(dir, entry.name));
    try {
      rmdirSync(dir);
    } catch {
      /* busy or gone */
    }
  };
  for (const hierarchy of cgroupHierarchies()) removeTree(join(hierarchy, name));
}

export function sh(command: string, args: readonly string[], input?: string): Promise<Result> {
  return new Promise((done) => {
    const child = execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Runs a command that must succeed, and returns its output. */
export async function must(command: string, ...args: string[]): Promise<string> {
  const result = await sh(command, args);
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function stopProcess(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
  timeoutMs = 20_000,
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill(signal);
  });
}

export function pluginCall(
  socket: string,
  method: string,
  body?: string | Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ socketPath: socket, path: `/${method}`, method: 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

/**
 * A host "outside" Docker: a network namespace of the test's own, linked to the host by a veth
 * pair on a /24 of the test range, with its default route through the host.
 */
export class Outside {
  readonly namespace: string;
  readonly link: string;

  constructor(
    readonly id: number,
    readonly hostAddress = `10.230.${250 + id}.1`,
    readonly address = `10.230.${250 + id}.2`,
  ) {
    this.namespace = `tether-e2e-out${id}-${process.pid}`;
    this.link = `tteout${id}`;
  }

  async create(): Promise<void> {
    await must('ip', 'netns', 'add', this.namespace);
    await must(
      'ip',
      'link',
      'add',
      this.link,
      'type',
      'veth',
      'peer',
      'name',
      `${this.link}p`,
      'netns',
      this.namespace,
    );
    await must('ip', 'address', 'add', `${this.hostAddress}/24`, 'dev', this.link);
    await must('ip', 'link', 'set', this.link, 'up');
    await this.exec('ip', 'address', 'add', `${this.address}/24`, 'dev', `${this.link}p`);
    await this.exec('ip', 'link', 'set', `${this.link}p`, 'up');
    await this.exec('ip', 'link', 'set', 'lo', 'up');
    await this.exec('ip', 'route', 'add', 'default', 'via', this.hostAddress);
  }

  exec(...command: string[]): Promise<string> {
    return must('ip', 'netns', 'exec', this.namespace, ...command);
  }

  try(...command: string[]): Promise<Result> {
    return sh('ip', ['netns', 'exec', this.namespace, ...command]);
  }

  /** Runs a command in the namespace in the background; returns it, to be killed by pid. */
  spawn(...command: string[]): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.namespace, ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  async delete(): Promise<void> {
    await sh('ip', ['link', 'del', this.link]);
    await sh('ip', ['netns', 'del', this.namespace]);
  }
}

interface Snapshot {
  links: string[];
  tables: string[];
  iptables: string;
  ip6tables: string;
  ipForward: string;
  /** Sockets and spec files Docker finds plugins by, before the run. */
  pluginFiles: string[];
  /** The legacy iptables tables registered (asking iptables-legacy about a table creates it). */
  legacyTables: string;
}

/** Where Docker looks for plugins' sockets and spec files. */
const PLUGIN_DIRS = ['/run/docker/plugins', '/etc/docker/plugins'];

function pluginFiles(dir: string): string[] {
  try {
    return readdirSync(dir).map((name) => join(dir, name));
  } catch {
    return [];
  }
}

/** `docker network create` with tether as the driver and the IPAM driver; options and the name follow. */
export const networkCreate = (driver: string) => ['network', 'create', '-d', driver, '--ipam-driver', driver];

/** One tether daemon, started and stopped by pid, logging into the work folder. */
export class Tether {
  readonly socket: string;
  private process?: ChildProcess;

  /** `wrap` turns the daemon's command line into the one to spawn (to run it in a namespace, say). */
  constructor(
    private readonly work: string,
    readonly name: string,
    readonly prefix: string,
    private readonly extraArgs: string[] = [],
    socket = `/run/docker/plugins/${name}.sock`,
    private readonly wrap: (command: string[]) => string[] = (command) => command,
  ) {
    this.socket = socket;
  }

  /** Variables added to the daemon's environment at its next start. */
  env: Record<string, string> = {};
  /** The installed package the daemon runs from at its next start (another one: an upgrade). */
  root = ROOT;

  get logPath(): string {
    return join(this.work, `${this.name}.log`);
  }

  get stateDir(): string {
    return join(this.work, `${this.name}-state`);
  }

  async start(): Promise<void> {
    const log = openSync(this.logPath, 'a');
    const [command = '', ...args] = this.wrap([
      process.execPath,
      join(this.root, 'bin/tether.js'),
      'serve',
      '--socket',
      this.socket,
      '--name',
      this.name,
      '--state-dir',
      this.stateDir,
      '--log-level',
      'debug',
      '--interface-prefix',
      this.prefix,
      ...this.extraArgs,
    ]);
    this.process = spawn(command, args, { stdio: ['ignore', log, log], env: { ...process.env, ...this.env } });
    closeSync(log);
    await waitFor(
      `${this.name} socket`,
      async () =>
        await pluginCall(this.socket, 'Plugin.Activate').then(
          (r) => r.status === 200,
          () => false,
        ),
    );
  }

  get pid(): number {
    if (!this.process?.pid) throw new Error(`${this.name} is not running`);
    return this.process.pid;
  }

  get running(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** kill -9: no shutdown code runs, as in a crash. */
  async kill(): Promise<void> {
    await stopProcess(this.process, 'SIGKILL');
  }

  async stop(): Promise<void> {
    await stopProcess(this.process, 'SIGTERM');
  }

  get log(): string {
    return readFileSync(this.logPath, 'utf8');
  }

  /** What `tether ls --json` prints. */
  async state(): Promise<DaemonState> {
    return daemonState.parse(
      JSON.parse(await must(process.execPath, join(ROOT, 'bin/tether.js'), 'ls', '--json', '--socket', this.socket)),
    );
  }

  /** Runs a tether CLI command against this daemon. */
  cli(...args: string[]): Promise<Result> {
    return sh(process.execPath, [join(ROOT, 'bin/tether.js'), ...args, '--socket', this.socket]);
  }

  /** `tether audit`; a managed plugin's is reached at its own socket, with the driver name Docker knows it by. */
  async audit(dockerSocket?: string, plugin?: { socket: string; driver: string }): Promise<string[]> {
    const socket = plugin?.socket ?? this.socket;
    const docker = dockerSocket ? ['--docker-socket', dockerSocket] : ['--no-docker'];
    if (plugin) docker.push('--driver', plugin.driver);
    const result = await sh(process.execPath, [
      join(ROOT, 'bin/tether.js'),
      'audit',
      '--socket',
      socket,
      '--json',
      ...docker,
    ]);
    if (result.code > 1) throw new Error(`tether audit failed: ${result.stderr}`);
    return auditReport.parse(JSON.parse(result.stdout)).problems;
  }
}

export class Environment {
  readonly work = mkdtempSync(join(tmpdir(), 'tether-e2e-'));
  readonly driver = `tethere2e${process.pid}`;
  readonly dockerHost = `unix://${this.work}/docker.sock`;
  /** Where the dockerd puts its containers' cgroups, removed at the end (Docker's default, /docker, would stay). */
  private readonly cgroupParent = `tether-e2e-${process.pid}`;
  private dockerd?: ChildProcess;
  /** tether frees an endpoint that looks abandoned this long (unless Docker still holds it). */
  readonly orphanGraceSeconds = 15;
  readonly tether = new Tether(this.work, this.driver, PREFIX, [
    '--default-pool',
    AUTO_POOL,
    '--default-pool6',
    AUTO_POOL6,
    '--orphan-grace',
    String(this.orphanGraceSeconds),
    '--gc-interval',
    '2',
    '--docker-socket',
    join(this.work, 'docker.sock'),
  ]);
  private snapshot?: Snapshot;

  /** Everything up: guard, tether, dockerd, test image. */
  async start(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error('the end-to-end tests need root');
    this.snapshot = {
      links: await listLinks(),
      tables: await listTables(),
      iptables: await must('iptables-save'),
      ip6tables: await must('ip6tables-save'),
      ipForward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(),
      pluginFiles: PLUGIN_DIRS.flatMap(pluginFiles),
      legacyTables: legacyTables(),
    };
    await this.installGuard();
    await this.startTether();
    await this.startDockerd();
    await this.buildImage();
  }

  private async installGuard(): Promise<void> {
    // Multicast stays on its link (IPv6 neighbour discovery needs it); everything else from the
    // test ranges must be for the test ranges.
    const families = [
      ['iptables', TEST_RANGE, ['224.0.0.0/4', '255.255.255.255']],
      ['ip6tables', TEST_RANGE6, ['ff00::/8']],
    ] as const;
    for (const [tool, range, local] of families) {
      await must(tool, '-w', '-t', 'mangle', '-N', GUARD);
      for (const destination of local)
        await must(tool, '-w', '-t', 'mangle', '-A', GUARD, '-d', destination, '-j', 'RETURN');
      await must(tool, '-w', '-t', 'mangle', '-A', GUARD, '-s', range, '!', '-d', range, '-j', 'DROP');
      await must(tool, '-w', '-t', 'mangle', '-I', 'FORWARD', '1', '-j', GUARD);
    }
    // Lookups of unknown names go to a DNS address of the test range, which must die here.
    await must('ip', 'route', 'add', 'unreachable', TEST_RANGE);
    await must('ip', '-6', 'route', 'add', 'unreachable', TEST_RANGE6);
  }

  async startTether(): Promise<void> {
    await this.tether.start();
  }

  async killTether(): Promise<void> {
    await this.tether.kill();
  }

  async stopTether(): Promise<void> {
    await this.tether.stop();
  }

  get tetherLog(): string {
    return this.tether.log;
  }

  /** `tether audit` with Docker's view: the problems it finds (none when Docker, store and kernel agree). */
  async audit(): Promise<string[]> {
    return this.tether.audit(join(this.work, 'docker.sock'));
  }

  /**
   * The audit once tether has had time to free what a crash left behind (the orphan grace plus a
   * collection round): polls until it is clean, or returns the last problems after the deadline.
   */
  async settledAudit(timeoutMs = 40_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const problems = await this.audit();
      if (problems.length === 0 || Date.now() > deadline) return problems;
      await sleep(1000);
    }
  }

  /** dockerd stopped (SIGTERM) and started again; containers stop with it. */
  async restartDockerd(): Promise<void> {
    await stopProcess(this.dockerd, 'SIGTERM');
    await this.startDockerd();
  }

  private async startDockerd(): Promise<void> {
    const log = openSync(join(this.work, 'dockerd.log'), 'a');
    // `docker run --runtime slow` holds runc's create for the seconds in the file slow-create: a
    // container start that stays between Join and the interface's move into the container.
    const slow = join(this.work, 'slow-runc');
    writeFileSync(
      slow,
      `#!/bin/sh\nfor arg; do [ "$arg" = create ] && sleep "$(cat ${join(this.work, 'slow-create')})"; ` +
        `done\nexec runc "$@"\n`,
      { mode: 0o755 },
    );
    writeFileSync(join(this.work, 'slow-create'), '0\n');
    this.dockerd = spawn(
      'dockerd',
      [
        '--host',
        this.dockerHost,
        '--data-root',
        join(this.work, 'docker'),
        '--exec-root',
        join(this.work, 'exec'),
        '--pidfile',
        join(this.work, 'docker.pid'),
        '--add-runtime',
        `slow=${slow}`,
        '--bridge=none',
        '--dns',
        DNS,
        '--log-level',
        'info',
        '--cgroup-parent',
        `/${this.cgroupParent}`,
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    await waitFor('dockerd', async () => (await this.docker('version')).code === 0, 30_000);
  }

  private async buildImage(): Promise<void> {
    const dir = join(this.work, 'image');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
    for (const applet of [
      'sh',
      'ping',
      'ping6',
      'ip',
      'nc',
      'sleep',
      'wget',
      'hostname',
      'cat',
      'true',
      'ifconfig',
      'grep',
      'nslookup',
      'httpd',
      'mkdir',
    ]) {
      symlinkSync('busybox', join(dir, 'bin', applet));
    }
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/:/bin/sh\n');
    await must('sh', '-c', 'tar -C "$1" -c . | docker -H "$2" import - "$3"', 'sh', dir, this.dockerHost, IMAGE);
  }

  docker(...args: string[]): Promise<Result> {
    return sh('docker', ['-H', this.dockerHost, ...args]);
  }

  /** A docker command that must succeed; returns its trimmed output. */
  async dockerOk(...args: string[]): Promise<string> {
    const result = await this.docker(...args);
    if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${result.stderr.trim()}`);
    return result.stdout.trim();
  }

  async network(name: string, ...args: string[]): Promise<string> {
    return this.dockerOk(...networkCreate(this.driver), ...args, name);
  }

  /** How long runc's create takes under `--runtime slow`. */
  setSlowCreate(seconds: number): void {
    writeFileSync(join(this.work, 'slow-create'), `${seconds}\n`);
  }

  async run(name: string, ...args: string[]): Promise<string> {
    return this.dockerOk('run', '-d', '--name', name, ...args, IMAGE, 'sleep', '3600');
  }

  async exec(container: string, ...command: string[]): Promise<Result> {
    return this.docker('exec', container, ...command);
  }

  async ping(from: string, target: string, family: 4 | 6 = 4): Promise<boolean> {
    const result = await this.exec(from, 'ping', `-${family}`, '-c', '1', '-W', '2', target);
    return result.code === 0;
  }

  async address(container: string, network: string, field = 'IPAddress'): Promise<string> {
    return this.dockerOk('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").${field}}}`, container);
  }

  /** Removes every container and tether network, then stops dockerd and tether. */
  async stop(): Promise<void> {
    if (this.dockerd) {
      const ids = (await this.docker('ps', '-aq')).stdout.split('\n').filter(Boolean);
      if (ids.length) await this.docker('rm', '-f', ...ids);
      // Every user-defined network, Docker's own bridge networks too: dockerd leaves their bridges behind.
      const networks = (await this.docker('network', 'ls', '-q', '--filter', 'type=custom')).stdout
        .split('\n')
        .filter(Boolean);
      for (const id of networks) await this.docker('network', 'rm', id);
    }
    await stopProcess(this.dockerd);
    await this.tether.stop();
  }

  /** Puts back what the run changed on the host: firewall, routes, sysctl, files. */
  async restoreHost(): Promise<void> {
    const snapshot = this.snapshot;
    await sh('ip', ['route', 'del', 'unreachable', TEST_RANGE]);
    await sh('ip', ['-6', 'route', 'del', 'unreachable', TEST_RANGE6]);
    if (snapshot) {
      for (const table of await listTables()) {
        if (!snapshot.tables.includes(table)) await sh('nft', ['delete', ...table.split(' ')]);
      }
      await sh('iptables-restore', [], snapshot.iptables);
      await sh('ip6tables-restore', [], snapshot.ip6tables);
      writeFileSync('/proc/sys/net/ipv4/ip_forward', snapshot.ipForward);
    }
    for (const tool of ['iptables', 'ip6tables']) {
      await sh(tool, ['-w', '-t', 'mangle', '-D', 'FORWARD', '-j', GUARD]);
      await sh(tool, ['-w', '-t', 'mangle', '-F', GUARD]);
      await sh(tool, ['-w', '-t', 'mangle', '-X', GUARD]);
    }
    // TETHER_E2E_LOGS=DIR keeps the daemons' logs of a run for reading afterwards.
    const keep = process.env['TETHER_E2E_LOGS'];
    if (keep) await sh('sh', ['-c', 'mkdir -p "$1" && cp "$2"/*.log "$1"/', 'sh', keep, this.work]);
    // dockerd leaves bind mounts under its exec root (netns/default for --net=host containers).
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((point) => point.startsWith(`${this.work}/`))
      .sort()
      .reverse();
    for (const point of mounts) await sh('umount', ['-l', point]);
    rmSync(this.work, { recursive: true, force: true });
    removeCgroup(this.cgroupParent);
  }

  /** What a finished run must not leave: each entry names a leftover. */
  async leftovers(): Promise<string[]> {
    const found: string[] = [];
    for (const name of await listLinks()) {
      if (!this.snapshot?.links.includes(name)) found.push(`interface ${name}`);
    }
    // Chains there before the run are not its leftovers: an installed tether's, or Docker's.
    const before = new Set([
      ...chainsIn('IPv4', this.snapshot?.iptables),
      ...chainsIn('IPv6', this.snapshot?.ip6tables),
    ]);
    const now = [...chainsIn('IPv4', await must('iptables-save')), ...chainsIn('IPv6', await must('ip6tables-save'))];
    for (const chain of now) if (!before.has(chain)) found.push(`firewall chain ${chain}`);
    if ((await listTables()).join() !== (this.snapshot?.tables.join() ?? ''))
      found.push('nftables tables differ from before the run');
    const routes = await must('ip', 'route', 'show', 'type', 'unreachable');
    if (routes.includes(TEST_RANGE.split('/')[0] ?? '')) found.push('unreachable route');
    const processes = await must('ps', '-eo', 'pid,args');
    for (const line of processes.split('\n')) {
      if (line.includes(this.work) || line.includes(this.tether.socket)) found.push(`process ${line.trim()}`);
    }
    if ((await sh('ip', ['netns', 'list'])).stdout.includes('tether-e2e')) found.push('network namespaces');
    for (const entry of readdirSync('/run')) if (entry.startsWith('tether-e2e')) found.push(`/run/${entry}`);
    for (const hierarchy of cgroupHierarchies()) {
      if (readdirSync(hierarchy).some((name) => name.startsWith('tether-e2e'))) found.push(`cgroups in ${hierarchy}`);
    }
    for (const dir of PLUGIN_DIRS) {
      for (const entry of pluginFiles(dir)) if (!this.snapshot?.pluginFiles.includes(entry)) found.push(entry);
    }
    if (legacyTables() !== this.snapshot?.legacyTables) found.push('legacy iptables tables registered by the run');
    return found;
  }
}

async function listLinks(): Promise<string[]> {
  return (await must('ip', '-o', 'link', 'show'))
    .split('\n')
    .map((line) => line.split(': ')[1]?.split('@')[0] ?? '')
    .filter(Boolean);
}

/** The chains of an iptables-save dump, as "IPv4 nat TETHER-DNAT". */
function chainsIn(family: string, dump = ''): string[] {
  let table = '';
  return dump.split('\n').flatMap((line) => {
    if (line.startsWith('*')) table = line.slice(1);
    return line.startsWith(':') ? [`${family} ${table} ${line.slice(1).split(' ')[0]}`] : [];
  });
}

const legacyTables = () =>
  ['/proc/net/ip_tables_names', '/proc/net/ip6_tables_names']
    .map((path) => (existsSync(path) ? readFileSync(path, 'utf8').trim() : ''))
    .join(' | ');

async function listTables(): Promise<string[]> {
  return (await must('nft', 'list', 'tables')).split('\n').filter(Boolean).sort();
}

/**
 * Registers a suite's environment: started before its tests and torn down after them. `extra` adds
 * the suite's own parts (namespaces, say): set up after the environment starts, removed before it
 * stops. Returns the tear-down, which may run more than once.
 */
export function useEnvironment(
  env: Environment,
  extra?: { setUp(): Promise<void>; tearDown(): Promise<void> },
): () => Promise<void> {
  const tearDown = async () => {
    await extra?.tearDown();
    await env.stop();
    await env.restoreHost();
  };
  before(async () => {
    await env.start();
    await extra?.setUp();
  });
  after(tearDown);
  return tearDown;
}

/** A suite's last test: tear everything down, then nothing may be left. */
export function nothingLeftBehind(env: Environment, tearDown: () => Promise<void>): void {
  test('nothing is left behind', async () => {
    await tearDown();
    assert.deepEqual(await env.leftovers(), []);
  });
}
