// What the CLI reads from a running daemon, parsed at the edge with the
// operator API's contract.

import { z } from 'zod';
import {
  AUDIT_PATH,
  auditReport,
  CLUSTER_PATH,
  clusterView,
  daemonState,
  READY_PATH,
  readiness,
  STATE_PATH,
  STATUS_PATH,
  status,
} from '../operator/contract.js';
import { getJson, HttpStatusError, requestJson } from '../util/http.js';

export const readCluster = async (socket: string) => clusterView.parse(await getJson(socket, CLUSTER_PATH));
export const readState = async (socket: string) => daemonState.parse(await getJson(socket, STATE_PATH));
export const readAudit = async (socket: string) => auditReport.parse(await getJson(socket, AUDIT_PATH));
export const readStatus = async (socket: string) => status.parse(await getJson(socket, STATUS_PATH));

/** /readyz: its report whether ready (200) or not (503). */
export const readReadiness = (socket: string) =>
  getJson(socket, READY_PATH).then(
    (body) => readiness.parse(body),
    (error: unknown) => {
      if (error instanceof HttpStatusError && error.status === 503) return readiness.parse(JSON.parse(error.body));
      throw error;
    },
  );

/** A change through the operator API; a refusal becomes an error carrying the daemon's own words. */
export async function send(socket: string, method: string, path: string, body?: unknown): Promise<unknown> {
  try {
    return await requestJson(socket, method, path, body);
  } catch (error) {
    if (!(error instanceof HttpStatusError)) throw error;
    const said = errorBody.safeParse(JSON.parse(error.body || '{}'));
    throw new Error(said.success ? said.data.Err : error.message);
  }
}

const errorBody = z.object({ Err: z.string() });
