// Which mode builds a network: the bridge mode, or on a host interface the
// macvlan or bridged-uplink mode. Every part of the driver asks here.
import type { LinkPlane } from '../../dataplane/dataplane.js';
import type { NetworkRecord } from '../records.js';
import { BridgeMode, type BridgeModeConfig } from './bridge.js';
import { BridgedUplinkMode } from './bridged-uplink.js';
import { MacvlanMode } from './macvlan.js';
import type { NetworkMode } from './mode.js';
import { UplinkLinks, type UplinkModeConfig } from './uplink.js';

export class NetworkModes {
  private readonly bridge: NetworkMode;
  private readonly macvlan: NetworkMode;
  private readonly bridgedUplink: NetworkMode;

  constructor(
    links: LinkPlane,
    config: BridgeModeConfig & Omit<UplinkModeConfig, 'vtep'> & { shimName: (networkId: string) => string },
  ) {
    const { tunnel, shimName, ...rest } = config;
    this.bridge = new BridgeMode(links, config);
    const uplink = new UplinkLinks(links, { ...rest, ...(tunnel ? { vtep: tunnel.vtep } : {}) });
    this.macvlan = new MacvlanMode(links, uplink, shimName);
    this.bridgedUplink = new BridgedUplinkMode(links, uplink, new BridgeMode(links, { ownerAlias: config.ownerAlias }));
  }

  /** The network's mode; for an endpoint whose network is gone, the bridge mode's removal serves. */
  of(network: NetworkRecord | undefined): NetworkMode {
    if (network?.uplink?.mode === 'macvlan') return this.macvlan;
    return network?.uplink ? this.bridgedUplink : this.bridge;
  }
}
