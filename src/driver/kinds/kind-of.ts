// The one place a network's kind is told apart: each kind's facts come from
// its own folder.
import type { NetworkRecord } from '../records.js';
import { bridgeKind } from './bridge/kind.js';
import { clusterKind } from './cluster/kind.js';
import type { KindFacts } from './facts.js';
import { swarmKind } from './swarm/kind.js';
import { bridgedUplinkKind, macvlanKind } from './uplink/kind.js';

export function kindOf(network: NetworkRecord): KindFacts {
  const { kind } = network;
  switch (kind.type) {
    case 'bridge':
      return bridgeKind(kind, network);
    case 'cluster':
      return clusterKind(kind, network);
    case 'swarm':
      return swarmKind(kind, network);
    case 'macvlan':
      return macvlanKind(kind, network);
    case 'bridged-uplink':
      return bridgedUplinkKind(kind, network);
  }
}

/** The network's bridge, where the caller knows its kind has one (all but macvlan). */
export function bridgeOf(network: NetworkRecord): string {
  const { bridge } = kindOf(network);
  if (bridge === undefined)
    throw new Error(`network ${network.id} is a ${network.kind.type} network: it has no bridge`);
  return bridge;
}
