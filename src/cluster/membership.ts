// Who is in the cluster: this host registers under a lease (and again when the
// lease is lost), follows the others' registrations, and gives back a dead
// host's endpoints and addresses once its registration has been gone the grace
// period. A host that was only cut off claims back what it holds on its return.
import type { Logger } from 'pino';
import type { IpAddress } from '../net/ip.js';
import type { Guard, Leases, Store } from '../store/store.js';
import { Coalesced } from '../util/serial.js';
import { isTwin, nameHolder, twinError } from './name-holder.js';
import { HOST_SCOPES, HOSTS, type HostRecord, hostRecord, hostScope, KNOWN_MARK, knownMark } from './records.js';
import type { ClusterSettings } from './settings.js';
import { readHost } from './view/readers.js';
import type { ClusterView } from './view/view.js';

export interface MembershipDeps {
  readonly store: Store;
  readonly leases: Leases;
  readonly view: ClusterView;
  readonly log: Logger;
  /**
   * Gives back a dead host's addresses and its hold on pools, each step only while the guards hold;
   * given the addresses of its endpoints too (swarm's, which belong to no host).
   */
  readonly forgetHost: (host: string, unless: readonly Guard[], endpoints: readonly IpAddress[]) => Promise<number>;
  /** Keeps the nonce of the start that holds the registration, in this host's own store. */
  readonly remember: (nonce: string) => Promise<void>;
}

/** A host whose registration went: since when, and its last record where known. */
export interface DeadHost {
  readonly since: number;
  readonly record?: HostRecord;
}

export class Membership {
  private readonly deadHostTimers = new Map<string, DeadHost & { timer: NodeJS.Timeout }>();
  private unwatch: () => void = () => undefined;
  private revoke: (() => Promise<void>) | undefined;
  private registering: Promise<void> | undefined;
  private closed = false;
  private registeredOnce = false;
  private leaseHeld = false;
  /** Set when this host registered again, cleared once it has claimed back its records. */
  private rejoinPending = false;
  private rejoinTask: () => Promise<void> = async () => undefined;
  private readonly rejoining = new Coalesced(
    async () => {
      await this.rejoinTask();
      this.rejoinPending = false;
    },
    (error) => this.deps.log.warn({ err: error.message }, "claiming back this host's records failed; will retry"),
  );

  constructor(
    private readonly deps: MembershipDeps,
    private readonly settings: ClusterSettings,
  ) {}

  /** Registers this host, follows the others, and schedules the clean-up of hosts already dead. */
  async start(onRejoin: () => Promise<void>): Promise<void> {
    this.rejoinTask = onRejoin;
    const { view } = this.deps;
    this.unwatch = view.onHost((now, before) => {
      const host = (now ?? before)?.host;
      if (host === this.settings.host && now && isTwin(now, this.settings)) this.nameTaken(now);
      if (host === undefined || host === this.settings.host) return;
      if (now) this.clearSuspicion(host);
      else this.suspect(host, before);
    });
    await this.register();
    for (const [host, record] of await this.knownHosts()) if (!view.host(host)) this.suspect(host, record);
  }

  /** Whether this host's registration lease is held now (for readiness). */
  get registered(): boolean {
    return this.leaseHeld && !this.closed;
  }

  /** A collection round: a claim back that failed before is tried again. */
  catchUp(): void {
    if (this.rejoinPending && !this.closed) this.rejoining.request();
  }

  /** Registers this host under a new lease; calls made while one registration runs share it. */
  private register(): Promise<void> {
    this.registering ??= this.registerUntilDone().finally(() => {
      this.registering = undefined;
    });
    return this.registering;
  }

