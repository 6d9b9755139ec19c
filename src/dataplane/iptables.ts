// Firewall on iptables (and ip6tables), in chains of tether's own. Docker sets
// FORWARD's policy to DROP and an accept in a separate nftables table cannot
// override that (test-environment.md), so the one rule tether puts in a chain
// not its own is a jump from FORWARD. Every sync rewrites tether's chains
// whole in one iptables-restore run, which is atomic and can never duplicate.
import { run } from '../util/exec.js';
import type { Firewall, FirewallNetwork } from './dataplane.js';

export const FORWARD_CHAIN = 'TETHER-FORWARD';
export const ISOLATION_CHAIN = 'TETHER-ISOLATION';

/** The filter-table rules for these networks, in iptables-restore syntax. */
export function forwardRules(networks: readonly FirewallNetwork[]): string[] {
  const rules: string[] = [];
  for (const { bridge } of networks) rules.push(`-A ${FORWARD_CHAIN} -i ${bridge} -o ${bridge} -j ACCEPT`);
  for (const { bridge, internal } of networks) {
    if (internal) rules.push(`-A ${FORWARD_CHAIN} -i ${bridge} -j DROP`, `-A ${FORWARD_CHAIN} -o ${bridge} -j DROP`);
    else rules.push(`-A ${FORWARD_CHAIN} -i ${bridge} -j ${ISOLATION_CHAIN}`);
  }
  for (const { bridge, internal } of networks) {
    if (!internal) rules.push(`-A ${ISOLATION_CHAIN} -o ${bridge} -j DROP`);
  }
  for (const { bridge, internal } of networks) {
    if (internal) continue;
    rules.push(
      `-A ${FORWARD_CHAIN} -i ${bridge} -j ACCEPT`,
      `-A ${FORWARD_CHAIN} -o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    );
  }
  return rules;
}

export class IpTables implements Firewall {
  async sync(networks: readonly FirewallNetwork[]): Promise<void> {
    for (const tool of ['iptables', 'ip6tables']) {
      if (networks.length === 0) await this.remove(tool);
      else await this.apply(tool, networks);
    }
  }

  async verify(networks: readonly FirewallNetwork[]): Promise<string[]> {
    const problems: string[] = [];
    const expected = forwardRules(networks);
    for (const tool of ['iptables', 'ip6tables']) {
      const jumps = (await run(tool, ['--wait', '-S', 'FORWARD'])).split('\n').filter((l) => l === `-A FORWARD -j ${FORWARD_CHAIN}`).length;
      if (jumps !== (networks.length ? 1 : 0)) problems.push(`${tool}: FORWARD jumps to ${FORWARD_CHAIN} ${jumps} times`);
      const actual: string[] = [];
      for (const chain of [FORWARD_CHAIN, ISOLATION_CHAIN]) {
        const listed = await run(tool, ['--wait', '-S', chain]).catch(() => '');
        actual.push(...listed.split('\n').filter((l) => l.startsWith('-A ')));
      }
      const wanted = [...expected.filter((r) => r.startsWith(`-A ${FORWARD_CHAIN} `)), ...expected.filter((r) => r.startsWith(`-A ${ISOLATION_CHAIN} `))];
      if (actual.join('\n') !== wanted.join('\n')) {
        problems.push(`${tool}: tether's chains hold ${actual.length} rules, ${wanted.length} expected, or in another order`);
      }
    }
    return problems;
  }

  private async apply(tool: string, networks: readonly FirewallNetwork[]): Promise<void> {
    // Declaring a chain in a --noflush restore empties it (or creates it) in the same commit.
    const script = ['*filter', `:${FORWARD_CHAIN} - [0:0]`, `:${ISOLATION_CHAIN} - [0:0]`, ...forwardRules(networks), 'COMMIT', ''];
    await run(`${tool}-restore`, ['--wait', '--noflush'], script.join('\n'));
    if (!(await this.hasJump(tool))) await run(tool, ['--wait', '-I', 'FORWARD', '1', '-j', FORWARD_CHAIN]);
  }

  private async remove(tool: string): Promise<void> {
    while (await this.hasJump(tool)) await run(tool, ['--wait', '-D', 'FORWARD', '-j', FORWARD_CHAIN]);
    for (const chain of [FORWARD_CHAIN, ISOLATION_CHAIN]) {
      await run(tool, ['--wait', '-F', chain]).catch(() => undefined);
      await run(tool, ['--wait', '-X', chain]).catch(() => undefined);
    }
  }

  private hasJump(tool: string): Promise<boolean> {
    return run(tool, ['--wait', '-C', 'FORWARD', '-j', FORWARD_CHAIN]).then(() => true, () => false);
  }
}
