// Does Docker write its firewall through the same iptables backend as tether?
// Two backends (legacy and nf_tables) are two firewalls that don't see each
// other: Docker's FORWARD DROP in one, tether's accepts in the other, and
// containers lose traffic with no rule in sight (Kathara #223).
import type { Finding } from './finding.js';

export type Backend = 'legacy' | 'nf_tables';

/** The backend an `iptables --version` line names, if any. */
export const backendOf = (version: string): Backend | undefined =>
  version.includes('(legacy)') ? 'legacy' : version.includes('(nf_tables)') ? 'nf_tables' : undefined;

const TOOL: Record<Backend, string> = { legacy: 'iptables-legacy', nf_tables: 'iptables-nft' };

/** The finding, from tether's backend and the backends in which Docker's chains (DOCKER-USER) exist. */
export function judgeBackends(ours: Backend | undefined, docker: readonly Backend[]): Finding {
  const check = 'iptables backend';
  if (!ours) return { check, ok: false, detail: 'iptables names no backend', fix: 'apt-get install iptables' };
  if (docker.length === 0) {
    return { check, ok: true, detail: `${ours}; Docker's chains are in neither backend (Docker not started yet?)` };
  }
  if (docker.includes(ours)) return { check, ok: true, detail: `${ours}, as Docker's` };
  const theirs = docker[0] ?? ours;
  return {
    check,
    ok: false,
    detail: `tether writes through ${ours}, Docker's chains are in ${theirs}: two firewalls that don't see each other`,
    fix:
      `update-alternatives --set iptables /usr/sbin/${TOOL[theirs]} && ` +
      `update-alternatives --set ip6tables /usr/sbin/${TOOL[theirs].replace('iptables', 'ip6tables')}, ` +
      'then restart tether (and Docker, if it runs as a service)',
  };
}

/**
 * Asks both backends for Docker's DOCKER-USER chain; "no such chain" is the only no. The legacy
 * backend is asked only when its filter table exists (legacyTables, from /proc/net/ip_tables_names):
 * asking would create it, and the check must change nothing.
 */
export async function dockerBackends(
  run: (tool: string, args: string[]) => Promise<string>,
  legacyTables: readonly string[],
): Promise<Backend[]> {
  const found: Backend[] = [];
  const backends = legacyTables.includes('filter') ? (['nf_tables', 'legacy'] as const) : (['nf_tables'] as const);
  for (const backend of backends) {
    const present = await run(TOOL[backend], ['-w', '-t', 'filter', '-S', 'DOCKER-USER']).then(
      () => true,
      // iptables-nft calls a chain another tool made "incompatible": it is there all the same.
      (error: Error) => /incompatible/.test(error.message),
    );
    if (present) found.push(backend);
  }
  return found;
}