  private async registerUntilDone(): Promise<void> {
    const { host, vtep, hostTtlSeconds, identity, nonce } = this.settings;
    const { leases, log, store } = this.deps;
    const value = JSON.stringify(hostRecord.parse({ host, vtep, startedAt: Date.now(), identity, nonce }));
    for (let attempt = 0; !this.closed; attempt++) {
      const holder = await nameHolder(store, host, this.settings).catch((error: Error) => error);
      // The second tether of one name may not start: it would take the first one's records for its own.
      if (!(holder instanceof Error) && holder.twin && !this.registeredOnce) throw twinError(holder.twin);
      let revoke: (() => Promise<void>) | undefined;
      try {
        if (holder instanceof Error) throw holder;
        // Back after the lease lapsed: the name is taken again only if no other tether holds it now.
        if (holder.twin) throw new Error(`host name ${host} is held by the tether at ${holder.twin.vtep} now`);
        revoke = await leases.putLeased(
          HOSTS + host,
          value,
          hostTtlSeconds,
          (error) => this.lost(error),
          holder.revision,
        );
        if (!revoke) throw new Error(`host name ${host} was registered meanwhile`);
        // Outlives the lease: the others learn of this host's death even if it published nothing.
        await store.commit([], [{ type: 'put', key: knownMark(host), value }]);
        await this.deps.remember(nonce);
        this.revoke = revoke;
        this.leaseHeld = true;
        if (attempt > 0) log.info({ host, vtep }, 'registered again with the cluster');
        if (this.registeredOnce) {
          this.rejoinPending = true;
          this.rejoining.request();
        }
        this.registeredOnce = true;
        return;
      } catch (error) {
        await revoke?.().catch(() => undefined);
        if (attempt === 0) log.warn({ err: (error as Error).message }, 'cannot register with the cluster; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private lost(error: Error): void {
    this.leaseHeld = false;
    this.deps.log.warn({ err: error.message }, "this host's registration expired; registering again");
    if (!this.closed) void this.register();
  }

  /** Another tether registered this host's name over this one's (a clone started from a copy of its state). */
  private nameTaken(holder: HostRecord): void {
    if (!this.leaseHeld) return;
    this.leaseHeld = false;
    this.deps.log.error(
      { host: holder.host, vtep: holder.vtep },
      "another tether registered this host's name: give each host its own --host-name",
    );
  }

  /**
   * Other hosts that left records in the store (at start: what a host learns once, not per change):
   * their mark of having been a member, with its record where readable, or published endpoints.
   */
  private async knownHosts(): Promise<Map<string, HostRecord | undefined>> {
    const hosts = new Map<string, HostRecord | undefined>();
    for (const entry of await this.deps.store.list(HOST_SCOPES)) {
      const host = entry.key.split('/')[1] ?? '';
      const read = entry.key.endsWith(KNOWN_MARK) ? readHost(HOSTS + host, entry.value) : undefined;
      hosts.set(host, read && 'record' in read ? read.record : hosts.get(host));
    }
    for (const member of this.deps.view.allMembers()) if (!hosts.has(member.host)) hosts.set(member.host, undefined);
    hosts.delete(this.settings.host);
    hosts.delete('');
    return hosts;
  }

  /** A host's registration is gone: its tunnel entries go now (the overlay's), its endpoints after the grace period. */
  private suspect(host: string, record?: HostRecord): void {
    if (this.deadHostTimers.has(host) || this.closed) return;
    const { log } = this.deps;
    log.warn({ host, graceSeconds: this.settings.deadHostGraceMs / 1000 }, 'a host stopped renewing its registration');
    const timer = setTimeout(() => {
      this.deadHostTimers.delete(host);
      this.forget(host).catch((error: unknown) => {
        log.error({ host, err: (error as Error).message }, "giving back a dead host's endpoints failed; will retry");
        this.suspect(host, record);
      });
    }, this.settings.deadHostGraceMs);
    timer.unref();
    this.deadHostTimers.set(host, { timer, since: Date.now(), ...(record ? { record } : {}) });
  }

  private clearSuspicion(host: string): void {
    clearTimeout(this.deadHostTimers.get(host)?.timer);
    this.deadHostTimers.delete(host);
  }

  /** The hosts whose registration this host has seen go, waiting out their grace period. */
  dead(): [string, DeadHost][] {
    return [...this.deadHostTimers].map(([host, { since, record }]) => [
      host,
      { since, ...(record ? { record } : {}) },
    ]);
  }

  /**
   * Gives back everything a dead host held, unless it registered again meanwhile. Every host that
   * saw it die does this; each step deletes only what is still there, so doing it twice is harmless.
   */
  private async forget(host: string): Promise<void> {
    const { store } = this.deps;
    if (await store.get(HOSTS + host)) return;
    const absent = [{ key: HOSTS + host, revision: 0 }];
    const gone: IpAddress[] = [];
    let endpoints = 0;
    for (const { member, revision } of this.deps.view.ownedBy(host)) {
      const unchanged = [...absent, { key: member.key, revision }];
      if (!(await store.commit(unchanged, [{ type: 'delete', key: member.key }]))) continue;
      endpoints++;
      gone.push(...member.ips);
    }
    const addresses = await this.deps.forgetHost(host, absent, gone);
    await store.commit(absent, [{ type: 'deletePrefix', prefix: hostScope(host) }]);
    this.deps.log.info({ host, endpoints, addresses }, 'gave back the endpoints and addresses of a dead host');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unwatch();
    for (const { timer } of this.deadHostTimers.values()) clearTimeout(timer);
    // A host that stops cleanly says so at once; its endpoints stay until the grace period ends.
    await this.revoke?.().catch(() => undefined);
  }
}
