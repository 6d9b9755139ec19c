// Baselines for the cluster rows: the kernel's own VXLAN between the same two
// host namespaces, without tether (the limit for this encapsulation), and
// etcd's revision counter, which counts write transactions, around container
// starts.
import type { ClusterHost, Underlay } from '../test/e2e/cluster-harness.js';

const DEVICE = 'tbrawvx';
const VNI = '4000';
const PORT = '4790';
const subnetAddress = (host: ClusterHost) => `10.230.250.${host.index}`;

/** A VXLAN device in each host's namespace, sending to the other's underlay address; returns its remover. */
export async function rawVxlan(
  a: ClusterHost,
  b: ClusterHost,
): Promise<{ address(host: ClusterHost): string; remove(): Promise<void> }> {
  for (const [self, peer] of [
    [a, b],
    [b, a],
  ] as const) {
    await self.exec(
      'ip',
      'link',
      'add',
      DEVICE,
      'type',
      'vxlan',
      'id',
      VNI,
      'local',
      self.underlayAddress,
      'dstport',
      PORT,
      'nolearning',
    );
    await self.exec('ip', 'link', 'set', DEVICE, 'mtu', '1450', 'up');
    await self.exec('ip', 'addr', 'add', `${subnetAddress(self)}/24`, 'dev', DEVICE);
    await self.exec('bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', DEVICE, 'dst', peer.underlayAddress);
  }
  return {
    address: subnetAddress,
    remove: async () => {
      for (const host of [a, b]) await host.exec('ip', 'link', 'del', DEVICE).catch(() => undefined);
    },
  };
}

/** etcd's revision now, read from the underlay's first member with its JSON gateway. */
export async function etcdRevision(underlay: Underlay, from: ClusterHost): Promise<number> {
  const endpoint = underlay.storeUrl.replace(/^etcd:\/\//, 'http://').split(',')[0];
  const body = JSON.stringify({ key: Buffer.from('tether/').toString('base64') });
  const out = await from.exec('curl', '-s', '--max-time', '5', '-X', 'POST', '-d', body, `${endpoint}/v3/kv/range`);
  const revision = Number((JSON.parse(out) as { header?: { revision?: string } }).header?.revision);
  if (!Number.isFinite(revision)) throw new Error(`no revision from etcd: ${out.slice(0, 200)}`);
  return revision;
}
