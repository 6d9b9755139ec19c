// Every state-changing call with the store failing at each of its writes in
// turn: afterwards memory, store and the (fake) kernel agree, and the same call
// made again either succeeds fully or fails clearly. The number of writes is
// counted on a healthy run of the same call first.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { type Answer, PluginClient } from '../test/support/plugin-client.js';
import { audit } from './audit.js';
import { parseConfig } from './config.js';
import { type Daemon, createDaemon } from './daemon.js';
import { FakeFirewall, FakeLinks, FakePortKeeper } from './dataplane/fake.js';
import { hostPortOf } from './driver/endpoints.js';
import { endpointText, networkText } from './driver/records.js';
import { DriverState } from './driver/state.js';
import { FaultyStore } from './store/faulty.js';
import { SqliteStore } from './store/sqlite.js';

const NET = 'a'.repeat(64);
const EP = 'b'.repeat(64);
const config = parseConfig({
  socket: '/run/docker/plugins/unit.sock',
  stateDir: '/unused',
  logLevel: 'info',
  interfacePrefix: 'tth',
  mtu: '1500',
  orphanGrace: '600',
  gcInterval: '600',
  store: 'sqlite',
  defaultPool: '10.50.0.0/16:24',
  defaultPool6: 'fd00:1::/48:64',
  hostTtl: '10',
  deadHostGrace: '0',
  vxlanPort: '4789',
  dockerSocket: '/nonexistent/docker.sock',
});

/** One daemon on a store that can fail, with the in-memory kernel. */
class Rig {
  constructor(private readonly orphanGraceMs = config.orphanGraceMs) {}

  readonly dir = mkdtempSync(join(tmpdir(), 'tether-faults-'));
  readonly links = new FakeLinks();
  readonly firewall = new FakeFirewall();
  readonly ports = new FakePortKeeper();
  readonly client = new PluginClient(() => this.running().app);
  store = this.openStore();
  daemon: Daemon | undefined;

  openStore(): FaultyStore {
    return new FaultyStore(new SqliteStore(join(this.dir, 'db')));
  }

  running(): Daemon {
    return this.daemon ?? assert.fail('the daemon is not running');
  }

  async start(): Promise<void> {
    const { store, links, firewall, ports } = this;
    const settings = { ...config, orphanGraceMs: this.orphanGraceMs };
    this.daemon = await createDaemon(settings, { store, links, firewall, ports, log: pino({ level: 'silent' }) });
  }

  /** Stops the daemon (which closes the store) and opens the store again for the next start. */
  async stop(): Promise<void> {
    await this.daemon?.close();
    this.daemon = undefined;
    this.store = this.openStore();
  }

  async close(): Promise<void> {
    this.store.heal();
    if (this.daemon) await this.daemon.close();
    else await this.store.close();
    rmSync(this.dir, { recursive: true });
  }

  /** Memory is what the store holds, the kernel is what memory says, and the ports held are those published. */
  async agree(label: string, leaves?: RegExp): Promise<void> {
    const daemon = this.running();
    const memory = daemon.driver.snapshot();
    const stored = (await DriverState.load(this.store)).snapshot();
    const text = (s: typeof memory) => ({ networks: s.networks.map(networkText), endpoints: s.endpoints.map(endpointText) });
    assert.deepEqual(text(memory), text(stored), `${label}: the driver's memory is what the store holds`);
    assert.deepEqual((await daemon.pools.allocations()).problems, [], `${label}: the IPAM's memory is what the store holds`);
    const drift = (await daemon.driver.audit()).filter((problem) => !leaves?.test(problem));
    assert.deepEqual(drift, [], `${label}: the kernel is what the driver holds`);
    const published = memory.endpoints.flatMap((e) => e.ports.map(hostPortOf));
    const held = published.map((p) => `${p.proto}/${p.family}/${p.port}`).sort();
    assert.deepEqual([...this.ports.held].sort(), held, `${label}: the host ports held are those published`);
  }
}

interface Case {
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

const cases: Case[] = [
  {
    name: 'RequestPool',
    prepare: started,
    act: (rig) => rig.client.call('IpamDriver.RequestPool', { AddressSpace: 'local', Pool: '10.9.0.0/24', Options: {} }),
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

/** Runs the case on a fresh rig; fail: which write from the call's start fails (none if undefined). */
async function attempt(c: Case, fail?: number): Promise<{ rig: Rig; answer: Answer; writes: number; given: Record<string, string> }> {
  const rig = new Rig(c.orphanGraceMs);
  const given = await c.prepare(rig);
  const before = rig.store.writes;
  if (fail !== undefined) rig.store.failWrite(fail);
  const answer = await c.act(rig, given);
  return { rig, answer, writes: rig.store.writes - before, given };
}

describe('with the store failing at each write of a call', () => {
  for (const c of cases) {
    test(c.name, async () => {
      const healthy = await attempt(c);
      assert.equal(healthy.answer.status, 200, `healthy run: ${JSON.stringify(healthy.answer.json)}`);
      assert.ok(healthy.writes > 0, 'the call writes to the store');
      await healthy.rig.close();
      for (let n = 1; n <= healthy.writes; n++) {
        const label = `${c.name}, write ${n} of ${healthy.writes} failing`;
        const { rig, answer, given } = await attempt(c, n);
        try {
          if (answer.status !== 200) assert.match(String(answer.json['Err']), /.+/, `${label}: a clear error`);
          // A start that failed leaves no daemon to compare; its retry must reconcile everything.
          if (rig.daemon) await rig.agree(label, c.leaves);
          rig.store.heal();
          const retry = await c.act(rig, given);
          if (answer.status !== 200) assert.equal(retry.status, 200, `${label}: the retry succeeds: ${JSON.stringify(retry.json)}`);
          else if (retry.status !== 200) assert.match(String(retry.json['Err']), /.+/, `${label}: the retry fails clearly`);
          await rig.agree(`${label}, retried`);
          if (c.orphanGraceMs !== undefined) await sleep(c.orphanGraceMs * 3);
          if (c.settled) assert.deepEqual((await audit(rig.running().driver, rig.running().pools)).problems, [], label);
        } finally {
          await rig.close();
        }
      }
    });
  }
});
