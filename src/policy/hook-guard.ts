// The bridge hooks the policy table depends on (bridge-hooks.ts), kept on while
// a deny network exists. Where they cannot be had, a deny network's traffic
// within its bridge would pass unjudged: its endpoints' ports are shut instead
// (the table's shut), and opened again once the hooks are back.
import type { Logger } from 'pino';
import type { DenyNetwork } from './ruleset.js';
import type { PolicyTable } from './table.js';

export class HookGuard {
  /** Why the table cannot see traffic within a bridge, while it cannot. */
  private unenforced: string | undefined;
  /** The ports shut now, sorted; unknown at the start of a life (an earlier one may have left some shut). */
  private shut: readonly string[] | undefined;

  constructor(
    private readonly table: PolicyTable,
    private readonly log: Logger,
  ) {}

  /** Makes sure the kernel shows the table traffic within a bridge; throws, with the reason, when it cannot. */
  async prepare(): Promise<void> {
    try {
      const turned = await this.table.prepare();
      if (turned.length > 0) {
        this.log.warn(
          { turned },
          "turned on br_netfilter's bridge hooks, which deny networks need: they were off, so traffic between " +
            'containers of one bridge passed no firewall',
        );
      }
      this.unenforced = undefined;
    } catch (error) {
      const reason = (error as Error).message;
      if (this.unenforced !== reason) this.log.error({ reason }, 'deny networks cannot be enforced within a bridge');
      this.unenforced = reason;
      throw error;
    }
  }

  /** prepare, and the deny networks' ports shut while it fails (opened again once it succeeds); throws as prepare. */
  async hold(networks: readonly DenyNetwork[]): Promise<void> {
    const ports = networks.flatMap((n) => n.ports).sort();
    try {
      await this.prepare();
    } catch (error) {
      if (ports.join() !== this.shut?.join()) {
        await this.table.shut(ports);
        this.shut = ports;
        this.log.error({ ports: ports.length }, 'shut the ports of deny networks: nothing passes within their bridges');
      }
      throw error;
    }
    await this.open();
  }

  /** Opens what was shut (the hooks are back). */
  private async open(): Promise<void> {
    if (this.shut?.length === 0) return;
    await this.table.shut([]);
    if (this.shut)
      this.log.info('the bridge hooks are on: the ports of deny networks are open to their policies again');
    this.shut = [];
  }

  /** The table is gone, and the shut ports with it (PolicyTable.remove). */
  removed(): void {
    this.shut = [];
  }

  /** The audit's words while the hooks cannot be had. */
  problems(): string[] {
    if (this.unenforced === undefined) return [];
    const shut = this.shut?.length ? ' (their traffic within the bridge is dropped meanwhile)' : '';
    return [`policies do not hold within a bridge${shut}: ${this.unenforced}`];
  }
}
