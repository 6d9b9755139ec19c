// An ordinary network (docker network create -d tether): a Linux bridge on
// this host alone, holding the network's gateways.
import type { NetworkRecord } from '../../records.js';
import type { KindFacts } from '../facts.js';

type Bridge = Extract<NetworkRecord['kind'], { type: 'bridge' }>;

/** What every kind on a bridge of tether's has in common; the others add to it. */
export const onBridge = (network: NetworkRecord, bridge: string): KindFacts => ({
  label: 'bridge',
  bridge,
  hostAddresses: network.gateways,
  lan: false,
  namesRoute: false,
  broken: `bridge ${bridge} of network ${network.id.slice(0, 12)} is missing, down or lacks its gateway`,
});

export const bridgeKind = (kind: Bridge, network: NetworkRecord): KindFacts => onBridge(network, kind.bridge);
