// Commands on the host for the end-to-end tests: run one, wait for a state,
// stop a process by pid, call a plugin's socket, remove a cgroup.
import { type ChildProcess, execFile } from 'node:child_process';
import { type Dirent, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

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
export function cgroupHierarchies(): string[] {
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
