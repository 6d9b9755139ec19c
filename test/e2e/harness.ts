// A real Docker daemon and a real tether for end-to-end tests, each started
// by pid and stopped by pid. Before anything runs the harness installs an
// egress guard: forwarded traffic from the test ranges to anywhere else is
// dropped, so no test packet can leave the machine. At the end it puts the
// firewall, routes and sysctls back exactly as it found them (host-state.ts).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DockerProcesses, IMAGE, importTestImage, startDockerd } from './docker-daemon.js';
import { engineAvailable, test as engineTest } from './engine.js';
import { HostSnapshot, installEgressGuard } from './host-state.js';
import { type Result, removeCgroup, sh, stopProcess } from './host-tools.js';
import { networkCreate, Tether } from './tether-process.js';

export { IMAGE } from './docker-daemon.js';
export { TEST_RANGE, TEST_RANGE6 } from './host-state.js';
export * from './host-tools.js';
export { Outside } from './outside.js';
export { networkCreate, Tether } from './tether-process.js';

/** Explicit test subnets come from 10.230.0.0/16; automatic ones from 10.231.0.0/16. */
export const AUTO_POOL = '10.231.0.0/16:24';
export const AUTO_POOL6 = 'fd7e:7e7e:ff00::/40:64';
export const PREFIX = 'tte';
/** The fuzzed daemon's interfaces: not a PREFIX followed by hex, so neither daemon takes the other's for its own. */
export const FUZZ_PREFIX = 'tfz';

export class Environment {
  /** Made only where the suite's engine is there to run it (engine.ts): a skipped suite leaves nothing. */
  readonly work = engineAvailable ? mkdtempSync(join(tmpdir(), 'tether-e2e-')) : join(tmpdir(), 'tether-e2e-skipped');
  readonly driver = `tethere2e${process.pid}`;
  readonly dockerHost = `unix://${this.work}/docker.sock`;
  /** Where the dockerd puts its containers' cgroups, removed at the end (Docker's default, /docker, would stay). */
  private readonly cgroupParent = `tether-e2e-${process.pid}`;
  private daemons?: DockerProcesses;
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
  private snapshot?: HostSnapshot;

  /** Everything up: guard, tether, dockerd, test image. */
  async start(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error('the end-to-end tests need root');
    this.snapshot = await HostSnapshot.take();
    await installEgressGuard();
    await this.startTether();
    await this.startDockerd();
    await importTestImage(this.work, this.dockerHost);
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
    await this.stopDockerd('SIGTERM');
    await this.startDockerd();
  }

  private async startDockerd(): Promise<void> {
    this.daemons = await startDockerd(this.work, this.dockerHost, this.cgroupParent);
  }

  private async stopDockerd(signal?: NodeJS.Signals): Promise<void> {
    await stopProcess(this.daemons?.dockerd, signal);
    await stopProcess(this.daemons?.containerd, signal);
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
    if (this.daemons) {
      const ids = (await this.docker('ps', '-aq')).stdout.split('\n').filter(Boolean);
      if (ids.length) await this.docker('rm', '-f', ...ids);
      // Every user-defined network, Docker's own bridge networks too: dockerd leaves their bridges behind.
      const networks = (await this.docker('network', 'ls', '-q', '--filter', 'type=custom')).stdout
        .split('\n')
        .filter(Boolean);
      for (const id of networks) await this.docker('network', 'rm', id);
    }
    await this.stopDockerd();
    await this.tether.stop();
  }

  /** Puts back what the run changed on the host: firewall, routes, sysctl (host-state.ts), files. */
  async restoreHost(): Promise<void> {
    await this.snapshot?.restore();
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
    if (!this.snapshot) return ['the host was never snapshotted'];
    return this.snapshot.leftovers({ work: this.work, socket: this.tether.socket });
  }
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
  // Where the suite's engine is missing, its tests are reported skipped (engine.ts) and nothing starts.
  if (!engineAvailable) return async () => undefined;
  before(async () => {
    await env.start();
    await extra?.setUp();
  });
  after(tearDown);
  return tearDown;
}

/** A suite's last test: tear everything down, then nothing may be left. */
export function nothingLeftBehind(env: Environment, tearDown: () => Promise<void>): void {
  engineTest('nothing is left behind', async () => {
    await tearDown();
    assert.deepEqual(await env.leftovers(), []);
  });
}
