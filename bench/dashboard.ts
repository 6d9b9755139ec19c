// What the dashboard costs and how fast it is, on a daemon holding 1,000 endpoints: the daemon's CPU
// while a page is open against while none is, and how soon a change reaches the page after the
// plugin call that made it (issue 16's bound: a second).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Environment, must, Tether } from '../test/e2e/harness.js';
import { openEventStream } from '../test/support/event-stream.js';
import { call, createNetworkByCalls, inFlight } from './calls.js';
import { type Figure, summarize } from './stats.js';

const PORT = 19181;
const ENDPOINTS = 1_000;
const WINDOW_MS = 10_000;
const CHANGES = 10;
const hex = () => randomBytes(32).toString('hex');

/** Clock ticks of CPU the process has used, user and system (fields 14 and 15 of /proc/PID/stat). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

/** The share of one core the process used over the window. */
async function coreShare(pid: number, ticksPerSecond: number): Promise<number> {
  const before = cpuTicks(pid);
  await sleep(WINDOW_MS);
  return (cpuTicks(pid) - before) / ticksPerSecond / (WINDOW_MS / 1000);
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`the dashboard bench waited in vain for ${what}`);
    await sleep(5);
  }
}

export async function dashboardFigures(env: Environment, figures: Figure[]): Promise<void> {
  const ticksPerSecond = Number(await must('getconf', 'CLK_TCK'));
  const tether = new Tether(env.work, 'tetherui', 'tbu', [
    ...['--log-level', 'info', '--ui-addr', `127.0.0.1:${PORT}`],
    // Endpoints never joined would count as abandoned after the grace and be freed mid-measurement.
    ...['--docker-socket', join(env.work, 'none.sock'), '--orphan-grace', '3600'],
  ]);
  await tether.start();
  const networkId = hex();
  const endpoints: string[] = [];
  try {
    const poolId = await createNetworkByCalls(tether, networkId, '10.230.52.0/22');
    const endpoint = async () => {
      const request = { PoolID: poolId, Address: '', Options: {} };
      const { Address: address } = await call(tether, 'IpamDriver.RequestAddress', request);
      const id = hex();
      const body = { NetworkID: networkId, EndpointID: id, Interface: { Address: address }, Options: {} };
      await call(tether, 'NetworkDriver.CreateEndpoint', body);
      endpoints.push(id);
      return id;
    };
    await inFlight(ENDPOINTS, 8, async () => void (await endpoint()));
    await sleep(1_000);
    const closed = await coreShare(tether.pid, ticksPerSecond);
    const open = openEventStream(`http://127.0.0.1:${PORT}/api/events`);
    await until(() => open.events.length > 0, 'the first view');
    const opened = await coreShare(tether.pid, ticksPerSecond);
    const delays: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const id = await endpoint();
      const answered = performance.now();
      await until(() => open.events.some((e) => e.at >= answered && e.data.includes(id)), 'a new endpoint');
      delays.push((open.events.find((e) => e.data.includes(id))?.at ?? answered) - answered);
      await sleep(300);
    }
    open.close();
    const delay = summarize(delays);
    figures.push(
      {
        name: `dashboard: daemon CPU with a page open, ${ENDPOINTS.toLocaleString('en')} endpoints, nothing changing`,
        value: `${(opened * 100).toFixed(1)} % of a core (${(closed * 100).toFixed(1)} % with no page open)`,
        goal: '< 10 % of a core',
        met: opened < 0.1,
      },
      {
        name: `dashboard: a new endpoint on the open page after its CreateEndpoint answered, median of ${CHANGES}`,
        value: `${delay.median.toFixed(0)} ms (p90 ${delay.p90.toFixed(0)} ms)`,
        goal: '< 1000 ms',
        met: delay.p90 < 1000,
      },
    );
  } finally {
    await inFlight(endpoints.length, 8, async (i) => {
      await call(tether, 'NetworkDriver.DeleteEndpoint', { NetworkID: networkId, EndpointID: endpoints[i] });
    });
    await call(tether, 'NetworkDriver.DeleteNetwork', { NetworkID: networkId }).catch(() => undefined);
    await tether.stop();
  }
}
