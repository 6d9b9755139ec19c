import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pluginConfig, settingsFromEnvironment } from './plugin.js';

test("the plugin's settings come from the TETHER_* variables it declares, and from no others", () => {
  const environment = {
    TETHER_SCOPE: 'global',
    TETHER_STORE: 'etcd://10.0.0.1:2379',
    TETHER_SOCKET: '/x',
    PATH: '/bin',
  };
  assert.deepEqual(settingsFromEnvironment(environment), ['TETHER_SCOPE=global', 'TETHER_STORE=etcd://10.0.0.1:2379']);
  assert.deepEqual(settingsFromEnvironment({}), []);
  const declared = (pluginConfig('/state') as { env: { name: string; settable?: string[] }[] }).env;
  for (const name of ['TETHER_SCOPE', 'TETHER_STORE', 'TETHER_HOST_NAME', 'TETHER_DEAD_HOST_GRACE']) {
    assert.deepEqual(declared.find((e) => e.name === name)?.settable, ['value'], name);
  }
});
