// Firewall on iptables (and ip6tables), in chains of tether's own. Docker sets
// FORWARD's policy to DROP, and an accept in a separate nftables table cannot
// override that (a packet must pass every table's hook), so tether's only rules
// in chains not its own are jumps into its chains. Every sync rewrites tether's chains whole in
// one iptables-restore run per family, which is atomic and never duplicates.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { bracketed, formatIp, formatPrefix } from '../net/ip.js';
import { run } from '../util/exec.js';
import type { Firewall, FirewallNetwork } from './dataplane.js';
import { needsLocalnet, syncLocalnet } from './localnet.js';

/** How long iptables waits for the xtables lock: within the tool deadline (util/exec.ts), so a held lock fails. */
const WAIT = ['--wait', '10'];

export interface Chains {
  readonly forward: string;
  readonly isolation: string;
  readonly dnat: string;
  readonly postrouting: string;
  /** In the raw table (IPv4): the guard against loopback destinations arriving on any interface but lo. */
  readonly guard: string;
}

/**
 * Each daemon owns its chains: two tether instances on one host (tether.sock, blue.sock) must not
 * rewrite each other's. The default instance keeps the plain names; iptables allows 28 characters.
 */
export function chainsFor(instance: string): Chains {
  const base =
    instance === 'tether'
      ? 'TETHER'
      : /^[A-Za-z0-9_-]{1,9}$/.test(instance)
        ? `TETHER-${instance}`
        : `TETHER-${createHash('sha256').update(instance).digest('hex').slice(0, 8)}`;
  return {
    forward: `${base}-FORWARD`,
    isolation: `${base}-ISOLATION`,
    dnat: `${base}-DNAT`,
    postrouting: `${base}-POSTROUTING`,
    guard: `${base}-LOOPBACK`,
  };
}

export const DEFAULT_CHAINS = chainsFor('tether');

type Family = 4 | 6;

/** Jumps from the built-in chains into tether's: table, chain, and the rule's match. */
const jumps = (c: Chains, family: Family) => [
  { table: 'filter', chain: 'FORWARD', args: ['-j', c.forward] },
  { table: 'nat', chain: 'PREROUTING', args: ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.dnat] },
  { table: 'nat', chain: 'OUTPUT', args: ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.dnat] },
  { table: 'nat', chain: 'POSTROUTING', args: ['-j', c.postrouting] },
  ...(family === 4 ? [{ table: 'raw', chain: 'PREROUTING', args: ['-j', c.guard] }] : []),
];

/** Each table's chains of tether's, per family. */
const chainsOf = (c: Chains, family: Family) =>
  [
    ['filter', [c.forward, c.isolation]],
    ['nat', [c.dnat, c.postrouting]],
    ...(family === 4 ? [['raw', [c.guard]] as const] : []),
  ] as const;

export interface FamilyRules {
  readonly filter: string[];
  readonly nat: string[];
  readonly raw: string[];
}

