// One name, one host: copies of a host's state directory (a VM template, a
// running VM cloned) started beside it, on daemons sharing one store.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, Host, useSharedStore } from '../../test/support/cluster-hosts.js';

const shared = useSharedStore();

test('a copy of an old state of a live host is refused; a copy of it now takes the name, and a says so', async () => {
  const a = await new Host(shared(), 'a', '192.0.2.1').start();
  await a.daemon.close();
  // A template made of a while it was stopped: the same identity, the nonce of a's last registration.
  copyFileSync(join(shared().dir, 'a.db'), join(shared().dir, 'template.db'));
  await a.start();
  const fromTemplate = new Host(shared(), 'a', '192.0.2.9', {}, 'template');
  await assert.rejects(fromTemplate.start(), /host name a is held by another tether \(tunnel address 192\.0\.2\.1/);
  // A copy of a as it runs cannot be told from a's own restart: it takes the name, and a, seeing
  // its registration made by another start, stops calling itself registered.
  const { dir } = shared();
  for (const part of ['', '-wal']) copyFileSync(join(dir, `a.db${part}`), join(dir, `live.db${part}`));
  const lease = async () => (await a.daemon.readiness.run()).checks.find((c) => c.name === 'lease')?.ok;
  assert.equal(await lease(), true);
  await new Host(shared(), 'a', '192.0.2.8', {}, 'live').start();
  await eventually('a sees its name taken', async () => (await lease()) === false);
});

test('two tethers of one name starting at once: one registers, the other is refused', async () => {
  const results = await Promise.allSettled([
    new Host(shared(), 'x', '192.0.2.1', {}, 'x1').start(),
    new Host(shared(), 'x', '192.0.2.2', {}, 'x2').start(),
  ]);
  assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  const refused = results.find((r) => r.status === 'rejected');
  assert.match(String(refused?.reason), /host name x is held by another tether/);
});
