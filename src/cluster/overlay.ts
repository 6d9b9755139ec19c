// The overlay: each host publishes where its endpoints of cluster networks
// live (MAC and addresses), and programs its tunnel devices from what the
// others published, as the cluster view tells it: one member that comes or
// goes changes that member's entries only. Each device is programmed whole at
// start, when it is made, and every few minutes (anti-entropy), whose repairs
// are counted.
import type { Logger } from 'pino';
import type { OverlayPeer, PeerChange } from '../dataplane/dataplane.js';
import type { ClusterMember } from '../driver/seams.js';
import type { Operation, Store } from '../store/store.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import { Coalesced, Serial } from '../util/serial.js';
import type { HostRecord, MemberRecord } from './records.js';
import { memberKey } from './records.js';
import type { ClusterView, Member } from './view/view.js';

/** A network of this host that spans the cluster: its cluster name and tunnel device. */
export interface LocalClusterNetwork {
  readonly name: string;
  readonly device: string;
}

export interface OverlayDeps {
  readonly view: ClusterView;
  readonly store: Store;
  readonly tunnel: Tunnel;
  readonly log: Logger;
  /** This host's networks that span the cluster, with their tunnel devices. */
  readonly localNetworks: () => LocalClusterNetwork[];
}

/** How often each device is programmed whole, give or take half, so that the hosts do not go at once. */
const REPAIR_EVERY_MS = 5 * 60_000;

