// Which Docker engine the end-to-end suites run on: Debian 12's own dockerd
// (20.10), or, with TETHER_E2E_ENGINE=28.5, sid's 28.5 unpacked by
// scripts/docker-next.sh into TETHER_DOCKER_NEXT. Each test is named with the
// engine; where the second engine could not be had, its tests are reported
// skipped with the reason.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe as nodeDescribe, test as nodeTest, type TestContext } from 'node:test';
import { sh } from './host-tools.js';

const next = process.env['TETHER_E2E_ENGINE'] === '28.5';
const root = process.env['TETHER_DOCKER_NEXT'] ?? '';

/** Why the second engine cannot run here, when it was asked for; undefined otherwise. */
function unavailable(): string | undefined {
  if (!next) return undefined;
  if (!root) return 'TETHER_DOCKER_NEXT is not set: run scripts/docker-next.sh DIR first';
  const skip = join(root, 'skip');
  if (existsSync(skip)) return `Docker 28.5 could not be had: ${readFileSync(skip, 'utf8').trim()}`;
  if (!existsSync(join(root, 'ready'))) return `no Docker 28.5 in ${root} (scripts/docker-next.sh did not finish)`;
  return undefined;
}

export const ENGINE = next ? '28.5' : '20.10';
const reason = unavailable();

const named = (name: string) => (next ? `[Docker ${ENGINE}] ${name}` : name);

/** node:test's test, named with the engine, and skipped with the reason where the engine is missing. */
export function test(name: string, body: (t: TestContext) => Promise<void> | void): void {
  if (reason) nodeTest(named(name), { skip: reason }, () => undefined);
  else nodeTest(named(name), body);
}

/** node:test's describe (its tests one at a time), named with the engine, skipped where the engine is missing. */
export function describe(name: string, options: { concurrency: false }, body: () => void): void {
  if (reason) nodeDescribe(named(name), { skip: reason }, () => undefined);
  else nodeDescribe(named(name), options, body);
}

/** Whether the suite's set-up may run: not when its engine is missing (its tests are skipped). */
export const engineAvailable = reason === undefined;

/** Throws unless the dockerd at dockerHost is this engine: a run on the wrong one proves nothing. */
export async function checkEngine(dockerHost: string): Promise<void> {
  const version = await sh('docker', ['-H', dockerHost, 'version', '--format', '{{.Server.Version}}']);
  if (!version.stdout.startsWith(ENGINE))
    throw new Error(`expected Docker ${ENGINE} at ${dockerHost}, got ${version.stdout}`);
}

/**
 * How the dockerd of this engine is started: the binary, and what goes before it. The newer engine
 * runs its own containerd (2.1) from the private root, with a config of its own under `dir`.
 */
export function dockerdLaunch(dir: string): { dockerd: string; path: string; containerd?: string[]; socket?: string } {
  if (!next) return { dockerd: 'dockerd', path: process.env['PATH'] ?? '' };
  const socket = join(dir, 'containerd.sock');
  // A socket an earlier containerd left would let the wait for the new one's end before it listens.
  rmSync(socket, { force: true });
  const config = join(dir, 'containerd.toml');
  writeFileSync(
    config,
    [
      'version = 3',
      `root = "${join(dir, 'containerd-root')}"`,
      `state = "${join(dir, 'containerd-state')}"`,
      '[grpc]',
      `  address = "${socket}"`,
      '',
    ].join('\n'),
  );
  return {
    dockerd: join(root, 'root/usr/sbin/dockerd'),
    path: `${join(root, 'bin')}:${process.env['PATH'] ?? ''}`,
    containerd: [join(root, 'bin/containerd'), '--config', config],
    socket,
  };
}
