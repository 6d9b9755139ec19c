// LinkPlane on iproute2. One `ip` process per change: each creates a link with
// every attribute in one netlink message, and a spawn never blocks the event
// loop the way a synchronous netlink call waiting on a veth deletion does.
import { z } from 'zod';
import { TetherError } from '../errors.js';
import { type IpPrefix, parseCidr, prefixOf } from '../net/ip.js';
import { run } from '../util/exec.js';
import type { BridgeSpec, Link, LinkPlane, VethSpec } from './dataplane.js';

const ipLink = z.object({
  ifname: z.string(),
  flags: z.array(z.string()).default([]),
  mtu: z.number(),
  master: z.string().optional(),
  ifalias: z.string().optional(),
  linkinfo: z.object({ info_kind: z.string().optional() }).optional(),
  addr_info: z.array(z.object({ local: z.string(), prefixlen: z.number(), scope: z.string().optional() })).default([]),
});

const ipRoute = z.object({ dst: z.string(), type: z.string().optional() });

const ip = (...args: string[]) => run('ip', args);

export class IpRoute implements LinkPlane {
  async listLinks(): Promise<Link[]> {
    const links = z.array(ipLink).parse(JSON.parse(await ip('-json', '-details', 'address', 'show')));
    return links.map((l) => ({
      name: l.ifname,
      kind: l.linkinfo?.info_kind ?? '',
      ...(l.master ? { master: l.master } : {}),
      ...(l.ifalias ? { alias: l.ifalias } : {}),
      up: l.flags.includes('UP'),
      mtu: l.mtu,
      addresses: l.addr_info.filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`),
    }));
  }

  async ensureBridge(spec: BridgeSpec): Promise<void> {
    const existing = (await this.listLinks()).find((l) => l.name === spec.name);
    if (!existing) await ip('link', 'add', 'name', spec.name, 'type', 'bridge');
    else if (existing.kind !== 'bridge') throw new TetherError('CONFLICT', `${spec.name} exists and is not a bridge`);
    await ip('link', 'set', 'dev', spec.name, 'mtu', String(spec.mtu), 'alias', spec.alias, 'up');
    for (const address of spec.addresses) {
      if (existing?.addresses.includes(address)) continue;
      const v6 = parseCidr(address)?.address.version === 6;
      // nodad: the gateway must answer at once, not after duplicate detection.
      await ip('address', 'replace', address, 'dev', spec.name, ...(v6 ? ['nodad'] : []));
    }
  }

  async createVeth(spec: VethSpec): Promise<void> {
    const mtu = String(spec.mtu);
    await ip('link', 'add', 'name', spec.hostName, 'mtu', mtu, 'master', spec.bridge, 'up',
      'type', 'veth', 'peer', 'name', spec.peerName, 'mtu', mtu, 'address', spec.mac);
  }

  async attach(hostName: string, bridge: string): Promise<void> {
    await ip('link', 'set', 'dev', hostName, 'master', bridge, 'up');
  }

  async deleteLink(name: string): Promise<void> {
    try {
      await ip('link', 'del', 'dev', name);
    } catch (error) {
      if (!/Cannot find device|does not exist/.test((error as Error).message)) throw error;
    }
  }

  async hostRoutes(): Promise<IpPrefix[]> {
    const routes: IpPrefix[] = [];
    for (const family of ['-4', '-6']) {
      for (const route of z.array(ipRoute).parse(JSON.parse(await ip('-json', family, 'route', 'show')))) {
        if ((route.type ?? 'unicast') !== 'unicast' || route.dst === 'default') continue;
        const cidr = parseCidr(route.dst.includes('/') ? route.dst : `${route.dst}/${family === '-4' ? 32 : 128}`);
        if (cidr) routes.push(prefixOf(cidr.address, cidr.length));
      }
    }
    return routes;
  }
}
