// The one suite every LinkPlane passes: the in-memory fake the daemon tests
// use (fake.test.ts) and iproute2 in a throwaway network namespace
// (iproute.test.ts), so that the fake cannot drift from what the kernel does.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { type Cidr, type IpPrefix, parseCidr, parsePrefix } from '../net/ip.js';
import type { Link, LinkPlane, OverlayPeer } from './dataplane.js';

/** A host for one test: its links, and what the test sets up or reads beside the LinkPlane. */
export interface LinkHost {
  readonly links: LinkPlane;
  /** A host interface tether did not make (a NIC), up, with these addresses. */
  addNic(name: string, addresses?: readonly string[]): Promise<void>;
  /** The host's default route leaves by the interface, through the gateway. */
  addDefaultRoute(dev: string, gateway: string): Promise<void>;
  /** A VXLAN device's forwarding entries (MAC, tunnel address) and neighbours (address, MAC), sorted. */
  peersOf(device: string): Promise<{ fdb: string[][]; neighbours: string[][] }>;
  /** Why the host cannot make 802.1q sub-interfaces, if it cannot. */
  noVlans(): Promise<string | undefined>;
  close(): Promise<void>;
}

const cidr = (text: string) => parseCidr(text) as Cidr;
const GATEWAY = '10.77.0.1/24';
const GATEWAY6 = 'fd77::1/64';
const bridge = { name: 'tlpbr0', mtu: 1450, alias: 'tether:c:net', mac: '02:62:00:00:00:01' };