export class Overlay {
  /** Entries the anti-entropy rounds found wrong and put right, since start. */
  repairs = 0;
  /** Batches of changes of peers and whole programs, one at a time and in order. */
  private readonly serial = new Serial();
  /** Changes of peers not yet made, per device, in the order they came. */
  private readonly pending = new Map<string, PeerChange[]>();
  private readonly whole: Coalesced;
  private readonly repair: Coalesced;
  private stops: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly deps: OverlayDeps,
    private readonly host: string,
  ) {
    const failed = (error: Error) =>
      deps.log.warn({ err: error.message }, 'programming the overlay failed; will retry');
    this.whole = new Coalesced(() => this.serial.run(() => this.program(false)), failed);
    this.repair = new Coalesced(() => this.serial.run(() => this.program(true)), failed);
  }

  /** Follows what the others publish, and the hosts' registrations. */
  start(): void {
    const { view } = this.deps;
    let timer: NodeJS.Timeout | undefined;
    const next = () => {
      timer = setTimeout(
        () => {
          this.repair.request();
          next();
        },
        REPAIR_EVERY_MS * (0.5 + Math.random()),
      );
      timer.unref();
    };
    next();
    this.stops = [
      view.onMember((now, before) => this.memberChanged(now, before)),
      view.onHost((now, before) => this.hostChanged(now, before)),
      () => clearTimeout(timer),
    ];
  }

  /** Tells the other hosts where an endpoint of a cluster network lives. */
  async publish(member: ClusterMember): Promise<void> {
    await this.deps.store.commit([], [this.publication(member)]);
  }

  /** The write that publishes the member. */
  publication(member: ClusterMember): Operation {
    const record: MemberRecord = {
      host: this.host,
      mac: member.mac,
      addresses: [...member.addresses],
      ...(member.labels ? { labels: { ...member.labels } } : {}),
      ...(member.name === undefined ? {} : { name: member.name }),
      ...(member.aliases?.length ? { aliases: [...member.aliases] } : {}),
    };
    return { type: 'put', key: memberKey(member.network, member.id), value: JSON.stringify(record) };
  }

  /** Makes this host's published endpoints exactly these (after a crash between the store's two writes). */
  async republish(own: readonly ClusterMember[]): Promise<void> {
    const wanted = new Set(own.map((e) => memberKey(e.network, e.id)));
    for (const { member, revision } of this.deps.view.ownedBy(this.host)) {
      if (wanted.has(member.key)) continue;
      await this.deps.store.commit([{ key: member.key, revision }], [{ type: 'delete', key: member.key }]);
    }
    for (const member of own) await this.publish(member);
  }

  /** Programs every device whole (a device made, this host's start). */
  requestSync(): void {
    if (!this.closed) this.whole.request();
  }

  close(): void {
    this.closed = true;
    for (const stop of this.stops) stop();
  }

  /** The peer another host's member is, at that host's record; none for this host's own, or a dead host's. */
  private peerOf(member: Member | undefined, host?: HostRecord): OverlayPeer[] {
    if (!member || !host || member.host === this.host) return [];
    return [{ mac: member.mac, vtep: host.vtep, addresses: member.addresses }];
  }

  private deviceOf(network: string): string | undefined {
    return this.deps.localNetworks().find((n) => n.name === network)?.device;
  }

  private memberChanged(now: Member | undefined, before: Member | undefined): void {
    const network = (now ?? before)?.network ?? '';
    const device = this.deviceOf(network);
    if (!device) return;
    const hostOf = (m: Member | undefined) => m && this.deps.view.host(m.host);
    this.change(device, this.peerOf(before, hostOf(before)), this.peerOf(now, hostOf(now)));
  }

  /** A host came or went, or moved its tunnel: its members' entries follow, on each device. */
  private hostChanged(now: HostRecord | undefined, before: HostRecord | undefined): void {
    const name = (now ?? before)?.host ?? this.host;
    if (name === this.host || now?.vtep === before?.vtep) return;
    const byDevice = new Map<string, Member[]>();
    for (const { member } of this.deps.view.ownedBy(name)) {
      const device = this.deviceOf(member.network);
      if (!device) continue;
      const members = byDevice.get(device) ?? [];
      if (members.length === 0) byDevice.set(device, members);
      members.push(member);
    }
    for (const [device, members] of byDevice) {
      this.change(
        device,
        members.flatMap((m) => this.peerOf(m, before)),
        members.flatMap((m) => this.peerOf(m, now)),
      );
    }
  }

  /** Queues a change of peers; the changes that arrive while one batch runs go together in the next. */
  private change(device: string, remove: OverlayPeer[], add: OverlayPeer[]): void {
    if (this.closed || JSON.stringify(remove) === JSON.stringify(add)) return;
    const queued = this.pending.get(device) ?? [];
    this.pending.set(device, [...queued, { remove, add }]);
    if (queued.length === 0 && this.pending.size === 1) void this.serial.run(() => this.flush());
  }

  private async flush(): Promise<void> {
    const batches = [...this.pending];
    this.pending.clear();
    for (const [device, changes] of batches) {
      await this.deps.tunnel.changePeers(device, changes).catch((error: Error) => {
        // An entry not where it was thought to be: the device is programmed whole from the view.
        this.deps.log.info({ device, err: error.message }, 'a change of tunnel peers failed; programming it whole');
        this.requestSync();
      });
    }
  }

  /**
   * Programs each tunnel device with the endpoints of live hosts: the MAC to the host's tunnel
   * address and the addresses to the MAC. The device knows no other endpoint, so it floods nothing
   * to unknown hosts.
   */
  private async program(repairing: boolean): Promise<void> {
    const { view } = this.deps;
    for (const network of this.deps.localNetworks()) {
      const peers = [...view.membersOf(network.name)].flatMap((m) => this.peerOf(m, view.host(m.host)));
      const changed = await this.deps.tunnel.programPeers(network.device, peers).catch((error: unknown) => {
        // A network deleted while this round ran took its device along: nothing left to program.
        if (this.deps.localNetworks().some((n) => n.device === network.device)) throw error;
        return 0;
      });
      if (repairing && changed > 0) {
        this.repairs += changed;
        this.deps.log.warn({ device: network.device, entries: changed }, 'anti-entropy put tunnel entries right');
      }
    }
  }
}
