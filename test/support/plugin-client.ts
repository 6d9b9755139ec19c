// Calls into a daemon as Docker 20.10 makes them, through fastify's inject: no
// Content-Type, the body as given, and the call sequences of docker network
// create and docker run.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';

export interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

export class PluginClient {
  constructor(private readonly app: () => FastifyInstance) {}

  async call(method: string, body?: unknown): Promise<Answer> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
    const response = await this.app().inject({
      method: 'POST',
      url: `/${method}`,
      ...(payload !== undefined ? { payload } : {}),
    });
    return { status: response.statusCode, json: response.json() };
  }

  async ok(method: string, body?: unknown): Promise<Record<string, unknown>> {
    const response = await this.call(method, body);
    assert.equal(response.status, 200, `${method}: ${JSON.stringify(response.json)}`);
    return response.json;
  }

  /** docker network create: the pool, its gateway, then the network. */
  async createNetwork(
    networkId: string,
    subnet: string,
    generic: Record<string, string> = {},
    extra: Record<string, unknown> = {},
  ) {
    const pool = await this.ok('IpamDriver.RequestPool', {
      AddressSpace: 'local',
      Pool: subnet,
      SubPool: '',
      Options: {},
      V6: false,
    });
    const gateway = await this.ok('IpamDriver.RequestAddress', {
      PoolID: pool['PoolID'],
      Address: '',
      Options: { RequestAddressType: 'com.docker.network.gateway' },
    });
    const created = await this.call('NetworkDriver.CreateNetwork', {
      NetworkID: networkId,
      Options: { 'com.docker.network.generic': generic, 'com.docker.network.enable_ipv6': false, ...extra },
      IPv4Data: [{ AddressSpace: 'local', Pool: subnet, Gateway: gateway['Address'] }],
      IPv6Data: [],
    });
    return { poolId: String(pool['PoolID']), gateway: String(gateway['Address']), created };
  }

  /** docker run: an address, the endpoint, then Join. */
  async runContainer(networkId: string, poolId: string, endpointId: string) {
    const address = String(
      (await this.ok('IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} }))['Address'],
    );
    const created = await this.ok('NetworkDriver.CreateEndpoint', {
      NetworkID: networkId,
      EndpointID: endpointId,
      Interface: { Address: address, AddressIPv6: '', MacAddress: '' },
      Options: {},
    });
    const joined = await this.ok('NetworkDriver.Join', {
      NetworkID: networkId,
      EndpointID: endpointId,
      SandboxKey: '/var/run/docker/netns/x',
      Options: {},
    });
    return { address, created, joined };
  }
}
