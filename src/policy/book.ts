// The policies, in the store: one key each under policies/, shared by every
// host of a cluster through etcd. Written only through the operator API; read
// once and followed by watch, each policy alone: one that does not parse (a bad
// selector written by hand) is left out and listed by the audit, which makes
// the table stricter, never looser: deny is the default.
import type { Logger } from 'pino';
import { conflict, notFound } from '../errors.js';
import { Followed } from '../store/followed.js';
import type { Store } from '../store/store.js';
import { formatPolicy, POLICIES, type Policy, parsePolicy, policyKey } from './records.js';

export class PolicyBook {
  private readonly followed: Followed<Policy>;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly store: Store,
    log: Logger,
  ) {
    this.followed = new Followed<Policy>({
      store,
      prefix: POLICIES,
      read: (_, value) => {
        try {
          return { record: parsePolicy(JSON.parse(value)) };
        } catch (error) {
          return { skip: (error as Error).message };
        }
      },
      changed: () => {
        for (const listener of this.listeners) listener();
      },
      skipped: (key, why) => log.warn({ key, why }, 'a policy in the store is unreadable; left out'),
      log,
    });
  }

  /** Reads the policies and follows them. */
  start(): Promise<void> {
    return this.followed.start();
  }

  /** By name, as the store lists them. */
  list(): Policy[] {
    return [...this.followed.records()].map(([, held]) => held.record).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** The policies left out, in words (for the audit). */
  unreadable(): string[] {
    return [...this.followed.unreadable].map(
      ([key, { why }]) => `policy record ${key} is unreadable and left out: ${why}`,
    );
  }

  async get(name: string): Promise<Policy> {
    const entry = await this.store.get(policyKey(name));
    if (!entry) throw notFound(`no policy "${name}"`);
    return parsePolicy(JSON.parse(entry.value));
  }

  /** Adds a policy; one of the same name is replaced only when asked to. */
  async add(policy: Policy, replace: boolean): Promise<void> {
    const key = policyKey(policy.name);
    const guards = replace ? [] : [{ key, revision: 0 }];
    const put = { type: 'put' as const, key, value: JSON.stringify(formatPolicy(policy)) };
    if (!(await this.store.commit(guards, [put])))
      throw conflict(`policy "${policy.name}" exists; --replace changes it`);
  }

  async remove(name: string): Promise<void> {
    const entry = await this.store.get(policyKey(name));
    if (!entry) throw notFound(`no policy "${name}"`);
    await this.store.commit([], [{ type: 'delete', key: policyKey(name) }]);
  }

  /** Calls the listener on every change, this host's or another's. */
  watch(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.followed.close();
  }
}
