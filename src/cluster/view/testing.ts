// Tests' way to a started cluster view over any store.
import pino from 'pino';
import { parseIp } from '../../net/ip.js';
import type { Store } from '../../store/store.js';
import { ClusterView } from './view.js';

/** A view as host `host` with tunnel address `vtep` holds it, read and following. */
export async function startedView(store: Store, host = 'a', vtep = '192.0.2.1'): Promise<ClusterView> {
  const address = parseIp(vtep);
  if (!address) throw new Error(`${vtep} is not an address`);
  const view = new ClusterView({ store, log: pino({ level: 'silent' }), host, vtep: address });
  await view.start();
  return view;
}
