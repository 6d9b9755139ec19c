import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardRules } from './iptables.js';

test('the rules for one open and one internal network, in order', () => {
  assert.deepEqual(forwardRules([{ bridge: 'br-a', internal: false }, { bridge: 'br-i', internal: true }]), [
    '-A TETHER-FORWARD -i br-a -o br-a -j ACCEPT',
    '-A TETHER-FORWARD -i br-i -o br-i -j ACCEPT',
    '-A TETHER-FORWARD -i br-a -j TETHER-ISOLATION',
    '-A TETHER-FORWARD -i br-i -j DROP',
    '-A TETHER-FORWARD -o br-i -j DROP',
    '-A TETHER-ISOLATION -o br-a -j DROP',
    '-A TETHER-FORWARD -i br-a -j ACCEPT',
    '-A TETHER-FORWARD -o br-a -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  ]);
});

test('no networks, no rules', () => {
  assert.deepEqual(forwardRules([]), []);
});
