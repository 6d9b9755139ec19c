// IpRoute against the kernel (as root): the owner's mark on what it makes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { IpRoute } from './iproute.js';

const root = process.getuid?.() === 0;
const bridge = `tipr${process.pid % 100000}b`;
const host = `tipr${process.pid % 100000}v`;

describe('IpRoute', { skip: root ? false : 'needs root to make links' }, () => {
  const links = new IpRoute();
  after(() => {
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
