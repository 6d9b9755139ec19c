// LinkPlane on iproute2. Each change creates a link with every attribute in one
// netlink message, written to one long-lived `ip -batch` process (ip-channel.ts):
// nothing blocks the event loop the way a synchronous netlink call waiting on
// a veth deletion does, and no change pays for a process of its own.
import { z } from 'zod';
import { TetherError } from '../errors.js';
import { formatCidr, type IpPrefix, parseCidr, prefixOf } from '../net/ip.js';
import { run } from '../util/exec.js';
import type {
  BridgeSpec,
  Link,
  LinkPlane,
  MacvlanSpec,
  OverlayPeer,
  PeerChange,
  VethSpec,
  VlanSpec,
  VxlanSpec,
} from './dataplane.js';
import { IpChannel } from './ip-channel.js';
import { macvlanAdd, macvlanSettle, mismatch, vlanAdd, vlanSettle } from './uplink-commands.js';
import { peerChangeCommands, peerCommands, vxlanAdd, vxlanSettle } from './vxlan-commands.js';

const ipLink = z.object({
  ifname: z.string(),
  flags: z.array(z.string()).default([]),
  mtu: z.number(),
  master: z.string().optional(),
  link: z.string().optional(),
  address: z.string().optional(),
  ifalias: z.string().optional(),
  linkinfo: z
    .object({ info_kind: z.string().optional(), info_data: z.object({ id: z.number().optional() }).optional() })
    .optional(),
  addr_info: z.array(z.object({ local: z.string(), prefixlen: z.number(), scope: z.string().optional() })).default([]),
});

const ipRoute = z.object({ dst: z.string(), type: z.string().optional() });

const defaultRoute = z.object({ dev: z.string().optional() });
const routeGet = z.array(z.object({ prefsrc: z.string().optional(), dev: z.string() }));

export class IpRoute implements LinkPlane {
  /** Changes go through one long-lived `ip -batch` process; queries, whose output is parsed, spawn `ip`. */
  private readonly channel: IpChannel;
  /** Arguments that put iproute2 in the namespace, if another than this process's (the contract test's). */
  private readonly where: string[];

  constructor(options: { readonly netns?: string } = {}) {
    this.where = options.netns ? ['-n', options.netns] : [];
    this.channel = new IpChannel({ command: ['ip', ...this.where, '-force', '-batch', '-'] });
  }

  /** Ends the batch process once it has run what it was given. */
  close(): void {
    this.channel.close();
  }

  private ip(args: string[], input?: string): Promise<string> {
    return run('ip', [...this.where, ...args], input);
  }

  private bridge(args: string[], input?: string): Promise<string> {
    return run('bridge', [...this.where, ...args], input);
  }

  private change(...args: string[]): Promise<void> {
    return this.channel.run(args);
  }

