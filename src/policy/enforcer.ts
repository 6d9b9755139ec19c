// Keeps tether's policy table what the policies, the deny networks and the
// endpoints (this host's, and the cluster's) make it: recomputed whole on each
// change, applied as the difference, one change at a time. While the table is
// there, the kernel's bridge hooks it depends on are checked every few seconds
// and turned on again if someone turned them off (bridge-hooks.ts).
import type { Logger } from 'pino';
import { Coalesced, Serial } from '../util/serial.js';
import type { PolicyBook } from './book.js';
import { HookGuard } from './hook-guard.js';
import type { Policy } from './records.js';
import { computeRuleset, type DenyNetwork, type PolicyEndpoint, type Ruleset } from './ruleset.js';
import { compareTable, type PolicyTable } from './table.js';

/** This host's side: its deny networks and its endpoints. */
interface LocalPolicyView {
  readonly networks: readonly DenyNetwork[];
  readonly endpoints: readonly PolicyEndpoint[];
}

/** Everything the table is made from: the explanation and the operator API judge from the same. */
export interface PolicyInputs {
  readonly policies: readonly Policy[];
  readonly networks: readonly DenyNetwork[];
  readonly endpoints: readonly PolicyEndpoint[];
}

/** The other hosts' endpoints (cluster mode), and word when they change. */
export interface RemoteEndpoints {
  /** Those on these networks (by policy key): the only ones a ruleset uses. */
  list(networks: readonly string[]): PolicyEndpoint[];
  watch(listener: () => void): () => void;
}

export interface EnforcerDeps {
  readonly table: PolicyTable;
  readonly tableName: string;
  readonly book: PolicyBook;
  readonly local: () => LocalPolicyView;
  readonly remote?: RemoteEndpoints;
  readonly log: Logger;
}

/** How often the bridge hooks are checked while a deny network exists: reading two /proc files. */
const HOOKS_CHECK_MS = 2_000;

export class PolicyEnforcer {
  private readonly serial = new Serial();
  private readonly requested = new Coalesced(
    () => this.sync(),
    (error) => this.deps.log.error({ err: error }, 'applying policies failed'),
  );
  /** Whether the kernel holds the table; unknown until the first sync of this life. */
  private present: boolean | undefined;
  private readonly hooks: HookGuard;
  private stops: (() => void)[] = [];

  constructor(private readonly deps: EnforcerDeps) {
    this.hooks = new HookGuard(deps.table, deps.log);
  }

  /** Follows policy changes and the other hosts' endpoints, and keeps the bridge hooks on. */
  start(): void {
    const request = () => this.request();
    const hooks = setInterval(() => {
      if (!this.present) return;
      this.serial.run(() => this.hooks.hold(this.deps.local().networks)).catch(() => undefined);
    }, HOOKS_CHECK_MS);
    hooks.unref();
    this.stops = [
      this.deps.book.watch(request),
      ...(this.deps.remote ? [this.deps.remote.watch(request)] : []),
      () => clearInterval(hooks),
    ];
  }

  /** Makes sure the kernel shows the table traffic within a bridge; throws, with the reason, when it cannot. */
  prepare(): Promise<void> {
    return this.hooks.prepare();
  }

  close(): void {
    for (const stop of this.stops) stop();
  }

  /** Brings the table in line now, without the endpoint `leaving` if given; resolves once the kernel holds it. */
  sync(leaving?: string): Promise<void> {
    return this.serial.run(() => this.apply(leaving));
  }

  /**
   * Brings the table in line soon: requests made while one sync runs collapse into one more (a view
   * read at start, or again after a lost watch, tells thousands of members at once).
   */
  request(): void {
    this.requested.request();
  }

  /** Where the kernel's table differs from what it should be, in words. */
  async audit(): Promise<string[]> {
    const wanted = await this.wanted();
    const held = await this.deps.table.read().catch((error: Error) => error);
    const hooks = [...this.deps.book.unreadable(), ...(wanted ? this.hooks.problems() : [])];
    if (held instanceof Error) {
      return [...hooks, `nftables: table inet ${this.deps.tableName} cannot be read: ${held.message}`];
    }
    return [...hooks, ...compareTable(held, wanted, this.deps.tableName)];
  }

  /** The policies, this host's deny networks, and every endpoint, this host's and (cluster mode) the others'. */
  async inputs(local: LocalPolicyView = this.deps.local()): Promise<PolicyInputs> {
    const remote = this.deps.remote?.list(local.networks.map((n) => n.key)) ?? [];
    return {
      policies: this.deps.book.list(),
      networks: local.networks,
      endpoints: [...local.endpoints, ...remote],
    };
  }

  private async wanted(leaving?: string): Promise<Ruleset | undefined> {
    const all = this.deps.local();
    const local = leaving === undefined ? all : { ...all, endpoints: all.endpoints.filter((e) => e.id !== leaving) };
    // Without a deny network there is no table, and nothing to read from the store for one.
    if (local.networks.length === 0) return undefined;
    const { policies, networks, endpoints } = await this.inputs(local);
    return computeRuleset(policies, networks, endpoints);
  }

  private async apply(leaving?: string): Promise<void> {
    const ruleset = await this.wanted(leaving);
    if (ruleset) {
      await this.deps.table.apply(ruleset);
      this.present = true;
      // After the table: traffic routed into a deny network is judged even where the hooks cannot be had.
      await this.hooks.hold(this.deps.local().networks);
    } else if (this.present !== false) {
      await this.deps.table.remove();
      this.hooks.removed();
      this.present = false;
    }
  }
}
