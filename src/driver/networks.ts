// A network's life on this host: its record, its kernel objects (through the
// network mode) and its firewall rules, created in that order and removed in
// that order too, so that what a crash leaves is a record reconcile finishes
// or a kernel object it removes.
import { conflict, invalidOption } from '../errors.js';
import type { CreateNetworkRequest } from '../protocol/network.js';
import type { DriverContext } from './context.js';
import type { Endpoints } from './endpoints.js';
import { defaultBridgeName } from './naming.js';
import type { NetworkOptions } from './options.js';
import { type NetworkRecord, networkText } from './records.js';
import { runSteps } from './steps.js';

/** The record a CreateNetwork asks for, before any cluster settings. */
export function networkRecordFor(
  request: CreateNetworkRequest,
  options: NetworkOptions,
  settings: { prefix: string; mtu: number },
): NetworkRecord {
  if (options.ipv4 === false && request.ipv4.length > 0 && request.enableIpv4 === undefined) {
    // An engine before 28 knows no IPv6-only networks: it allocated IPv4 all the same.
    throw invalidOption('IPv6-only networks (com.docker.network.enable_ipv4=false) need Docker 28 or newer');
  }
  const data = [...request.ipv4, ...request.ipv6];
  return {
    id: request.networkId,
    bridge: options.bridge ?? defaultBridgeName(settings.prefix, request.networkId),
    mtu: settings.mtu,
    internal: request.internal,
    nat: !request.internal && (options.nat ?? true),
    gateways: data.flatMap((d) => (d.gateway ? [d.gateway] : [])),
    auxAddresses: data.flatMap((d) => Object.values(d.auxAddresses)),
    subnets: data.map((d) => d.pool),
    ...(options.policy ? { policy: options.policy } : {}),
  };
}

const sameRecord = (a: NetworkRecord, b: NetworkRecord) =>
  JSON.stringify(networkText(a)) === JSON.stringify(networkText(b));

export class Networks {
  constructor(
    private readonly ctx: DriverContext,
    private readonly endpoints: Endpoints,
  ) {}

  async create(record: NetworkRecord): Promise<void> {
    const { state, mode, firewall, log } = this.ctx;
    const existing = state.networks.get(record.id);
    if (existing) {
      if (!sameRecord(existing, record)) throw conflict(`network ${record.id} already exists with other settings`);
      // A retry after a failure that could not undo everything: finish the kernel's part.
      await mode.repairNetwork(existing);
      return firewall.sync();
    }
    const user = [...state.networks.values()].find((n) => n.bridge === record.bridge);
    if (user) throw conflict(`bridge ${record.bridge} is already used by network ${user.id.slice(0, 12)}`);
    await mode.checkNetwork(record);
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
    log.info(
      { network: record.id, bridge: record.bridge, subnets: networkText(record).subnets, cluster: record.cluster },
      'network created',
    );
  }

  async delete(network: NetworkRecord): Promise<void> {
    const { state, mode, firewall, cluster, log } = this.ctx;
    for (const endpoint of state.endpointsOf(network.id)) await this.endpoints.remove(endpoint);
    await state.persist({ type: 'deleteNetwork', id: network.id });
    await mode.removeNetwork(network);
    await firewall.sync();
    // Removed here, removed from the cluster: every other host removes it from its Docker. A swarm
    // network stays until swarm frees it.
    if (network.cluster && !network.cluster.swarm) await cluster?.dropNetwork(network.cluster.name);
    log.info({ network: network.id, bridge: network.bridge }, 'network deleted');
  }
}
