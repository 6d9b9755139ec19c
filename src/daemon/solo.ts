// One host alone: its IPAM in its own store, nothing shared with other hosts.
import { soloIpam } from '../ipam/index.js';
import type { HostMode, HostModeInput } from './host-mode.js';
import { ipamConfigOf } from './ipam-config.js';

export async function buildSolo({ config, deps, state, closers }: HostModeInput): Promise<HostMode> {
  const { ipam, report } = await soloIpam(deps.store, await ipamConfigOf(config, deps, state));
  closers.push('IPAM', () => ipam.close());
  return { ipam, report, start: async () => ({}) };
}
