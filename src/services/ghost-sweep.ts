// A CreateEndpoint whose write to the cluster store timed out (etcd electing a
// leader, say) may land all the same, after Docker heard the call fail: a
// member record, and its addresses, for an endpoint this host does not have.
// Other hosts would resolve and tunnel to a ghost. Each collection round notes
// this host's member records with no endpoint here; one still there, unchanged,
// at the next round is withdrawn and its addresses freed. An endpoint being
// created is published a moment before its record here, never a whole round.
import type { Logger } from 'pino';
import { MEMBERS, memberKey } from '../cluster/records.js';
import type { ClusterView } from '../cluster/view/view.js';
import type { ClusterMember } from '../driver/seams.js';
import type { IpAddress } from '../net/ip.js';
import type { Store } from '../store/store.js';

export interface GhostSweepDeps {
  readonly store: Store;
  /** The cluster's records: this host's own members are read there, not from the store. */
  readonly view: ClusterView;
  readonly host: string;
  readonly own: () => readonly ClusterMember[];
  /** Frees the address in tether's pools if this host holds it and no endpoint does. */
  readonly release: (address: IpAddress) => Promise<boolean>;
  readonly log: Logger;
}

export function ghostSweep(parts: GhostSweepDeps): () => Promise<void> {
  const { store, view, host, own, release, log } = parts;
  /** Key of a ghost seen last round, to the revision it had. */
  let suspects = new Map<string, number>();
  return async () => {
    const mine = new Set(own().map((m) => memberKey(m.network, m.id)));
    const seen = new Map<string, number>();
    for (const { member, revision } of view.ownedBy(host)) {
      if (mine.has(member.key)) continue;
      if (suspects.get(member.key) !== revision) {
        seen.set(member.key, revision);
        continue;
      }
      if (!(await store.commit([{ key: member.key, revision }], [{ type: 'delete', key: member.key }]))) continue;
      for (const address of member.ips) {
        // An endpoint of this host holding it already is told by the release, and keeps it.
        await release(address).catch((error: Error) => log.warn({ err: error.message }, 'a ghost address stays'));
      }
      log.warn({ member: member.key.slice(MEMBERS.length) }, 'withdrew a member record of an endpoint this host lacks');
    }
    suspects = seen;
  };
}
