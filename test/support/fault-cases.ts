// The calls the store-fault test makes, each from a fresh daemon brought to
// where the call is made (see src/store-faults.test.ts).
import type { Rig } from './daemon-rig.js';
import { EP, NET } from './daemon-rig.js';
import type { Answer } from './plugin-client.js';

export interface Case {
  readonly name: string;
  /** Brings a fresh rig to where the call is made; returns what the call needs. */
  readonly prepare: (rig: Rig) => Promise<Record<string, string>>;
  readonly act: (rig: Rig, given: Record<string, string>) => Promise<Answer>;
  /** After the retry, the full audit (addresses against their users) is clean too. */
  readonly settled?: boolean;
  /** What a failed attempt may leave for the retry to finish: the drift the call itself is there to repair. */
  readonly leaves?: RegExp;
  /** --orphan-grace for this case, when the retry's work includes the sweep of orphaned addresses. */
  readonly orphanGraceMs?: number;
}

/** A call of tether's own (not over the protocol), answered as the transport would. */
const internal = (work: () => Promise<unknown>): Promise<Answer> =>
  work().then(
    () => ({ status: 200, json: {} }),
    (error: Error) => ({ status: 500, json: { Err: error.message } }),
  );

const started = async (rig: Rig) => {
  await rig.start();
  return {};
};
const withNetwork = async (rig: Rig) => {
  await rig.start();
  const { poolId, gateway } = await rig.client.createNetwork(NET, '10.9.0.0/24');
  return { poolId, gateway };
};
const withContainer = async (rig: Rig) => {
  const given = await withNetwork(rig);
  const { address } = await rig.client.runContainer(NET, given.poolId, EP);
  rig.links.moveToContainer(`tth${EP.slice(0, 11)}p`);
  return { ...given, address };
};
/** The container stopped while nobody told tether: its veth pair went with its namespace. */
const containerGone = async (rig: Rig) => {
  const given = await withContainer(rig);
  await rig.links.deleteLink(`tth${EP.slice(0, 11)}`);
  return given;
};
const endpoint = { NetworkID: NET, EndpointID: EP };
const published = {
  ...endpoint,
  Options: { 'com.docker.network.portmap': [{ Proto: 6, Port: 80, HostIP: '', HostPort: 8080 }] },
};

