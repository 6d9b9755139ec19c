// `tether doctor`: what the host must offer tether, each problem with its fix.
import { access, readFile } from 'node:fs/promises';
import { run } from '../util/exec.js';
import { readAudit, readStatus } from './client.js';
import { namesFindings } from './doctor-names.js';
import type { Finding } from './finding.js';
import { backendOf, dockerBackends, judgeBackends } from './iptables-backend.js';

const sysctl = (path: string) =>
  readFile(`/proc/sys/${path}`, 'utf8').then(
    (v) => v.trim(),
    () => undefined,
  );

export async function diagnose(socket: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = (check: string, ok: boolean, detail: string, fix: string) =>
    findings.push({ check, ok, detail, ...(ok ? {} : { fix }) });

  const tools: [string, string][] = [
    ['ip', '-V'],
    ['iptables', '--version'],
    ['iptables-restore', '--version'],
    ['ip6tables', '--version'],
    ['ip6tables-restore', '--version'],
    // Only networks with -o tether.policy=deny need it.
    ['nft', '--version'],
  ];
  for (const [tool, flag] of tools) {
    const found = await run(tool, [flag]).then(
      () => true,
      () => false,
    );
    add(`tool ${tool}`, found, found ? 'found' : 'not found', 'apt-get install iproute2 iptables nftables');
  }
  // Kernel features are tried, not looked up: a module may be built in, or missing though listed.
  const probe = `tdoc${process.pid % 100000}`;
  const kernel = [
    ['bridge', ['link', 'add', probe, 'type', 'bridge'], 'modprobe bridge'],
    ['veth', ['link', 'add', probe, 'type', 'veth', 'peer', 'name', `${probe}p`], 'modprobe veth'],
  ] as const;
  for (const [feature, args, fix] of kernel) {
    const error = await run('ip', args).then(
      () => undefined,
      (e: Error) => e.message,
    );
    await run('ip', ['link', 'del', probe]).catch(() => undefined);
    add(`kernel ${feature}`, !error, error ?? 'works', fix);
  }
  findings.push(...(await uplinkFindings(socket, probe)));
  findings.push(...(await namesFindings(socket)));
  const nat = await run('iptables', ['-t', 'nat', '-S', 'POSTROUTING']).then(
    () => undefined,
    (e: Error) => e.message,
  );
  add('kernel NAT', !nat, nat ?? 'the nat table works', 'modprobe nf_nat iptable_nat (or nft_chain_nat)');
  const netfilter = await access('/proc/sys/net/bridge').then(
    () => true,
    () => false,
  );
  add('kernel br_netfilter', netfilter, netfilter ? 'loaded' : 'not loaded', 'modprobe br_netfilter');
  const forward = await sysctl('net/ipv4/ip_forward');
  add(
    'IPv4 forwarding',
    forward === '1',
    `net.ipv4.ip_forward = ${forward ?? 'unknown'}`,
    'sysctl -w net.ipv4.ip_forward=1 (tether sets it when it can; outbound NAT and published ports need it)',
  );
  const bridged = await sysctl('net/bridge/bridge-nf-call-iptables');
  add(
    'br_netfilter for iptables',
    bridged === '1',
    `net.bridge.bridge-nf-call-iptables = ${bridged ?? 'unknown'}`,
    'modprobe br_netfilter && sysctl -w net.bridge.bridge-nf-call-iptables=1',
  );
  const policy = await run('iptables', ['-S', 'FORWARD']).then(
    (out) => out.split('\n')[0] ?? '',
    () => '',
  );
  const ours = await run('iptables', ['--version']).then(backendOf, () => undefined);
  const legacyTables = await readFile('/proc/net/ip_tables_names', 'utf8').then(
    (text) => text.split('\n'),
    () => [],
  );
  findings.push(judgeBackends(ours, await dockerBackends(run, legacyTables)));
  findings.push({
    check: 'FORWARD policy',
    ok: true,
    detail: `${policy || 'unknown'} (tether accepts its own traffic either way)`,
  });

  try {
    const report = await readAudit(socket);
    add('daemon', true, `answers on ${socket}`, '');
    const leftovers = report.problems.filter((p) => p.startsWith('interface '));
    add(
      'leftover interfaces',
      leftovers.length === 0,
      leftovers.length ? leftovers.join('; ') : 'none',
      'restart tether: its start-up reconcile deletes interfaces nobody owns',
    );
    const other = report.problems.filter((p) => !p.startsWith('interface '));
    add(
      'audit',
      other.length === 0,
      other.length ? other.join('; ') : 'store and kernel agree',
      'restart tether to reconcile; run `tether audit` for the details',
    );
  } catch (error) {
    add('daemon', false, (error as Error).message, 'start it: tether serve (or systemctl start tether)');
  }
  return findings;
}

/** Each allowed uplink as the daemon sees it, and the kernel features networks on uplinks need. */
async function uplinkFindings(socket: string, probe: string): Promise<Finding[]> {
  const uplinks = await readStatus(socket).then(
    (status) => status.uplinks,
    () => [],
  );
  const findings: Finding[] = uplinks.map((u) => ({
    check: `uplink ${u.name}`,
    ok: u.problem === undefined,
    detail:
      `${u.iface}${u.shared ? ' (shared with the host)' : ''}: ${u.problem ?? 'usable'}` +
      (u.networks.length ? `; networks ${u.networks.join(', ')}` : ''),
    ...(u.problem ? { fix: 'fix the interface, or change tether serve --uplinks (TETHER_UPLINKS)' } : {}),
  }));
  // Tried on a veth pair of doctor's own: a macvlan and a VLAN sub-interface need a parent.
  await run('ip', ['link', 'add', probe, 'type', 'veth', 'peer', 'name', `${probe}p`]).catch(() => undefined);
  const tried = async (args: string[]) => {
    const error = await run('ip', ['link', 'add', 'link', probe, 'name', `${probe}x`, ...args]).then(
      () => undefined,
      (e: Error) => e.message,
    );
    await run('ip', ['link', 'del', `${probe}x`]).catch(() => undefined);
    return error;
  };
  const macvlan = await tried(['type', 'macvlan', 'mode', 'bridge']);
  const vlan = await tried(['type', 'vlan', 'id', '1']);
  await run('ip', ['link', 'del', probe]).catch(() => undefined);
  const needed = uplinks.length > 0;
  findings.push({
    check: 'kernel macvlan',
    ok: !macvlan || !needed,
    detail: macvlan ? `${macvlan}${needed ? '' : ' (no uplinks are allowed, so nothing needs it)'}` : 'works',
    ...(macvlan ? { fix: 'modprobe macvlan' } : {}),
  });
  const tagged = uplinks.some((u) => u.vlans.length > 0);
  findings.push({
    check: 'kernel 802.1q',
    ok: !vlan || !tagged,
    detail: vlan ? `${vlan} (only networks with -o tether.vlan need it; they are refused)` : 'works',
    ...(vlan ? { fix: 'modprobe 8021q' } : {}),
  });
  return findings;
}
