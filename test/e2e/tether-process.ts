// One tether daemon for the end-to-end tests, started and stopped by pid.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditReport, type DaemonState, daemonState } from '../../src/operator/contract.js';
import { must, pluginCall, type Result, ROOT, sh, stopProcess, waitFor } from './host-tools.js';

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
