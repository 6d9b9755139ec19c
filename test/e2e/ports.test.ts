// Published ports, outbound NAT and host reachability, with a real dockerd.
// The "outside" is a namespace of the test's own, linked to the host; no
// packet goes anywhere else.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from '../support/free-ports.js';
import { describe, ENGINE, test } from './engine.js';
import { Environment, IMAGE, must, networkCreate, nothingLeftBehind, Outside, sh, useEnvironment } from './harness.js';

const env = new Environment();
const client = new Outside(0);
const listener = new Outside(1);
const background: ChildProcess[] = [];
/** Host ports free when the suite starts (a user's containers may publish others): see setUp. */
const port = { web: 0, local: 0, udp: 0, busy: 0, range: 0 };

/** A container serving "hello from NAME" over HTTP on port 80. */
async function webServer(name: string, ...args: string[]): Promise<void> {
  await env.dockerOk(
    'run',
    '-d',
    '--name',
    name,
    ...args,
    IMAGE,
    'sh',
    '-c',
    `mkdir -p /www && echo hello from ${name} > /www/index.html && exec httpd -f -p 80 -h /www`,
  );
}

async function fetchFrom(where: 'host' | Outside, url: string): Promise<string | undefined> {
  // busybox wget's own -T prints nothing at all on this build, so the time limit comes from timeout(1).
  const command = ['timeout', '5', 'busybox', 'wget', '-q', '-O', '-', url];
  const result = where === 'host' ? await sh(command[0] ?? '', command.slice(1)) : await where.try(...command);
  return result.code === 0 ? result.stdout.trim() : undefined;
}

async function publishedPorts(container: string) {
  const id = await env.dockerOk(
    'inspect',
    '-f',
    '{{range .NetworkSettings.Networks}}{{.EndpointID}}{{end}}',
    container,
  );
  const { endpoints } = await env.tether.state();
  return endpoints.find((e) => e.id === id)?.ports ?? [];
}

