// route_localnet on tether's bridges. A port published on the host's loopback
// (127.0.0.1, or every address) is DNATed from 127.x into a container, which
// the kernel routes only where the bridge has route_localnet=1. The same setting
// lets a container (or, on a bridged uplink, the LAN) reach services listening
// on 127.0.0.1 alone (Kubernetes' CVE-2020-8558), so it is on only where such a
// port needs it, never on a bridge carrying a LAN, and the raw-table guard
// (iptables.ts) drops 127.0.0.0/8 arriving on any interface but lo.
import { writeFile } from 'node:fs/promises';
import { contains, type IpPrefix, parsePrefix } from '../net/ip.js';
import type { FirewallNetwork } from './dataplane.js';

const LOOPBACK = parsePrefix('127.0.0.0/8') as IpPrefix;

/** Whether the network's published ports are reached from the host's loopback addresses. */
export function needsLocalnet(network: FirewallNetwork): boolean {
  if (network.internal || network.lan) return false;
  return network.ports.some(
    (p) => p.containerIp.version === 4 && (p.hostIp === undefined || contains(LOOPBACK, p.hostIp)),
  );
}

/** Sets each bridge's route_localnet to what its ports need, turning it off where they no longer do. */
export async function syncLocalnet(networks: readonly FirewallNetwork[]): Promise<void> {
  await Promise.all(
    networks.map((network) =>
      // Where /proc/sys is read-only (a managed plugin), `tether doctor` says what is missing.
      writeFile(`/proc/sys/net/ipv4/conf/${network.bridge}/route_localnet`, needsLocalnet(network) ? '1' : '0').catch(
        () => undefined,
      ),
    ),
  );
}
