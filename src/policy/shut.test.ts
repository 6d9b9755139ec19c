// The shut ports (bridge family) against the kernel, as root: two namespaces on
// one bridge ping each other; with their ports shut they do not, whatever
// br_netfilter's settings; opened again, they do.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { tableFor } from './nft-script.js';
import { NftTable } from './nftables.js';

const tag = process.pid % 100000;
const bridge = `tsh${tag}b`;
const spaces = [1, 2].map((i) => ({ ns: `tether-shut-${tag}-${i}`, port: `tsh${tag}p${i}`, address: `10.231.9.${i}` }));
const sh = (...command: string[]) => execFileSync(command[0] ?? '', command.slice(1), { stdio: 'pipe' }).toString();
const ping = (from: string, to: string) => {
  try {
    sh('ip', 'netns', 'exec', from, 'busybox', 'ping', '-c', '1', '-W', '1', to);
    return true;
  } catch {
    return false;
  }
};
const missing = (() => {
  if (process.getuid?.() !== 0) return 'needs root';
  try {
    sh('nft', '--version');
    sh('busybox', 'true');
    return undefined;
  } catch {
    return 'needs nft and busybox';
  }
})();

describe('shut ports', { skip: missing ?? false }, () => {
  const table = new NftTable(tableFor(`shut${tag}`));
  // Docker's FORWARD policy, where a dockerd ran, drops bridged traffic too (br_netfilter): let this bridge's pass.
  const accept = ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
  // iptables-nft makes its filter table on first use; a host that had none gets none back.
  const filterTable = () => sh('nft', 'list', 'tables').split('\n').includes('table ip filter');
  let hadFilter = true;
  before(() => {
    hadFilter = filterTable();
    sh('ip', 'link', 'add', bridge, 'type', 'bridge');
    sh('ip', 'link', 'set', bridge, 'up');
    sh('iptables', '-I', ...accept);
    for (const { ns, port, address } of spaces) {
      sh('ip', 'netns', 'add', ns);
      sh('ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      sh('ip', 'link', 'set', port, 'master', bridge, 'up');
      sh('ip', 'netns', 'exec', ns, 'ip', 'address', 'add', `${address}/24`, 'dev', 'eth0');
      sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'up');
    }
  });
  after(async () => {
    await table.shut([]);
    for (const { ns, port } of spaces) {
      sh('ip', 'link', 'del', port);
      sh('ip', 'netns', 'del', ns);
    }
    sh('ip', 'link', 'del', bridge);
    sh('iptables', '-D', ...accept);
    if (!hadFilter) sh('nft', 'delete', 'table', 'ip', 'filter');
  });

  test('traffic within the bridge to a shut port stops, and flows again once it opens', async () => {
    const [a, b] = spaces as [(typeof spaces)[0], (typeof spaces)[0]];
    assert.ok(ping(a.ns, b.address), 'open at first');
    await table.shut([a.port, b.port]);
    assert.ok(!ping(a.ns, b.address), 'shut');
    await table.shut([]);
    assert.ok(ping(a.ns, b.address), 'open again');
    assert.doesNotMatch(sh('nft', 'list', 'tables'), new RegExp(`bridge ${table.table}\\b`), 'no table left');
  });
});
