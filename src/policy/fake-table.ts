// A policy table in memory, for the tests beneath the kernel. It can be told
// to fail, as nft fails (a kernel without nftables, a script it refuses).
import { TetherError } from '../errors.js';
import type { Ruleset } from './ruleset.js';
import type { PolicyTable, TableView } from './table.js';

/** br_netfilter's two hooks: on, off (prepare turns them on), or impossible (prepare fails with this). */
export type FakeHooks = 'on' | 'off' | { readonly impossible: string };

export class FakePolicyTable implements PolicyTable {
  held: Ruleset | undefined;
  /** Applies so far: each is one transaction. */
  applies = 0;
  /** Set to make every call fail until cleared. */
  failing: string | undefined;
  hooks: FakeHooks = 'on';

  /** The ports shut while the hooks cannot be had (empty: none). */
  shutPorts: readonly string[] = [];

  async shut(ports: readonly string[]): Promise<void> {
    this.fail();
    this.shutPorts = [...ports];
  }

  async prepare(): Promise<string[]> {
    this.fail();
    if (typeof this.hooks === 'object') throw new TetherError('KERNEL', this.hooks.impossible);
    const turned =
      this.hooks === 'off' ? ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables'] : [];
    this.hooks = 'on';
    return turned;
  }

  async apply(ruleset: Ruleset): Promise<void> {
    this.fail();
    this.held = ruleset;
    this.applies++;
  }

  async remove(): Promise<void> {
    this.fail();
    this.held = undefined;
    this.shutPorts = [];
  }

  async read(): Promise<TableView | undefined> {
    this.fail();
    if (!this.held) return undefined;
    return {
      sets: new Map([...this.held.sets].map(([name, set]) => [name, [...set.elements]])),
      ingressRules: this.held.rules.length,
    };
  }

  private fail(): void {
    if (this.failing !== undefined) throw new TetherError('KERNEL', `nft: ${this.failing}`);
  }
}
