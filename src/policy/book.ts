// The policies, in the store: one key each under policies/, shared by every
// host of a cluster through etcd. Written only through the operator API.
import { conflict, notFound } from '../errors.js';
import type { Store } from '../store/store.js';
import { formatPolicy, POLICIES, type Policy, parsePolicy, policyKey } from './records.js';

export class PolicyBook {
  constructor(private readonly store: Store) {}

  async list(): Promise<Policy[]> {
    return (await this.store.list(POLICIES)).map((e) => parsePolicy(JSON.parse(e.value)));
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
    return this.store.watch(POLICIES, listener);
  }
}
