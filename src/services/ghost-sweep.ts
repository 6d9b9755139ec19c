// A CreateEndpoint whose write to the cluster store timed out (etcd electing a
// leader, say) may land all the same, after Docker heard the call fail: a
// member record, and its addresses, for an endpoint this host does not have.
// Other hosts would resolve and tunnel to a ghost. Each collection round notes
// this host's member records with no endpoint here; one still there, unchanged,
// at the next round is withdrawn and its addresses freed. An endpoint being
// created is published a moment before its record here, never a whole round.
import type { Logger } from 'pino';
import { MEMBERS, memberKey, memberRecord } from '../cluster/records.js';
import type { ClusterMember } from '../driver/seams.js';
import { type IpAddress, parseIp } from '../net/ip.js';
import type { Store } from '../store/store.js';

export interface GhostSweepDeps {
  readonly store: Store;
  readonly host: string;
  readonly own: () => readonly ClusterMember[];
  /** Frees the address in tether's pools if this host holds it and no endpoint does. */
  readonly release: (address: IpAddress) => Promise<boolean>;
  readonly log: Logger;
}

export function ghostSweep(parts: GhostSweepDeps): () => Promise<void> {
  const { store, host, own, release, log } = parts;
  /** Key of a ghost seen last round, to the revision it had. */
  let suspects = new Map<string, number>();
  return async () => {
    const mine = new Set(own().map((m) => memberKey(m.network, m.id)));
    const seen = new Map<string, number>();
    for (const entry of await store.list(MEMBERS)) {
      const record = memberRecord.parse(JSON.parse(entry.value));
      if (record.host !== host || mine.has(entry.key)) continue;
      if (suspects.get(entry.key) !== entry.revision) {
        seen.set(entry.key, entry.revision);
        continue;
      }
      if (!(await store.commit([{ key: entry.key, revision: entry.revision }], [{ type: 'delete', key: entry.key }])))
        continue;
      for (const address of record.addresses.flatMap((text) => parseIp(text) ?? [])) {
        // An endpoint of this host holding it already is told by the release, and keeps it.
        await release(address).catch((error: Error) => log.warn({ err: error.message }, 'a ghost address stays'));
      }
      log.warn({ member: entry.key.slice(MEMBERS.length) }, 'withdrew a member record of an endpoint this host lacks');
    }
    suspects = seen;
  };
}
