// An endpoint's life: its record, its interface (through the network mode) and,
// on a cluster network, its entry for the other hosts; then Join and Leave.
import { conflict, invalidOption, TetherError } from '../errors.js';
import { type Cidr, contains, formatCidr, formatIp, sameIp, subnetOf } from '../net/ip.js';
import type { CreateEndpointRequest, EndpointRef, JoinRequest, JoinResponse } from '../protocol/network.js';
import type { DriverContext } from './context.js';
import { parseEndpointOptions } from './endpoint-options.js';
import { kindOf } from './kinds/kind-of.js';
import { memberOf, publicationOf, withdrawalOf } from './members.js';
import { macFor, vethHostName, vethPeerName } from './naming.js';
import { hostPortOf } from './publishing.js';
import { addressesOf, type ContainerRecord, type EndpointRecord, type NetworkRecord } from './records.js';
import { runSteps } from './steps.js';

export type CreateEndpointReply = { Interface?: { MacAddress?: string } };

const sameAddress = (a: Cidr | undefined, b: Cidr | undefined) =>
  a === undefined || b === undefined ? a === b : sameIp(a.address, b.address) && a.length === b.length;

/** How long a container's name may wait to go to the cluster store with another write. */
const NAME_WAIT_MS = 200;

export class Endpoints {
  constructor(
    private readonly ctx: DriverContext,
    private readonly prefix: string,
  ) {}

  /** The record a CreateEndpoint asks for; refuses options and addresses the network cannot take. */
  recordFor(request: CreateEndpointRequest): EndpointRecord {
    const network = this.ctx.state.network(request.networkId);
    const { labels } = parseEndpointOptions(request.options);
    for (const cidr of [request.address, request.addressIpv6]) {
      if (cidr && !network.subnets.some((s) => contains(s, cidr.address))) {
        throw invalidOption(
          `address ${formatIp(cidr.address)} is not in any subnet of network ${network.id.slice(0, 12)}`,
        );
      }
    }
    return {
      id: request.endpointId,
      networkId: network.id,
      // A veth's host end stays on the bridge; a macvlan is one interface, the container's.
      ...(kindOf(network).bridge === undefined ? {} : { hostName: vethHostName(this.prefix, request.endpointId) }),
      peerName: vethPeerName(this.prefix, request.endpointId),
      mac: request.mac ?? macFor((request.address ?? request.addressIpv6)?.address),
      createdAt: Date.now(),
      ports: [],
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(request.address ? { address: request.address } : {}),
      ...(request.addressIpv6 ? { addressIpv6: request.addressIpv6 } : {}),
    };
  }

  async create(record: EndpointRecord, macGiven: boolean): Promise<CreateEndpointReply> {
    const { state, modes, log } = this.ctx;
    const network = state.network(record.networkId);
    const mode = modes.of(network);
    const existing = state.endpoints.get(record.id);
    if (existing) {
      // A retry after a lost reply or a failure: same endpoint, same answer, with its interface made sure of.
      if (!sameAddress(existing.address, record.address) || !sameAddress(existing.addressIpv6, record.addressIpv6)) {
        throw conflict(`endpoint ${record.id.slice(0, 12)} already exists with other addresses`);
      }
      if (existing.sandboxKey === undefined) await mode.repairEndpoint(network, existing);
      const name = kindOf(network).span?.name;
      if (name !== undefined) await this.ctx.cluster?.publish(memberOf(name, existing));
      return macGiven ? {} : { Interface: { MacAddress: existing.mac } };
    }
    await runSteps(
      [
        {
          // The other hosts learn of it before the host's own record is written (in one transaction with
          // it on one host alone), and its addresses' writes go with that. Its container is not running
          // before Join, so traffic they send meanwhile is lost to no one.
          name: 'record the endpoint and publish it to the cluster',
          do: () => this.record(network, record),
          undo: () =>
            state.persist(
              { type: 'deleteEndpoint', id: record.id },
              { operations: withdrawalOf(this.ctx.cluster, network, record.id) },
            ),
        },
        ...mode.buildEndpoint(network, record),
      ],
      log,
      { endpoint: record.id },
    );
    // Nothing for the policy table yet: until its container's labels are read, it is in no set.
    log.debug({ endpoint: record.id, network: network.id, veth: record.hostName }, 'endpoint created');
    return macGiven ? {} : { Interface: { MacAddress: record.mac } };
  }

  private async record(network: NetworkRecord, record: EndpointRecord): Promise<void> {
    const { state, claims } = this.ctx;
    const claim = claims?.claimFor(addressesOf(record).map((cidr) => cidr.address));
    const operations = [...publicationOf(this.ctx.cluster, network, record), ...(claim?.operations ?? [])];
    try {
      await state.persist({ type: 'putEndpoint', endpoint: record }, { operations, guards: claim?.guards ?? [] });
      claim?.settle('written');
    } catch (error) {
      claim?.settle(error instanceof TetherError && error.code === 'CONFLICT' ? 'refused' : 'unknown');
      throw error;
    }
  }

