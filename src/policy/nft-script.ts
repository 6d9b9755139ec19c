// The nftables scripts that bring tether's policy table from one ruleset to
// the next, each run by one `nft -f`: one transaction, which the kernel applies
// whole or not at all, so packets see the old rules or the new, never a gap.
// Endpoints coming and going change set elements only; a policy or a deny
// network changes the ingress chain, rewritten inside the same transaction.
import { createHash } from 'node:crypto';
import { type AddressSet, BRIDGES_SET, type Ruleset } from './ruleset.js';

/** Each daemon owns its table, as it owns its iptables chains (two tether instances on one host). */
export function tableFor(instance: string): string {
  if (instance === 'tether') return 'tether';
  const safe = /^[A-Za-z0-9_]{1,20}$/.test(instance)
    ? instance
    : createHash('sha256').update(instance).digest('hex').slice(0, 8);
  return `tether_${safe}`;
}

const elementsOf = (set: AddressSet) => set.elements.map((e) => (set.type === 'ifname' ? `"${e}"` : e)).join(', ');

/** The whole table, replacing whatever a table of that name holds (after a restart: whatever it was left with). */
export function fullScript(table: string, ruleset: Ruleset): string {
  const lines = [`table inet ${table}`, `delete table inet ${table}`, `table inet ${table} {`];
  for (const [name, set] of ruleset.sets) {
    const elements = set.elements.length > 0 ? ` elements = { ${elementsOf(set)} };` : '';
    lines.push(`  set ${name} { type ${set.type};${elements} }`);
  }
  lines.push(
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    oifname @${BRIDGES_SET} jump ingress`,
    '  }',
    '  chain ingress {',
    ...ruleset.rules.map((r) => `    ${r}`),
    '  }',
    '}',
  );
  return `${lines.join('\n')}\n`;
}

/** The change from one ruleset to the next; undefined when there is none. */
export function changeScript(table: string, from: Ruleset, to: Ruleset): string | undefined {
  const lines: string[] = [];
  const structural =
    from.rules.join('\n') !== to.rules.join('\n') ||
    [...from.sets.keys()].sort().join() !== [...to.sets.keys()].sort().join();
  for (const [name, set] of to.sets) {
    const before = from.sets.get(name);
    if (!before) {
      lines.push(`add set inet ${table} ${name} { type ${set.type}; }`);
      if (set.elements.length > 0) lines.push(`add element inet ${table} ${name} { ${elementsOf(set)} }`);
      continue;
    }
    const had = new Set(before.elements);
    const has = new Set(set.elements);
    const added = { ...set, elements: set.elements.filter((e) => !had.has(e)) };
    const removed = { ...set, elements: before.elements.filter((e) => !has.has(e)) };
    if (added.elements.length > 0) lines.push(`add element inet ${table} ${name} { ${elementsOf(added)} }`);
    if (removed.elements.length > 0) lines.push(`delete element inet ${table} ${name} { ${elementsOf(removed)} }`);
  }
  if (structural) {
    lines.push(`flush chain inet ${table} ingress`, ...to.rules.map((r) => `add rule inet ${table} ingress ${r}`));
    // After the rules that named them are gone, in the same transaction.
    for (const name of from.sets.keys()) if (!to.sets.has(name)) lines.push(`delete set inet ${table} ${name}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : undefined;
}

/** Both of tether's tables gone: the policies' and the shut ports' (an absent one is no error). */
export function removeScript(table: string): string {
  return `table inet ${table}\ndelete table inet ${table}\n${shutScript(table, [])}`;
}

/** The bridge-family table that drops what bridges forward to these ports; none: the table goes (bridge-hooks.ts). */
export function shutScript(table: string, ports: readonly string[]): string {
  const replace = `table bridge ${table}\ndelete table bridge ${table}\n`;
  if (ports.length === 0) return replace;
  const elements = ports.map((p) => `"${p}"`).join(', ');
  return (
    `${replace}table bridge ${table} {\n  set shut { type ifname; elements = { ${elements} }; }\n` +
    '  chain forward {\n    type filter hook forward priority filter; policy accept;\n' +
    '    oifname @shut drop\n  }\n}\n'
  );
}
