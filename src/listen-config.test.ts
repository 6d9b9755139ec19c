// --ui-addr follows the rules of --tcp: plain and open only on loopback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig, type RawConfig } from './config.js';

const RAW: RawConfig = {
  socket: '/run/docker/plugins/tether.sock',
  stateDir: '/var/lib/tether',
  logLevel: 'info',
  interfacePrefix: 'tth',
  mtu: '1500',
  orphanGrace: '60',
  gcInterval: '30',
  store: 'sqlite',
  defaultPool: '10.200.0.0/13:24',
  hostTtl: '10',
  deadHostGrace: '300',
  vxlanPort: '4789',
  dockerSocket: '/var/run/docker.sock',
  scope: 'local',
};
const TLS = { tlsCert: '/etc/tether/cert.pem', tlsKey: '/etc/tether/key.pem', tlsCa: '/etc/tether/ca.pem' };

test('the dashboard is off unless --ui-addr is given, and plain HTTP without a token only on loopback', () => {
  assert.equal(parseConfig(RAW).ui, undefined);
  assert.deepEqual(parseConfig({ ...RAW, uiAddr: '127.0.0.1:9180' }).ui, { host: '127.0.0.1', port: 9180 });
  assert.throws(() => parseConfig({ ...RAW, uiAddr: '0.0.0.0:9180' }), /needs TLS with client certificates/);
  assert.throws(() => parseConfig({ ...RAW, uiAddr: '9180' }), /--ui-addr 9180: expected HOST:PORT/);
  assert.throws(() => parseConfig({ ...RAW, uiTokenFile: '/etc/tether/ui-token' }), /--ui-token-file needs --ui-addr/);
});

test('off loopback, client certificates (the --tls-* files, even without --tcp) protect it; a token alone not', () => {
  assert.throws(
    () => parseConfig({ ...RAW, uiAddr: '[::]:9180', uiTokenFile: '/etc/tether/ui-token' }),
    /needs TLS with client certificates/,
  );
  assert.deepEqual(parseConfig({ ...RAW, ...TLS, uiAddr: '[::]:9180', uiTokenFile: '/etc/tether/ui-token' }).ui, {
    host: '::',
    port: 9180,
    tokenFile: '/etc/tether/ui-token',
    tls: { cert: TLS.tlsCert, key: TLS.tlsKey, ca: TLS.tlsCa },
  });
  const mutual = parseConfig({ ...RAW, ...TLS, uiAddr: '10.0.0.5:9180' });
  assert.deepEqual(mutual.ui?.tls, { cert: TLS.tlsCert, key: TLS.tlsKey, ca: TLS.tlsCa });
  assert.equal(mutual.tcp, undefined);
  assert.throws(() => parseConfig({ ...RAW, ...TLS }), /--tls-\* need --tcp or --ui-addr/);
});
