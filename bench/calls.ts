// What the benchmark steps share: timing a task, and calling a tether over its socket.
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
