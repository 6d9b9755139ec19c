// Which mode builds a network, by its kind: a bridge of tether's (with a
// tunnel device for cluster and swarm networks), or on a host interface the
// macvlan or bridged-uplink mode. Every part of the driver asks here.
import type { LinkPlane } from '../../dataplane/dataplane.js';
import type { NetworkRecord } from '../records.js';
import { BridgeMode, type BridgeModeConfig } from './bridge/bridge-mode.js';
import type { NetworkMode } from './mode.js';
import { BridgedUplinkMode } from './uplink/bridged-uplink-mode.js';
import { MacvlanMode } from './uplink/macvlan-mode.js';
import { UplinkLinks, type UplinkModeConfig } from './uplink/uplink-links.js';

export class NetworkModes {
  private readonly byKind: Readonly<Record<NetworkRecord['kind']['type'], NetworkMode>>;

  constructor(
    links: LinkPlane,
    config: BridgeModeConfig & UplinkModeConfig & { shimName: (networkId: string) => string },
  ) {
    const { tunnel, shimName, ...uplinkConfig } = config;
    const bridge = new BridgeMode(links, config);
    const uplink = new UplinkLinks(links, uplinkConfig);
    this.byKind = {
      bridge,
      cluster: bridge,
      swarm: bridge,
      macvlan: new MacvlanMode(links, uplink, shimName),
      'bridged-uplink': new BridgedUplinkMode(links, uplink, new BridgeMode(links, { ownerAlias: config.ownerAlias })),
    };
  }

  /** The network's mode; for an endpoint whose network is gone, the bridge mode's removal serves. */
  of(network: NetworkRecord | undefined): NetworkMode {
    return this.byKind[network?.kind.type ?? 'bridge'];
  }
}
