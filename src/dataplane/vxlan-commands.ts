// The iproute2 commands for a network's VXLAN device (tunnel/vxlan.ts): made
// with no learning and no flooding (its forwarding entries are exactly the
// peers tether programs), and proxy, so that it answers ARP and ND for remote
// addresses itself. Built apart from running them, as uplink-commands.ts.
import { z } from 'zod';
import type { OverlayPeer, PeerChange, VxlanSpec } from './dataplane.js';

export const vxlanAdd = (spec: VxlanSpec): string[] => [
  ...['link', 'add', 'name', spec.name, 'type', 'vxlan', 'id', String(spec.vni)],
  ...['local', spec.local, 'dstport', String(spec.port), 'nolearning', 'proxy'],
];

export const vxlanSettle = (spec: VxlanSpec): string[] => [
  ...['link', 'set', 'dev', spec.name, 'master', spec.bridge],
  ...['mtu', String(spec.mtu), 'alias', spec.alias, 'up'],
];

const fdbEntry = z.object({ mac: z.string(), dst: z.string().optional(), flags: z.array(z.string()).default([]) });
const neighbour = z.object({ dst: z.string(), lladdr: z.string().optional(), state: z.array(z.string()).default([]) });

/**
 * The `bridge -batch` and `ip -batch` lines that take the device from the entries it holds (the
 * tools' JSON) to exactly the peers': forwarding entries MAC -> tunnel address, neighbours address -> MAC.
 */
export function peerCommands(
  device: string,
  held: { readonly fdb: unknown; readonly neighbours: unknown },
  peers: readonly OverlayPeer[],
): { fdb: string[]; neighbours: string[] } {
  const fdb = z
    .array(fdbEntry)
    .parse(held.fdb)
    .filter((e) => e.dst && e.flags.includes('self'));
  const neighbours = z
    .array(neighbour)
    .parse(held.neighbours)
    .filter((n) => n.state.includes('PERMANENT'));
  const wantedFdb = new Map(peers.map((p) => [p.mac, p.vtep]));
  const wantedNeighbours = new Map(peers.flatMap((p) => p.addresses.map((a) => [a, p.mac] as const)));
  return {
    fdb: [
      ...fdb
        .filter((e) => wantedFdb.get(e.mac) !== e.dst)
        .map((e) => `fdb del ${e.mac} dev ${device} dst ${e.dst} self`),
      ...[...wantedFdb]
        .filter(([mac, vtep]) => !fdb.some((e) => e.mac === mac && e.dst === vtep))
        .map(([mac, vtep]) => `fdb replace ${mac} dev ${device} dst ${vtep} self permanent`),
    ],
    neighbours: [
      ...neighbours
        .filter((n) => wantedNeighbours.get(n.dst) !== n.lladdr)
        .map((n) => `neigh del ${n.dst} dev ${device}`),
      ...[...wantedNeighbours]
        .filter(([address, mac]) => !neighbours.some((n) => n.dst === address && n.lladdr === mac))
        .map(([address, mac]) => `neigh replace ${address} lladdr ${mac} dev ${device} nud permanent`),
    ],
  };
}

/** The lines of a change of some peers: the removed ones' entries, as if held, taken to the added ones'. */
export function peerChangeCommands(device: string, change: PeerChange): { fdb: string[]; neighbours: string[] } {
  const held = {
    fdb: change.remove.map((p) => ({ mac: p.mac, dst: p.vtep, flags: ['self'] })),
    neighbours: change.remove.flatMap((p) => p.addresses.map((dst) => ({ dst, lladdr: p.mac, state: ['PERMANENT'] }))),
  };
  return peerCommands(device, held, change.add);
}
