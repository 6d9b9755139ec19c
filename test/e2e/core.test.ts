// End to end: a real dockerd (--bridge=none, FORWARD policy DROP), a real
// tether on its own socket, busybox containers, checked with the docker CLI.
import assert from 'node:assert/strict';
import { describe, test } from './engine.js';
import { Environment, IMAGE, must, networkCreate, useEnvironment } from './harness.js';

const env = new Environment();

/** Bridges and veths on the host whose names start with tether's test prefix. */
async function hostLinks(): Promise<string[]> {
  return (await must('ip', '-o', 'link', 'show'))
    .split('\n')
    .map((line) => line.split(': ')[1]?.split('@')[0] ?? '')
    .filter((name) => name.startsWith('tte'));
}

async function bridgeOf(network: string): Promise<string> {
  const id = await env.dockerOk('network', 'inspect', '-f', '{{.Id}}', network);
  const links = await hostLinks();
  const bridge = links.find((name) => name.startsWith('ttebr') && id.startsWith(name.slice(5)));
  assert.ok(bridge, `no bridge for network ${network} among ${links.join(', ')}`);
  return bridge;
}

const macOf = async (link: string) =>
  (JSON.parse(await must('ip', '-json', 'link', 'show', link)) as { address: string }[])[0]?.address ?? '';

