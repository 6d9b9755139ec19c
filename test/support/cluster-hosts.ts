// Several daemons of cluster mode on one store, each with an in-memory data
// plane, and leases that a test can let expire at will.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { parseConfig } from '../../src/config.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { FakeLinks } from '../../src/dataplane/fake.js';
import { FakeFirewall, FakePortKeeper, FakeServiceAddresses } from '../../src/dataplane/fake-firewall.js';
import { FakePolicyTable } from '../../src/policy/fake-table.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Leases, Store } from '../../src/store/store.js';

/** The store every host of a test shares, and the hosts started on it. */
export interface SharedStore {
  readonly dir: string;
  readonly store: SqliteStore;
  readonly hosts: Host[];
}

/** A new shared store for each test of the file; its hosts are closed after the test. */
export function useSharedStore(): () => SharedStore {
  let shared: SharedStore | undefined;
  beforeEach(() => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-cluster-'));
    shared = { dir, store: new SqliteStore(join(dir, 'db')), hosts: [] };
  });
  afterEach(async () => {
    if (!shared) return;
    for (const host of shared.hosts.splice(0)) await host.daemon.close();
    await shared.store.close();
    rmSync(shared.dir, { recursive: true });
  });
  return () => shared ?? assert.fail('no shared store outside a test');
}

/** Leases that live until the test expires them, as etcd's do until their owner stops renewing. */
export class TestLeases implements Leases {
  readonly expire = new Map<string, () => Promise<void>>();
  /** Tells the owner its lease is gone, as etcd's client does once it reaches etcd again. */
  readonly lose = new Map<string, () => void>();
  constructor(private readonly store: Store) {}
  async putLeased(
    key: string,
    value: string,
    _ttl: number,
    onLost: (error: Error) => void,
    expected: number,
  ): Promise<(() => Promise<void>) | undefined> {
    if (!(await this.store.commit([{ key, revision: expected }], [{ type: 'put', key, value }]))) return undefined;
    const revoke = async () => {
      await this.store.commit([], [{ type: 'delete', key }]);
    };
    this.expire.set(key, revoke);
    this.lose.set(key, () => onLost(new Error('lease expired')));
    return revoke;
  }
}

export class Host {
  readonly links = new FakeLinks();
  readonly policyTable = new FakePolicyTable();
  daemon!: Daemon;
  leases!: TestLeases;

  constructor(
    private readonly shared: SharedStore,
    readonly name: string,
    vtep: string,
    private readonly extra: Record<string, string> = {},
    /** The machine whose own database the host uses: another than its name, a clone with the same name. */
    private readonly machine = name,
  ) {
    this.links.underlay = { source: vtep, mtu: 1500 };
  }

  async start(shared = true): Promise<this> {
    const config = parseConfig({
      socket: `/run/${this.name}.sock`,
      stateDir: '/unused',
      logLevel: 'info',
      interfacePrefix: 'tth',
      mtu: '1500',
      orphanGrace: '60',
      gcInterval: '30',
      store: shared ? 'etcd://127.0.0.1:1' : 'sqlite',
      defaultPool: '10.50.0.0/16:24',
      defaultPool6: 'fd00:1::/48:64',
      hostName: this.name,
      hostTtl: '10',
      deadHostGrace: '0',
      vxlanPort: '4789',
      dockerSocket: join(this.shared.dir, 'no-docker.sock'),
      scope: 'local',
      ...this.extra,
    });
    // Every host is a view of the one store; closing a daemon must not close it for the others.
    const view = Object.create(this.shared.store, { close: { value: async () => undefined } }) as Store;
    this.leases = new TestLeases(this.shared.store);
    this.daemon = await createDaemon(config, {
      store: view,
      // The host's own database: the same file each time this host starts again.
      ...(shared
        ? { leases: this.leases, hostStore: new SqliteStore(join(this.shared.dir, `${this.machine}.db`)) }
        : {}),
      links: this.links,
      firewall: new FakeFirewall(),
      ports: new FakePortKeeper(),
      policyTable: this.policyTable,
      serviceAddress: (address) => new FakeServiceAddresses().for(address),
      log: pino({ level: 'silent' }),
    });
    this.shared.hosts.push(this);
    return this;
  }

  async call(method: string, body: unknown): Promise<Record<string, unknown>> {
    const response = await this.daemon.app.inject({ method: 'POST', url: `/${method}`, payload: JSON.stringify(body) });
    const json = response.json<Record<string, unknown>>();
    if (response.statusCode !== 200) throw new Error(String(json['Err']));
    return json;
  }

  /** What Docker on this host sends for `docker network create` with tether as driver and IPAM. */
  async createNetwork(
    networkId: string,
    subnet: string,
    generic: Record<string, string>,
    addressSpace = 'local',
    /** Docker's own options besides the generic ones, such as com.docker.network.internal. */
    options: Record<string, unknown> = {},
  ): Promise<string> {
    const pool = await this.call('IpamDriver.RequestPool', {
      AddressSpace: 'local',
      Pool: subnet,
      Options: {},
      V6: false,
    });
    const gateway = await this.call('IpamDriver.RequestAddress', {
      PoolID: pool['PoolID'],
      Address: subnet.replace(/0\/\d+$/, '1'),
      Options: { RequestAddressType: 'com.docker.network.gateway' },
    });
    await this.call('NetworkDriver.CreateNetwork', {
      NetworkID: networkId,
      Options: { 'com.docker.network.generic': generic, ...options },
      IPv4Data: [{ AddressSpace: addressSpace, Pool: subnet, Gateway: gateway['Address'] }],
      IPv6Data: [],
    });
    return String(pool['PoolID']);
  }

  /** What Docker on this host sends for `docker run` on the network. */
  async run(networkId: string, poolId: string, endpointId: string): Promise<string> {
    const address = String(
      (await this.call('IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} }))['Address'],
    );
    await this.call('NetworkDriver.CreateEndpoint', {
      NetworkID: networkId,
      EndpointID: endpointId,
      Interface: { Address: address },
    });
    await this.call('NetworkDriver.Join', {
      NetworkID: networkId,
      EndpointID: endpointId,
      SandboxKey: '/var/run/docker/netns/x',
    });
    // After Join tether reads the container from Docker (none here) and writes what it read: let that
    // land before the test goes on, as it does within moments of a real start.
    const daemon = this.daemon;
    await eventually('the container read', async () => daemon?.driver.awaitingContainer().length === 0);
    return address;
  }

  vxlan(): { mtu: number; master?: string } | undefined {
    return [...this.links.links.values()].find((l) => l.kind === 'vxlan');
  }

  peers(): string[] {
    return [...this.links.overlays.values()]
      .flat()
      .map((p) => `${p.addresses.join()}@${p.vtep}`)
      .sort();
  }
}

export async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await sleep(20);
  }
  assert.fail(`never happened: ${what}`);
}
