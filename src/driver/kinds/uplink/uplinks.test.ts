import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUplinks, resolveUplink } from './allowed.js';

test('--uplinks takes interfaces, logical names and the shared mark; a network names one of them', () => {
  const uplinks = parseUplinks('eth1, data=ens4,mgmt=eth0:shared');
  assert.deepEqual(uplinks, [
    { name: 'eth1', iface: 'eth1', shared: false },
    { name: 'data', iface: 'ens4', shared: false },
    { name: 'mgmt', iface: 'eth0', shared: true },
  ]);
  assert.equal(resolveUplink(uplinks, 'data').iface, 'ens4');
  assert.throws(() => resolveUplink(uplinks, 'ens4'), /not one of this host's uplinks.*allows eth1, data, mgmt/);
  assert.throws(() => resolveUplink([], 'eth1'), /it allows none/);
  assert.deepEqual(parseUplinks(''), []);
  for (const bad of ['eth1;reboot', 'a=b=c', 'x'.repeat(16), 'eth1:all', 'eth1,eth1']) {
    assert.throws(() => parseUplinks(bad), /--uplinks/, bad);
  }
});
