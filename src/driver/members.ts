// An endpoint as the other hosts know it: its member record, published under
// its network's name in the cluster with the endpoint's own write.
import { formatIp } from '../net/ip.js';
import type { Operation } from '../store/store.js';
import { kindOf } from './kinds/kind-of.js';
import { addressesOf, type EndpointRecord, knownLabels, type NetworkRecord } from './records.js';
import type { ClusterMember, ClusterPort } from './seams.js';
import type { DriverState } from './state.js';

export const memberOf = (network: string, endpoint: EndpointRecord): ClusterMember => {
  const labels = knownLabels(endpoint);
  const name = endpoint.container?.name;
  const aliases = endpoint.container?.aliases;
  return {
    network,
    id: endpoint.id,
    mac: endpoint.mac,
    addresses: addressesOf(endpoint).map((a) => formatIp(a.address)),
    ...(labels ? { labels } : {}),
    ...(name === undefined ? {} : { name }),
    ...(aliases?.length ? { aliases } : {}),
  };
};

/** The write of the endpoint's member record, when its network spans hosts. */
export function publicationOf(
  cluster: ClusterPort | undefined,
  network: NetworkRecord,
  endpoint: EndpointRecord,
): Operation[] {
  const name = kindOf(network).span?.name;
  return cluster && name !== undefined ? [cluster.publication(memberOf(name, endpoint))] : [];
}

/** The delete of the endpoint's member record, when its network spans hosts. */
export function withdrawalOf(
  cluster: ClusterPort | undefined,
  network: NetworkRecord | undefined,
  endpointId: string,
): Operation[] {
  const name = network && kindOf(network).span?.name;
  return cluster && name !== undefined ? [cluster.withdrawal(name, endpointId)] : [];
}

/** This host's endpoints on networks that span hosts, as the cluster publishes them. */
export function membersOf(state: DriverState): ClusterMember[] {
  return [...state.endpoints.values()].flatMap((e) => {
    const network = state.networks.get(e.networkId);
    const name = network && kindOf(network).span?.name;
    return name === undefined ? [] : [memberOf(name, e)];
  });
}