  /** Removes the endpoint: its cluster entry, its record, its ports, then its interface. */
  async remove(endpoint: EndpointRecord): Promise<void> {
    const { state, modes, ports, firewall, log } = this.ctx;
    const network = state.networks.get(endpoint.networkId);
    const mode = modes.of(network);
    // Its address leaves every policy set before its record goes: a table that cannot be changed now
    // fails the call with the record kept, and no later holder of the address inherits its permissions.
    if (network?.policy) await firewall.syncPolicy(endpoint.id);
    await state.persist(
      { type: 'deleteEndpoint', id: endpoint.id },
      { operations: withdrawalOf(this.ctx.cluster, network, endpoint.id) },
    );
    for (const port of endpoint.ports) await ports.release(hostPortOf(port));
    await mode.removeEndpoint(endpoint);
    if (endpoint.ports.length > 0) await firewall.sync();
    log.debug({ endpoint: endpoint.id, veth: endpoint.hostName }, 'endpoint deleted');
  }

  operInfo(request: EndpointRef): { Value: Record<string, unknown> } {
    const endpoint = this.ctx.state.endpoint(request);
    return {
      Value: {
        HostInterface: endpoint.hostName,
        MacAddress: endpoint.mac,
        ...(endpoint.address ? { Address: formatCidr(endpoint.address) } : {}),
        ...(endpoint.addressIpv6 ? { AddressIPv6: formatCidr(endpoint.addressIpv6) } : {}),
      },
    };
  }

  async join(request: JoinRequest): Promise<JoinResponse> {
    const { state } = this.ctx;
    const endpoint = state.endpoint(request);
    const network = state.network(request.networkId);
    await state.persist({
      type: 'putEndpoint',
      endpoint: { ...endpoint, sandboxKey: request.sandboxKey, joinedAt: Date.now() },
    });
    if (containerWanted(network) && !endpoint.container) this.ctx.containers?.joined();
    const response: JoinResponse = { InterfaceName: { SrcName: endpoint.peerName, DstPrefix: 'eth' } };
    if (network.internal) return this.withNamesRoute(response, network, request);
    const gateway = gatewayFor(network, endpoint.address);
    const gateway6 = gatewayFor(network, endpoint.addressIpv6);
    if (gateway) response.Gateway = gateway;
    if (gateway6) response.GatewayIPv6 = gateway6;
    return response;
  }

  /**
   * A container on an internal cluster network has no default route: it reaches the names service over
   * the network's own link. Docker adds each route as given, and a second one to the same address
   * would fail the Join, so a container gets it from its first such network only.
   */
  private withNamesRoute(response: JoinResponse, network: NetworkRecord, request: JoinRequest): JoinResponse {
    const { namesAddress, state } = this.ctx;
    const routes = (n: NetworkRecord | undefined) => n?.internal && kindOf(n).namesRoute;
    if (!namesAddress || !routes(network)) return response;
    const routed = [...state.endpoints.values()].some(
      (e) =>
        e.id !== request.endpointId && e.sandboxKey === request.sandboxKey && routes(state.networks.get(e.networkId)),
    );
    return routed ? response : { ...response, StaticRoutes: [{ Destination: `${namesAddress}/32`, RouteType: 1 }] };
  }

  async leave(request: EndpointRef): Promise<void> {
    const known = this.ctx.state.endpoints.get(request.endpointId);
    if (!known) return; // Docker only logs Leave errors; a repeated Leave has nothing left to do.
    const { sandboxKey: _left, joinedAt: _at, ...endpoint } = known;
    await this.ctx.state.persist({ type: 'putEndpoint', endpoint: { ...endpoint, leftAt: Date.now() } });
  }

  /** Joined endpoints of deny and cluster networks whose container is not read yet. */
  awaitingContainer(): EndpointRecord[] {
    const { state } = this.ctx;
    return [...state.endpoints.values()].filter((e) => {
      const network = state.networks.get(e.networkId);
      return e.sandboxKey !== undefined && !e.container && network !== undefined && containerWanted(network);
    });
  }

  /** Records what Docker says of the endpoint's container, then tells the cluster and the policy table. */
  async recordContainer(id: string, container: ContainerRecord): Promise<void> {
    const { state, firewall } = this.ctx;
    const endpoint = state.endpoints.get(id);
    if (!endpoint) return;
    const updated = { ...endpoint, container };
    const network = state.network(endpoint.networkId);
    // The other hosts learn the name from the member record. It may wait a moment to share the
    // cluster's next transaction (another container's start); labels that policies select by may not.
    const waitMs = network.policy ? 0 : NAME_WAIT_MS;
    const operations = publicationOf(this.ctx.cluster, network, updated);
    await state.persist({ type: 'putEndpoint', endpoint: updated }, { operations, waitMs });
    await firewall.syncPolicy();
  }
}

/**
 * Whether Docker is asked about a joined endpoint's container: policies select by its labels, and the
 * other hosts of a cluster network find it by its name (swarm has names of its own).
 */
const containerWanted = (network: NetworkRecord) =>
  network.policy !== undefined || kindOf(network).span?.by === 'tether';

/** The gateway of the subnet holding the address, as the plain IP Join must return. */
function gatewayFor(network: NetworkRecord, address: Cidr | undefined): string | undefined {
  if (!address) return undefined;
  const gateway = network.gateways.find((g) => contains(subnetOf(g), address.address));
  return gateway && formatIp(gateway.address);
}