describe('published ports and NAT', { concurrency: false }, () => {
  const tearDown = useEnvironment(env, {
    setUp: async () => {
      const first = await freePorts(8);
      // busy and busy + 1, then range to range + 2.
      Object.assign(port, { web: first, local: first + 1, udp: first + 2, busy: first + 3, range: first + 5 });
      await client.create();
      await listener.create();
      await env.network('web', '--subnet', '10.230.60.0/24');
    },
    tearDown: async () => {
      for (const child of background) child.kill();
      await client.delete();
      await listener.delete();
    },
  });

  test('-p answers on 127.0.0.1 and, from another host, on the host address; tether ls shows the mapping', async () => {
    await webServer('web-a', '--net', 'web', '-p', `${port.web}:80`);
    assert.equal(await fetchFrom('host', `http://127.0.0.1:${port.web}/`), 'hello from web-a');
    assert.equal(await fetchFrom(client, `http://${client.hostAddress}:${port.web}/`), 'hello from web-a');
    assert.deepEqual(
      (await publishedPorts('web-a')).map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`),
      [`:${port.web}->80/tcp`],
    );
  });

  test('a port bound to 127.0.0.1 does not answer on other addresses', async () => {
    await webServer('web-local', '--net', 'web', '-p', `127.0.0.1:${port.local}:80`);
    assert.equal(await fetchFrom('host', `http://127.0.0.1:${port.local}/`), 'hello from web-local');
    assert.equal(await fetchFrom(client, `http://${client.hostAddress}:${port.local}/`), undefined);
  });

  test('UDP, a port range, and -P', async () => {
    // busybox has no UDP server, so the container listens on nothing: the datagram must reach the
    // container, whose kernel answers "port unreachable". Without the DNAT the host's own held
    // socket would swallow it silently.
    await env.dockerOk('run', '-d', '--name', 'udp', '--net', 'web', '-p', `${port.udp}:53/udp`, IMAGE, 'sleep', '600');
    const probe = `const s = require('dgram').createSocket('udp4');
      s.on('error', (e) => { console.log(e.code); process.exit(0); });
      s.connect(${port.udp}, '${client.hostAddress}', () => {
        s.send('hello-udp');
        setTimeout(() => s.send('again'), 300);
      });
      setTimeout(() => { console.log('no answer'); process.exit(0); }, 2000);`;
    assert.equal((await client.exec(process.execPath, '-e', probe)).trim(), 'ECONNREFUSED');
    const counters = await must('iptables', '-t', 'nat', '-L', '-v', '-x', '-n');
    assert.match(
      counters,
      new RegExp(`^\\s*[1-9]\\d*\\s+\\d+\\s+DNAT\\s+(udp|17)\\s.*dpt:${port.udp} to:10\\.230\\.60\\.\\d+:53$`, 'm'),
    );

    const range = `${port.range}-${port.range + 2}:80`;
    await webServer('range-a', '--net', 'web', '-p', range);
    await webServer('range-b', '--net', 'web', '-p', range);
    const [a, b] = [(await publishedPorts('range-a'))[0]?.hostPort, (await publishedPorts('range-b'))[0]?.hostPort];
    assert.deepEqual([a, b], [port.range, port.range + 1]);
    assert.equal(await fetchFrom(client, `http://${client.hostAddress}:${port.range + 1}/`), 'hello from range-b');

    await webServer('all', '--net', 'web', '--expose', '80', '-P');
    const automatic = (await publishedPorts('all'))[0]?.hostPort;
    assert.ok(automatic && automatic > 1024, `an automatic host port, not ${automatic}`);
    assert.equal(await fetchFrom(client, `http://${client.hostAddress}:${automatic}/`), 'hello from all');
  });

  test('a host port taken, by tether or another process, is a clear error and leaves nothing half-done', async () => {
    const taken = await env.docker(
      'run',
      '-d',
      '--name',
      'clash',
      '--net',
      'web',
      '-p',
      `${port.web}:80`,
      IMAGE,
      'sleep',
      '60',
    );
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, new RegExp(`host port ${port.web}/tcp is not available`));
    await env.docker('rm', '-f', 'clash');
    const server = createServer().listen(port.busy, '0.0.0.0');
    await new Promise((done) => server.once('listening', done));
    try {
      const busy = await env.docker(
        'run',
        '-d',
        '--name',
        'busy',
        '--net',
        'web',
        '-p',
        `${port.busy}:80`,
        '-p',
        `${port.busy + 1}:80`,
        IMAGE,
        'sleep',
        '60',
      );
      assert.match(busy.stderr, new RegExp(`host port ${port.busy}/tcp is not available`));
      await env.docker('rm', '-f', 'busy');
    } finally {
      server.close();
    }
    assert.doesNotMatch(
      await must('iptables-save', '-t', 'nat'),
      new RegExp(`--dport (${port.busy}|${port.busy + 1})\\b`),
      'no rule for the failed container',
    );
    assert.deepEqual(await env.audit(), []);
  });

  test('after stop the port is closed; after kill -9 and a restart it answers, with no rule twice', async () => {
    await env.dockerOk('stop', '-t', '0', 'web-local');
    assert.equal(await fetchFrom('host', `http://127.0.0.1:${port.local}/`), undefined);
    assert.doesNotMatch(await must('iptables-save', '-t', 'nat'), new RegExp(`--dport ${port.local}\\b`));

    await env.killTether();
    await env.startTether();
    assert.equal(await fetchFrom('host', `http://127.0.0.1:${port.web}/`), 'hello from web-a');
    assert.equal(await fetchFrom(client, `http://${client.hostAddress}:${port.web}/`), 'hello from web-a');
    const rules = (await must('iptables-save', '-t', 'nat'))
      .split('\n')
      .filter((l) => l.includes(`--dport ${port.web} `));
    assert.equal(rules.length, 1);
    assert.deepEqual(await env.audit(), []);
  });

  test('outbound NAT: the outside sees the host; with tether.nat=false it sees the container, routed', async () => {
    const seen = listener.spawn(
      process.execPath,
      '-e',
      "require('net').createServer((s) => s.end(s.remoteAddress.replace('::ffff:', '') + '\\n')).listen(7000)",
    );
    background.push(seen);
    await sleep(500);
    await env.run('nat-a', '--net', 'web');
    assert.equal(
      (await env.exec('nat-a', 'nc', '-w', '3', listener.address, '7000')).stdout.trim(),
      listener.hostAddress,
    );

    await env.network('routed', '--subnet', '10.230.61.0/24', '-o', 'tether.nat=false');
    await env.run('routed-a', '--net', 'routed');
    const own = await env.address('routed-a', 'routed');
    assert.equal((await env.exec('routed-a', 'nc', '-w', '3', listener.address, '7000')).stdout.trim(), own);
    // Another host routes to the no-NAT network through this one.
    await client.exec('ip', 'route', 'add', '10.230.61.0/24', 'via', client.hostAddress);
    assert.equal((await client.try('busybox', 'ping', '-c', '1', '-W', '2', own)).code, 0);

    const internal = await env.docker(
      ...networkCreate(env.driver),
      '--internal',
      '-o',
      'tether.nat=true',
      '--subnet',
      '10.230.62.0/24',
      'inner',
    );
    assert.equal(internal.code, 0);
    await env.run('inner-a', '--net', 'inner');
    assert.notEqual(
      (await env.exec('inner-a', 'nc', '-w', '2', listener.address, '7000')).code,
      0,
      'internal: no way out',
    );
    assert.doesNotMatch(
      await must('iptables-save', '-t', 'nat'),
      /10\.230\.62\.0\/24/,
      'internal networks are never masqueraded',
    );
  });

  test('the host reaches containers on every non-internal network by address', async () => {
    for (const [container, network] of [
      ['web-a', 'web'],
      ['routed-a', 'routed'],
    ] as const) {
      assert.equal(
        (await sh('busybox', ['ping', '-c', '1', '-W', '2', await env.address(container, network)])).code,
        0,
        container,
      );
    }
  });

  test("between a tether network and Docker's own bridge network: what each engine lets through", async (t) => {
    const tetherBridge = (await env.tether.state()).networks.find((n) => n.subnets.includes('10.230.60.0/24'))?.bridge;
    assert.ok(tetherBridge);
    /** Pings each way between web-a and a container on a Docker bridge network made with these options. */
    const across = async (...options: string[]) => {
      await env.dockerOk('network', 'create', '-d', 'bridge', '--subnet', '10.230.66.0/24', ...options, 'dockers');
      try {
        await env.run('on-docker', '--net', 'dockers');
        const [tetherSide, dockerSide] = [await env.address('web-a', 'web'), await env.address('on-docker', 'dockers')];
        return {
          tetherToDocker: await env.ping('web-a', dockerSide),
          dockerToTether: await env.ping('on-docker', tetherSide),
        };
      } finally {
        await env.docker('rm', '-f', 'on-docker');
        await env.docker('network', 'rm', 'dockers');
      }
    };
    const plain = await across();
    t.diagnostic(`Docker ${ENGINE}, a plain bridge network: ${JSON.stringify(plain)}`);
    if (ENGINE === '20.10') {
      assert.deepEqual(plain, { tetherToDocker: true, dockerToTether: true });
      return;
    }
    // 28+: Docker's raw-table rule drops what comes to its containers from another interface than its
    // bridge; the bridge network's trusted_host_interfaces (28.2+) names the ones it lets in.
    assert.deepEqual(plain, { tetherToDocker: false, dockerToTether: true });
    const trusted = await across('-o', `com.docker.network.bridge.trusted_host_interfaces=${tetherBridge}`);
    t.diagnostic(`Docker ${ENGINE}, trusted_host_interfaces=${tetherBridge}: ${JSON.stringify(trusted)}`);
    assert.deepEqual(trusted, { tetherToDocker: true, dockerToTether: true });
  });

  test('a container cannot reach a service on the host loopback, though route_localnet serves -p there', async () => {
    // The attack of Kubernetes' CVE-2020-8558: a packet for 127.x sent to the host's bridge. The
    // container routes 127.0.0.53 out to its gateway (NET_ADMIN, its own route_localnet) and connects;
    // a host service listens on 127.0.0.53 alone.
    let heard = 0;
    const service = await freePorts();
    const listening = createServer((socket) => {
      heard++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listening.listen(service, '127.0.0.53', resolve));
    try {
      const bridge = (await env.tether.state()).networks.find((n) => n.subnets.includes('10.230.60.0/24'))?.bridge;
      assert.equal(readFileSync(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, 'utf8').trim(), '1');
      const gateway = '10.230.60.1';
      const script =
        'ip route del 127.0.0.0/8 dev lo table local; ' +
        `ip route add 127.0.0.53/32 via ${gateway} dev eth0 onlink && ` +
        `for i in 1 2 3; do echo attack | nc -w 1 127.0.0.53 ${service}; done; true`;
      const sent = await env.docker(
        ...['run', '--rm', '--net', 'web', '--cap-add', 'NET_ADMIN'],
        ...['--sysctl', 'net.ipv4.conf.all.route_localnet=1', IMAGE, 'sh', '-c', script],
      );
      assert.equal(sent.code, 0, sent.stderr);
      await sleep(500);
      assert.equal(heard, 0, 'nothing from a container reaches the loopback service');
      // A network with no port reached from the loopback has no route_localnet at all.
      const routed = (await env.tether.state()).networks.find((n) => n.subnets.includes('10.230.61.0/24'))?.bridge;
      assert.equal(readFileSync(`/proc/sys/net/ipv4/conf/${routed}/route_localnet`, 'utf8').trim(), '0');
    } finally {
      listening.close();
    }
  });

  nothingLeftBehind(env, tearDown);
});
