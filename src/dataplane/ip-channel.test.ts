// The ip batch channel against the real iproute2 (as root): commands in order,
// each one's own error, many at once, and a new process after the last ended.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { IpChannel } from './ip-channel.js';

const root = process.getuid?.() === 0;
const names = Array.from({ length: 20 }, (_, i) => `tipc${process.pid % 10000}x${i}`);
/** This kernel has no dummy links: a veth pair is the link the tests make. */
const veth = (name: string) => ['type', 'veth', 'peer', 'name', `${name}p`];
const exists = (name: string) => {
  try {
    execFileSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('IpChannel', { skip: root ? false : 'needs root to make links' }, () => {
  const channel = new IpChannel();
  after(() => {
    for (const name of names) if (exists(name)) execFileSync('ip', ['link', 'del', 'dev', name]);
    channel.close();
  });

  test("runs commands in order and gives each its own error, in iproute2's words", async () => {
    const [name = ''] = names;
    await channel.run(['link', 'add', 'name', name, ...veth(name)]);
    assert.ok(exists(name));
    await assert.rejects(channel.run(['link', 'add', 'name', name, ...veth(name)]), /File exists/);
    await channel.run(['link', 'set', 'dev', name, 'up']);
    await channel.run(['link', 'del', 'dev', name]);
    assert.ok(!exists(name));
    await assert.rejects(channel.run(['link', 'del', 'dev', name]), /Cannot find device/);
  });

  test('many commands at once each get their own answer', async () => {
    const results = await Promise.allSettled(
      names.flatMap((name, i) => [
        channel.run(['link', 'add', 'name', name, ...(i % 2 ? veth(name) : ['type', 'no-such-kind'])]),
        channel.run(['link', 'del', 'dev', name]),
      ]),
    );
    const outcome = results.map((r) => r.status);
    assert.deepEqual(
      outcome,
      names.flatMap((_, i) => (i % 2 ? ['fulfilled', 'fulfilled'] : ['rejected', 'rejected'])),
    );
    assert.ok(names.every((name) => !exists(name)));
  });

  test('arguments iproute2 would split are refused, and a closed channel starts again', async () => {
    await assert.rejects(channel.run(['link', 'set', 'dev', 'a b', 'up']), /would split/);
    channel.close();
    const [name = ''] = names;
    await channel.run(['link', 'add', 'name', name, ...veth(name)]);
    await channel.run(['link', 'del', 'dev', name]);
  });
});
