// An address of the host's own on its loopback device, for a service every
// container of the host reaches (the names service): /32, so it routes nowhere
// else, and link-local, so no router forwards traffic to it from outside.
import { run } from '../util/exec.js';

export interface ServiceAddress {
  /** Puts the address on lo (again: it may be there from an earlier life). */
  add(): Promise<void>;
  remove(): Promise<void>;
}

export const loopbackAddress = (address: string): ServiceAddress => ({
  add: async () => {
    await run('ip', ['address', 'replace', `${address}/32`, 'dev', 'lo']);
  },
  remove: async () => {
    await run('ip', ['address', 'del', `${address}/32`, 'dev', 'lo']).catch(() => undefined);
  },
});
