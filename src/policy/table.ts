// The kernel side of policies: tether's own nftables table, behind a narrow
// interface with a real implementation (nftables.ts) and a fake that can fail
// (fake-table.ts), both held to one contract (table-contract.ts).
import { formatIp, parseIp } from '../net/ip.js';
import type { Ruleset } from './ruleset.js';

/** The table in force, as the audit compares it. */
export interface TableView {
  /** Each set's elements, addresses in canonical form. */
  readonly sets: ReadonlyMap<string, readonly string[]>;
  readonly ingressRules: number;
}

export interface PolicyTable {
  /**
   * Makes sure the kernel passes traffic between ports of one bridge through the table (br_netfilter's
   * hooks, which Docker 28 and later no longer turn on); returns what it had to turn on. Throws, with
   * the reason, when it cannot: then a deny network would let such traffic pass, so none is allowed.
   */
  prepare(): Promise<string[]>;
  /**
   * Where prepare fails: drops every frame a bridge forwards to these ports (the host ends of deny
   * networks' endpoints), in a table of the bridge family, which needs no br_netfilter. Traffic within a
   * deny network then stops whole rather than pass unjudged. No ports: that table goes.
   */
  shut(ports: readonly string[]): Promise<void>;
  /** Makes the table exactly this ruleset; the first call replaces whatever an earlier life left, atomically. */
  apply(ruleset: Ruleset): Promise<void>;
  /** Removes the table, and the ports shut with it; an absent table is no error. */
  remove(): Promise<void>;
  /** What the kernel holds; undefined when there is no table. */
  read(): Promise<TableView | undefined>;
}

/** Where the table differs from the ruleset, in words (empty when it does not). */
export function compareTable(view: TableView | undefined, wanted: Ruleset | undefined, table: string): string[] {
  if (!wanted) return view ? [`nftables: table inet ${table} is there, but no network asks for policies`] : [];
  if (!view) return [`nftables: table inet ${table} is missing`];
  const problems: string[] = [];
  const canonical = (e: string) => {
    const ip = parseIp(e);
    return ip ? formatIp(ip) : e;
  };
  for (const [name, set] of wanted.sets) {
    const held = view.sets.get(name);
    if (!held) {
      problems.push(`nftables: set ${name} is missing`);
      continue;
    }
    const want = [...set.elements].map(canonical).sort().join(' ');
    const have = [...held].map(canonical).sort().join(' ');
    if (want !== have) problems.push(`nftables: set ${name} holds {${have}}, not {${want}}`);
  }
  for (const name of view.sets.keys()) if (!wanted.sets.has(name)) problems.push(`nftables: set ${name} is not wanted`);
  if (view.ingressRules !== wanted.rules.length) {
    problems.push(`nftables: the ingress chain holds ${view.ingressRules} rules, ${wanted.rules.length} expected`);
  }
  return problems;
}
