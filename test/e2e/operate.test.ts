// Operating tether: the CLI against a daemon with known networks, metrics,
// and the TCP transport with mutual TLS that Docker finds through a .json spec.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { daemonState, readiness } from '../../src/operator/contract.js';
import { freePorts } from '../support/free-ports.js';
import { pki } from '../support/pki.js';
import {
  Environment,
  must,
  networkCreate,
  nothingLeftBehind,
  PREFIX,
  pluginCall,
  ROOT,
  sh,
  Tether,
  useEnvironment,
} from './harness.js';

const env = new Environment();
/** Stands in for systemd's notify socket: appends each datagram to a file. */
const NOTIFY_LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], 'w').close()
while True:
    data = s.recv(4096)
    with open(sys.argv[2], 'a') as f:
        f.write(data.decode() + '\\n')
`;
/** The TLS listener's and the metrics' host ports, chosen free when the TLS test starts. */
const port = { tls: 0, metrics: 0 };

/** Plugin.Activate over TLS with the given client identity (or none). */
function activateOverTls(dir: string, client?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: port.tls,
        path: '/Plugin.Activate',
        method: 'POST',
        ca: readFileSync(join(dir, 'ca.pem')),
        ...(client
          ? { cert: readFileSync(join(dir, `${client}.pem`)), key: readFileSync(join(dir, `${client}.key`)) }
          : {}),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function plainHttp(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('operating tether', { concurrency: false }, () => {
  const tearDown = useEnvironment(env);

  test('the CLI shows networks, endpoints, pools and health as they are', async () => {
    await env.network('ops', '--subnet', '10.230.80.0/24', '--ip-range', '10.230.80.128/25');
    await env.run('ops-a', '--net', 'ops', '--ip', '10.230.80.200');
    const id = await env.dockerOk('network', 'inspect', '-f', '{{.Id}}', 'ops');
    const networks = daemonState.shape.networks.parse(
      JSON.parse((await env.tether.cli('network', 'ls', '--json')).stdout),
    );
    assert.deepEqual(
      networks.map((n) => [n.id, n.subnets]),
      [[id, ['10.230.80.0/24']]],
    );
    const table = (await env.tether.cli('network', 'ls')).stdout;
    assert.match(table, new RegExp(`^${id.slice(0, 12)}\\s+ttebr\\S+\\s+10\\.230\\.80\\.0/24\\s+nat\\s+1$`, 'm'));
    const inspected = JSON.parse((await env.tether.cli('network', 'inspect', id.slice(0, 8))).stdout) as {
      endpoints: { address: string }[];
    };
    assert.deepEqual(
      inspected.endpoints.map((e) => e.address),
      ['10.230.80.200/24'],
    );
    const endpoints = (await env.tether.cli('endpoint', 'ls')).stdout;
    assert.match(endpoints, /10\.230\.80\.200\/24/);
    assert.match(endpoints, /02:74:0a:e6:50:c8/);
    const pools = daemonState.shape.pools.parse(JSON.parse((await env.tether.cli('pool', 'ls', '--json')).stdout));
    assert.deepEqual(
      pools.map((p) => [p.id, p.used, p.range]),
      [['local/10.230.80.0/24', 2, '10.230.80.128/25']],
    );
    const status = await env.tether.cli('status', '--json');
    assert.equal(status.code, 0);
    assert.deepEqual(JSON.parse(status.stdout), {
      healthy: true,
      store: 'ok',
      networks: 1,
      endpoints: 1,
      pools: 1,
      uplinks: [],
    });
    const doctor = await env.tether.cli('doctor', '--json');
    const problems = (JSON.parse(doctor.stdout) as { check: string; ok: boolean }[]).filter((f) => !f.ok);
    assert.deepEqual(problems, [], 'a host running Docker and tether has what tether needs');
    assert.equal(doctor.code, 0);
  });

  test('status says unhealthy, with exit code 1, when the daemon is down', async () => {
    await env.stopTether();
    const status = await env.tether.cli('status');
    assert.equal(status.code, 1);
    assert.match(status.stdout, /^unhealthy: cannot reach/);
    await env.startTether();
  });

  test(
    'mutual TLS over TCP: Docker finds tether through the .json spec; clients without a signed ' +
      'certificate are refused; metrics count the calls',
    async () => {
      const first = await freePorts(2);
      Object.assign(port, { tls: first, metrics: first + 1 });
      const dir = join(env.work, 'pki');
      const specDirExisted = existsSync('/etc/docker/plugins');
      await must('mkdir', '-p', dir);
      await pki(dir);
      const name = `tlse2e${process.pid}`;
      const tls = new Tether(
        env.work,
        name,
        'ttt',
        [
          '--tcp',
          `127.0.0.1:${port.tls}`,
          '--tls-cert',
          join(dir, 'server.pem'),
          '--tls-key',
          join(dir, 'server.key'),
          '--tls-ca',
          join(dir, 'ca.pem'),
          '--spec-dir',
          '/etc/docker/plugins',
          '--docker-cert',
          join(dir, 'docker.pem'),
          '--docker-key',
          join(dir, 'docker.key'),
          '--metrics-addr',
          `127.0.0.1:${port.metrics}`,
          '--log-level',
          'info',
        ],
        join(env.work, 'tls-operator.sock'),
      );
      await tls.start();
      try {
        const spec = JSON.parse(readFileSync(`/etc/docker/plugins/${name}.json`, 'utf8')) as {
          Addr: string;
          TLSConfig: { CAFile: string };
        };
        assert.equal(spec.Addr, `https://127.0.0.1:${port.tls}`);
        assert.equal(spec.TLSConfig.CAFile, join(dir, 'ca.pem'));

        assert.equal(await activateOverTls(dir, 'docker'), 200);
        await assert.rejects(activateOverTls(dir), 'no client certificate');
        await assert.rejects(activateOverTls(dir, 'rogue'), 'a certificate from another CA');
        const plain = await plainHttp(port.tls, '/Plugin.Activate', 'POST').then(
          (r) => r.status,
          (error: Error) => error.message,
        );
        assert.notEqual(plain, 200, 'plain HTTP on the TLS port is refused');

        await env.dockerOk(...networkCreate(name), '--subnet', '10.230.81.0/24', 'overtls');
        await env.run('tls-a', '--net', 'overtls');
        await env.run('tls-b', '--net', 'overtls');
        assert.ok(await env.ping('tls-a', 'tls-b'));

        const metrics = await plainHttp(port.metrics, '/metrics');
        assert.equal(metrics.status, 200);
        assert.match(metrics.body, /^tether_calls_total\{method="NetworkDriver\.CreateNetwork",result="ok"\} 1$/m);
        assert.match(metrics.body, /^tether_calls_total\{method="NetworkDriver\.Join",result="ok"\} 2$/m);
        assert.match(metrics.body, /^tether_address_allocations_total 3$/m, 'the gateway and two containers');
        assert.match(metrics.body, /^tether_pool_addresses_used\{pool="local\/10\.230\.81\.0\/24"\} 3$/m);
        assert.match(metrics.body, /^tether_endpoints 2$/m);
        assert.match(metrics.body, /^tether_call_duration_seconds_count\{method="IpamDriver\.RequestAddress"\} 3$/m);
        // The probes answer on the metrics address too, for a prober that speaks TCP.
        const ready = await plainHttp(port.metrics, '/readyz');
        assert.equal(ready.status, 200, ready.body);
        assert.deepEqual(
          readiness.parse(JSON.parse(ready.body)).checks.map((c) => c.name),
          ['store', 'reconcile', 'firewall'],
        );
        assert.equal((await plainHttp(port.metrics, '/healthz')).status, 200);

        await env.dockerOk('rm', '-f', 'tls-a', 'tls-b');
        await env.dockerOk('network', 'rm', 'overtls');
      } finally {
        await tls.stop();
      }
      assert.ok(!existsSync(`/etc/docker/plugins/${name}.json`), 'the spec file goes with the daemon');
      if (!specDirExisted) rmdirSync('/etc/docker/plugins');
    },
  );

  test('a second tether on one state or socket refuses to start, naming the first; no lock after kill -9', async () => {
    const serve = (...args: string[]) =>
      sh(process.execPath, [join(ROOT, 'bin/tether.js'), 'serve', '--log-level', 'fatal', ...args]);
    assert.equal(statSync(env.tether.socket).mode & 0o777, 0o600, 'the socket is for root alone');
    const sameState = await serve('--socket', join(env.work, 'second.sock'), '--state-dir', env.tether.stateDir);
    assert.equal(sameState.code, 1);
    assert.match(
      sameState.stderr,
      new RegExp(`in use by another tether \\(pid ${env.tether.pid}, socket ${env.tether.socket}\\)`),
    );
    const sameSocket = await serve('--socket', env.tether.socket, '--state-dir', join(env.work, 'other-state'));
    assert.equal(sameSocket.code, 1);
    assert.match(sameSocket.stderr, /is served by another process/);
    assert.equal((await pluginCall(env.tether.socket, 'Plugin.Activate')).status, 200, 'the first still serves');
    await env.killTether();
    await env.startTether();
    assert.equal((await pluginCall(env.tether.socket, 'Plugin.Activate')).status, 200, 'no stale lock after kill -9');
  });

  test("a second tether with the same interface prefix leaves the first's containers alone, restarts too", async () => {
    await env.network('twin', '--subnet', '10.230.81.0/24');
    await env.run('twin-a', '--net', 'twin');
    await env.run('twin-b', '--net', 'twin');
    const target = await env.address('twin-b', 'twin');
    // Another driver name, the same prefix: a second daemon to try a flag, say. Collection every second.
    const twin = new Tether(env.work, 'tethertwin', PREFIX, ['--gc-interval', '1'], join(env.work, 'twin.sock'));
    try {
      await twin.start();
      await sleep(2_500);
      await twin.stop();
      await twin.start();
      await sleep(2_500);
      assert.doesNotMatch(readFileSync(twin.logPath, 'utf8'), /no network or endpoint owns/);
      assert.ok(await env.ping('twin-a', target), "the first tether's containers still talk");
      // And the first, restarted beside the second, takes nothing of the second's for an orphan either.
      await env.killTether();
      await env.startTether();
      assert.ok(await env.ping('twin-a', target));
      assert.deepEqual(await env.audit(), []);
    } finally {
      await twin.stop();
      await env.docker('rm', '-f', 'twin-a', 'twin-b');
      await env.docker('network', 'rm', 'twin');
    }
  });

  test('under systemd: READY=1 once serving, WATCHDOG=1 while well; readiness on the socket', async () => {
    const notify = join(env.work, 'notify.sock');
    const received = join(env.work, 'notify.txt');
    const listener = spawn('python3', ['-c', NOTIFY_LISTENER, notify, received], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && !existsSync(notify); i++) await sleep(100);
      await env.stopTether();
      env.tether.env = { NOTIFY_SOCKET: notify, WATCHDOG_USEC: '1000000' };
      await env.startTether();
      for (let i = 0; i < 50 && (readFileSync(received, 'utf8').match(/WATCHDOG=1/g) ?? []).length < 2; i++)
        await sleep(100);
      const messages = readFileSync(received, 'utf8');
      assert.match(messages, new RegExp(`MAINPID=${env.tether.pid}`));
      assert.match(messages, /READY=1/);
      assert.ok((messages.match(/WATCHDOG=1/g) ?? []).length >= 2, messages);
      const ready = await env.tether.cli('status', '--ready');
      assert.equal(ready.code, 0, ready.stdout);
      assert.match(ready.stdout, /^store\s+ok/m);
      assert.match(ready.stdout, /^firewall\s+ok/m);
    } finally {
      listener.kill();
      env.tether.env = {};
      await env.stopTether();
      await env.startTether();
    }
  });

  test('upgrade: another install of tether replaces the running one; containers keep talking', async () => {
    // The new version: the package installed a second time, elsewhere, as an upgrade lays it down.
    const next = join(env.work, 'next');
    await must('mkdir', '-p', next);
    await must('cp', '-a', join(ROOT, 'bin'), join(ROOT, 'dist'), join(ROOT, 'package.json'), next);
    await must('ln', '-s', join(ROOT, 'node_modules'), join(next, 'node_modules'));
    await env.network('upg', '--subnet', '10.230.84.0/24');
    await env.run('upg-a', '--net', 'upg');
    await env.run('upg-b', '--net', 'upg');
    const target = await env.address('upg-b', 'upg');
    // 80 pings, 0.1 s apart, across the whole swap.
    const pinging = env.exec('upg-a', 'ping', '-c', '80', '-i', '0.1', '-W', '1', target);
    await sleep(1000);
    await env.stopTether();
    env.tether.root = next;
    await env.startTether();
    const pinged = await pinging;
    assert.match(pinged.stdout, / 0% packet loss/, pinged.stdout);
    const cmdline = readFileSync(`/proc/${env.tether.pid}/cmdline`, 'utf8');
    assert.ok(cmdline.includes(join(next, 'bin/tether.js')), 'the new install serves now');
    await env.run('upg-c', '--net', 'upg');
    assert.ok(await env.ping('upg-c', 'upg-a'), 'a container started after the upgrade reaches one from before');
    await env.dockerOk('rm', '-f', 'upg-a', 'upg-b', 'upg-c');
    await env.dockerOk('network', 'rm', 'upg');
    assert.deepEqual(await env.audit(), [], 'the upgraded daemon holds exactly what the old one did');
    await env.stopTether();
    env.tether.root = ROOT;
    await env.startTether();
  });

  nothingLeftBehind(env, tearDown);
});
