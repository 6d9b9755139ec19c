// One daemon as the unit tests run it: the whole daemon on SQLite (through a
// store that can fail on purpose), the in-memory kernel, calls through inject.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'node:test';
import pino from 'pino';
import { type Config, parseConfig } from '../../src/config.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { FakeLinks } from '../../src/dataplane/fake.js';
import { FakeFirewall, FakePortKeeper, FakeServiceAddresses } from '../../src/dataplane/fake-firewall.js';
import type { ProbeTimings } from '../../src/operator/readiness.js';
import { FakePolicyTable } from '../../src/policy/fake-table.js';
import { FaultyStore } from '../../src/store/faulty.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { PluginClient } from './plugin-client.js';

export const NET = 'a'.repeat(64);
export const EP = 'b'.repeat(64);

export const UNIT_CONFIG = parseConfig({
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
  scope: 'local',
});

export interface RigOptions {
  readonly probeTimings?: ProbeTimings;
  /** The host's links, to share one host between two daemons. */
  readonly links?: FakeLinks;
}

export class Rig {
  readonly dir = mkdtempSync(join(tmpdir(), 'tether-unit-'));
  readonly links: FakeLinks;
  readonly firewall = new FakeFirewall();
  readonly policyTable = new FakePolicyTable();
  readonly serviceAddresses = new FakeServiceAddresses();
  /** Host ports held; a new one at each start, since a process's sockets die with it. */
  ports = new FakePortKeeper();
  readonly client = new PluginClient(() => this.running().app);
  store = this.openStore();
  daemon: Daemon | undefined;

  constructor(
    private readonly config: Partial<Config> = {},
    private readonly options: RigOptions = {},
  ) {
    this.links = options.links ?? new FakeLinks();
  }

  private openStore(): FaultyStore {
    return new FaultyStore(new SqliteStore(join(this.dir, 'db')));
  }

  running(): Daemon {
    return this.daemon ?? assert.fail('the daemon is not running');
  }

  async start(config: Partial<Config> = {}): Promise<Daemon> {
    const { store, links, firewall, ports, policyTable } = this;
    const serviceAddress = (address: string) => this.serviceAddresses.for(address);
    const settings = { ...UNIT_CONFIG, ...this.config, ...config };
    const log = pino({ level: 'silent' });
    const { probeTimings } = this.options;
    const timings = probeTimings ? { probeTimings } : {};
    try {
      this.daemon = await createDaemon(settings, {
        ...{ store, links, firewall, ports, policyTable, serviceAddress, log },
        ...timings,
      });
    } catch (error) {
      // A start that fails closes what it opened, the store too, as the process would exit.
      this.store = this.openStore();
      throw error;
    }
    return this.daemon;
  }

  /** Stops the daemon (which closes the store) and opens the store again for the next start. */
  async stop(): Promise<void> {
    await this.daemon?.close();
    this.daemon = undefined;
    this.store = this.openStore();
    this.ports = new FakePortKeeper();
  }

  async close(): Promise<void> {
    this.store.heal();
    if (this.daemon) await this.daemon.close();
    else await this.store.close();
    rmSync(this.dir, { recursive: true });
  }
}

/** A started rig for each test of the file, closed after it. */
export function useRig(config: Partial<Config> = {}, options: RigOptions = {}): () => Rig {
  let rig: Rig | undefined;
  beforeEach(async () => {
    rig = new Rig(config, options);
    await rig.start();
  });
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });
  return () => rig ?? assert.fail('no rig outside a test');
}

/** useRig, with the calls the daemon tests make on network NET, as Docker makes them. */
export function useDaemon(config: Partial<Config> = {}, options: RigOptions = {}) {
  const rig = useRig(config, options);
  return {
    rig,
    daemon: () => rig().running(),
    call: (method: string, body?: unknown) => rig().client.call(method, body),
    ok: (method: string, body?: unknown) => rig().client.ok(method, body),
    createNetwork: (subnet: string, generic: Record<string, string> = {}, extra: Record<string, unknown> = {}) =>
      rig().client.createNetwork(NET, subnet, generic, extra),
    runContainer: (poolId: string, endpoint = EP) => rig().client.runContainer(NET, poolId, endpoint),
  };
}
