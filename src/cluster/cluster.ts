// Cluster mode: the hosts sharing one etcd. Each host registers itself under
// a lease; every host follows the registrations and the cluster's endpoints
// and programs its VXLAN devices from them, and gives back a dead host's
// endpoints and addresses once its registration has been gone a grace period.
// A host that was only cut off claims back what it still holds when it
// registers again.
import type { Logger } from 'pino';
import type { LinkPlane, OverlayPeer } from '../dataplane/dataplane.js';
import type { ClusterMember, ClusterNetworkSpec, ClusterPort } from '../driver/ports.js';
import { conflict } from '../errors.js';
import type { Guard, Leases, Store } from '../store/store.js';
import { Coalesced } from '../util/serial.js';
import {
  type ClusterNetworkRecord, HOSTS, type HostRecord, MEMBERS, type MemberRecord, NETWORKS, VNIS, clusterNetworkRecord, hostRecord, hostScope,
  memberKey, memberRecord, sameNetwork,
} from './records.js';

/** A network of this host that spans the cluster: its cluster name and VXLAN device. */
export interface LocalClusterNetwork {
  readonly name: string;
  readonly vxlan: string;
}

export interface ClusterView {
  readonly host: string;
  readonly vtep: string;
  readonly hosts: HostRecord[];
  /** Each network with its endpoints counted per host. */
  readonly networks: { name: string; vni: number; subnets: string[]; endpoints: Record<string, number> }[];
}

export interface ClusterDeps {
  readonly store: Store;
  readonly leases: Leases;
  readonly links: LinkPlane;
  readonly log: Logger;
  /** Gives back a dead host's addresses and its hold on pools, each step only while the guards hold. */
  readonly forgetHost: (host: string, unless: readonly Guard[]) => Promise<number>;
  /** This host's networks that span the cluster, with their VXLAN devices. */
  readonly localNetworks: () => LocalClusterNetwork[];
}

export interface ClusterSettings {
  readonly host: string;
  /** This host's tunnel address, and the MTU of the link it is on. */
  readonly vtep: string;
  readonly underlayMtu: number;
  readonly vxlanPort: number;
  readonly hostTtlSeconds: number;
  readonly deadHostGraceMs: number;
}

export class Cluster implements ClusterPort {
  private readonly overlay = new Coalesced(() => this.syncOverlay(),
    (error) => this.deps.log.warn({ err: error.message }, 'programming the overlay failed; will retry'));
  private readonly deadHostTimers = new Map<string, NodeJS.Timeout>();
  private readonly unwatch: (() => void)[] = [];
  private revoke: (() => Promise<void>) | undefined;
  private registering: Promise<void> | undefined;
  private closed = false;
  private registeredOnce = false;
  /** Set when this host registered again, cleared once it has claimed back its records. */
  private rejoinPending = false;
  private rejoinTask: () => Promise<void> = async () => undefined;
  private readonly rejoining = new Coalesced(async () => {
    await this.rejoinTask();
    this.rejoinPending = false;
  }, (error) => this.deps.log.warn({ err: error.message }, 'claiming back this host\'s records failed; will retry'));

  constructor(private readonly deps: ClusterDeps, readonly settings: ClusterSettings) {}

  /**
   * Registers this host, follows the others, and schedules the clean-up of hosts already dead.
   * onRejoin is what to do after registering again, once the registration was lost: the other hosts
   * may have taken this one for dead and deleted its records (see services/rejoin.ts).
   */
  async start(onRejoin: () => Promise<void>): Promise<void> {
    this.rejoinTask = onRejoin;
    const { store } = this.deps;
    this.unwatch.push(store.watch(HOSTS, (change) => {
      const host = change.key.slice(HOSTS.length);
      if (host === this.settings.host) return;
      if (change.type === 'delete') this.suspect(host);
      else this.clearSuspicion(host);
      this.requestOverlaySync();
    }));
    this.unwatch.push(store.watch(MEMBERS, () => this.requestOverlaySync()));
    await this.register();
    const alive = new Set((await store.list(HOSTS)).map((e) => e.key.slice(HOSTS.length)));
    for (const host of await this.knownHosts()) if (!alive.has(host)) this.suspect(host);
  }

  /** Registers this host under a new lease; calls made while one registration runs share it. */
  private register(): Promise<void> {
    this.registering ??= this.registerUntilDone().finally(() => { this.registering = undefined; });
    return this.registering;
  }

