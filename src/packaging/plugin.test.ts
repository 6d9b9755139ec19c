import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainsFor } from '../dataplane/iptables.js';
import { tableFor } from '../policy/nft-script.js';
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
  for (const name of ['TETHER_SCOPE', 'TETHER_STORE', 'TETHER_HOST_NAME', 'TETHER_DEAD_HOST_GRACE', 'TETHER_NAME']) {
    assert.deepEqual(declared.find((e) => e.name === name)?.settable, ['value'], name);
  }
});

test('a managed plugin is not named "tether": a daemon beside it on the host keeps its chains and links', () => {
  const declared = (pluginConfig('/state') as { env: { name: string; value: string }[] }).env;
  const name = declared.find((e) => e.name === 'TETHER_NAME')?.value ?? '';
  assert.equal(name, 'plugin');
  assert.notDeepEqual(chainsFor(name), chainsFor('tether'));
  assert.notEqual(tableFor(name), tableFor('tether'));
});
