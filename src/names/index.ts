// Names across hosts, composed: the book of the cluster's names, the askers,
// the host's resolvers and the DNS server on the service address. Docker's
// daemon-wide `dns` setting points at that address; Docker's embedded resolver
// answers the names of its own host and passes the rest here.
import dnsPacket from 'dns-packet';
import type { Logger } from 'pino';
import type { ClusterView } from '../cluster/view/view.js';
import type { Link } from '../dataplane/dataplane.js';
import type { ServiceAddress } from '../dataplane/service-address.js';
import type { EndpointRecord, NetworkRecord } from '../driver/records.js';
import { formatIp } from '../net/ip.js';
import { type Asker, decide, rcodeOf, reply } from './answer.js';
import { Askers } from './askers.js';
import { NameBook } from './book.js';
import { QUERY_LIMIT, screen } from './guard.js';
import { Admission, type QueryLimits } from './limits.js';
import { DnsServer } from './server.js';
import { DnsStats } from './stats.js';
import { Upstream } from './upstream.js';

export interface NamesDeps {
  /** The cluster's records, whose members' names the service answers with. */
  readonly view: ClusterView;
  readonly log: Logger;
  readonly address: string;
  /** 53, but for tests. */
  readonly port?: number;
  readonly serviceAddress: ServiceAddress;
  readonly snapshot: () => { networks: NetworkRecord[]; endpoints: EndpointRecord[] };
  readonly links: () => Promise<Link[]>;
  readonly defaultRouteLinks: () => Promise<string[]>;
  /** The host's resolv.conf and the resolvers' port (a test's own). */
  readonly resolvConf?: string;
  readonly upstreamPort?: number;
  /** How much one source, and everyone, may ask (limits.ts); the defaults but for tests. */
  readonly limits?: QueryLimits;
}

export interface NamesService {
  readonly port: number;
  /** What became of the queries so far. */
  readonly stats: DnsStats;
  close(): Promise<void>;
}

export async function startNames(deps: NamesDeps): Promise<NamesService> {
  const book = new NameBook(deps.view);
  book.start();
  const askers = new Askers(deps);
  const upstream = new Upstream(deps.address, deps.resolvConf, deps.upstreamPort);
  const stats = new DnsStats();
  const admission = new Admission(deps.limits);
  const answer = async (bytes: Buffer, asker: Asker, proto: 'udp' | 'tcp', said: (what: string) => void) => {
    const query = decoded(bytes);
    if (!query) return void stats.dropped('malformed');
    const decision = decide(query, asker, book);
    if (decision.kind === 'answer') {
      said(`${decision.packet.answers?.length ?? 0} records, flags ${decision.packet.flags}`);
      return fitted(dnsPacket.encode(decision.packet), query, proto);
    }
    const forwarded = await upstream.forward(bytes, proto);
    said(forwarded ? 'passed on' : 'passed on, no resolver answered: SERVFAIL');
    return forwarded ?? dnsPacket.encode(reply(query, 'SERVFAIL'));
  };
  // Cheapest first: the header's rules, who asks, the asker's share; only then decoding and work.
  const server = new DnsServer(
    deps.address,
    deps.port ?? 53,
    async (bytes, source, proto) => {
      stats.queries++;
      const screened = screen(bytes, proto);
      if (screened.kind === 'drop') return void stats.dropped('malformed');
      if (screened.kind === 'refuse') {
        stats.refused(screened.rule);
        return screened.reply;
      }
      const said = (what: string) => deps.log.debug({ from: formatIp(source), proto, what }, 'DNS query');
      const asker = await askers.of(source);
      if (!asker) {
        // Nothing back: a reply would go to whatever source the packet claims.
        said('dropped: not a container of this host');
        return void stats.dropped('outsider');
      }
      const admitted = admission.admit(formatIp(source));
      if (admitted !== 'ok') return void stats.dropped(admitted);
      try {
        const out = await answer(bytes, asker, proto, said);
        if (out) stats.answered(rcodeOf(out));
        return out;
      } finally {
        admission.done();
      }
    },
    deps.log,
    stats,
  );
  try {
    await deps.serviceAddress.add();
    await server.listen();
  } catch (error) {
    book.close();
    await server.close();
    await deps.serviceAddress.remove();
    throw error;
  }
  deps.log.info({ address: deps.address, port: server.boundPort }, 'serving the cluster names');
  return {
    port: server.boundPort,
    stats,
    close: async () => {
      book.close();
      await server.close();
      await deps.serviceAddress.remove();
    },
  };
}

/** The query, or undefined for bytes that are none: dropped without a word, as resolvers do. */
function decoded(bytes: Buffer): dnsPacket.DecodedPacket | undefined {
  try {
    return dnsPacket.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * A UDP answer larger than the client takes (and than QUERY_LIMIT, however much it says it takes: UDP
 * sources can be forged) goes back empty and truncated: the client asks again over TCP.
 */
function fitted(answer: Buffer, query: dnsPacket.DecodedPacket, proto: 'udp' | 'tcp'): Buffer {
  const limit = Math.min(query.additionals?.find((a) => a.type === 'OPT')?.udpPayloadSize ?? 512, QUERY_LIMIT);
  if (proto === 'tcp' || answer.length <= limit) return answer;
  const truncated = reply(query, 'NOERROR', [], true);
  return dnsPacket.encode({ ...truncated, flags: (truncated.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE });
}