describe('tether with a real Docker daemon', { concurrency: false }, () => {
  const tearDown = useEnvironment(env);

  test('two containers reach each other by name and by address, over IPv4 and IPv6', async () => {
    await env.network('dual', '--ipv6', '--subnet', '10.230.1.0/24', '--subnet', 'fd7e:7e7e:1::/64');
    await env.run('dual-a', '--net', 'dual');
    await env.run('dual-b', '--net', 'dual');
    const b4 = await env.address('dual-b', 'dual');
    const b6 = await env.address('dual-b', 'dual', 'GlobalIPv6Address');
    assert.match(b4, /^10\.230\.1\.\d+$/);
    assert.match(b6, /^fd7e:7e7e:1::/);
    assert.ok(await env.ping('dual-a', b4), 'IPv4 by address');
    assert.ok(await env.ping('dual-a', b6, 6), 'IPv6 by address');
    assert.ok(await env.ping('dual-a', 'dual-b'), 'IPv4 by name');
    assert.ok(await env.ping('dual-a', 'dual-b', 6), 'IPv6 by name');
    const routes = (await env.exec('dual-a', 'ip', 'route')).stdout;
    assert.match(routes, /default via 10\.230\.1\.1 dev eth0/);
    const routes6 = (await env.exec('dual-a', 'ip', '-6', 'route')).stdout;
    assert.match(routes6, /default via fd7e:7e7e:1::1 dev eth0/);
    // The MAC comes from the address, so a reused address keeps neighbours' caches right.
    const mac = await env.dockerOk(
      'inspect',
      '-f',
      '{{(index .NetworkSettings.Networks "dual").MacAddress}}',
      'dual-b',
    );
    const expected = `02:74:${b4
      .split('.')
      .map((n) => Number(n).toString(16).padStart(2, '0'))
      .join(':')}`;
    assert.equal(mac, expected);
    // The gateway's MAC is the bridge's own and fixed: a container joining with a lower MAC cannot change it
    // under the others (a Linux bridge otherwise takes its lowest port's).
    const gatewayMac = await macOf(await bridgeOf('dual'));
    assert.match(gatewayMac, /^02:62:/);
    assert.ok(await env.ping('dual-a', '10.230.1.1'), 'the gateway answers');
    await env.run('dual-mac', '--net', 'dual');
    assert.equal(await macOf(await bridgeOf('dual')), gatewayMac);
    assert.match((await env.exec('dual-a', 'ip', 'neigh', 'show', '10.230.1.1')).stdout, new RegExp(gatewayMac));
    await env.dockerOk('rm', '-f', 'dual-mac');
  });

  test('a container on two networks, connected and disconnected', async () => {
    await env.network('left', '--subnet', '10.230.2.0/24');
    await env.network('right', '--subnet', '10.230.3.0/24');
    await env.run('multi', '--net', 'left');
    await env.run('left-peer', '--net', 'left');
    await env.run('right-peer', '--net', 'right');
    assert.equal(await env.ping('multi', 'right-peer'), false, 'not yet on the right network');
    await env.dockerOk('network', 'connect', 'right', 'multi');
    const interfaces = (await env.exec('multi', 'ip', '-o', 'addr', 'show')).stdout;
    assert.match(interfaces, /eth0 +inet 10\.230\.2\./);
    assert.match(interfaces, /eth1 +inet 10\.230\.3\./);
    assert.ok(await env.ping('multi', 'left-peer'));
    assert.ok(await env.ping('multi', await env.address('right-peer', 'right')));
    const before = await hostLinks();
    await env.dockerOk('network', 'disconnect', 'right', 'multi');
    assert.doesNotMatch((await env.exec('multi', 'ip', '-o', 'addr', 'show')).stdout, /eth1/);
    assert.equal((await hostLinks()).length, before.length - 1, 'the endpoint veth is gone');
    assert.equal(await env.ping('multi', await env.address('right-peer', 'right')), false);
  });

  test('containers on different tether networks cannot reach each other', async () => {
    const leftPeer = await env.address('left-peer', 'left');
    const rightPeer = await env.address('right-peer', 'right');
    assert.equal(await env.ping('right-peer', leftPeer), false);
    assert.equal(await env.ping('left-peer', rightPeer), false);
    // As with Docker's bridge, the other network's gateway is an address of the host itself, so it answers.
    assert.ok(await env.ping('left-peer', '10.230.3.1'));
  });

  test('--internal networks reach only each other and get no default route', async () => {
    await env.network('inner', '--internal', '--subnet', '10.230.4.0/24');
    await env.run('inner-a', '--net', 'inner');
    await env.run('inner-b', '--net', 'inner');
    assert.ok(await env.ping('inner-a', 'inner-b'));
    const routes = (await env.exec('inner-a', 'ip', 'route')).stdout;
    assert.doesNotMatch(routes, /default/);
    assert.equal(await env.ping('inner-a', await env.address('left-peer', 'left')), false);
  });

  test('a static --ip, and a clear error for a duplicate or out-of-range one', async () => {
    await env.network(
      'fixed',
      '--subnet',
      '10.230.5.0/24',
      '--ip-range',
      '10.230.5.128/25',
      '--gateway',
      '10.230.5.1',
      '--aux-address',
      'router=10.230.5.2',
    );
    await env.run('fixed-a', '--net', 'fixed', '--ip', '10.230.5.200');
    assert.equal(await env.address('fixed-a', 'fixed'), '10.230.5.200');
    await env.run('fixed-b', '--net', 'fixed');
    assert.match(
      await env.address('fixed-b', 'fixed'),
      /^10\.230\.5\.(12[89]|1[3-9]\d|2[0-4]\d|25[0-4])$/,
      'dynamic addresses come from the ip-range',
    );
    const duplicate = await env.docker('run', '--rm', '--net', 'fixed', '--ip', '10.230.5.200', IMAGE, 'true');
    assert.notEqual(duplicate.code, 0);
    assert.match(duplicate.stderr, /address 10\.230\.5\.200 is already in use/);
    const aux = await env.docker('run', '--rm', '--net', 'fixed', '--ip', '10.230.5.2', IMAGE, 'true');
    assert.match(aux.stderr, /address 10\.230\.5\.2 is already in use/);
  });

  test('a subnet is chosen automatically when none is given', async () => {
    await env.network('auto');
    await env.network('auto6', '--ipv6');
    const subnets = await env.dockerOk(
      'network',
      'inspect',
      '-f',
      '{{range .IPAM.Config}}{{.Subnet}} {{end}}',
      'auto',
      'auto6',
    );
    const [first, second] = subnets.split('\n').map((line) => line.trim().split(' '));
    assert.match(first?.[0] ?? '', /^10\.231\.\d+\.0\/24$/);
    assert.match(second?.[0] ?? '', /^10\.231\.\d+\.0\/24$/);
    assert.notEqual(first?.[0], second?.[0]);
    assert.match(second?.[1] ?? '', /^fd7e:7e7e:ff[0-9a-f]{2}:[0-9a-f:]*\/64$/);
    await env.run('auto-a', '--net', 'auto');
    await env.run('auto-b', '--net', 'auto');
    assert.ok(await env.ping('auto-a', 'auto-b'));
  });

  test('the user reads a clear error for an unknown option, an overlapping subnet and an exhausted pool', async () => {
    const unknown = await env.docker(...networkCreate(env.driver), '-o', 'colour=blue', 'bad');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown option "colour"/);
    const mtu = await env.docker(...networkCreate(env.driver), '-o', 'mtu=9', 'bad');
    assert.match(mtu.stderr, /MTU must be a whole number from 1280 to 65535/);
    const overlap = await env.docker(...networkCreate(env.driver), '--subnet', '10.230.1.128/25', 'bad');
    assert.notEqual(overlap.code, 0);
    assert.match(overlap.stderr, /subnet 10\.230\.1\.128\/25 overlaps subnet 10\.230\.1\.0\/24/);
    // A failed create leaves nothing: the same subnet works once the clash is gone.
    assert.equal((await env.docker('network', 'ls', '-q', '--filter', 'name=^bad$')).stdout.trim(), '');

    await env.network('tiny', '--subnet', '10.230.6.0/30');
    await env.run('tiny-a', '--net', 'tiny');
    const full = await env.docker('run', '--rm', '--net', 'tiny', IMAGE, 'true');
    assert.notEqual(full.code, 0);
    assert.match(full.stderr, /no address left in subnet 10\.230\.6\.0\/30/);
    assert.ok(await env.ping('tiny-a', '10.230.6.1'), 'the first container is unharmed');
  });

  test('-o options set the MTU and the bridge name', async () => {
    await env.network(
      'custom',
      '--subnet',
      '10.230.7.0/24',
      '-o',
      'com.docker.network.driver.mtu=1400',
      '-o',
      'com.docker.network.bridge.name=tte-custom',
    );
    await env.run('custom-a', '--net', 'custom');
    assert.match(await must('ip', 'link', 'show', 'tte-custom'), /mtu 1400/);
    assert.match((await env.exec('custom-a', 'ip', 'link', 'show', 'eth0')).stdout, /mtu 1400/);
  });

  test('kill -9 of tether: containers keep talking, and everything is intact after a restart', async () => {
    const before = await env.dockerOk('exec', 'dual-a', 'ip', '-o', 'addr');
    await env.killTether();
    assert.ok(await env.ping('dual-a', 'dual-b'), 'traffic does not depend on the daemon');
    await env.startTether();
    assert.ok(await env.ping('dual-a', 'dual-b'));
    assert.ok(await env.ping('dual-a', await env.address('dual-b', 'dual', 'GlobalIPv6Address'), 6));
    assert.equal(await env.dockerOk('exec', 'dual-a', 'ip', '-o', 'addr'), before);
    await env.run('dual-c', '--net', 'dual');
    const addresses = new Set(await Promise.all(['dual-a', 'dual-b', 'dual-c'].map((c) => env.address(c, 'dual'))));
    assert.equal(addresses.size, 3, 'no address handed out twice');
    assert.ok(await env.ping('dual-c', 'dual-a'));
    assert.deepEqual(await env.audit(), []);
  });

  test('docker stop while tether is down: after the restart the address is free again', async () => {
    await env.network('gone', '--subnet', '10.230.8.0/29');
    await env.run('gone-a', '--net', 'gone', '--ip', '10.230.8.2');
    await env.killTether();
    // Docker retries each call for about 15 s, then drops the endpoint without telling the plugin.
    await env.dockerOk('stop', '-t', '0', 'gone-a');
    await env.dockerOk('rm', 'gone-a');
    await env.startTether();
    assert.match(env.tetherLog, /freed an endpoint whose container is gone/);
    await env.run('gone-b', '--net', 'gone', '--ip', '10.230.8.2');
    assert.equal(await env.address('gone-b', 'gone'), '10.230.8.2');
    const veths = (await must('ip', '-o', 'link', 'show', 'master', await bridgeOf('gone'))).trim().split('\n');
    assert.equal(veths.length, 1, 'only the new endpoint is on the bridge');
    assert.deepEqual(await env.audit(), []);
  });

  test('a start that outlasts the orphan grace keeps its interface: tether asks Docker before freeing', async () => {
    await env.network('slow', '--subnet', '10.230.9.0/29');
    await env.run('slow-a', '--net', 'slow');
    // Between Join and the move of the interface into the container, the peer sits on the host,
    // which after the grace looks like a container gone; Docker still holds the endpoint.
    env.setSlowCreate(env.orphanGraceSeconds + 5);
    try {
      await env.run('slow-b', '--net', 'slow', '--runtime', 'slow');
    } finally {
      env.setSlowCreate(0);
    }
    const endpoint = await env.dockerOk('inspect', '-f', '{{.NetworkSettings.Networks.slow.EndpointID}}', 'slow-b');
    assert.doesNotMatch(env.tetherLog, new RegExp(`"endpoint":"${endpoint}".*freed an endpoint`));
    assert.ok(await env.ping('slow-a', await env.address('slow-b', 'slow')));
    assert.deepEqual(await env.audit(), []);
  });

  test('docker network rm removes the bridge and its rules', async () => {
    const bridge = await bridgeOf('auto');
    await env.dockerOk('rm', '-f', 'auto-a', 'auto-b');
    await env.dockerOk('network', 'rm', 'auto');
    assert.ok(!(await hostLinks()).includes(bridge));
    assert.doesNotMatch(await must('iptables-save'), new RegExp(bridge));
    // A bridge named with -o goes too, and the name is free again.
    await env.dockerOk('rm', '-f', 'custom-a');
    await env.dockerOk('network', 'rm', 'custom');
    assert.ok(!(await hostLinks()).includes('tte-custom'));
    assert.doesNotMatch(await must('iptables-save'), /tte-custom/);
    await env.network('custom', '--subnet', '10.230.7.0/24', '-o', 'bridge=tte-custom');
  });

  test('a stopped tether leaves its networks in place, and a clean run leaves nothing behind', async () => {
    await env.stopTether();
    assert.ok(
      (await hostLinks()).some((name) => name.startsWith('ttebr')),
      'SIGTERM keeps the bridges',
    );
    await env.startTether();
    assert.deepEqual(await env.audit(), []);
    await tearDown();
    assert.deepEqual(await env.leftovers(), []);
  });
});