  private async registerUntilDone(): Promise<void> {
    const { host, vtep, hostTtlSeconds } = this.settings;
    const value = JSON.stringify(hostRecord.parse({ host, vtep, startedAt: Date.now() }));
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        this.revoke = await this.deps.leases.putLeased(HOSTS + host, value, hostTtlSeconds, (error) => {
          this.deps.log.warn({ err: error.message }, 'this host\'s registration expired; registering again');
          if (!this.closed) void this.register();
        });
        if (attempt > 0) this.deps.log.info({ host, vtep }, 'registered again with the cluster');
        if (this.registeredOnce) {
          this.rejoinPending = true;
          this.rejoining.request();
        }
        this.registeredOnce = true;
        return;
      } catch (error) {
        if (attempt === 0) this.deps.log.warn({ err: (error as Error).message }, 'cannot register with the cluster; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /** Other hosts that have left records in the store: their driver's networks and endpoints, or published endpoints. */
  private async knownHosts(): Promise<Set<string>> {
    const hosts = new Set<string>();
    for (const entry of await this.deps.store.list('hosts/')) hosts.add(entry.key.split('/')[1] ?? '');
    for (const entry of await this.deps.store.list(MEMBERS)) hosts.add(memberRecord.parse(JSON.parse(entry.value)).host);
    hosts.delete(this.settings.host);
    hosts.delete('');
    return hosts;
  }

  /** A host's registration is gone: its tunnel entries go now, its endpoints after the grace period. */
  private suspect(host: string): void {
    if (this.deadHostTimers.has(host) || this.closed) return;
    this.deps.log.warn({ host, graceSeconds: this.settings.deadHostGraceMs / 1000 }, 'a host stopped renewing its registration');
    const timer = setTimeout(() => {
      this.deadHostTimers.delete(host);
      this.forget(host).catch((error: unknown) => {
        this.deps.log.error({ host, err: (error as Error).message }, 'giving back a dead host\'s endpoints failed; will retry');
        this.suspect(host);
      });
    }, this.settings.deadHostGraceMs);
    timer.unref();
    this.deadHostTimers.set(host, timer);
  }

  private clearSuspicion(host: string): void {
    clearTimeout(this.deadHostTimers.get(host));
    this.deadHostTimers.delete(host);
  }

  /**
   * Gives back everything a dead host held, unless it registered again meanwhile. Every host that
   * saw it die does this; each step deletes only what is still there, so doing it twice is harmless.
   */
  private async forget(host: string): Promise<void> {
    const { store } = this.deps;
    if (await store.get(HOSTS + host)) return;
    let endpoints = 0;
    for (const entry of await store.list(MEMBERS)) {
      if (memberRecord.parse(JSON.parse(entry.value)).host !== host) continue;
      if (await store.commit([{ key: HOSTS + host, revision: 0 }], [{ type: 'delete', key: entry.key }])) endpoints++;
    }
    const addresses = await this.deps.forgetHost(host, [{ key: HOSTS + host, revision: 0 }]);
    await store.commit([{ key: HOSTS + host, revision: 0 }], [{ type: 'deletePrefix', prefix: hostScope(host) }]);
    this.deps.log.info({ host, endpoints, addresses }, 'gave back the endpoints and addresses of a dead host');
  }

  /**
   * Records a network cluster-wide, or checks that it matches the record another host made.
   * A new network takes the lowest free VNI, reserved in the same commit.
   */
  async claimNetwork(wanted: ClusterNetworkSpec): Promise<{ vni: number; created: boolean }> {
    const { store } = this.deps;
    for (let attempt = 0; attempt < 5; attempt++) {
      const existing = await store.get(NETWORKS + wanted.name);
      if (existing) {
        const record = clusterNetworkRecord.parse(JSON.parse(existing.value));
        if (!sameNetwork(record, { ...wanted, vni: record.vni })) {
          throw conflict(`cluster network ${wanted.name} already exists with other settings (subnets ${record.ipam.map((i) => i.subnet).join(', ')})`);
        }
        return { vni: record.vni, created: false };
      }
      const used = new Set((await store.list(VNIS)).map((e) => Number(e.key.slice(VNIS.length))));
      let vni = 1;
      while (used.has(vni)) vni++;
      const record: ClusterNetworkRecord = { ...wanted, vni };
      if (await store.commit([{ key: NETWORKS + wanted.name, revision: 0 }, { key: VNIS + vni, revision: 0 }], [
        { type: 'put', key: NETWORKS + wanted.name, value: JSON.stringify(record) },
        { type: 'put', key: VNIS + vni, value: wanted.name },
      ])) return { vni, created: true };
    }
    throw conflict(`cluster network ${wanted.name} changed concurrently; retry`);
  }

  /** Removes a network from the cluster; every other host's tether then removes it from its Docker. */
  async dropNetwork(name: string): Promise<void> {
    const entry = await this.deps.store.get(NETWORKS + name);
    if (!entry) return;
    const { vni } = clusterNetworkRecord.parse(JSON.parse(entry.value));
    await this.deps.store.commit([{ key: NETWORKS + name, revision: entry.revision }], [
      { type: 'delete', key: NETWORKS + name }, { type: 'delete', key: VNIS + vni },
    ]);
  }

  /** What the cluster holds, for `tether cluster ls`: live hosts, and networks with their endpoints per host. */
  async view(): Promise<ClusterView> {
    const { store } = this.deps;
    const hosts = (await store.list(HOSTS)).map((e) => hostRecord.parse(JSON.parse(e.value)));
    const members = (await store.list(MEMBERS)).map((e) => ({ network: e.key.slice(MEMBERS.length).split('/')[0] ?? '', ...memberRecord.parse(JSON.parse(e.value)) }));
    const networks = (await this.networks()).map((n) => {
      const endpoints: Record<string, number> = {};
      for (const m of members) if (m.network === n.name) endpoints[m.host] = (endpoints[m.host] ?? 0) + 1;
      return { name: n.name, vni: n.vni, subnets: n.ipam.map((i) => i.subnet), endpoints };
    });
    return { host: this.settings.host, vtep: this.settings.vtep, hosts, networks };
  }

  async networks(): Promise<ClusterNetworkRecord[]> {
    return (await this.deps.store.list(NETWORKS)).map((e) => clusterNetworkRecord.parse(JSON.parse(e.value)));
  }

  /** Tells the other hosts where an endpoint of a cluster network lives. */
  async publish(member: ClusterMember): Promise<void> {
    const record: MemberRecord = { host: this.settings.host, mac: member.mac, addresses: [...member.addresses] };
    const key = memberKey(member.network, member.id);
    await this.deps.store.commit([], [{ type: 'put', key, value: JSON.stringify(record) }]);
  }

  async withdraw(network: string, endpointId: string): Promise<void> {
    await this.deps.store.commit([], [{ type: 'delete', key: memberKey(network, endpointId) }]);
  }

  /** Makes this host's published endpoints exactly these (after a crash between the store's two writes). */
  async republish(own: readonly ClusterMember[]): Promise<void> {
    const wanted = new Map(own.map((e) => [memberKey(e.network, e.id), e]));
    for (const entry of await this.deps.store.list(MEMBERS)) {
      if (memberRecord.parse(JSON.parse(entry.value)).host === this.settings.host && !wanted.has(entry.key)) {
        await this.deps.store.commit([], [{ type: 'delete', key: entry.key }]);
      }
    }
    for (const member of own) await this.publish(member);
  }

  requestOverlaySync(): void {
    if (!this.closed) this.overlay.request();
  }

  /** A collection round: the overlay again, and a claim back that failed before. */
  catchUp(): void {
    this.requestOverlaySync();
    if (this.rejoinPending && !this.closed) this.rejoining.request();
  }

  /**
   * Programs each VXLAN device with the endpoints of live hosts: the MAC to the host's tunnel address
   * (FDB) and the addresses to the MAC (neighbours, which the device answers ARP and ND from).
   * Nothing else is in the FDB, so nothing is flooded to unknown hosts.
   */
  private async syncOverlay(): Promise<void> {
    const networks = this.deps.localNetworks();
    if (networks.length === 0) return;
    const { store } = this.deps;
    const vteps = new Map((await store.list(HOSTS)).map((e) => {
      const record = hostRecord.parse(JSON.parse(e.value));
      return [record.host, record.vtep];
    }));
    for (const network of networks) {
      const peers: OverlayPeer[] = [];
      for (const entry of await store.list(`${MEMBERS}${network.name}/`)) {
        const member = memberRecord.parse(JSON.parse(entry.value));
        const vtep = vteps.get(member.host);
        if (member.host !== this.settings.host && vtep) peers.push({ mac: member.mac, vtep, addresses: member.addresses });
      }
      await this.deps.links.syncOverlay(network.vxlan, peers);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const unwatch of this.unwatch) unwatch();
    for (const timer of this.deadHostTimers.values()) clearTimeout(timer);
    // A host that stops cleanly says so at once; its endpoints stay until the grace period ends.
    await this.revoke?.().catch(() => undefined);
  }
}
