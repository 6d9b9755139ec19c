// The host as a suite found it, and the egress guard the suite runs behind:
// taken before anything starts, put back at the end, and compared with what is
// left, so that what was there before (an installed tether's chains, Docker's)
// is no leftover, and what the suite made and left is.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupHierarchies, must, sh } from './host-tools.js';

export const TEST_RANGE = '10.230.0.0/15';
export const TEST_RANGE6 = 'fd7e:7e7e::/32';
const GUARD = 'TETHER-E2E-EGRESS';

/** Drops forwarded traffic from the test ranges to anywhere else, and routes the ranges nowhere. */
export async function installEgressGuard(): Promise<void> {
  // Multicast stays on its link (IPv6 neighbour discovery needs it); everything else from the
  // test ranges must be for the test ranges.
  const families = [
    ['iptables', TEST_RANGE, ['224.0.0.0/4', '255.255.255.255']],
    ['ip6tables', TEST_RANGE6, ['ff00::/8']],
  ] as const;
  for (const [tool, range, local] of families) {
    await must(tool, '-w', '-t', 'mangle', '-N', GUARD);
    for (const destination of local)
      await must(tool, '-w', '-t', 'mangle', '-A', GUARD, '-d', destination, '-j', 'RETURN');
    await must(tool, '-w', '-t', 'mangle', '-A', GUARD, '-s', range, '!', '-d', range, '-j', 'DROP');
    await must(tool, '-w', '-t', 'mangle', '-I', 'FORWARD', '1', '-j', GUARD);
  }
  // Lookups of unknown names go to a DNS address of the test range, which must die here.
  await must('ip', 'route', 'add', 'unreachable', TEST_RANGE);
  await must('ip', '-6', 'route', 'add', 'unreachable', TEST_RANGE6);
}

interface Before {
  links: string[];
  tables: string[];
  iptables: string;
  ip6tables: string;
  ipForward: string;
  /** Sockets and spec files Docker finds plugins by, before the run. */
  pluginFiles: string[];
  /** The legacy iptables tables registered (asking iptables-legacy about a table creates it). */
  legacyTables: string;
}

/** Where Docker looks for plugins' sockets and spec files. */
const PLUGIN_DIRS = ['/run/docker/plugins', '/etc/docker/plugins'];

function pluginFiles(dir: string): string[] {
  try {
    return readdirSync(dir).map((name) => join(dir, name));
  } catch {
    return [];
  }
}

export class HostSnapshot {
  private constructor(private readonly before: Before) {}

  static async take(): Promise<HostSnapshot> {
    return new HostSnapshot({
      links: await listLinks(),
      tables: await listTables(),
      iptables: await must('iptables-save'),
      ip6tables: await must('ip6tables-save'),
      ipForward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(),
      pluginFiles: PLUGIN_DIRS.flatMap(pluginFiles),
      legacyTables: legacyTables(),
    });
  }

  /** Puts back the firewall, the routes and ip_forward as they were, and takes the guard away. */
  async restore(): Promise<void> {
    const { before } = this;
    await sh('ip', ['route', 'del', 'unreachable', TEST_RANGE]);
    await sh('ip', ['-6', 'route', 'del', 'unreachable', TEST_RANGE6]);
    for (const table of await listTables()) {
      if (!before.tables.includes(table)) await sh('nft', ['delete', ...table.split(' ')]);
    }
    await sh('iptables-restore', [], before.iptables);
    await sh('ip6tables-restore', [], before.ip6tables);
    writeFileSync('/proc/sys/net/ipv4/ip_forward', before.ipForward);
    for (const tool of ['iptables', 'ip6tables']) {
      await sh(tool, ['-w', '-t', 'mangle', '-D', 'FORWARD', '-j', GUARD]);
      await sh(tool, ['-w', '-t', 'mangle', '-F', GUARD]);
      await sh(tool, ['-w', '-t', 'mangle', '-X', GUARD]);
    }
  }

  /** What a finished run must not leave, or must not have taken: each entry names a leftover. */
  async leftovers(marks: { readonly work: string; readonly socket: string }): Promise<string[]> {
    const found: string[] = [];
    const links = await listLinks();
    for (const name of links) if (!this.before.links.includes(name)) found.push(`interface ${name}`);
    // Nor may the run take what was there: a user's bridges and containers' interfaces stay.
    for (const name of this.before.links) if (!links.includes(name)) found.push(`interface ${name} is gone`);
    // Chains there before the run are not its leftovers: an installed tether's, or Docker's.
    const before = new Set([...chainsIn('IPv4', this.before.iptables), ...chainsIn('IPv6', this.before.ip6tables)]);
    const now = [...chainsIn('IPv4', await must('iptables-save')), ...chainsIn('IPv6', await must('ip6tables-save'))];
    for (const chain of now) if (!before.has(chain)) found.push(`firewall chain ${chain}`);
    if ((await listTables()).join() !== this.before.tables.join())
      found.push('nftables tables differ from before the run');
    const routes = await must('ip', 'route', 'show', 'type', 'unreachable');
    if (routes.includes(TEST_RANGE.split('/')[0] ?? '')) found.push('unreachable route');
    const processes = await must('ps', '-eo', 'pid,args');
    for (const line of processes.split('\n')) {
      if (line.includes(marks.work) || line.includes(marks.socket)) found.push(`process ${line.trim()}`);
    }
    if ((await sh('ip', ['netns', 'list'])).stdout.includes('tether-e2e')) found.push('network namespaces');
    for (const entry of readdirSync('/run')) if (entry.startsWith('tether-e2e')) found.push(`/run/${entry}`);
    for (const hierarchy of cgroupHierarchies()) {
      if (readdirSync(hierarchy).some((name) => name.startsWith('tether-e2e'))) found.push(`cgroups in ${hierarchy}`);
    }
    for (const dir of PLUGIN_DIRS) {
      for (const entry of pluginFiles(dir)) if (!this.before.pluginFiles.includes(entry)) found.push(entry);
    }
    if (legacyTables() !== this.before.legacyTables) found.push('legacy iptables tables registered by the run');
    return found;
  }
}

async function listLinks(): Promise<string[]> {
  return (await must('ip', '-o', 'link', 'show'))
    .split('\n')
    .map((line) => line.split(': ')[1]?.split('@')[0] ?? '')
    .filter(Boolean);
}

/** The chains of an iptables-save dump, as "IPv4 nat TETHER-DNAT". */
function chainsIn(family: string, dump = ''): string[] {
  let table = '';
  return dump.split('\n').flatMap((line) => {
    if (line.startsWith('*')) table = line.slice(1);
    return line.startsWith(':') ? [`${family} ${table} ${line.slice(1).split(' ')[0]}`] : [];
  });
}

const legacyTables = () =>
  ['/proc/net/ip_tables_names', '/proc/net/ip6_tables_names']
    .map((path) => (existsSync(path) ? readFileSync(path, 'utf8').trim() : ''))
    .join(' | ');

async function listTables(): Promise<string[]> {
  return (await must('nft', 'list', 'tables')).split('\n').filter(Boolean).sort();
}
