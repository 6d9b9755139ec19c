// The overlay: each host publishes where its endpoints of cluster networks
// live (MAC and addresses), and programs its tunnel devices from what the
// others published.
import type { Logger } from 'pino';
import type { OverlayPeer } from '../dataplane/dataplane.js';
import type { ClusterMember } from '../driver/seams.js';
import type { Entry, Operation, Store } from '../store/store.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import { Coalesced } from '../util/serial.js';
import { HOSTS, hostRecord, MEMBERS, type MemberRecord, memberKey, memberRecord, parseEach } from './records.js';

/** A network of this host that spans the cluster: its cluster name and tunnel device. */
export interface LocalClusterNetwork {
  readonly name: string;
  readonly device: string;
}

export interface OverlayDeps {
  readonly store: Store;
  readonly tunnel: Tunnel;
  readonly log: Logger;
  /** This host's networks that span the cluster, with their tunnel devices. */
  readonly localNetworks: () => LocalClusterNetwork[];
}

export class Overlay {
  private readonly sync = new Coalesced(
    () => this.program(),
    (error) => this.deps.log.warn({ err: error.message }, 'programming the overlay failed; will retry'),
  );
  private unwatch: () => void = () => undefined;
  private closed = false;
  /** Records left out as unreadable, each said once (by key and revision). */
  private readonly said = new Set<string>();
  private readonly skipped = (entry: Entry, why: string) => {
    const seen = `${entry.key}@${entry.revision}`;
    if (this.said.has(seen)) return;
    this.said.add(seen);
    this.deps.log.warn({ key: entry.key, why }, 'a record in the cluster store is unreadable; left out');
  };

  constructor(
    private readonly deps: OverlayDeps,
    private readonly host: string,
  ) {}

  /** Follows what the others publish. */
  start(): void {
    this.unwatch = this.deps.store.watch(MEMBERS, () => this.requestSync());
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
    for (const { key, record } of parseEach(await this.deps.store.list(MEMBERS), memberRecord, this.skipped)) {
      if (record.host === this.host && !wanted.has(key)) await this.deps.store.commit([], [{ type: 'delete', key }]);
    }
    for (const member of own) await this.publish(member);
  }

  requestSync(): void {
    if (!this.closed) this.sync.request();
  }

  /**
   * Programs each tunnel device with the endpoints of live hosts: the MAC to the host's tunnel
   * address and the addresses to the MAC. The device knows no other endpoint, so it floods nothing
   * to unknown hosts.
   */
  private async program(): Promise<void> {
    const networks = this.deps.localNetworks();
    if (networks.length === 0) return;
    const { store } = this.deps;
    const hosts = parseEach(await store.list(HOSTS), hostRecord, this.skipped);
    const vteps = new Map(hosts.map(({ record: h }) => [h.host, h.vtep]));
    for (const network of networks) {
      const peers: OverlayPeer[] = [];
      for (const { record: member } of parseEach(
        await store.list(`${MEMBERS}${network.name}/`),
        memberRecord,
        this.skipped,
      )) {
        const vtep = vteps.get(member.host);
        if (member.host !== this.host && vtep) peers.push({ mac: member.mac, vtep, addresses: member.addresses });
      }
      await this.deps.tunnel.programPeers(network.device, peers).catch((error: unknown) => {
        // A network deleted while this round ran took its device along: nothing left to program.
        if (this.deps.localNetworks().some((n) => n.device === network.device)) throw error;
      });
    }
  }

  close(): void {
    this.closed = true;
    this.unwatch();
  }
}
