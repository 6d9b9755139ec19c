// What the names service did with the queries it got, counted for the metrics
// and the hostile-input tests: answers by rcode, refusals, and drops by reason.

import type { Rcode } from './answer.js';
import type { Rule } from './guard.js';

export type DropReason = 'malformed' | 'outsider' | 'rate' | 'busy' | 'connections';

export class DnsStats {
  queries = 0;
  readonly answers = new Map<Rcode | 'OTHER', number>();
  readonly refusals = new Map<Rule, number>();
  readonly drops = new Map<DropReason, number>();

  answered(rcode: Rcode | 'OTHER'): void {
    this.answers.set(rcode, (this.answers.get(rcode) ?? 0) + 1);
  }

  refused(rule: Rule): void {
    this.refusals.set(rule, (this.refusals.get(rule) ?? 0) + 1);
  }

  dropped(reason: DropReason): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }
}
