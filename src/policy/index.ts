// Policies, composed: the book in the store, the enforcer and its table, and
// the other hosts' endpoints in cluster mode.
// The daemon builds this once and hands the driver its port.

import type { Logger } from 'pino';
import type { ClusterView } from '../cluster/view/view.js';
import { bridgeOf, kindOf } from '../driver/kinds/kind-of.js';
import { addressesOf, type EndpointRecord, knownLabels, type NetworkRecord } from '../driver/records.js';
import type { PolicyPort } from '../driver/seams.js';
import type { Store } from '../store/store.js';
import { PolicyBook } from './book.js';
import { PolicyEnforcer, type RemoteEndpoints } from './enforcer.js';
import type { PolicyEndpoint } from './ruleset.js';
import type { PolicyTable } from './table.js';

export interface PolicyParts {
  readonly book: PolicyBook;
  readonly enforcer: PolicyEnforcer;
  /** What the driver calls. */
  readonly port: PolicyPort;
  close(): void;
}

export interface PolicyDeps {
  readonly store: Store;
  readonly table: PolicyTable;
  readonly tableName: string;
  readonly log: Logger;
  /** The driver's networks and endpoints now (the driver is built after this, so a function). */
  readonly snapshot: () => { networks: NetworkRecord[]; endpoints: EndpointRecord[] };
  /** Cluster mode: the cluster's records, and this host's name, whose members are its own endpoints. */
  readonly cluster?: { readonly view: ClusterView; readonly host: string };
}

/** A network's name for policies: the cluster's name for a network spanning hosts, else Docker's ID. */
export const policyKeyOf = (network: NetworkRecord) => kindOf(network).span?.name ?? network.id;

export async function buildPolicy(deps: PolicyDeps): Promise<PolicyParts> {
  const book = new PolicyBook(deps.store, deps.log);
  await book.start();
  const enforcer = new PolicyEnforcer({
    table: deps.table,
    tableName: deps.tableName,
    book,
    log: deps.log,
    local: () => localView(deps.snapshot()),
    ...(deps.cluster ? { remote: remoteEndpoints(deps.cluster.view, deps.cluster.host) } : {}),
  });
  enforcer.start();
  return {
    book,
    enforcer,
    port: {
      prepare: () => enforcer.prepare(),
      sync: (leaving) => enforcer.sync(leaving),
      audit: () => enforcer.audit(),
    },
    close: () => {
      enforcer.close();
      book.close();
    },
  };
}

function localView(snapshot: { networks: NetworkRecord[]; endpoints: EndpointRecord[] }) {
  const networks = new Map(snapshot.networks.map((n) => [n.id, n]));
  const endpoints: PolicyEndpoint[] = snapshot.endpoints.flatMap((e) => {
    const network = networks.get(e.networkId);
    if (!network) return [];
    const labels = knownLabels(e);
    const name = e.container?.name;
    return [
      {
        network: policyKeyOf(network),
        addresses: addressesOf(e).map((a) => a.address),
        local: true,
        id: e.id,
        ...(labels ? { labels } : {}),
        ...(name === undefined ? {} : { name }),
      },
    ];
  });
  const deny = snapshot.networks.filter((n) => n.policy === 'deny');
  const ports = (id: string) =>
    snapshot.endpoints.flatMap((e) => (e.networkId === id && e.hostName !== undefined ? [e.hostName] : []));
  return { networks: deny.map((n) => ({ key: policyKeyOf(n), bridge: bridgeOf(n), ports: ports(n.id) })), endpoints };
}

/** The other hosts' endpoints on the deny networks, from the cluster view: no read of the store. */
function remoteEndpoints(view: ClusterView, host: string): RemoteEndpoints {
  return {
    list: (networks) =>
      networks.flatMap((network) =>
        [...view.membersOf(network)].flatMap((member) =>
          member.host === host
            ? []
            : [
                {
                  network,
                  id: member.endpoint,
                  addresses: member.ips,
                  local: false,
                  ...(member.labels ? { labels: member.labels } : {}),
                  ...(member.name === undefined ? {} : { name: member.name }),
                },
              ],
        ),
      ),
    watch: (listener) => view.onMember(() => listener()),
  };
}
