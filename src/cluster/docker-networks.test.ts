// Following the cluster's networks into Docker, against a stand-in for Docker's API on a UNIX socket.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import pino from 'pino';
import { StandInDocker } from '../../test/support/stand-in-docker.js';
import { formatIp, formatPrefix, type IpAddress, type IpPrefix } from '../net/ip.js';
import { syncDockerNetworks } from './docker-networks.js';
import type { ClusterNetworkRecord } from './records.js';

let docker: StandInDocker;

beforeEach(async () => {
  docker = await StandInDocker.start();
  docker.answer = () => ({ status: 201, body: { Id: 'new' } });
});
afterEach(() => docker.close());

const web: ClusterNetworkRecord = {
  name: 'web',
  vni: 3,
  internal: false,
  ipv4: true,
  ipv6: true,
  options: { 'tether.cluster': 'web' },
  ipam: [
    { subnet: '10.1.0.0/24', range: '10.1.0.128/25', gateway: '10.1.0.1', aux: { router: '10.1.0.2' } },
    { subnet: 'fd00:1::/64', aux: {} },
  ],
};
const deps = (wanted: ClusterNetworkRecord[], local: { name: string; networkId?: string }[]) => ({
  wanted: async () => wanted,
  local: () => local,
  dockerSocket: docker.socket,
  driver: 'tether',
  auxPass: (subnets: readonly IpPrefix[], addresses: readonly IpAddress[]) => ({
    'tether.cluster-aux': `pass for ${addresses.map(formatIp)} in ${subnets.map(formatPrefix)}`,
  }),
  log: pino({ level: 'silent' }),
});

test("a cluster network missing here is created through Docker's API as the first host made it", async () => {
  await syncDockerNetworks(deps([web], []), new Map());
  assert.equal(docker.seen.length, 1);
  assert.equal(`${docker.seen[0]?.method} ${docker.seen[0]?.url}`, 'POST /networks/create');
  assert.deepEqual(JSON.parse(docker.seen[0]?.body ?? ''), {
    Name: 'web',
    CheckDuplicate: true,
    Driver: 'tether',
    Internal: false,
    EnableIPv4: true,
    EnableIPv6: true,
    Options: { 'tether.cluster': 'web' },
    IPAM: {
      Driver: 'tether',
      // The followers' Docker asks for the aux addresses again: a pass of this process's says they are the cluster's.
      Options: { 'tether.cluster-aux': 'pass for 10.1.0.2 in 10.1.0.0/24,fd00:1::/64' },
      Config: [
        {
          Subnet: '10.1.0.0/24',
          IPRange: '10.1.0.128/25',
          Gateway: '10.1.0.1',
          AuxiliaryAddresses: { router: '10.1.0.2' },
        },
        { Subnet: 'fd00:1::/64' },
      ],
    },
  });
});

test('present networks stay; one gone from the cluster is removed; one being created is not touched', async () => {
  await syncDockerNetworks(
    deps([web], [{ name: 'web', networkId: 'a1' }, { name: 'old', networkId: 'b2' }, { name: 'new' }]),
    new Map(),
  );
  assert.deepEqual(
    docker.seen.map((r) => `${r.method} ${r.url}`),
    ['DELETE /networks/b2'],
  );
});

test("Docker's refusal is kept per network, to be said once and retried next round", async () => {
  docker.answer = () => ({ status: 409, body: { message: 'network with name web already exists' } });
  const reported = new Map<string, string>();
  await syncDockerNetworks(deps([web], []), reported);
  assert.match(reported.get('web') ?? '', /409 .* already exists/);
  docker.answer = () => ({ status: 201, body: { Id: 'x' } });
  await syncDockerNetworks(deps([web], []), reported);
  assert.equal(reported.size, 0);
});
