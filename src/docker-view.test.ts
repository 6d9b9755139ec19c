// Asking Docker which endpoints it holds, against a stand-in for its API.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { StandInDocker } from '../test/support/stand-in-docker.js';
import { endpointsDockerHolds } from './docker-view.js';

let docker: StandInDocker;

beforeEach(async () => {
  docker = await StandInDocker.start();
});
afterEach(() => docker.close());

const inspect = (endpoints: string[]) => ({
  Id: 'n',
  Containers: Object.fromEntries(
    endpoints.map((id, i) => [i ? `c${i}` : `ep-${id}`, { EndpointID: id, IPv4Address: '', IPv6Address: '' }]),
  ),
});

test('the endpoints of each network asked about, unjoined ones too; a network Docker lacks holds none', async () => {
  docker.answer = ({ url }) =>
    url === '/networks/n1'
      ? { status: 200, body: inspect(['e1', 'e2']) }
      : url === '/networks/n2'
        ? { status: 200, body: inspect(['e3']) }
        : { status: 404, body: { message: 'network not found' } };
  assert.deepEqual(await endpointsDockerHolds(docker.socket, ['n1', 'n2', 'n3'], 1000), new Set(['e1', 'e2', 'e3']));
});

test('no Docker at the socket: nothing to ask, so undefined', async () => {
  assert.equal(await endpointsDockerHolds(join(docker.socket, '..', 'absent.sock'), ['n1'], 1000), undefined);
});

test('a Docker that fails or does not answer in time is an error, never an empty answer', async () => {
  docker.answer = () => ({ status: 500, body: { message: 'boom' } });
  await assert.rejects(endpointsDockerHolds(docker.socket, ['n1'], 1000), /500/);
  docker.answer = () => ({ status: 200, body: inspect([]), delayMs: 2000 });
  await assert.rejects(endpointsDockerHolds(docker.socket, ['n1'], 100), /no answer within 100 ms/);
  docker.answer = () => ({ status: 200, body: { Containers: 'not a map' } });
  await assert.rejects(endpointsDockerHolds(docker.socket, ['n1'], 1000));
});
