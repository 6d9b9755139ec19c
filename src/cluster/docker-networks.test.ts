// Following the cluster's networks into Docker, against a stand-in for Docker's API on a UNIX socket.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import pino from 'pino';
import { syncDockerNetworks } from './docker-networks.js';
import type { ClusterNetworkRecord } from './records.js';

let dir: string;
let server: Server;
let seen: { method: string; url: string; body: string }[];
let answer: { status: number; body: string };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-docker-api-'));
  seen = [];
  answer = { status: 201, body: '{"Id":"new"}' };
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((done) => server.listen(join(dir, 'docker.sock'), done));
});
afterEach(async () => {
  await new Promise((done) => server.close(done));
  rmSync(dir, { recursive: true });
});

const web: ClusterNetworkRecord = {
  name: 'web', vni: 3, internal: false, ipv6: true, options: { 'tether.cluster': 'web' },
  ipam: [{ subnet: '10.1.0.0/24', range: '10.1.0.128/25', gateway: '10.1.0.1', aux: { router: '10.1.0.2' } }, { subnet: 'fd00:1::/64', aux: {} }],
};
const deps = (wanted: ClusterNetworkRecord[], local: { name: string; networkId?: string }[]) => ({
  wanted: async () => wanted, local: () => local, dockerSocket: join(dir, 'docker.sock'), driver: 'tether', log: pino({ level: 'silent' }),
});

test('a cluster network missing here is created through Docker\'s API as the first host made it', async () => {
  await syncDockerNetworks(deps([web], []), new Map());
  assert.equal(seen.length, 1);
  assert.equal(`${seen[0]?.method} ${seen[0]?.url}`, 'POST /networks/create');
  assert.deepEqual(JSON.parse(seen[0]?.body ?? ''), {
    Name: 'web', CheckDuplicate: true, Driver: 'tether', Internal: false, EnableIPv6: true, Options: { 'tether.cluster': 'web' },
    IPAM: { Driver: 'tether', Config: [
      { Subnet: '10.1.0.0/24', IPRange: '10.1.0.128/25', Gateway: '10.1.0.1', AuxiliaryAddresses: { router: '10.1.0.2' } },
      { Subnet: 'fd00:1::/64' },
    ] },
  });
});

test('present networks are left alone; one gone from the cluster is removed; one being created is not touched', async () => {
  await syncDockerNetworks(deps([web], [{ name: 'web', networkId: 'a1' }, { name: 'old', networkId: 'b2' }, { name: 'new' }]), new Map());
  assert.deepEqual(seen.map((r) => `${r.method} ${r.url}`), ['DELETE /networks/b2']);
});

test('Docker\'s refusal is kept per network, to be said once and retried next round', async () => {
  answer = { status: 409, body: '{"message":"network with name web already exists"}' };
  const reported = new Map<string, string>();
  await syncDockerNetworks(deps([web], []), reported);
  assert.match(reported.get('web') ?? '', /409 .* already exists/);
  answer = { status: 201, body: '{"Id":"x"}' };
  await syncDockerNetworks(deps([web], []), reported);
  assert.equal(reported.size, 0);
});