export const cases: Case[] = [
  {
    name: 'RequestPool',
    prepare: started,
    act: (rig) =>
      rig.client.call('IpamDriver.RequestPool', { AddressSpace: 'local', Pool: '10.9.0.0/24', Options: {} }),
  },
  {
    name: 'RequestAddress (the gateway)',
    prepare: async (rig) => {
      await rig.start();
      const pool = await rig.client.ok('IpamDriver.RequestPool', { AddressSpace: 'local', Pool: '10.9.0.0/24' });
      return { poolId: String(pool['PoolID']) };
    },
    act: (rig, { poolId }) =>
      rig.client.call('IpamDriver.RequestAddress', {
        PoolID: poolId,
        Options: { RequestAddressType: 'com.docker.network.gateway' },
      }),
  },
  {
    name: 'CreateNetwork',
    prepare: async (rig) => {
      await rig.start();
      const pool = await rig.client.ok('IpamDriver.RequestPool', { AddressSpace: 'local', Pool: '10.9.0.0/24' });
      const gateway = await rig.client.ok('IpamDriver.RequestAddress', { PoolID: pool['PoolID'], Address: '10.9.0.1' });
      return { gateway: String(gateway['Address']) };
    },
    act: (rig, { gateway }) =>
      rig.client.call('NetworkDriver.CreateNetwork', {
        NetworkID: NET,
        Options: { 'com.docker.network.generic': {} },
        IPv4Data: [{ AddressSpace: 'local', Pool: '10.9.0.0/24', Gateway: gateway }],
      }),
    settled: true,
  },
  {
    name: 'RequestAddress',
    prepare: withNetwork,
    act: (rig, { poolId }) => rig.client.call('IpamDriver.RequestAddress', { PoolID: poolId, Address: '' }),
  },
  {
    name: 'CreateEndpoint',
    prepare: async (rig) => {
      const given = await withNetwork(rig);
      const address = await rig.client.ok('IpamDriver.RequestAddress', { PoolID: given.poolId });
      return { ...given, address: String(address['Address']) };
    },
    act: (rig, { address }) =>
      rig.client.call('NetworkDriver.CreateEndpoint', { ...endpoint, Interface: { Address: address }, Options: {} }),
    settled: true,
  },
  {
    name: 'Join',
    prepare: async (rig) => {
      const given = await withNetwork(rig);
      const address = await rig.client.ok('IpamDriver.RequestAddress', { PoolID: given.poolId });
      await rig.client.ok('NetworkDriver.CreateEndpoint', { ...endpoint, Interface: { Address: address['Address'] } });
      return given;
    },
    act: (rig) => rig.client.call('NetworkDriver.Join', { ...endpoint, SandboxKey: '/var/run/docker/netns/x' }),
    settled: true,
  },
  {
    name: 'ProgramExternalConnectivity',
    prepare: withContainer,
    act: (rig) => rig.client.call('NetworkDriver.ProgramExternalConnectivity', published),
    settled: true,
  },
  {
    name: 'RevokeExternalConnectivity',
    prepare: async (rig) => {
      const given = await withContainer(rig);
      await rig.client.ok('NetworkDriver.ProgramExternalConnectivity', published);
      return given;
    },
    act: (rig) => rig.client.call('NetworkDriver.RevokeExternalConnectivity', endpoint),
    settled: true,
  },
  {
    name: 'Leave',
    prepare: withContainer,
    act: (rig) => rig.client.call('NetworkDriver.Leave', endpoint),
    settled: true,
  },
  {
    name: 'DeleteEndpoint (with a port still published)',
    prepare: async (rig) => {
      const given = await withContainer(rig);
      await rig.client.ok('NetworkDriver.ProgramExternalConnectivity', published);
      await rig.client.ok('NetworkDriver.Leave', endpoint);
      return given;
    },
    act: (rig) => rig.client.call('NetworkDriver.DeleteEndpoint', endpoint),
  },
  {
    name: 'ReleaseAddress',
    prepare: async (rig) => {
      const given = await withContainer(rig);
      await rig.client.ok('NetworkDriver.Leave', endpoint);
      await rig.client.ok('NetworkDriver.DeleteEndpoint', endpoint);
      return given;
    },
    act: (rig, { poolId, address }) =>
      rig.client.call('IpamDriver.ReleaseAddress', { PoolID: poolId, Address: address?.split('/')[0] }),
    settled: true,
  },
  {
    name: 'DeleteNetwork',
    prepare: withNetwork,
    act: (rig) => rig.client.call('NetworkDriver.DeleteNetwork', { NetworkID: NET }),
  },
  {
    name: 'ReleasePool',
    prepare: async (rig) => {
      const given = await withNetwork(rig);
      await rig.client.ok('NetworkDriver.DeleteNetwork', { NetworkID: NET });
      await rig.client.ok('IpamDriver.ReleaseAddress', { PoolID: given.poolId, Address: '10.9.0.1' });
      return given;
    },
    act: (rig, { poolId }) => rig.client.call('IpamDriver.ReleasePool', { PoolID: poolId }),
    settled: true,
  },
  {
    name: 'the collector, freeing an endpoint whose container is gone',
    prepare: containerGone,
    act: (rig) => internal(() => rig.running().driver.freeGoneEndpoints()),
    settled: true,
    leaves: /has no container any more/,
  },
  {
    name: 'the reconcile at start, after a reboot took the bridge and a container went',
    prepare: async (rig) => {
      const given = await containerGone(rig);
      await rig.stop();
      await rig.links.deleteLink(`tthbr${NET.slice(0, 10)}`);
      return given;
    },
    act: (rig) => internal(() => rig.start()),
    settled: true,
    // A start that failed after freeing the endpoint forgets its address; the next start's sweep frees it.
    orphanGraceMs: 100,
  },
];
