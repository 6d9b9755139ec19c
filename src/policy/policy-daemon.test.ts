// Policies through the whole daemon (fake kernel, fake policy table, a
// stand-in for Docker's API): labels from driver options and from containers,
// the operator API, the explanation, and the order of a removal.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NET, useDaemon } from '../../test/support/daemon-rig.js';
import { StandInDocker } from '../../test/support/stand-in-docker.js';
import { audit } from '../audit.js';
import { POLICIES_PATH, POLICY_TEST_PATH, policyList, policyVerdict } from '../operator/contract.js';

const { daemon, ok, call, rig, createNetwork } = useDaemon();
let docker: StandInDocker;
/** Container labels Docker holds, by endpoint ID; an endpoint absent here is not listed yet. */
const containers = new Map<string, Record<string, string>>();

beforeEach(async () => {
  containers.clear();
  docker = await StandInDocker.start();
  docker.answer = ({ url }) => {
    if (url === `/networks/${NET}`) {
      const listed = [...containers.keys()].map((ep) => [
        `c-${ep}`,
        { EndpointID: ep, IPv4Address: '', IPv6Address: '' },
      ]);
      return { status: 200, body: { Id: NET, Containers: Object.fromEntries(listed) } };
    }
    const ep = url.match(/^\/containers\/c-(\w+)\/json$/)?.[1] ?? '';
    const settings = { EndpointID: ep, Aliases: [ep.slice(0, 12), 'api'], DNSNames: [`ctr-${ep.slice(0, 4)}`, 'api'] };
    return {
      status: 200,
      body: {
        Name: `/ctr-${ep.slice(0, 4)}`,
        Config: { Labels: containers.get(ep) ?? {} },
        NetworkSettings: { Networks: { web: settings } },
      },
    };
  };
  await rig().stop();
  await rig().start({ dockerSocket: docker.socket });
});
afterEach(() => docker.close());

const WEB = 'a'.repeat(64);
const API = 'b'.repeat(64);
const DB = 'c'.repeat(64);

async function start(poolId: string, endpoint: string, options: Record<string, string> = {}): Promise<string> {
  const address = String(
    (await ok('IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: {} }))['Address'],
  );
  await ok('NetworkDriver.CreateEndpoint', {
    NetworkID: NET,
    EndpointID: endpoint,
    Interface: { Address: address },
    Options: options,
  });
  await ok('NetworkDriver.Join', { NetworkID: NET, EndpointID: endpoint, SandboxKey: '/var/run/docker/netns/x' });
  return address.split('/')[0] ?? '';
}

const setsHolding = (address: string) =>
  [...(rig().policyTable.held?.sets ?? [])].filter(([n, s]) => n !== 'bridges' && s.elements.includes(address));

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await sleep(20);
  assert.ok(check(), what);
}

const api = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
  daemon().app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });

