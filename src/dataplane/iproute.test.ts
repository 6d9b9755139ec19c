// IpRoute against the kernel (as root): the LinkPlane contract in a throwaway
// network namespace each test, and the owner's mark on what it makes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { IpRoute } from './iproute.js';
import { linkPlaneContract } from './link-plane-contract.js';

const root = process.getuid?.() === 0;
const bridge = `tipr${process.pid % 100000}b`;
const host = `tipr${process.pid % 100000}v`;
const noRoot = root ? false : 'needs root to make links and network namespaces';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
let namespaces = 0;

linkPlaneContract(
  'IpRoute in a network namespace',
  async () => {
    const netns = `tlp${process.pid}n${namespaces++}`;
    ip('netns', 'add', netns);
    ip('-n', netns, 'link', 'set', 'lo', 'up');
    const links = new IpRoute({ netns });
    const json = <T>(command: string, ...args: string[]) =>
      JSON.parse(execFileSync(command, ['-n', netns, '-json', ...args], { encoding: 'utf8' })) as T[];
    return {
      links,
      // A veth whose other end stays in the namespace, up: the kernel here has no dummy links.
      addNic: async (name, addresses = []) => {
        ip('-n', netns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}x`);
        for (const address of addresses) ip('-n', netns, 'address', 'add', address, 'dev', name);
        for (const end of [name, `${name}x`]) ip('-n', netns, 'link', 'set', end, 'up');
      },
      addDefaultRoute: async (dev, gateway) =>
        void ip('-n', netns, 'route', 'add', 'default', 'via', gateway, 'dev', dev),
      peersOf: async (device) => ({
        fdb: json<{ mac: string; dst?: string }>('bridge', 'fdb', 'show', 'dev', device)
          .flatMap((e) => (e.dst ? [[e.mac, e.dst]] : []))
          .sort(),
        neighbours: json<{ dst: string; lladdr?: string; state?: string[] }>('ip', 'neigh', 'show', 'dev', device)
          .flatMap((n) => (n.state?.includes('PERMANENT') && n.lladdr ? [[n.dst, n.lladdr]] : []))
          .sort(),
      }),
      noVlans: async () => {
        try {
          ip('-n', netns, 'link', 'add', 'tlpprobe', 'type', 'veth', 'peer', 'name', 'tlpprobex');
          ip('-n', netns, 'link', 'add', 'link', 'tlpprobe', 'name', 'tlpprobe.5', 'type', 'vlan', 'id', '5');
          ip('-n', netns, 'link', 'del', 'tlpprobe');
          return undefined;
        } catch (error) {
          return `this kernel cannot make 802.1q sub-interfaces: ${(error as Error).message.trim()}`;
        }
      },
      close: async () => {
        links.close();
        ip('netns', 'del', netns);
      },
    };
  },
  noRoot,
);

describe('IpRoute', { skip: noRoot }, () => {
  const links = new IpRoute();
  after(() => {
    links.close();
    for (const name of [host, bridge]) {
      try {
        execFileSync('ip', ['link', 'del', 'dev', name], { stdio: 'ignore' });
      } catch {}
    }
  });

  test("a veth's host end carries the owner's mark, and attach marks one that lacks it", async () => {
    await links.ensureBridge({
      name: bridge,
      mtu: 1500,
      alias: 'tether:t:net',
      mac: '02:62:00:00:00:09',
      addresses: [],
    });
    const alias = `tether:t:${'1'.repeat(64)}`;
    await links.createVeth({
      hostName: host,
      peerName: `${host}p`,
      bridge,
      mtu: 1500,
      mac: '02:74:00:00:00:09',
      alias,
    });
    const listed = new Map((await links.listLinks()).map((l) => [l.name, l]));
    assert.equal(listed.get(host)?.alias, alias);
    assert.equal(listed.get(host)?.master, bridge);
    assert.equal(listed.get(bridge)?.alias, 'tether:t:net');
    execFileSync('ip', ['link', 'set', 'dev', host, 'nomaster', 'alias', '']);
    await links.attach(host, bridge, alias);
    const again = (await links.listLinks()).find((l) => l.name === host);
    assert.equal(again?.alias, alias);
    assert.equal(again?.master, bridge);
  });
});
