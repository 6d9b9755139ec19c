// The whole daemon without a socket or a kernel, as it keeps the kernel in
// line with the store: the audit, the reconcile at start, the collection rounds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EP, NET, useDaemon } from '../../test/support/daemon-rig.js';
import { StandInDocker } from '../../test/support/stand-in-docker.js';
import { audit } from '../audit.js';
import { formatCidr } from '../net/ip.js';

const { createNetwork, daemon, ok, rig, runContainer } = useDaemon({ orphanGraceMs: 0, gcIntervalMs: 30_000 });

describe('the audit', () => {
  test('is clean after normal work and names each kind of drift', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24');
    await runContainer(poolId);
    rig().links.moveToContainer(`tth${EP.slice(0, 11)}p`);
    assert.deepEqual((await audit(daemon().driver, daemon().pools)).problems, []);

    rig().links.links.delete(`tthbr${NET.slice(0, 10)}`);
    await rig().links.ensureBridge({ name: 'tth0abc', mtu: 1500, alias: '', mac: '02:62:00:00:00:01', addresses: [] });
    await rig().links.createVeth({
      hostName: 'tth0abc1',
      peerName: 'tth0abc1p',
      bridge: 'tth0abc',
      mtu: 1500,
      mac: '02:00:00:00:00:01',
      alias: 'tether:unit:0abc',
    });
    await ok('IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} });
    await rig().firewall.sync([]);
    const problems = (await audit(daemon().driver, daemon().pools)).problems;
    assert.deepEqual(
      problems.map((p) => p.replace(/[0-9a-f]{12}/g, 'ID')),
      [
        'bridge tthbraaaaaaaaaa of network ID is missing, down or lacks its gateway',
        'interface tth0abc1 belongs to no network or endpoint',
        'firewall rules are not those of the networks',
        'address 10.9.0.3 is allocated in pool local/10.9.0.0/24 but nothing uses it',
      ],
    );
  });
});

describe('reconcile at start', () => {
  test('a missing bridge comes back, links nobody owns go, forgotten endpoints are freed', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24');
    const kept = await runContainer(poolId, 'c'.repeat(64));
    rig().links.moveToContainer(`tth${'c'.repeat(11)}p`);
    const forgotten = await runContainer(poolId, 'd'.repeat(64));
    // docker stop while tether was down: Docker moved the peer back to the host and forgot the endpoint.
    await rig().stop();
    rig().links.links.delete(`tthbr${NET.slice(0, 10)}`);
    await rig().links.ensureBridge({ name: 'x', mtu: 1500, alias: '', mac: '02:62:00:00:00:01', addresses: [] });
    await rig().links.createVeth({
      hostName: 'tth0123456',
      peerName: 'tth0123456p',
      bridge: 'x',
      mtu: 1500,
      mac: '02:00:00:00:00:01',
      alias: 'tether:unit:0abc',
    });
    await rig().start();

    assert.deepEqual(rig().links.links.get(`tthbr${NET.slice(0, 10)}`)?.addresses, ['10.9.0.1/24'], 'bridge recreated');
    assert.ok(!rig().links.links.has('tth0123456') && !rig().links.links.has('tth0123456p'), 'orphan veth removed');
    assert.ok(rig().links.links.has('x'), 'a link tether does not own is left alone');
    assert.deepEqual(
      daemon()
        .driver.snapshot()
        .endpoints.map((e) => e.address && formatCidr(e.address)),
      [kept.address],
    );
    assert.ok(!rig().links.links.has(`tth${'d'.repeat(11)}`));
    const usage = daemon().pools.usage()[0];
    assert.equal(usage?.used, 2, 'gateway and the live container; the forgotten address is free');
    const reused = await ok('IpamDriver.RequestAddress', {
      PoolID: poolId,
      Address: forgotten.address.split('/')[0],
      Options: {},
    });
    assert.equal(reused['Address'], forgotten.address);
    await ok('NetworkDriver.CreateEndpoint', {
      NetworkID: NET,
      EndpointID: 'e'.repeat(64),
      Interface: { Address: reused['Address'] },
      Options: {},
    });
    await ok('NetworkDriver.Join', {
      NetworkID: NET,
      EndpointID: 'e'.repeat(64),
      SandboxKey: '/var/run/docker/netns/y',
      Options: {},
    });
    rig().links.moveToContainer(`tth${'e'.repeat(11)}p`);
    assert.deepEqual((await audit(daemon().driver, daemon().pools)).problems, []);
  });
});

describe('collection rounds', () => {
  // orphanGrace is 0 here: every joined endpoint whose peer is still on the host looks gone at once,
  // as a container start slower than the grace does.
  test('an endpoint Docker holds stays, whatever the timing says; once Docker lets go it is freed', async () => {
    const docker = await StandInDocker.start();
    try {
      await rig().stop();
      await rig().start({ dockerSocket: docker.socket });
      const { poolId } = await createNetwork('10.9.0.0/24');
      const { address } = await runContainer(poolId);
      docker.answer = () => ({
        status: 200,
        body: { Id: NET, Containers: { [`ep-${EP}`]: { EndpointID: EP, IPv4Address: address, IPv6Address: '' } } },
      });
      assert.equal(await daemon().driver.freeGoneEndpoints(), 0);
      assert.deepEqual(
        docker.seen.map((r) => r.url),
        [`/networks/${NET}`],
      );
      assert.ok(rig().links.links.has(`tth${EP.slice(0, 11)}p`), 'the peer stays for Docker to move');

      docker.answer = () => ({ status: 500, body: { message: 'busy' } });
      await assert.rejects(daemon().driver.freeGoneEndpoints(), /500/);
      assert.equal(daemon().driver.snapshot().endpoints.length, 1, 'a Docker that cannot answer frees nothing');

      docker.answer = () => ({ status: 200, body: { Id: NET, Containers: {} } });
      assert.equal(await daemon().driver.freeGoneEndpoints(), 1);
      assert.equal(daemon().pools.usage()[0]?.used, 1, 'only the gateway is left');
    } finally {
      await docker.close();
    }
  });

  test('with no Docker to ask, a Join of this life is a slow start; an earlier one, the timing decides', async () => {
    const { poolId } = await createNetwork('10.9.0.0/24');
    await runContainer(poolId);
    assert.equal(await daemon().driver.freeGoneEndpoints(), 0);
    assert.deepEqual((await audit(daemon().driver, daemon().pools)).problems, [], 'a slow start is no drift');
    // The next life's reconcile frees it: Docker's Leave may have come while tether was down.
    await rig().stop();
    await rig().start();
    assert.equal(daemon().driver.snapshot().endpoints.length, 0);
    assert.equal(daemon().pools.usage()[0]?.used, 1, 'only the gateway is left');
  });
});