test('labels from driver options and containers; policies let in what they say, and nothing else', async () => {
  const { poolId } = await createNetwork('10.9.0.0/24', { 'tether.policy': 'deny' });
  assert.deepEqual(rig().policyTable.held?.sets.get('bridges')?.elements, [`tthbr${NET.slice(0, 10)}`]);
  containers.set(WEB, { 'tether.label.role': 'web', unrelated: 'x' });
  containers.set(DB, { 'org.projectcalico.label.role': 'db' });
  const web = await start(poolId, WEB);
  const apiAddress = await start(poolId, API, { 'tether.label.role': 'api' });
  const db = await start(poolId, DB);
  await until('labels read from Docker', () => daemon().driver.awaitingContainer().length === 1);
  assert.deepEqual(
    daemon().driver.awaitingContainer()[0]?.id,
    API,
    'Docker does not list it yet: unknown, fail-closed',
  );
  containers.set(API, {});

  const add = await api('POST', POLICIES_PATH, {
    policy: { name: 'web-to-api', select: 'role=api', from: ['role=web'], ports: ['tcp/8080'] },
  });
  assert.equal(add.statusCode, 201, add.body);
  assert.ok(
    rig().policyTable.held?.rules.some((r) => r.includes('"web-to-api"')),
    'in force when the answer comes',
  );
  await until('every label known', () => daemon().driver.awaitingContainer().length === 0);
  assert.deepEqual(
    daemon()
      .driver.snapshot()
      .endpoints.find((e) => e.id === WEB)?.container,
    { name: `ctr-${WEB.slice(0, 4)}`, aliases: [WEB.slice(0, 12), 'api'], labels: { role: 'web' } },
    "the container's name, and its other names on the network (Aliases and DNSNames, each once)",
  );
  assert.equal(setsHolding(web).length, 1, "web is web-to-api's source");
  assert.equal(setsHolding(apiAddress).length, 1, "api is web-to-api's target");
  assert.equal(setsHolding(db).length, 0, 'db is in no policy');

  const verdict = async (from: string, to: string, port: string) =>
    policyVerdict.parse((await api('POST', POLICY_TEST_PATH, { from, to, port })).json());
  assert.deepEqual(await verdict(web, apiAddress, 'tcp/8080'), {
    allowed: true,
    policy: 'web-to-api',
    reason: 'policy web-to-api lets it in',
  });
  assert.equal((await verdict('ctr-aaaa', 'ctr-bbbb', 'tcp/8081')).allowed, false);
  assert.match((await verdict(web, db, 'tcp/5432')).reason, /no policy lets .* in to ctr-cccc on tcp\/5432/);
  await api('POST', POLICIES_PATH, {
    policy: { name: 'api-to-db', select: 'role=db', from: ['role=api'], ports: ['tcp/5432'] },
  });
  assert.equal((await verdict(apiAddress, 'ctr-cccc', 'tcp/5432')).policy, 'api-to-db');
  assert.deepEqual((await audit(daemon().driver, daemon().pools)).problems, []);

  const listed = policyList.parse((await api('GET', POLICIES_PATH)).json());
  assert.deepEqual(
    listed.policies.map((p) => [p.policy.name, p.selected.map((s) => s.name)]),
    [
      ['api-to-db', ['ctr-cccc']],
      ['web-to-api', ['ctr-bbbb']],
    ],
  );
  assert.equal((await api('DELETE', `${POLICIES_PATH}/api-to-db`)).statusCode, 204);
  assert.equal((await verdict(apiAddress, db, 'tcp/5432')).allowed, false);
});

