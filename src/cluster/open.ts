// Cluster mode's start: this host's tunnel address and the underlay's MTU,
// the tunnel (VXLAN) from there, then the Cluster itself (not yet registered;
// see Cluster.start).
import { lookup } from 'node:dns/promises';
import type { Config } from '../config.js';
import type { LinkPlane } from '../dataplane/dataplane.js';
import { VxlanTunnel } from '../tunnel/vxlan.js';
import { Cluster, type ClusterDeps } from './cluster.js';
import type { ClusterSettings } from './settings.js';

export async function openCluster(
  config: Config,
  deps: Omit<ClusterDeps, 'tunnel'> & { readonly links: LinkPlane },
  starts: Pick<ClusterSettings, 'identity' | 'nonce' | 'previousNonce'>,
): Promise<Cluster> {
  const { advertiseAddress } = config.cluster;
  let underlay: { source: string; mtu: number };
  if (advertiseAddress) {
    const link = (await deps.links.listLinks()).find((l) =>
      l.addresses.some((a) => a.startsWith(`${advertiseAddress}/`)),
    );
    if (!link) throw new Error(`--advertise-address ${advertiseAddress} is not an address of this host`);
    underlay = { source: advertiseAddress, mtu: link.mtu };
  } else {
    // The address the host reaches etcd from is the one the other hosts can reach it at.
    const etcd =
      config.store.kind === 'etcd' ? new URL(config.store.hosts[0] ?? '').hostname.replace(/^\[|\]$/g, '') : '';
    underlay = await deps.links.routeTowards((await lookup(etcd)).address);
  }
  const { hostTtlSeconds, deadHostGraceMs, vxlanPort } = config.cluster;
  deps.log.info({ host: config.hostName, vtep: underlay.source, underlayMtu: underlay.mtu }, 'cluster mode');
  const { links, ...rest } = deps;
  const tunnel = new VxlanTunnel(links, { local: underlay.source, port: vxlanPort });
  return new Cluster(
    { ...rest, tunnel },
    {
      host: config.hostName,
      ...starts,
      vtep: underlay.source,
      underlayMtu: underlay.mtu,
      hostTtlSeconds,
      deadHostGraceMs,
    },
  );
}
