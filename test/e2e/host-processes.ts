// A cluster test host's processes: every one in a cgroup of the host's own, so
// that the host can be killed whole, by pid, as a machine dies.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dockerdLaunch } from './engine.js';

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

/**
 * The tether serving in the cgroup (of the pids hierarchy). The cgroup also holds the short-lived tools
 * tether runs, and one forked but not yet running its program still shows tether's command line: tether
 * itself is the one whose parent is not.
 */
export function tetherIn(cgroup: string): string | undefined {
  const pids = readFileSync(`/sys/fs/cgroup/pids/${cgroup}/cgroup.procs`, 'utf8').split('\n');
  const serving = pids.filter((p) => p && commandLine(p).includes('tether.js\0serve'));
  return serving.find((p) => !serving.includes(parentOf(p)));
}

/** Every process in the cgroup and those below it, with SIGKILL, until none is left. */
export async function killCgroup(cgroup: string): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = cgroupPids(cgroup);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await sleep(100);
  }
}

function cgroupPids(cgroup: string): number[] {
  const pids: number[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
    }
    pids.push(...readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
  };
  try {
    walk(`/sys/fs/cgroup/pids/${cgroup}`);
  } catch {
    /* no cgroup: nothing runs */
  }
  return pids;
}

/** The cgroup v1 controllers mounted again in each host's namespace, where dockerd looks for them. */
const CGROUP_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd'];

/**
 * The shell line that starts a host's dockerd in its namespace: the cgroup hierarchies mounted again
 * (ip netns exec remounts /sys), its own plugin and containerd directories, its containers' cgroups
 * under the host's.
 */
/** Where a host's shell notes the pid of the containerd it started (the newer engine's). */
export const containerdPidFile = (dir: string) => join(dir, 'containerd.pid');

/** Stops the containerd the host's shell started, by its pid, and waits until it is gone. */
export async function stopContainerd(dir: string): Promise<void> {
  const file = containerdPidFile(dir);
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8'));
  rmSync(file);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // gone already
  }
  for (let i = 0; i < 200 && existsSync(`/proc/${pid}`); i++) await sleep(50);
}

export function dockerdScript(host: { dockerHost: string; dir: string; cgroup: string; resolver: string }): string {
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
  const launch = dockerdLaunch(host.dir);
  // The newer engine's containerd runs in the host's shell beside its dockerd, and dies with the host's cgroup.
  const log = join(host.dir, 'containerd.log');
  const containerd = launch.containerd
    ? `{ ${launch.containerd.join(' ')} >> ${log} 2>&1 & echo $! > ${containerdPidFile(host.dir)}; } && ` +
      `until [ -S ${launch.socket} ]; do sleep 0.05; done && `
    : '';
  const dockerd = [
    ...[`PATH=${launch.path}`, launch.dockerd, '--host', host.dockerHost, '--data-root', join(host.dir, 'docker')],
    ...(launch.socket ? ['--containerd', launch.socket] : []),
    ...['--exec-root', join(host.dir, 'exec'), '--pidfile', join(host.dir, 'docker.pid')],
    ...['--cgroup-parent', `/${host.cgroup}`, '--bridge=none', '--dns', host.resolver, '--log-level', 'info'],
  ];
  return `${mounts.join(' && ')} && ${containerd}exec env ${dockerd.join(' ')}`;
}
