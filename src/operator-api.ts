// Read-only routes for the tether CLI on the plugin's own socket: what the
// daemon holds, as the store has it.
import type { FastifyInstance } from 'fastify';
import type { Driver } from './driver/driver.js';
import type { Ipam } from './ipam/ipam.js';

export const STATE_PATH = '/tether/v1/state';

export function registerOperatorApi(app: FastifyInstance, parts: { driver: Driver; ipam: Ipam }): void {
  app.get(STATE_PATH, async () => ({ ...parts.driver.snapshot(), pools: parts.ipam.usage() }));
}
