// tether's policy table in the kernel, through `nft -f -`: one transaction per
// change (see nft-script.ts). The first change of a life replaces the table
// whole, so whatever a crashed life left is swapped for the truth at once.
import { z } from 'zod';
import { run } from '../util/exec.js';
import { ensureBridgeHooks } from './bridge-hooks.js';
import { changeScript, fullScript, removeScript, shutScript } from './nft-script.js';
import type { Ruleset } from './ruleset.js';
import type { PolicyTable, TableView } from './table.js';

// Every item of `nft -j list table` is an object with one key: a set, a rule, the table, a chain.
const listing = z.object({
  nftables: z.array(
    z.object({
      set: z.object({ name: z.string(), elem: z.array(z.unknown()).optional() }).optional(),
      rule: z.object({ chain: z.string() }).optional(),
    }),
  ),
});

export class NftTable implements PolicyTable {
  /** What this life last applied: the base of the next change. */
  private applied: Ruleset | undefined;

  /** `bridgeSysctls`: where br_netfilter's settings are (/proc/sys/net/bridge; a test's own folder). */
  constructor(
    readonly table: string,
    private readonly bridgeSysctls?: string,
  ) {}

  prepare(): Promise<string[]> {
    return ensureBridgeHooks(this.bridgeSysctls);
  }

  async shut(ports: readonly string[]): Promise<void> {
    await run('nft', ['-f', '-'], shutScript(this.table, ports));
  }

  async apply(ruleset: Ruleset): Promise<void> {
    const script = this.applied ? changeScript(this.table, this.applied, ruleset) : fullScript(this.table, ruleset);
    if (script !== undefined) {
      try {
        await run('nft', ['-f', '-'], script);
      } catch (error) {
        // Unknown now what the kernel holds: the next change replaces the table whole.
        this.applied = undefined;
        throw error;
      }
    }
    this.applied = ruleset;
  }

  async remove(): Promise<void> {
    try {
      await run('nft', ['-f', '-'], removeScript(this.table));
    } catch (error) {
      // Without nft there is no table of tether's to remove (and no deny network could be made).
      if (!/spawn nft ENOENT/.test((error as Error).message)) throw error;
    }
    this.applied = undefined;
  }

  async read(): Promise<TableView | undefined> {
    let text: string;
    try {
      text = await run('nft', ['-j', 'list', 'table', 'inet', this.table]);
    } catch (error) {
      if (/No such file or directory/.test((error as Error).message)) return undefined;
      throw error;
    }
    const sets = new Map<string, string[]>();
    let ingressRules = 0;
    for (const { set, rule } of listing.parse(JSON.parse(text)).nftables) {
      if (set) sets.set(set.name, (set.elem ?? []).map(String));
      if (rule?.chain === 'ingress') ingressRules++;
    }
    return { sets, ingressRules };
  }
}
