// A network's life on this host: its record, its kernel objects (through the
// network mode) and its firewall rules, created in that order and removed in
// that order too, so that what a crash leaves is a record reconcile finishes
// or a kernel object it removes.
import { conflict, invalidOption, TetherError } from '../errors.js';
import { type Cidr, contains } from '../net/ip.js';
import type { CreateNetworkRequest } from '../protocol/network.js';
import type { DriverContext } from './context.js';
import type { Endpoints } from './endpoints.js';
import { kindOf } from './kinds/kind-of.js';
import type { Uplink } from './kinds/uplink/allowed.js';
import { uplinkKindFor, withShim } from './kinds/uplink/kind.js';
import { defaultBridgeName } from './naming.js';
import type { NetworkOptions } from './options.js';
import { type NetworkRecord, networkText } from './records.js';
import { runSteps } from './steps.js';

/** The record a CreateNetwork asks for, before any cluster settings. */
export function networkRecordFor(
  request: CreateNetworkRequest,
  options: NetworkOptions,
  settings: { prefix: string; mtu: number; uplinks: readonly Uplink[] },
): NetworkRecord {
  if (options.ipv4 === false && request.ipv4.length > 0 && request.enableIpv4 === undefined) {
    // An engine before 28 knows no IPv6-only networks: it allocated IPv4 all the same.
    throw invalidOption('IPv6-only networks (com.docker.network.enable_ipv4=false) need Docker 28 or newer');
  }
  const data = [...request.ipv4, ...request.ipv6];
  const bridge = options.bridge ?? defaultBridgeName(settings.prefix, request.networkId);
  return {
    id: request.networkId,
    mtu: settings.mtu,
    internal: request.internal,
    nat: !request.internal && (options.nat ?? true),
    gateways: data.flatMap((d) => (d.gateway ? [d.gateway] : [])),
    auxAddresses: data.flatMap((d) => Object.values(d.auxAddresses)),
    subnets: data.map((d) => d.pool),
    ...(options.policy ? { policy: options.policy } : {}),
    kind: options.uplink
      ? uplinkKindFor(request, options.uplink, settings.uplinks, bridge)
      : { type: 'bridge', bridge },
  };
}

/** What of the network asked for differs from the one recorded, in words; empty: the same network. */
function differences(recorded: NetworkRecord, asked: NetworkRecord): string[] {
  // Which host shim addresses the recorded one holds is no setting.
  const text = (n: NetworkRecord): Record<string, unknown> => networkText(withShim(n, []));
  const [was, now] = [text(recorded), text(asked)];
  return [...new Set([...Object.keys(was), ...Object.keys(now)])]
    .filter((key) => JSON.stringify(was[key]) !== JSON.stringify(now[key]))
    .map((key) => `${key} ${JSON.stringify(was[key]) ?? 'none'}, asked ${JSON.stringify(now[key]) ?? 'none'}`);
}

export class Networks {
  constructor(
    private readonly ctx: DriverContext,
    private readonly endpoints: Endpoints,
  ) {}

  async create(wanted: NetworkRecord): Promise<void> {
    const { state, modes, firewall, log } = this.ctx;
    const mode = modes.of(wanted);
    const existing = state.networks.get(wanted.id);
    if (existing) {
      const differ = differences(existing, wanted);
      if (differ.length > 0) {
        throw conflict(`network ${wanted.id} already exists with other settings: ${differ.join('; ')}`);
      }
      // A retry after a failure that could not undo everything: finish the kernel's part.
      await mode.repairNetwork(existing);
      return firewall.sync();
    }
    const { bridge, uplink } = kindOf(wanted);
    const others = [...state.networks.values()].map((n) => ({ id: n.id, ...kindOf(n) }));
    const user = bridge !== undefined && others.find((n) => n.bridge === bridge);
    if (user) throw conflict(`bridge ${bridge} is already used by network ${user.id.slice(0, 12)}`);
    const sharer = uplink && others.find((n) => n.uplink?.link === uplink.link);
    if (sharer) throw conflict(`interface ${uplink.link} is already used by network ${sharer.id.slice(0, 12)}`);
    await mode.checkNetwork(wanted);
    if (wanted.policy === 'deny') {
      await this.ctx.policy?.prepare().catch((error: Error) => {
        throw new TetherError('KERNEL', `-o tether.policy=deny cannot be enforced here: ${error.message}`);
      });
    }
    // The shim's addresses go into the record, so they are taken before the steps, and given back
    // after the steps' undos when one fails.
    const record = await this.takeShim(wanted);
    try {
      await runSteps(
        [
          {
            name: 'record the network',
            do: () => state.persist({ type: 'createNetwork', network: record }),
            undo: async () => {
              await state.persist({ type: 'deleteNetwork', id: record.id });
              await firewall.sync();
            },
          },
          ...mode.buildNetwork(record),
          { name: 'sync the firewall', do: () => firewall.sync() },
        ],
        log,
        { network: record.id },
      );
    } catch (error) {
      await this.releaseShim(record).catch((e: unknown) =>
        log.warn({ err: e }, "giving back the shim's address failed"),
      );
      throw error;
    }
    log.info(
      { network: record.id, kind: kindOf(record).label, subnets: networkText(record).subnets },
      'network created',
    );
  }

  async delete(network: NetworkRecord): Promise<void> {
    const { state, modes, firewall, cluster, log } = this.ctx;
    for (const endpoint of state.endpointsOf(network.id)) await this.endpoints.remove(endpoint);
    await state.persist({ type: 'deleteNetwork', id: network.id });
    await modes.of(network).removeNetwork(network);
    await this.releaseShim(network);
    await firewall.sync();
    // Removed here, removed from the cluster: every other host removes it from its Docker. A swarm
    // network stays until swarm frees it.
    const { span } = kindOf(network);
    if (span?.by === 'tether') await cluster?.dropNetwork(span.name);
    log.info({ network: network.id }, 'network deleted');
  }

  /** The record with the host shim's addresses, one per subnet, taken from tether's IPAM. */
  private async takeShim(network: NetworkRecord): Promise<NetworkRecord> {
    if (!kindOf(network).uplink?.shim) return network;
    const { hostAddresses } = this.ctx;
    if (!hostAddresses) throw invalidOption('tether.host-shim needs tether as the IPAM driver too');
    const shim: Cidr[] = [];
    try {
      for (const subnet of network.subnets) shim.push(await hostAddresses.take(subnet));
    } catch (error) {
      await this.releaseShim(withShim(network, shim));
      throw error;
    }
    return withShim(network, shim);
  }

  private async releaseShim(network: NetworkRecord): Promise<void> {
    for (const cidr of kindOf(network).uplink?.shim ?? []) {
      const subnet = network.subnets.find((s) => contains(s, cidr.address));
      if (subnet) await this.ctx.hostAddresses?.release(subnet, cidr.address);
    }
  }
}
