// The aux addresses of a network that spans the cluster. The first host's
// Docker takes them; when tether creates the network on another host
// (cluster/docker-networks.ts), that Docker asks for them again, and names them
// in this pool option so that it gets the addresses the cluster already holds
// instead of "already in use". No other request can name them so.
import { invalidOption } from '../errors.js';
import { contains, formatIp, type IpAddress, parseIp } from '../net/ip.js';
import type { PoolRequest } from '../protocol/ipam.js';

export const CLUSTER_AUX = 'tether.cluster-aux';

export class ClusterAux {
  /** Per pool ID: the addresses its network shares with the cluster. */
  private readonly shared = new Map<string, ReadonlySet<string>>();

  /** Notes the addresses a pool request shares (those of the option inside its subnet). */
  noteRequest(poolId: string, request: PoolRequest): void {
    const text = request.options[CLUSTER_AUX];
    if (text === undefined) return;
    const addresses = text.split(',').map((item) => {
      const address = parseIp(item.trim());
      if (!address) throw invalidOption(`IPAM option ${CLUSTER_AUX}: "${item}" is not an IP address`);
      return address;
    });
    const inPool = addresses.filter((a) => !request.pool || contains(request.pool, a));
    this.shared.set(poolId, new Set(inPool.map(formatIp)));
  }

  isShared(poolId: string, address: IpAddress): boolean {
    return this.shared.get(poolId)?.has(formatIp(address)) ?? false;
  }
}

/** The pool option that names a cluster network's aux addresses, for the hosts that follow its creator. */
export const clusterAuxOption = (aux: readonly string[]): Record<string, string> =>
  aux.length ? { [CLUSTER_AUX]: aux.join(',') } : {};
