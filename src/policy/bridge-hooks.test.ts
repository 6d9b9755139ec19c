// br_netfilter's settings, on a folder standing in for /proc/sys/net/bridge.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureBridgeHooks } from './bridge-hooks.js';

test('both hooks off are turned on and named; on, nothing is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-hooks-'));
  try {
    writeFileSync(join(dir, 'bridge-nf-call-iptables'), '0\n');
    writeFileSync(join(dir, 'bridge-nf-call-ip6tables'), '1\n');
    assert.deepEqual(await ensureBridgeHooks(dir), ['net.bridge.bridge-nf-call-iptables']);
    assert.equal(readFileSync(join(dir, 'bridge-nf-call-iptables'), 'utf8'), '1');
    assert.deepEqual(await ensureBridgeHooks(dir), []);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('without br_netfilter the answer says so and why it matters', async () => {
  await assert.rejects(
    ensureBridgeHooks(join(tmpdir(), `tether-no-bridge-${process.pid}`)),
    /br_netfilter is not loaded, and modprobe .*passes no firewall/,
  );
});
