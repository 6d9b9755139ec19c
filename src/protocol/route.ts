// One row of the routing table: a path, the schema its body must match, and
// the handler. The transport turns a thrown error into a non-200 reply with
// {"Err": message}, which Docker reads the same way for both interfaces.
import type { z } from 'zod';

export interface Route {
  readonly path: string;
  /** Absent for the calls Docker makes with an empty body. */
  readonly schema?: z.ZodType;
  /** Also answers GET and HEAD, as health probes ask (Calico's README checks GetCapabilities so). */
  readonly probe?: true;
  /** Resolves to the reply body; undefined is sent as {}. */
  readonly handle: (request: unknown) => Promise<unknown>;
}
