// A network that spans the cluster (-o tether.cluster=NAME): a bridge on each
// host, joined to the other hosts' by the tunnel (VXLAN), created and removed
// on every host by tether's cluster.
import type { NetworkRecord } from '../../records.js';
import { onBridge } from '../bridge/kind.js';
import type { KindFacts } from '../facts.js';

type Tunnelled = Extract<NetworkRecord['kind'], { type: 'cluster' | 'swarm' }>;

/** A bridge with a tunnel device on it: a cluster network, or a swarm one (swarm/kind.ts). */
export const tunnelled = (kind: Tunnelled, network: NetworkRecord, by: 'tether' | 'swarm'): KindFacts => {
  const bridge = onBridge(network, kind.bridge);
  return {
    ...bridge,
    label: kind.type,
    span: { name: kind.name, vni: kind.vni, by },
    tunnel: { device: kind.device, vni: kind.vni },
    broken: `${bridge.broken} or tunnel device ${kind.device}`,
  };
};

export const clusterKind = (kind: Extract<Tunnelled, { type: 'cluster' }>, network: NetworkRecord): KindFacts => ({
  ...tunnelled(kind, network, 'tether'),
  namesRoute: true,
});
