// Where a host keeps the driver's networks and endpoints in cluster mode: in
// a store of its own (SQLite), since no other host reads them. Only what the
// others need (member records, addresses, pools) goes to the shared store. So
// a container's Join, Leave and published ports cost etcd nothing, and a host
// cut off from etcd keeps its records whatever the others give back meanwhile.
// Up to this version the records lived in the shared store under the host's
// scope: they move over once, at the first start.
import type { Logger } from 'pino';
import { DRIVER_SCOPE, DriverState } from '../driver/state.js';
import type { Operation, Store } from '../store/store.js';
import { hostScope } from './records.js';

export async function loadHostDriverState(shared: Store, own: Store, host: string, log: Logger): Promise<DriverState> {
  const from = `${hostScope(host)}driver/`;
  const left = await shared.list(from);
  if (left.length > 0) {
    // A move cut short after the copy finds the records here already: the host's own are the newer.
    const present = new Set((await own.list(DRIVER_SCOPE)).map((e) => e.key));
    const copies: Operation[] = left
      .map((e) => ({ type: 'put' as const, key: DRIVER_SCOPE + e.key.slice(from.length), value: e.value }))
      .filter((put) => !present.has(put.key));
    await own.commit([], copies);
    await shared.commit([], [{ type: 'deletePrefix', prefix: from }]);
    log.info({ records: copies.length }, "moved this host's driver records from the cluster store to its own");
  }
  return DriverState.load(own, shared);
}
