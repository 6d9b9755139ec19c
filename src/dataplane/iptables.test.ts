import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type IpAddress, type IpPrefix, parseIp, parsePrefix } from '../net/ip.js';
import { chainsFor, familyRules } from './iptables.js';
import { needsLocalnet } from './localnet.js';

const ip = (text: string) => parseIp(text) as IpAddress;
const net = (text: string) => parsePrefix(text) as IpPrefix;

const open = {
  bridge: 'br-a',
  internal: false,
  lan: false,
  nat: true,
  subnets: [net('10.1.0.0/24'), net('fd00:1::/64')],
  ports: [
    { proto: 'tcp' as const, hostPort: 8080, containerIp: ip('10.1.0.2'), containerPort: 80 },
    { proto: 'udp' as const, hostIp: ip('127.0.0.1'), hostPort: 5353, containerIp: ip('10.1.0.2'), containerPort: 53 },
    { proto: 'tcp' as const, hostPort: 8080, containerIp: ip('fd00:1::2'), containerPort: 80 },
  ],
};
const routed = { bridge: 'br-r', internal: false, lan: false, nat: false, subnets: [net('10.2.0.0/24')], ports: [] };
const internal = { bridge: 'br-i', internal: true, lan: false, nat: false, subnets: [net('10.3.0.0/24')], ports: [] };

test('IPv4 rules for an open, a routed (no NAT) and an internal network, in order', () => {
  assert.deepEqual(familyRules([open, routed, internal], 4), {
    filter: [
      '-A TETHER-FORWARD -i br-a -o br-a -j ACCEPT',
      '-A TETHER-FORWARD -i br-r -o br-r -j ACCEPT',
      '-A TETHER-FORWARD -i br-i -o br-i -j ACCEPT',
      '-A TETHER-FORWARD -i br-a -j TETHER-ISOLATION',
      '-A TETHER-FORWARD -i br-r -j TETHER-ISOLATION',
      '-A TETHER-FORWARD -i br-i -j DROP',
      '-A TETHER-FORWARD -o br-i -j DROP',
      '-A TETHER-ISOLATION -o br-a -j DROP',
      '-A TETHER-ISOLATION -o br-r -j DROP',
      '-A TETHER-FORWARD -d 10.1.0.2/32 -o br-a -p tcp -m tcp --dport 80 -j ACCEPT',
      '-A TETHER-FORWARD -d 10.1.0.2/32 -o br-a -p udp -m udp --dport 53 -j ACCEPT',
      '-A TETHER-FORWARD -i br-a -j ACCEPT',
      '-A TETHER-FORWARD -o br-a -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A TETHER-FORWARD -i br-r -j ACCEPT',
      '-A TETHER-FORWARD -o br-r -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A TETHER-FORWARD -o br-r -j ACCEPT',
    ],
    nat: [
      '-A TETHER-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.2:80',
      '-A TETHER-DNAT -d 127.0.0.1/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.1.0.2:53',
      '-A TETHER-POSTROUTING -s 10.1.0.0/24 ! -o br-a -j MASQUERADE',
      '-A TETHER-POSTROUTING -s 127.0.0.0/8 -o br-a -j MASQUERADE',
    ],
    raw: ['-A TETHER-LOOPBACK -d 127.0.0.0/8 ! -i lo -j DROP'],
  });
});

test('route_localnet only where a port is reached from the loopback: never internal, never on a LAN bridge', () => {
  assert.equal(needsLocalnet(open), true);
  assert.equal(needsLocalnet(routed), false, 'no ports');
  assert.equal(needsLocalnet({ ...open, lan: true }), false, 'a bridged uplink');
  const [all, loopback] = open.ports;
  assert.equal(needsLocalnet({ ...open, ports: [{ ...all!, hostIp: ip('192.0.2.1') }] }), false, 'one address only');
  assert.equal(needsLocalnet({ ...open, ports: [loopback!] }), true, '127.0.0.1');
  // The 127.x rule that lets such a port's answers out goes with it.
  assert.doesNotMatch(familyRules([{ ...open, lan: true }], 4).nat.join('\n'), /127\.0\.0\.0/);
});

test('IPv6 rules carry only the IPv6 ports and subnets', () => {
  const { nat } = familyRules([open], 6);
  assert.deepEqual(nat, [
    '-A TETHER-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:1::2]:80',
    '-A TETHER-POSTROUTING -s fd00:1::/64 ! -o br-a -j MASQUERADE',
  ]);
});

test('no networks, no rules', () => {
  assert.deepEqual(familyRules([], 4), { filter: [], nat: [], raw: [] });
});

test("each instance has chains of its own, within iptables' 28 characters", () => {
  assert.equal(chainsFor('tether').forward, 'TETHER-FORWARD');
  assert.equal(chainsFor('blue').postrouting, 'TETHER-blue-POSTROUTING');
  const long = chainsFor('a-rather-long-plugin-name');
  assert.match(long.forward, /^TETHER-[0-9a-f]{8}-FORWARD$/);
  for (const chains of [chainsFor('blue'), long, chainsFor('ninechars')]) {
    for (const name of Object.values(chains)) assert.ok(name.length <= 28, name);
  }
});