/** The rules for these networks in one address family, in iptables-restore syntax. */
export function familyRules(
  networks: readonly FirewallNetwork[],
  family: Family,
  c: Chains = DEFAULT_CHAINS,
): FamilyRules {
  const filter: string[] = [];
  const nat: string[] = [];
  // No packet from a container or a LAN is for the host's loopback (localnet.ts): one rule, whatever the
  // number of networks, as every packet arriving on the host passes it.
  const raw = family === 4 && networks.length > 0 ? [`-A ${c.guard} -d 127.0.0.0/8 ! -i lo -j DROP`] : [];
  const open = networks.filter((n) => !n.internal);
  for (const { bridge } of networks) filter.push(`-A ${c.forward} -i ${bridge} -o ${bridge} -j ACCEPT`);
  for (const { bridge, internal } of networks) {
    if (internal) filter.push(`-A ${c.forward} -i ${bridge} -j DROP`, `-A ${c.forward} -o ${bridge} -j DROP`);
    else filter.push(`-A ${c.forward} -i ${bridge} -j ${c.isolation}`);
  }
  for (const { bridge } of open) filter.push(`-A ${c.isolation} -o ${bridge} -j DROP`);
  for (const network of open) {
    const { bridge } = network;
    const ports = network.ports.filter((p) => p.containerIp.version === family);
    // Written as `iptables -S` prints them, so that verify can compare text with text.
    const host = family === 4 ? 32 : 128;
    for (const port of ports) {
      const match = `-p ${port.proto} -m ${port.proto}`;
      filter.push(
        `-A ${c.forward} -d ${formatIp(port.containerIp)}/${host} -o ${bridge} ${match} --dport ` +
          `${port.containerPort} -j ACCEPT`,
      );
      const destination = port.hostIp ? `-d ${formatIp(port.hostIp)}/${host} ` : '';
      const target = `${bracketed(port.containerIp)}:${port.containerPort}`;
      nat.push(`-A ${c.dnat} ${destination}${match} --dport ${port.hostPort} -j DNAT --to-destination ${target}`);
    }
    filter.push(`-A ${c.forward} -i ${bridge} -j ACCEPT`);
    filter.push(`-A ${c.forward} -o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    // Without NAT the network is routed: other hosts reach it through this one.
    if (!network.nat) filter.push(`-A ${c.forward} -o ${bridge} -j ACCEPT`);
    if (network.nat) {
      for (const subnet of network.subnets.filter((s) => s.version === family)) {
        nat.push(`-A ${c.postrouting} -s ${formatPrefix(subnet)} ! -o ${bridge} -j MASQUERADE`);
      }
    }
    // Published on 127.0.0.1: the DNATed packet keeps its loopback source, which the container could
    // not answer; it leaves with the bridge's address instead (route_localnet lets it out at all).
    if (family === 4 && needsLocalnet(network))
      nat.push(`-A ${c.postrouting} -s 127.0.0.0/8 -o ${bridge} -j MASQUERADE`);
  }
  return { filter, nat, raw };
}

export class IpTables implements Firewall {
  constructor(private readonly chains: Chains = DEFAULT_CHAINS) {}

  /** Families whose jumps this process has put in place; checked once, not on every sync. */
  private readonly jumpsInPlace = new Set<Family>();
  /** The last script applied per family, so that an unchanged family is not rewritten. */
  private readonly applied = new Map<Family, string>();

  async sync(networks: readonly FirewallNetwork[]): Promise<void> {
    await Promise.all(
      ([4, 6] as const).map((family) => (networks.length === 0 ? this.remove(family) : this.apply(family, networks))),
    );
    // Where /proc/sys is read-only (a managed plugin), `tether doctor` reports forwarding instead.
    if (networks.some((n) => !n.internal)) await writeFile('/proc/sys/net/ipv4/ip_forward', '1').catch(() => undefined);
    await syncLocalnet(networks);
  }

  async verify(networks: readonly FirewallNetwork[]): Promise<string[]> {
    const problems: string[] = [];
    for (const family of [4, 6] as const) {
      const tool = family === 4 ? 'iptables' : 'ip6tables';
      const expected = familyRules(networks, family, this.chains);
      for (const jump of jumps(this.chains, family)) {
        const rule = `-A ${jump.chain} ${jump.args.join(' ')}`;
        const count = (await run(tool, [...WAIT, '-t', jump.table, '-S', jump.chain]))
          .split('\n')
          .filter((l) => l === rule).length;
        if (count !== (networks.length ? 1 : 0))
          problems.push(`${tool}: ${jump.table} ${jump.chain} jumps to tether ${count} times`);
      }
      for (const [table, chains] of chainsOf(this.chains, family)) {
        const rules = expected[table];
        const actual: string[] = [];
        for (const chain of chains) {
          const listed = await run(tool, [...WAIT, '-t', table, '-S', chain]).catch(() => '');
          actual.push(...listed.split('\n').filter((l) => l.startsWith('-A ')));
        }
        const wanted = chains.flatMap((chain) => rules.filter((r) => r.startsWith(`-A ${chain} `)));
        if (actual.join('\n') !== wanted.join('\n')) {
          problems.push(
            `${tool}: tether's ${table} chains hold ${actual.length} rules, ${wanted.length} expected, or ` +
              `in another order`,
          );
        }
      }
    }
    return problems;
  }

  private async apply(family: Family, networks: readonly FirewallNetwork[]): Promise<void> {
    const tool = family === 4 ? 'iptables' : 'ip6tables';
    const rules = familyRules(networks, family, this.chains);
    // Declaring a chain in a --noflush restore empties it (or creates it) in the same commit.
    const script = chainsOf(this.chains, family).flatMap(([table, chains]) => [
      `*${table}`,
      ...chains.map((chain) => `:${chain} - [0:0]`),
      ...rules[table],
      'COMMIT',
    ]);
    const text = `${script.join('\n')}\n`;
    // A change to one endpoint's ports usually leaves the other family's rules as they were.
    if (this.applied.get(family) === text && this.jumpsInPlace.has(family)) return;
    await run(`${tool}-restore`, [...WAIT, '--noflush'], text);
    this.applied.set(family, text);
    if (this.jumpsInPlace.has(family)) return;
    await Promise.all(
      jumps(this.chains, family).map(async (jump) => {
        const present = await run(tool, [...WAIT, '-t', jump.table, '-C', jump.chain, ...jump.args]).then(
          () => true,
          () => false,
        );
        if (!present) await run(tool, [...WAIT, '-t', jump.table, '-I', jump.chain, '1', ...jump.args]);
      }),
    );
    this.jumpsInPlace.add(family);
  }

  private async remove(family: Family): Promise<void> {
    const tool = family === 4 ? 'iptables' : 'ip6tables';
    this.jumpsInPlace.delete(family);
    this.applied.delete(family);
    // One read first: a start with no networks, the usual case, finds nothing of tether's and spawns
    // nothing more. Unreadable, every removal is tried, as each one fails harmlessly if not needed.
    const saved = (await run(`${tool}-save`, []).catch(() => undefined))?.split('\n');
    const present = (line: (l: string) => boolean) => saved === undefined || saved.some(line);
    for (const jump of jumps(this.chains, family)) {
      const rule = `-A ${jump.chain} ${jump.args.join(' ')}`;
      if (!present((l) => l === rule)) continue;
      const remove = [...WAIT, '-t', jump.table, '-D', jump.chain, ...jump.args];
      while (
        await run(tool, remove).then(
          () => true,
          () => false,
        )
      );
    }
    for (const [table, chains] of chainsOf(this.chains, family)) {
      for (const chain of chains) {
        if (!present((l) => l.startsWith(`:${chain} `))) continue;
        await run(tool, [...WAIT, '-t', table, '-F', chain]).catch(() => undefined);
        await run(tool, [...WAIT, '-t', table, '-X', chain]).catch(() => undefined);
      }
    }
  }
}
