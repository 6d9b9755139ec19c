// The options of one attachment, `--network name=N,driver-opt=KEY=VALUE` on
// `docker run` and `docker service create` (compose: driver_opts under a
// service's network). Docker's own keys are com.docker.*; tether's are
// tether.*; anything else is an error, since an ignored option is a surprise.
import { invalidOption } from '../errors.js';

/** `tether.label.KEY=VALUE`: the endpoint carries the label KEY=VALUE. */
export const LABEL_PREFIX = 'tether.label.';
/** Label keys as Docker accepts them for containers, kept to a safe alphabet. */
export const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
/**
 * What an endpoint's labels may hold, from its options or its container: every host of a cluster
 * reads them in its member record, so no record may grow past what a page of a list can carry.
 */
export const LABEL_LIMITS = { count: 64, value: 1024 } as const;

export interface EndpointOptions {
  readonly labels: Readonly<Record<string, string>>;
}

export function parseEndpointOptions(options: Readonly<Record<string, unknown>>): EndpointOptions {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(options)) {
    if (key.startsWith('com.docker.')) continue;
    if (!key.startsWith(LABEL_PREFIX)) {
      throw invalidOption(`unknown endpoint option "${key}" (tether knows ${LABEL_PREFIX}KEY=VALUE)`);
    }
    const label = key.slice(LABEL_PREFIX.length);
    if (!LABEL_KEY.test(label)) {
      throw invalidOption(`endpoint option ${key}: "${label}" is not a valid label key (letters, digits, "._/-")`);
    }
    if (typeof value !== 'string' || value.length > LABEL_LIMITS.value) {
      throw invalidOption(`endpoint option ${key}: the value must be text of at most ${LABEL_LIMITS.value} characters`);
    }
    labels[label] = value;
  }
  if (Object.keys(labels).length > LABEL_LIMITS.count) {
    throw invalidOption(`at most ${LABEL_LIMITS.count} ${LABEL_PREFIX}KEY options on one endpoint`);
  }
  return { labels };
}