test('a removed endpoint has left every set when DeleteEndpoint answers; its address can go to anyone', async () => {
  const { poolId } = await createNetwork('10.9.0.0/24', { 'tether.policy': 'deny' });
  await api('POST', POLICIES_PATH, { policy: { name: 'p', select: 'role=api' } });
  const address = await start(poolId, API, { 'tether.label.role': 'api' });
  containers.set(API, {});
  await until('in the target set', () => setsHolding(address).length === 1);
  await ok('NetworkDriver.Leave', { NetworkID: NET, EndpointID: API });
  // A table that cannot be written: the delete fails with the endpoint kept, its address in its sets.
  rig().policyTable.failing = 'nft: Operation not permitted';
  const refused = await call('NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: API });
  assert.match(String(refused.json['Err']), /Operation not permitted/);
  assert.equal(daemon().driver.snapshot().endpoints.length, 1);
  rig().policyTable.failing = undefined;
  await ok('NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: API });
  assert.deepEqual(setsHolding(address), []);
});

test('bad policies are refused with the reason, and nothing is stored', async () => {
  await createNetwork('10.9.0.0/24', { 'tether.policy': 'deny' });
  const refused = async (policy: unknown, pattern: RegExp) => {
    const answer = await api('POST', POLICIES_PATH, { policy });
    assert.equal(answer.statusCode, 400, answer.body);
    assert.match(answer.json().Err, pattern);
  };
  await refused({ name: 'x', select: 'role in (' }, /unbalanced parentheses/);
  await refused({ name: 'x', select: '', ports: ['tcp/0'] }, /ports run from 1 to 65535/);
  await refused({ name: 'x', select: '', ports: ['sctp/1'] }, /is not tcp\/PORT/);
  await refused({ name: 'X Y', select: '' }, /lower-case letters/);
  await refused({ name: 'x', select: '', cidrs: ['10.0.0.0/33'] }, /not a subnet in CIDR form/);
  await refused({ name: 'x', select: '', network: 'nope' }, /no tether network "nope"/);
  await refused({ select: '' }, /policy\.name/);
  assert.equal((await api('POST', POLICIES_PATH, { policy: { name: 'x', select: 'a' } })).statusCode, 201);
  const again = await api('POST', POLICIES_PATH, { policy: { name: 'x', select: 'b' } });
  assert.equal(again.statusCode, 409);
  assert.deepEqual(
    policyList.parse((await api('GET', POLICIES_PATH)).json()).policies.map((p) => p.policy.select),
    ['a'],
  );
  const network = await api('POST', POLICIES_PATH, { policy: { name: 'y', select: '', network: NET.slice(0, 12) } });
  assert.equal(network.json().policy.network, NET, 'a network ID prefix becomes the ID');
});

test('a failing label read is retried and shown by the audit; the last deny network takes the table', async () => {
  const { poolId } = await createNetwork('10.9.0.0/24', { 'tether.policy': 'deny' });
  docker.answer = () => ({ status: 500, body: { message: 'daemon busy' } });
  await start(poolId, WEB);
  await until(
    'a failure shows',
    () => rig().policyTable.held !== undefined && daemon().driver.awaitingContainer().length === 1,
  );
  await sleep(300);
  const problems = (await audit(daemon().driver, daemon().pools)).problems;
  assert.ok(
    problems.some((p) => /the container of endpoint aaaaaaaaaaaa not read: .*500/.test(p)),
    problems.join('\n'),
  );
  await ok('NetworkDriver.Leave', { NetworkID: NET, EndpointID: WEB });
  await ok('NetworkDriver.DeleteEndpoint', { NetworkID: NET, EndpointID: WEB });
  await ok('NetworkDriver.DeleteNetwork', { NetworkID: NET });
  assert.equal(rig().policyTable.held, undefined);
});

test('a container with more tether labels than a member record carries stays unread and in no set', async () => {
  const { poolId } = await createNetwork('10.9.0.0/24', { 'tether.policy': 'deny' });
  containers.set(WEB, Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`tether.label.l${i}`, 'x'])));
  const address = await start(poolId, WEB);
  await until('the endpoint waits', () => daemon().driver.awaitingContainer().length === 1);
  await sleep(300);
  const problems = (await audit(daemon().driver, daemon().pools)).problems;
  assert.ok(
    problems.some((p) => /container of endpoint aaaaaaaaaaaa not read: more than 64 tether labels/.test(p)),
    problems.join('\n'),
  );
  assert.deepEqual(setsHolding(address), [], 'fail-closed: selected by no policy');
});

test('a policy table that cannot be written keeps no one from starting; the audit and readiness say why', async () => {
  await createNetwork('10.9.0.0/24', { 'tether.policy': 'deny' });
  await rig().stop();
  rig().policyTable.failing = 'no nftables here';
  await rig().start({ dockerSocket: docker.socket });
  const problems = (await audit(daemon().driver, daemon().pools)).problems;
  assert.deepEqual(problems, [`nftables: table inet tether_unit cannot be read: nft: no nftables here`]);
  assert.equal((await daemon().readiness.run()).ready, false);
  rig().policyTable.failing = undefined;
  await daemon().driver.reconcile();
  assert.deepEqual((await audit(daemon().driver, daemon().pools)).problems, []);
});
