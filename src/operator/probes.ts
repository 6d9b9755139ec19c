// Health and readiness probes, on the plugin's socket and on the metrics
// address: /healthz says the process serves, /readyz whether it can work.
import type { FastifyInstance } from 'fastify';
import { HEALTH_PATH, type HealthView, READY_PATH } from './contract.js';
import type { Readiness } from './readiness.js';

export const healthOf = (): HealthView => ({
  status: 'ok',
  pid: process.pid,
  uptimeSeconds: Math.round(process.uptime()),
});

/** The status and body of a probe path, or undefined for any other path. */
export async function answerProbe(
  path: string,
  readiness: Readiness,
): Promise<{ status: number; body: unknown } | undefined> {
  if (path === HEALTH_PATH) return { status: 200, body: healthOf() };
  if (path !== READY_PATH) return undefined;
  const report = await readiness.run();
  return { status: report.ready ? 200 : 503, body: report };
}

export function registerProbes(app: FastifyInstance, readiness: Readiness): void {
  for (const path of [HEALTH_PATH, READY_PATH]) {
    app.get(path, async (_request, reply) => {
      const answer = await answerProbe(path, readiness);
      return reply.code(answer?.status ?? 404).send(answer?.body);
    });
  }
}
