// Calls into a daemon as Docker 20.10 makes them, through fastify's inject: no
// Content-Type, the body as given, and the call sequences of docker network
// create and docker run.
import assert from 'node:assert/strict';
export class PluginClient {
  app;
  constructor(app) {
    this.app = app;
  }
  async call(method, body) {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
    const response = await this.app().inject({
      method: 'POST',
      url: `/${method}`,
      ...(payload !== undefined ? { payload } : {}),
    });
    return { status: response.statusCode, json: response.json() };
  }
  async ok(method, body) {
    const response = await this.call(method, body);
    assert.equal(response.status, 200, `${method}: ${JSON.stringify(response.json)}`);
    return response.json;
  }
  /** docker network create: the pool, its gateway, then the network. */
  async createNetwork(networkId, subnet, generic = {}, extra = {}) {
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
  async runContainer(networkId, poolId, endpointId) {
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
//# sourceMappingURL=plugin-client.js.map
