// Shipping tether: the managed (v2) plugin and the container image, both built
// offline from this checkout and carrying real containers.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Environment, must, networkCreate, nothingLeftBehind, pluginCall, sh, useEnvironment } from './harness.js';

const env = new Environment();
const ROOT = join(import.meta.dirname, '../..');
const cli = (...args: string[]) => sh(process.execPath, [join(ROOT, 'bin/tether.js'), ...args]);

describe('packaging', { concurrency: false }, () => {
  // A plugin a failed test left enabled is removed before dockerd stops.
  const tearDown = useEnvironment(env, {
    setUp: async () => undefined,
    tearDown: async () => {
      await env.docker('plugin', 'rm', '-f', 'tetherv2');
    },
  });

  test(
    'the managed plugin is built offline, carries two containers that reach each other by name, and ' +
      'survives a crash and disable/enable',
    async () => {
      const created = await cli(
        'plugin',
        'create',
        '--name',
        'tetherv2',
        '--docker-host',
        env.dockerHost,
        '--state-dir',
        join(env.work, 'v2-state'),
        // A name and prefix of the test's own: a plugin or daemon the host runs keeps its chains and links.
        ...['--set', `TETHER_NAME=tv2${process.pid % 100000}`, '--set', 'TETHER_INTERFACE_PREFIX=ttv'],
      );
      assert.equal(created.code, 0, created.stderr);
      console.log(`# ${created.stdout.trim().split('\n')[0]}`);
      const driver = 'tetherv2:latest';
      await env.dockerOk(...networkCreate(driver), '--subnet', '10.230.90.0/24', 'managed');
      await env.run('v2-a', '--net', 'managed');
      await env.run('v2-b', '--net', 'managed');
      assert.ok(await env.ping('v2-a', 'v2-b'));

      // kill -9 of the plugin's process: dockerd restarts it, and its state is on the mount.
      const pluginPid = async () =>
        (await sh('pgrep', ['-f', '^/usr/bin/node /opt/tether/bin/tether.js serve'])).stdout.trim();
      const before = await pluginPid();
      assert.match(before, /^\d+$/, 'one plugin process');
      await must('kill', '-9', before);
      let after = '';
      for (let i = 0; i < 100 && !/^\d+$/.test(after); i++) {
        await sleep(100);
        after = await pluginPid();
      }
      assert.match(after, /^\d+$/, 'dockerd restarted the plugin');
      assert.notEqual(after, before);
      await env.run('v2-e', '--net', 'managed');
      assert.ok(await env.ping('v2-e', 'v2-a'), 'after the crash the network carries a new container');

      // Docker refuses to disable a plugin in use; -f does it anyway, as after an upgrade.
      await env.dockerOk('rm', '-f', 'v2-a', 'v2-b', 'v2-e');
      await env.dockerOk('plugin', 'disable', '-f', 'tetherv2');
      const started = performance.now();
      await env.dockerOk('plugin', 'enable', 'tetherv2');
      console.log(`# enable took ${(performance.now() - started).toFixed(0)} ms`);
      const subnet = await env.dockerOk(
        'network',
        'inspect',
        '-f',
        '{{range .IPAM.Config}}{{.Subnet}}{{end}}',
        'managed',
      );
      assert.equal(subnet, '10.230.90.0/24');
      await env.run('v2-c', '--net', 'managed');
      await env.run('v2-d', '--net', 'managed');
      assert.ok(await env.ping('v2-c', 'v2-d'), 'the network still carries containers after disable/enable');

      // An upgrade in place while the network is in use: v2-c keeps reaching v2-d all along.
      const target = await env.address('v2-d', 'managed');
      const pinging = env.exec('v2-c', 'ping', '-i', '0.1', '-W', '1', '-w', '120', target);
      const upgraded = await cli('plugin', 'upgrade', '--name', 'tetherv2', '--docker-host', env.dockerHost);
      assert.equal(upgraded.code, 0, upgraded.stderr);
      console.log(`# ${upgraded.stdout.trim()}`);
      await sleep(1000);
      await env.exec('v2-c', 'busybox', 'killall', '-INT', 'ping');
      const pinged = await pinging;
      assert.match(pinged.stdout, / 0% packet loss/, pinged.stdout);
      const sent = Number(/(\d+) packets transmitted/.exec(pinged.stdout)?.[1] ?? 0);
      assert.ok(sent > 20, `pinged all through the upgrade (${sent} pings)`);
      await env.run('v2-f', '--net', 'managed');
      assert.ok(await env.ping('v2-f', 'v2-c'), 'after the upgrade the network carries a new container');
      // The managed plugin logs to a file under its state mount, which tether logs reads.
      const logs = await cli('logs', '--log-file', join(env.work, 'v2-state', 'tether.log'), '--level', 'info');
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /INFO {2}tether is serving/);
      await env.dockerOk('rm', '-f', 'v2-c', 'v2-d', 'v2-f');
      await env.dockerOk('network', 'rm', 'managed');
      await env.dockerOk('plugin', 'disable', 'tetherv2');
      await env.dockerOk('plugin', 'rm', 'tetherv2');
    },
  );

  test('plugin create with a setting the plugin lacks fails clearly and leaves no plugin', async () => {
    const created = await cli(
      ...['plugin', 'create', '--name', 'tetherv2', '--docker-host', env.dockerHost],
      ...['--state-dir', join(env.work, 'v2-state'), '--set', 'TETHER_SCOPE=global', '--set', 'TETHER_COLOUR=blue'],
    );
    assert.notEqual(created.code, 0);
    assert.match(created.stderr, /TETHER_COLOUR/);
    assert.equal((await env.docker('plugin', 'inspect', 'tetherv2')).code, 1, 'no plugin left behind');
  });

  // Documented to run with --privileged, as Calico's does; this machine's runtime refuses --privileged,
  // so the test grants what tether uses: NET_ADMIN (links, iptables) and a writable /proc/sys.
  test('the container image runs tether with host networking and carries containers', async () => {
    const built = await cli('image', 'build', '--tag', 'tether:e2e', '--docker-host', env.dockerHost);
    assert.equal(built.code, 0, built.stderr);
    const name = `tetherimg${process.pid}`;
    const socket = `/run/docker/plugins/${name}.sock`;
    await env.dockerOk(
      'run',
      '-d',
      '--name',
      'tether-image',
      '--net=host',
      '--cap-add',
      'NET_ADMIN',
      '--security-opt',
      'systempaths=unconfined',
      '-v',
      '/run/docker/plugins:/run/docker/plugins',
      '-v',
      `${join(env.work, 'image-state')}:/var/lib/tether`,
      '-e',
      `TETHER_SOCKET=${socket}`,
      '-e',
      'TETHER_INTERFACE_PREFIX=tti',
      // The image's own HEALTHCHECK command, run more often than its 30 s so the test need not wait.
      '--health-interval',
      '1s',
      'tether:e2e',
    );
    for (
      let i = 0;
      i < 100 &&
      (await pluginCall(socket, 'Plugin.Activate').then(
        (r) => r.status,
        () => 0,
      )) !== 200;
      i++
    )
      await sleep(100);
    const health = async () =>
      (await env.dockerOk('inspect', '--format', '{{.State.Health.Status}}', 'tether-image')).trim();
    for (let i = 0; i < 100 && (await health()) !== 'healthy'; i++) await sleep(200);
    assert.equal(await health(), 'healthy', 'the HEALTHCHECK (tether status --ready) passes');
    await env.dockerOk(...networkCreate(name), '--subnet', '10.230.91.0/24', 'from-image');
    await env.run('img-a', '--net', 'from-image');
    await env.run('img-b', '--net', 'from-image');
    assert.ok(await env.ping('img-a', 'img-b'));
    await env.dockerOk('rm', '-f', 'img-a', 'img-b');
    await env.dockerOk('network', 'rm', 'from-image');
    // docker stop sends SIGTERM to tether, the container's first process: it removes its socket.
    await env.dockerOk('stop', '-t', '10', 'tether-image');
    await env.dockerOk('rm', 'tether-image');
    assert.ok(!existsSync(socket), `${socket} is left behind`);
    assert.doesNotMatch(await must('ip', '-o', 'link'), /: tti/);
  });

  nothingLeftBehind(env, tearDown);
});