export function linkPlaneContract(kind: string, open: () => Promise<LinkHost>, skip: string | false = false): void {
  describe(`LinkPlane contract: ${kind}`, { skip, concurrency: false }, () => {
    const withHost = (name: string, body: (host: LinkHost, t: TestContext) => Promise<void>) =>
      test(name, async (t) => {
        const host = await open();
        try {
          await body(host, t);
        } finally {
          await host.close();
        }
      });
    const linkOf = async (links: LinkPlane, name: string): Promise<Link | undefined> =>
      (await links.listLinks()).find((l) => l.name === name);
    const makeBridge = (links: LinkPlane) =>
      links.ensureBridge({ ...bridge, addresses: [cidr(GATEWAY), cidr(GATEWAY6)] });

    withHost('a bridge is made to the spec, again without change; its subnet is a host route', async ({ links }) => {
      await makeBridge(links);
      await makeBridge(links);
      const made = await linkOf(links, bridge.name);
      assert.equal(made?.kind, 'bridge');
      assert.deepEqual([made?.up, made?.mtu, made?.alias, made?.mac], [true, 1450, bridge.alias, bridge.mac]);
      assert.deepEqual([...(made?.addresses ?? [])].sort(), [GATEWAY, GATEWAY6]);
      const routes = (await links.hostRoutes()).map((p: IpPrefix) => `${p.base}/${p.length}`);
      const subnet = parsePrefix('10.77.0.0/24') as IpPrefix;
      assert.ok(routes.includes(`${subnet.base}/${subnet.length}`), `10.77.0.0/24 in ${routes}`);
    });

    withHost('a name another kind of link has is refused for a bridge or a VXLAN device', async (host) => {
      await host.addNic('tlpnic0');
      await assert.rejects(host.links.ensureBridge({ ...bridge, name: 'tlpnic0', addresses: [] }), /not a bridge/);
      await makeBridge(host.links);
      const vxlan = { name: 'tlpnic0', vni: 7, local: '10.98.0.2', port: 4789, bridge: bridge.name };
      await assert.rejects(host.links.ensureVxlan({ ...vxlan, mtu: 1450, alias: bridge.alias }), /not a VXLAN/);
    });

    withHost(
      "a veth pair: the host end on the bridge with its owner's mark, the peer with the MAC",
      async ({ links }) => {
        await makeBridge(links);
        const veth = { hostName: 'tlpv0', peerName: 'tlpv0p', bridge: bridge.name, mtu: 1450, alias: 'tether:c:ep' };
        await links.createVeth({ ...veth, mac: '02:74:00:00:00:02' });
        const [hostEnd, peer] = [await linkOf(links, 'tlpv0'), await linkOf(links, 'tlpv0p')];
        assert.deepEqual(
          [hostEnd?.kind, hostEnd?.master, hostEnd?.up, hostEnd?.alias],
          ['veth', bridge.name, true, veth.alias],
        );
        assert.deepEqual(
          [peer?.kind, peer?.mac, peer?.mtu, peer?.master],
          ['veth', '02:74:00:00:00:02', 1450, undefined],
        );
        await assert.rejects(links.createVeth({ ...veth, mac: '02:74:00:00:00:03' }));
        await links.deleteLink('tlpv0');
        assert.equal(await linkOf(links, 'tlpv0p'), undefined, 'the peer goes with the host end');
        await links.deleteLink('tlpv0');
      },
    );

    withHost('attach puts an interface on the bridge, up, with a mark', async (host) => {
      await makeBridge(host.links);
      await host.addNic('tlpnic1');
      await host.links.attach('tlpnic1', bridge.name, 'tether:c:mark');
      const nic = await linkOf(host.links, 'tlpnic1');
      assert.deepEqual([nic?.master, nic?.up, nic?.alias], [bridge.name, true, 'tether:c:mark']);
      await host.links.deleteLink(bridge.name);
      assert.equal((await linkOf(host.links, 'tlpnic1'))?.master, undefined, 'a deleted bridge lets its ports go');
    });

    withHost("macvlans: an endpoint's stays down and bare, a shim's is up with its addresses", async (host) => {
      await host.addNic('tlpnic2');
      const on = { parent: 'tlpnic2', mtu: 1500, alias: 'tether:c:lan' };
      await host.links.ensureMacvlan({ ...on, name: 'tlpm0', mac: '02:42:0a:00:00:05', addresses: [] });
      await host.links.ensureMacvlan({ ...on, name: 'tlpsh0', addresses: [cidr('10.50.0.250/24')] });
      await host.links.ensureMacvlan({ ...on, name: 'tlpsh0', addresses: [cidr('10.50.0.250/24')] });
      const [endpoint, shim] = [await linkOf(host.links, 'tlpm0'), await linkOf(host.links, 'tlpsh0')];
      assert.deepEqual([endpoint?.kind, endpoint?.parent, endpoint?.up], ['macvlan', 'tlpnic2', false]);
      assert.deepEqual([endpoint?.mac, endpoint?.alias, endpoint?.addresses], ['02:42:0a:00:00:05', on.alias, []]);
      assert.deepEqual([shim?.up, shim?.addresses], [true, ['10.50.0.250/24']]);
      await host.addNic('tlpnic3');
      const elsewhere = { ...on, parent: 'tlpnic3', name: 'tlpm0', addresses: [] };
      await assert.rejects(host.links.ensureMacvlan(elsewhere), /exists on tlpnic2, not on tlpnic3/);
      await host.links.deleteLink('tlpnic2');
      assert.equal(await linkOf(host.links, 'tlpm0'), undefined, 'a macvlan goes with its parent');
    });

    withHost('a VLAN sub-interface on a host interface, up, with its ID', async (host, t) => {
      const lacking = await host.noVlans();
      if (lacking) return t.skip(lacking);
      await host.addNic('tlpnic4');
      const spec = { name: 'tlpnic4.10', parent: 'tlpnic4', id: 10, alias: 'tether:c:vlan' };
      await host.links.ensureVlan(spec);
      await host.links.ensureVlan(spec);
      const vlan = await linkOf(host.links, 'tlpnic4.10');
      assert.deepEqual([vlan?.kind, vlan?.parent, vlan?.vlan, vlan?.up], ['vlan', 'tlpnic4', 10, true]);
      await assert.rejects(host.links.ensureVlan({ ...spec, id: 11 }), /VLAN ID 10, not 11/);
    });

    withHost('a VXLAN device on the bridge reaches exactly the peers it was last given', async (host) => {
      await host.addNic('tlpnic5', ['10.98.0.2/24']);
      await makeBridge(host.links);
      const device = { name: 'tlpvx0', vni: 42, local: '10.98.0.2', port: 4789, mtu: 1450, alias: bridge.alias };
      await host.links.ensureVxlan({ ...device, bridge: bridge.name });
      await host.links.ensureVxlan({ ...device, bridge: bridge.name });
      const made = await linkOf(host.links, 'tlpvx0');
      assert.deepEqual([made?.kind, made?.master, made?.up, made?.mtu], ['vxlan', bridge.name, true, 1450]);
      const peer = (mac: string, vtep: string, ...addresses: string[]): OverlayPeer => ({ mac, vtep, addresses });
      await host.links.syncVxlanPeers('tlpvx0', [
        peer('02:42:0a:4d:00:02', '10.98.0.3', '10.77.0.2'),
        peer('02:42:0a:4d:00:03', '10.98.0.4', '10.77.0.3', 'fd77::3'),
      ]);
      assert.deepEqual(await host.peersOf('tlpvx0'), {
        fdb: [
          ['02:42:0a:4d:00:02', '10.98.0.3'],
          ['02:42:0a:4d:00:03', '10.98.0.4'],
        ],
        neighbours: [
          ['10.77.0.2', '02:42:0a:4d:00:02'],
          ['10.77.0.3', '02:42:0a:4d:00:03'],
          ['fd77::3', '02:42:0a:4d:00:03'],
        ],
      });
      // One endpoint moved host, one left, one came.
      await host.links.syncVxlanPeers('tlpvx0', [
        peer('02:42:0a:4d:00:03', '10.98.0.5', '10.77.0.3'),
        peer('02:42:0a:4d:00:04', '10.98.0.3', '10.77.0.4'),
      ]);
      assert.deepEqual(await host.peersOf('tlpvx0'), {
        fdb: [
          ['02:42:0a:4d:00:03', '10.98.0.5'],
          ['02:42:0a:4d:00:04', '10.98.0.3'],
        ],
        neighbours: [
          ['10.77.0.3', '02:42:0a:4d:00:03'],
          ['10.77.0.4', '02:42:0a:4d:00:04'],
        ],
      });
      // One endpoint moved host again, one came and went again in the same call, one went: in order.
      const comes = peer('02:42:0a:4d:00:07', '10.98.0.3', '10.77.0.7');
      await host.links.changeVxlanPeers('tlpvx0', [
        {
          remove: [peer('02:42:0a:4d:00:03', '10.98.0.5', '10.77.0.3')],
          add: [peer('02:42:0a:4d:00:03', '10.98.0.6', '10.77.0.3', 'fd77::3')],
        },
        { remove: [], add: [comes] },
        { remove: [comes], add: [] },
      ]);
      await host.links.changeVxlanPeers('tlpvx0', [
        { remove: [peer('02:42:0a:4d:00:04', '10.98.0.3', '10.77.0.4')], add: [] },
      ]);
      assert.deepEqual(await host.peersOf('tlpvx0'), {
        fdb: [['02:42:0a:4d:00:03', '10.98.0.6']],
        neighbours: [
          ['10.77.0.3', '02:42:0a:4d:00:03'],
          ['fd77::3', '02:42:0a:4d:00:03'],
        ],
      });
      // Taking out what is not there fails, and leaves the rest as it was.
      await assert.rejects(
        host.links.changeVxlanPeers('tlpvx0', [
          { remove: [peer('02:42:0a:4d:00:09', '10.98.0.3', '10.77.0.9')], add: [] },
        ]),
      );
      assert.equal((await host.peersOf('tlpvx0')).fdb.length, 1);
    });

    withHost('the default route links, and the route towards an address on a host interface', async (host) => {
      await host.addNic('tlpnic6', ['10.99.0.2/24']);
      await host.addDefaultRoute('tlpnic6', '10.99.0.1');
      assert.deepEqual(await host.links.defaultRouteLinks(), ['tlpnic6']);
      assert.deepEqual(await host.links.routeTowards('10.99.0.9'), { source: '10.99.0.2', mtu: 1500 });
    });
  });
}
