// Who is in the cluster: this host registers under a lease (and again when the
// lease is lost), follows the others' registrations, and gives back a dead
// host's endpoints and addresses once its registration has been gone the grace
// period. A host that was only cut off claims back what it holds on its return.
import type { Logger } from 'pino';
import { TetherError } from '../errors.js';
import { type IpAddress, parseIp } from '../net/ip.js';
import type { Guard, Leases, Store } from '../store/store.js';
import { Coalesced } from '../util/serial.js';
import {
  HOST_SCOPES,
  HOSTS,
  type HostRecord,
  hostRecord,
  hostScope,
  knownMark,
  MEMBERS,
  memberRecord,
  parseEach,
} from './records.js';
import type { ClusterSettings } from './settings.js';

export interface MembershipDeps {
  readonly store: Store;
  readonly leases: Leases;
  readonly log: Logger;
  /**
   * Gives back a dead host's addresses and its hold on pools, each step only while the guards hold;
   * given the addresses of its endpoints too (swarm's, which belong to no host).
   */
  readonly forgetHost: (host: string, unless: readonly Guard[], endpoints: readonly IpAddress[]) => Promise<number>;
  /** A host came or went: the overlay's entries change. */
  readonly hostsChanged: () => void;
}

export class Membership {
  private readonly deadHostTimers = new Map<string, { timer: NodeJS.Timeout; since: number }>();
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
    const { store } = this.deps;
    this.unwatch = store.watch(HOSTS, (change) => {
      const host = change.key.slice(HOSTS.length);
      if (host === this.settings.host) return;
      if (change.type === 'delete') this.suspect(host);
      else this.clearSuspicion(host);
      this.deps.hostsChanged();
    });
    await this.refuseTwin();
    await this.register();
    const alive = new Set((await store.list(HOSTS)).map((e) => e.key.slice(HOSTS.length)));
    for (const host of await this.knownHosts()) if (!alive.has(host)) this.suspect(host);
  }

  /** Whether this host's registration lease is held now (for readiness). */
  get registered(): boolean {
    return this.leaseHeld && !this.closed;
  }

  /** A collection round: a claim back that failed before is tried again. */
  catchUp(): void {
    if (this.rejoinPending && !this.closed) this.rejoining.request();
  }

  /** A live registration of this name by another tether: its record, or undefined. */
  private async twin(): Promise<HostRecord | undefined> {
    const entry = await this.deps.store.get(HOSTS + this.settings.host);
    // One that is not a record holds the name for no one.
    const held = entry && parseEach([entry], hostRecord, () => undefined)[0]?.record;
    // A record without an identity is from a tether before them: this host's own earlier life, maybe.
    return held?.identity !== undefined && held.identity !== this.settings.identity ? held : undefined;
  }

  /** Two hosts of one name would take each other's records for their own: the second may not start. */
  private async refuseTwin(): Promise<void> {
    const held = await this.twin();
    if (!held) return;
    throw new TetherError(
      'CONFLICT',
      `host name ${held.host} is held by another tether (tunnel address ${held.vtep}, started ` +
        `${new Date(held.startedAt).toISOString()}): give each host its own --host-name`,
    );
  }

  /** Registers this host under a new lease; calls made while one registration runs share it. */
  private register(): Promise<void> {
    this.registering ??= this.registerUntilDone().finally(() => {
      this.registering = undefined;
    });
    return this.registering;
  }

  private async registerUntilDone(): Promise<void> {
    const { host, vtep, hostTtlSeconds, identity } = this.settings;
    const { leases, log } = this.deps;
    const value = JSON.stringify(hostRecord.parse({ host, vtep, startedAt: Date.now(), identity }));
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        // Back after the lease lapsed: the name is taken again only if no other tether holds it now.
        const held = this.registeredOnce ? await this.twin() : undefined;
        if (held) throw new Error(`host name ${host} is held by the tether at ${held.vtep} now`);
        // Outlives the lease: the others learn of this host's death even if it published nothing. Written
        // first, so that a failure here retries before any lease exists.
        await this.deps.store.commit([], [{ type: 'put', key: knownMark(host), value }]);
        this.revoke = await leases.putLeased(HOSTS + host, value, hostTtlSeconds, (error) => {
          this.leaseHeld = false;
          log.warn({ err: error.message }, "this host's registration expired; registering again");
          if (!this.closed) void this.register();
        });
        this.leaseHeld = true;
        if (attempt > 0) log.info({ host, vtep }, 'registered again with the cluster');
        if (this.registeredOnce) {
          this.rejoinPending = true;
          this.rejoining.request();
        }
        this.registeredOnce = true;
        return;
      } catch (error) {
        if (attempt === 0) log.warn({ err: (error as Error).message }, 'cannot register with the cluster; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /** Other hosts that left records in the store: their mark of having been a member, or published endpoints. */
  private async knownHosts(): Promise<Set<string>> {
    const hosts = new Set<string>();
    for (const entry of await this.deps.store.list(HOST_SCOPES)) hosts.add(entry.key.split('/')[1] ?? '');
    for (const entry of await this.deps.store.list(MEMBERS)) {
      hosts.add(memberRecord.parse(JSON.parse(entry.value)).host);
    }
    hosts.delete(this.settings.host);
    hosts.delete('');
    return hosts;
  }

  /** A host's registration is gone: its tunnel entries go now, its endpoints after the grace period. */
  private suspect(host: string): void {
    if (this.deadHostTimers.has(host) || this.closed) return;
    const { log } = this.deps;
    log.warn({ host, graceSeconds: this.settings.deadHostGraceMs / 1000 }, 'a host stopped renewing its registration');
    const timer = setTimeout(() => {
      this.deadHostTimers.delete(host);
      this.forget(host).catch((error: unknown) => {
        log.error({ host, err: (error as Error).message }, "giving back a dead host's endpoints failed; will retry");
        this.suspect(host);
      });
    }, this.settings.deadHostGraceMs);
    timer.unref();
    this.deadHostTimers.set(host, { timer, since: Date.now() });
  }

  private clearSuspicion(host: string): void {
    clearTimeout(this.deadHostTimers.get(host)?.timer);
    this.deadHostTimers.delete(host);
  }

  /** Since when this host has seen the host's registration gone, if it is waiting out its grace period. */
  suspectedSince(host: string): { since?: number } {
    const since = this.deadHostTimers.get(host)?.since;
    return since === undefined ? {} : { since };
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
    for (const entry of await store.list(MEMBERS)) {
      const member = memberRecord.parse(JSON.parse(entry.value));
      if (member.host !== host || !(await store.commit(absent, [{ type: 'delete', key: entry.key }]))) continue;
      endpoints++;
      gone.push(...member.addresses.flatMap((text) => parseIp(text) ?? []));
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
