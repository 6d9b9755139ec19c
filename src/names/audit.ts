// Do this host's published member records say what its endpoints are? The
// other hosts answer DNS with the names and addresses in them, and send
// traffic by the MACs: a record that differs, is missing or outlived its
// endpoint is a wrong answer somewhere else.
import type { ClusterView } from '../cluster/view/view.js';
import type { ClusterMember } from '../driver/seams.js';

const said = (m: { mac: string; addresses: readonly string[]; name?: string; aliases?: readonly string[] }) =>
  JSON.stringify([m.mac, [...m.addresses].sort(), m.name ?? null, [...(m.aliases ?? [])].sort()]);

export function auditMembers(view: ClusterView, host: string, own: readonly ClusterMember[]): string[] {
  const problems: string[] = [];
  const published = new Map<string, string>();
  for (const { member } of view.ownedBy(host)) published.set(`${member.network}/${member.endpoint}`, said(member));
  for (const member of own) {
    const key = `${member.network}/${member.id}`;
    const record = published.get(key);
    const which = `endpoint ${member.id.slice(0, 12)} of cluster network ${member.network}`;
    if (record === undefined) problems.push(`${which} is not published: other hosts neither reach nor resolve it`);
    else if (record !== said(member)) problems.push(`${which} is published as ${record}, but is ${said(member)}`);
    published.delete(key);
  }
  for (const key of published.keys()) {
    problems.push(`member record ${key} names this host, which has no such endpoint: other hosts resolve a ghost`);
  }
  return problems;
}
