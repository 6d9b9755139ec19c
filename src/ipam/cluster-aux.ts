// The aux addresses of a network that spans the cluster. The first host's
// Docker takes them; when tether creates the network on another host
// (cluster/docker-networks.ts), that Docker asks for them again and would get
// "already in use". So tether's own create names them by a pass: a random
// token, issued in this process just before the call, good for a minute and
// for each of the network's subnets once. A user's `--ipam-opt` cannot know a
// live pass, so it cannot make tether hand out an address another holds.
import { randomBytes } from 'node:crypto';
import { invalidOption } from '../errors.js';
import { contains, formatIp, formatPrefix, type IpAddress, type IpPrefix, parseIp, parsePrefix } from '../net/ip.js';
import type { PoolRequest } from '../protocol/ipam.js';

export const CLUSTER_AUX = 'tether.cluster-aux';

/** Long enough for Docker to create the network and ask for its pools; a pass is of no use after. */
const PASS_MS = 60_000;

interface Pass {
  readonly addresses: readonly IpAddress[];
  /** The subnets the pass is still good for (each pool request uses one). */
  readonly subnets: Set<string>;
  readonly until: number;
}

export class ClusterAux {
  private readonly passes = new Map<string, Pass>();
  /** Per pool ID: the addresses its network shares with the cluster. */
  private readonly shared = new Map<string, ReadonlySet<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A pass for tether's own create of a cluster network: the option to give Docker. */
  issue(subnets: readonly IpPrefix[], addresses: readonly IpAddress[]): Record<string, string> {
    if (addresses.length === 0) return {};
    this.expire();
    const token = randomBytes(16).toString('hex');
    this.passes.set(token, { addresses, subnets: new Set(subnets.map(formatPrefix)), until: this.now() + PASS_MS });
    return { [CLUSTER_AUX]: token };
  }

  /**
   * The addresses a pool request shares, through a live pass for its subnet (used up here); throws for
   * any other value of the option. Called before the pool is held, so that a refusal holds nothing.
   */
  claim(request: PoolRequest): ReadonlySet<string> | undefined {
    const token = request.options[CLUSTER_AUX];
    if (token === undefined) return undefined;
    this.expire();
    const pass = this.passes.get(token);
    const subnet = request.pool && formatPrefix(request.pool);
    if (!pass || !subnet || !pass.subnets.delete(subnet)) {
      throw invalidOption(`IPAM option ${CLUSTER_AUX} is tether's own, for the networks it creates across the cluster`);
    }
    if (pass.subnets.size === 0) this.passes.delete(token);
    return new Set(pass.addresses.filter((a) => request.pool && contains(request.pool, a)).map(formatIp));
  }

  /** The pool now held shares these addresses (from claim). */
  share(poolId: string, addresses: ReadonlySet<string>): void {
    this.shared.set(poolId, addresses);
  }

  isShared(poolId: string, address: IpAddress): boolean {
    return this.shared.get(poolId)?.has(formatIp(address)) ?? false;
  }

  /** The pool is gone: a later pool of the same ID shares nothing unless its own pass says so. */
  forget(poolId: string): void {
    this.shared.delete(poolId);
  }

  private expire(): void {
    const now = this.now();
    for (const [token, pass] of this.passes) if (pass.until <= now) this.passes.delete(token);
  }
}

/** The subnets and aux addresses a stored cluster network names (the record was validated when stored). */
export const auxOfNetwork = (ipam: readonly { subnet: string; aux: Readonly<Record<string, string>> }[]) => ({
  subnets: ipam.flatMap((i) => parsePrefix(i.subnet) ?? []),
  addresses: ipam.flatMap((i) => Object.values(i.aux).flatMap((a) => parseIp(a) ?? [])),
});
