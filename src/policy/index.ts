// Policies, composed: the book in the store, the enforcer and its table, and
// the other hosts' endpoints in cluster mode.
// The daemon builds this once and hands the driver its port.

import type { Logger } from 'pino';
import { MEMBERS, memberRecord } from '../cluster/records.js';
import { bridgeOf, kindOf } from '../driver/kinds/kind-of.js';
import { addressesOf, type EndpointRecord, knownLabels, type NetworkRecord } from '../driver/records.js';
import type { PolicyPort } from '../driver/seams.js';
import { parseIp } from '../net/ip.js';
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
  /** Cluster mode: this host's name, whose members are its own endpoints. */
  readonly host?: string;
}

/** A network's name for policies: the cluster's name for a network spanning hosts, else Docker's ID. */
export const policyKeyOf = (network: NetworkRecord) => kindOf(network).span?.name ?? network.id;

export function buildPolicy(deps: PolicyDeps): PolicyParts {
  const book = new PolicyBook(deps.store);
  const enforcer = new PolicyEnforcer({
    table: deps.table,
    tableName: deps.tableName,
    book,
    log: deps.log,
    local: () => localView(deps.snapshot()),
    ...(deps.host === undefined ? {} : { remote: remoteEndpoints(deps.store, deps.host) }),
  });
  enforcer.start();
  return {
    book,
    enforcer,
    port: { prepare: () => enforcer.prepare(), sync: () => enforcer.sync(), audit: () => enforcer.audit() },
    close: () => enforcer.close(),
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

/** The other hosts' endpoints, from their member records in etcd. */
function remoteEndpoints(store: Store, host: string): RemoteEndpoints {
  return {
    list: async () =>
      (await store.list(MEMBERS)).flatMap((entry) => {
        const member = memberRecord.parse(JSON.parse(entry.value));
        if (member.host === host) return [];
        const [network = '', id = ''] = entry.key.slice(MEMBERS.length).split('/');
        return [
          {
            network,
            id,
            addresses: member.addresses.flatMap((a) => parseIp(a) ?? []),
            local: false,
            ...(member.labels ? { labels: member.labels } : {}),
            ...(member.name === undefined ? {} : { name: member.name }),
          },
        ];
      }),
    watch: (listener) => store.watch(MEMBERS, listener),
  };
}
