// The tests' own dockerd, beside any the host runs (its own sockets, roots and
// cgroup parent), and the busybox image every test container runs.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkEngine, dockerdLaunch } from './engine.js';
import { must, sh, waitFor } from './host-tools.js';

export const IMAGE = 'tether-test:busybox';
/** The containers' resolver: an address of the test range, routed nowhere (host-state.ts). */
const DNS = '10.230.255.254';

/** A running dockerd, and the containerd of its own that the newer engine runs beside it. */
export interface DockerProcesses {
  readonly dockerd: ChildProcess;
  readonly containerd?: ChildProcess;
}

export async function startDockerd(work: string, dockerHost: string, cgroupParent: string): Promise<DockerProcesses> {
  const launch = dockerdLaunch(work);
  const containerd = launch.containerd && (await startContainerd(work, launch.containerd, launch.socket ?? ''));
  const log = openSync(join(work, 'dockerd.log'), 'a');
  // `docker run --runtime slow` holds runc's create for the seconds in the file slow-create: a
  // container start that stays between Join and the interface's move into the container.
  const slow = join(work, 'slow-runc');
  writeFileSync(
    slow,
    `#!/bin/sh\nfor arg; do [ "$arg" = create ] && sleep "$(cat ${join(work, 'slow-create')})"; ` +
      `done\nexec runc "$@"\n`,
    { mode: 0o755 },
  );
  writeFileSync(join(work, 'slow-create'), '0\n');
  const dockerd = spawn(
    launch.dockerd,
    [
      ...(launch.socket ? ['--containerd', launch.socket] : []),
      '--host',
      dockerHost,
      '--data-root',
      join(work, 'docker'),
      '--exec-root',
      join(work, 'exec'),
      '--pidfile',
      join(work, 'docker.pid'),
      '--add-runtime',
      `slow=${slow}`,
      '--bridge=none',
      '--dns',
      DNS,
      '--log-level',
      'info',
      '--cgroup-parent',
      `/${cgroupParent}`,
    ],
    { stdio: ['ignore', log, log], env: { ...process.env, PATH: launch.path } },
  );
  closeSync(log);
  await waitFor('dockerd', async () => (await sh('docker', ['-H', dockerHost, 'version'])).code === 0, 30_000);
  await checkEngine(dockerHost);
  return { dockerd, ...(containerd ? { containerd } : {}) };
}

async function startContainerd(work: string, command: readonly string[], socket: string): Promise<ChildProcess> {
  const log = openSync(join(work, 'containerd.log'), 'a');
  const [file = '', ...args] = command;
  const containerd = spawn(file, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  await waitFor('containerd', async () => existsSync(socket), 30_000);
  return containerd;
}

export async function importTestImage(work: string, dockerHost: string): Promise<void> {
  const dir = join(work, 'image');
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
  await must('sh', '-c', 'tar -C "$1" -c . | docker -H "$2" import - "$3"', 'sh', dir, dockerHost, IMAGE);
}
