// What the benchmark steps share: timing a task, tasks in flight, a process's RSS, and calling a tether
// over its socket.
import { readFileSync } from 'node:fs';
import { pluginCall, type Tether } from '../test/e2e/harness.js';

export async function timed(task: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await task();
  return performance.now() - started;
}

export async function call(tether: Tether, method: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await pluginCall(tether.socket, method, JSON.stringify(body));
  if (response.status !== 200) throw new Error(`${method}: ${response.body}`);
  return JSON.parse(response.body) as Record<string, unknown>;
}

/**
 * Runs `count` tasks with at most `width` in flight. After a failure no new task starts, and the
 * first error is thrown once those in flight have ended, so that a clean-up after it sees them all.
 */
export async function inFlight(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count && !failure) {
        await task(next++).catch((error: unknown) => {
          failure ??= { error };
        });
      }
    }),
  );
  if (failure) throw failure.error;
}

export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1]) / 1024;
}

/**
 * A network on one IPv4 pool, through the calls `docker network create` makes (pool, gateway,
 * network); returns the pool's ID.
 */
export async function createNetworkByCalls(
  tether: Tether,
  networkId: string,
  pool: string,
  generic: Record<string, string> = {},
): Promise<string> {
  const { PoolID: poolId } = await call(tether, 'IpamDriver.RequestPool', {
    AddressSpace: 'local',
    Pool: pool,
    Options: {},
  });
  const { Address: gateway } = await call(tether, 'IpamDriver.RequestAddress', {
    PoolID: poolId,
    Address: '',
    Options: { RequestAddressType: 'com.docker.network.gateway' },
  });
  await call(tether, 'NetworkDriver.CreateNetwork', {
    NetworkID: networkId,
    Options: { 'com.docker.network.generic': generic },
    IPv4Data: [{ AddressSpace: 'local', Pool: pool, Gateway: gateway }],
    IPv6Data: [],
  });
  return String(poolId);
}
