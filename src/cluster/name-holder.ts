// Who holds this host's name in the cluster. A registration carries the
// identity of the state directory that made it and a nonce of the start that
// made it: a registration of another identity, or of this identity but another
// start than this one or the last one this state directory registered (a clone
// of this machine), is a twin, and this host may not take the name.
import { TetherError } from '../errors.js';
import type { Store } from '../store/store.js';
import { HOSTS, type HostRecord } from './records.js';
import type { ClusterSettings } from './settings.js';
import { readHost } from './view/readers.js';

export interface NameHolder {
  /** The registration's revision now: 0 when none. A registration is written only while it holds. */
  readonly revision: number;
  /** The tether that holds the name and is not this one, or one of its earlier lives. */
  readonly twin?: HostRecord;
}

type Starts = Pick<ClusterSettings, 'identity' | 'nonce' | 'previousNonce'>;

/** Whether the registration is another tether's. */
export function isTwin(held: HostRecord, self: Starts): boolean {
  // A record without an identity is from a tether before them: this host's own earlier life, maybe.
  if (held.identity === undefined) return false;
  if (held.identity !== self.identity) return true;
  return held.nonce !== undefined && held.nonce !== self.nonce && held.nonce !== self.previousNonce;
}

export async function nameHolder(store: Store, host: string, self: Starts): Promise<NameHolder> {
  const entry = await store.get(HOSTS + host);
  if (!entry) return { revision: 0 };
  // One that is not a record holds the name for no one.
  const read = readHost(entry.key, entry.value);
  const twin = 'record' in read && isTwin(read.record, self) ? read.record : undefined;
  return { revision: entry.revision, ...(twin ? { twin } : {}) };
}

export const twinError = (held: HostRecord): TetherError =>
  new TetherError(
    'CONFLICT',
    `host name ${held.host} is held by another tether (tunnel address ${held.vtep}, started ` +
      `${new Date(held.startedAt).toISOString()}): give each host its own --host-name`,
  );