  async listLinks(): Promise<Link[]> {
    const links = z.array(ipLink).parse(JSON.parse(await this.ip(['-json', '-details', 'address', 'show'])));
    return links.map((l) => ({
      name: l.ifname,
      kind: l.linkinfo?.info_kind ?? '',
      ...(l.master ? { master: l.master } : {}),
      ...(l.link ? { parent: l.link } : {}),
      ...(l.address ? { mac: l.address } : {}),
      ...(l.linkinfo?.info_data?.id === undefined ? {} : { vlan: l.linkinfo.info_data.id }),
      ...(l.ifalias ? { alias: l.ifalias } : {}),
      up: l.flags.includes('UP'),
      mtu: l.mtu,
      addresses: l.addr_info.filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`),
    }));
  }

  async ensureBridge(spec: BridgeSpec): Promise<void> {
    const existing = (await this.listLinks()).find((l) => l.name === spec.name);
    if (!existing) await this.change('link', 'add', 'name', spec.name, 'type', 'bridge');
    else if (existing.kind !== 'bridge') throw new TetherError('CONFLICT', `${spec.name} exists and is not a bridge`);
    const settings = ['mtu', String(spec.mtu), 'alias', spec.alias, 'address', spec.mac];
    await this.change('link', 'set', 'dev', spec.name, ...settings, 'up');
    for (const address of spec.addresses) {
      const text = formatCidr(address);
      if (existing?.addresses.includes(text)) continue;
      // nodad: the gateway must answer at once, not after duplicate detection.
      await this.change(
        'address',
        'replace',
        text,
        'dev',
        spec.name,
        ...(address.address.version === 6 ? ['nodad'] : []),
      );
    }
  }

  async ensureVxlan(vxlan: VxlanSpec): Promise<void> {
    const existing = (await this.listLinks()).find((l) => l.name === vxlan.name);
    if (existing && existing.kind !== 'vxlan')
      throw new TetherError('CONFLICT', `${vxlan.name} exists and is not a VXLAN device`);
    if (!existing) await this.change(...vxlanAdd(vxlan));
    await this.change(...vxlanSettle(vxlan));
  }

  async syncVxlanPeers(device: string, peers: readonly OverlayPeer[]): Promise<number> {
    const held = {
      fdb: JSON.parse(await this.bridge(['-json', 'fdb', 'show', 'dev', device])),
      neighbours: JSON.parse(await this.ip(['-json', 'neigh', 'show', 'dev', device])),
    };
    return this.runPeerCommands(peerCommands(device, held, peers));
  }

  async changeVxlanPeers(device: string, changes: readonly PeerChange[]): Promise<void> {
    const commands = changes.map((change) => peerChangeCommands(device, change));
    const all = { fdb: commands.flatMap((c) => c.fdb), neighbours: commands.flatMap((c) => c.neighbours) };
    // -force: every line is tried, so one entry already gone does not leave the others undone; the
    // exit status still says it, and the caller programs the device whole then.
    await this.runPeerCommands(all, ['-force']);
  }

  /** One process per tool for the whole change; the peers' values were validated when read from the store. */
  private async runPeerCommands(commands: { fdb: string[]; neighbours: string[] }, flags: string[] = []) {
    const { fdb, neighbours } = commands;
    if (fdb.length) await this.bridge([...flags, '-batch', '-'], `${fdb.join('\n')}\n`);
    if (neighbours.length) await this.ip([...flags, '-batch', '-'], `${neighbours.join('\n')}\n`);
    return fdb.length + neighbours.length;
  }

  async routeTowards(destination: string): Promise<{ source: string; mtu: number }> {
    const [route] = routeGet.parse(JSON.parse(await this.ip(['-json', 'route', 'get', destination])));
    if (!route?.prefsrc) throw new TetherError('KERNEL', `no route with a source address towards ${destination}`);
    const link = (await this.listLinks()).find((l) => l.name === route.dev);
    return { source: route.prefsrc, mtu: link?.mtu ?? 1500 };
  }

  async createVeth(spec: VethSpec): Promise<void> {
    const mtu = String(spec.mtu);
    const host = ['name', spec.hostName, 'mtu', mtu, 'master', spec.bridge, 'up'];
    const peer = ['peer', 'name', spec.peerName, 'mtu', mtu, 'address', spec.mac];
    try {
      await this.change('link', 'add', ...host, 'type', 'veth', ...peer);
      // iproute2 drops an alias given to `link add`: it takes a message of its own.
      await this.change('link', 'set', 'dev', spec.hostName, 'alias', spec.alias);
    } catch (error) {
      // EXFULL: a Linux bridge takes at most 1,024 ports (BR_MAX_PORTS), Docker's bridge networks too.
      if (!/Exchange full/.test((error as Error).message)) throw error;
      throw new TetherError(
        'POOL_EXHAUSTED',
        `bridge ${spec.bridge} has 1,024 interfaces, the most the kernel allows on one bridge: ` +
          'no more endpoints of this network on this host',
      );
    }
  }

  /** Creates first and lists the links only when one exists already: an endpoint's start pays no listing. */
  async ensureMacvlan(spec: MacvlanSpec): Promise<void> {
    let existing: Link | undefined;
    try {
      await this.change(...macvlanAdd(spec));
    } catch (error) {
      if (!/File exists/.test((error as Error).message)) throw error;
      existing = (await this.listLinks()).find((l) => l.name === spec.name);
      const wrong = existing && mismatch(existing, spec, 'macvlan');
      if (wrong) throw new TetherError('CONFLICT', wrong);
    }
    for (const command of macvlanSettle(spec, existing)) await this.change(...command);
  }

  async ensureVlan(spec: VlanSpec): Promise<void> {
    const existing = (await this.listLinks()).find((l) => l.name === spec.name);
    const wrong = existing && mismatch(existing, spec, 'vlan', spec.id);
    if (wrong) throw new TetherError('CONFLICT', wrong);
    if (existing) return;
    try {
      await this.change(...vlanAdd(spec));
    } catch (error) {
      if (/Unknown device type|not supported/i.test((error as Error).message)) {
        throw new TetherError('KERNEL', `this host's kernel has no 802.1q VLAN support (modprobe 8021q): ${spec.name}`);
      }
      throw error;
    }
    await this.change(...vlanSettle(spec));
  }

  async defaultRouteLinks(): Promise<string[]> {
    const devices = new Set<string>();
    for (const family of ['-4', '-6']) {
      const routes = z
        .array(defaultRoute)
        .parse(JSON.parse(await this.ip(['-json', family, 'route', 'show', 'default'])));
      for (const route of routes) if (route.dev) devices.add(route.dev);
    }
    return [...devices];
  }

  async attach(hostName: string, bridge: string, alias?: string): Promise<void> {
    await this.change('link', 'set', 'dev', hostName, 'master', bridge, ...(alias ? ['alias', alias] : []), 'up');
  }

  async deleteLink(name: string): Promise<void> {
    try {
      await this.change('link', 'del', 'dev', name);
    } catch (error) {
      // Gone before the lookup, or between iproute2's lookup and the delete (ENODEV), as a veth goes with its peer.
      if (!/Cannot find device|does not exist|No such device/.test((error as Error).message)) throw error;
    }
  }

  async hostRoutes(): Promise<IpPrefix[]> {
    const routes: IpPrefix[] = [];
    for (const family of ['-4', '-6']) {
      for (const route of z.array(ipRoute).parse(JSON.parse(await this.ip(['-json', family, 'route', 'show'])))) {
        if ((route.type ?? 'unicast') !== 'unicast' || route.dst === 'default') continue;
        const cidr = parseCidr(route.dst.includes('/') ? route.dst : `${route.dst}/${family === '-4' ? 32 : 128}`);
        if (cidr) routes.push(prefixOf(cidr.address, cidr.length));
      }
    }
    return routes;
  }
}
