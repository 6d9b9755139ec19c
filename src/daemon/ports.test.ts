// Published ports through the whole daemon, on the in-memory fake (as daemon.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EP, NET, useDaemon } from '../../test/support/daemon-rig.js';

const { call, createNetwork, daemon, ok, rig, runContainer } = useDaemon({ orphanGraceMs: 0, gcIntervalMs: 30_000 });

describe('published ports', () => {
  const portmap = (bindings: object[]) => ({
    NetworkID: NET,
    EndpointID: EP,
    Options: { 'com.docker.network.portmap': bindings },
  });

  test('-p holds and programs the host port; a taken port is a clear error, holds nothing; revoke frees', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24');
    await runContainer(poolId);
    await ok(
      'NetworkDriver.ProgramExternalConnectivity',
      portmap([
        { Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 },
        { Proto: 17, IP: null, Port: 53, HostIP: '127.0.0.1', HostPort: 5353, HostPortEnd: 5353 },
        { Proto: 6, IP: '', Port: 443, HostIP: '', HostPort: 0, HostPortEnd: 0 },
      ]),
    );
    assert.deepEqual(rig().firewall.networks[0]?.ports, [
      { proto: 'tcp', hostIp: '', hostPort: 8080, containerIp: '10.9.0.2', containerPort: 80 },
      { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerIp: '10.9.0.2', containerPort: 53 },
      { proto: 'tcp', hostIp: '', hostPort: 49153, containerIp: '10.9.0.2', containerPort: 443 },
    ]);
    // As the real firewall writes them: the fake renders through the same rule builder.
    assert.ok(
      rig().firewall.rules[4].nat.some((r) => r.endsWith('--dport 5353 -j DNAT --to-destination 10.9.0.2:53')),
      rig().firewall.rules[4].nat.join('\n'),
    );
    assert.equal(rig().ports.held.size, 3);

    const other = 'f'.repeat(64);
    await runContainer(poolId, other);
    const clash = await call('NetworkDriver.ProgramExternalConnectivity', {
      ...portmap([
        { Proto: 6, Port: 81, HostIP: '', HostPort: 9090, HostPortEnd: 9090 },
        { Proto: 6, Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 },
      ]),
      EndpointID: other,
    });
    assert.equal(clash.status, 409);
    assert.match(String(clash.json['Err']), /host port 8080\/tcp is not available/);
    assert.equal(rig().ports.held.size, 3, 'the 9090 taken before the clash is given back');

    const range = await ok('NetworkDriver.ProgramExternalConnectivity', {
      ...portmap([{ Proto: 6, Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8082 }]),
      EndpointID: other,
    });
    assert.deepEqual(range, {});
    assert.equal(
      daemon()
        .driver.snapshot()
        .endpoints.find((e) => e.id === other)?.ports[0]?.hostPort,
      8081,
    );

    await ok('NetworkDriver.RevokeExternalConnectivity', { NetworkID: NET, EndpointID: EP });
    assert.equal(rig().ports.held.size, 1);
    assert.deepEqual(
      rig().firewall.networks[0]?.ports.map((p) => p.hostPort),
      [8081],
    );
    const sctp = await call(
      'NetworkDriver.ProgramExternalConnectivity',
      portmap([{ Proto: 132, Port: 9, HostIP: '', HostPort: 9 }]),
    );
    assert.match(String(sctp.json['Err']), /TCP and UDP ports, not protocol 132/);
  });

  test('ports come back after a restart, and tether.nat=false is kept', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24', { 'tether.nat': 'false' });
    await runContainer(poolId);
    rig().links.moveToContainer(`tth${EP.slice(0, 11)}p`);
    await ok(
      'NetworkDriver.ProgramExternalConnectivity',
      portmap([{ Proto: 6, Port: 80, HostIP: '', HostPort: 8080 }]),
    );
    await rig().stop();
    await rig().start();
    assert.equal(rig().ports.held.size, 1, 'held again at start');
    assert.equal(rig().firewall.networks[0]?.nat, false);
    assert.equal(rig().firewall.networks[0]?.ports.length, 1);
  });
});
