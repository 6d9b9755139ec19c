// Where the kernel and the store disagree. The reconcile at start-up repairs
// each kind; the audit reports them. One classification serves both, so what
// the audit calls clean is exactly what the reconcile leaves.
import type { Link } from '../dataplane/dataplane.js';
import { formatCidr } from '../net/ip.js';
import { bridgeOf, kindOf } from './kinds/kind-of.js';
import type { NetworkModes } from './kinds/modes.js';
import { addressesOf, type EndpointRecord, type NetworkRecord } from './records.js';

export interface Drift {
  /**
   * Networks whose objects are not as recorded: a bridge missing, down or without its gateways (or
   * its tunnel device), an uplink off its bridge, a VLAN sub-interface or host shim missing.
   */
  readonly brokenBridges: NetworkRecord[];
  /** Endpoints whose container is gone, or that Docker abandoned before Join. */
  readonly goneEndpoints: EndpointRecord[];
  /** Joined in this life, the peer still on the host after the grace: a slow start or a failed Leave; Docker knows. */
  readonly slowStarts: EndpointRecord[];
  /** Endpoints not joined yet whose interface (veth pair or macvlan) is missing. */
  readonly missingVeths: EndpointRecord[];
  /** Host ends off their bridge or down. */
  readonly detachedVeths: { endpoint: EndpointRecord; bridge: string }[];
  /** tether-made links no network or endpoint owns (a veth pair is named by its host end). */
  readonly orphanLinks: string[];
}

export function findDrift(
  networks: ReadonlyMap<string, NetworkRecord>,
  endpoints: Iterable<EndpointRecord>,
  linkList: readonly Link[],
  modes: Pick<NetworkModes, 'of'>,
  /** This daemon's mark on the links it makes (their ifalias starts with it). */
  ownerAlias: string,
  /**
   * How long Docker may take between calls of one container start, and when this life of tether
   * began (see the rules below).
   */
  grace: { now: number; ms: number; lifeStart: number },
): Drift {
  const links = new Map(linkList.map((l) => [l.name, l]));
  const drift: Drift = {
    brokenBridges: [],
    goneEndpoints: [],
    slowStarts: [],
    missingVeths: [],
    detachedVeths: [],
    orphanLinks: [],
  };
  const owned = new Set<string>();
  for (const network of networks.values()) {
    const mode = modes.of(network);
    for (const name of mode.networkLinks(network)) owned.add(name);
    if (!mode.networkIntact(network, links)) drift.brokenBridges.push(network);
  }
  for (const endpoint of endpoints) {
    for (const name of [endpoint.hostName, endpoint.peerName]) if (name !== undefined) owned.add(name);
    const network = networks.get(endpoint.networkId);
    const view = network && modes.of(network).endpointView(network, endpoint, links);
    // A joined endpoint's peer lives in the container, and the pair vanishes with the container's
    // namespace. After a Leave tether never heard, Docker puts the peer back on the host (and keeps
    // the namespace file), which looks like the time between Join and Docker moving the peer in.
    // That time is the container's creation by the runtime and can run to many seconds on a busy
    // host. Docker's Leave goes unheard while tether is down, so for a Join of an earlier life a
    // peer on the host long after it means a gone container; for a Join of this life, only a Leave
    // that failed here, which Docker's own list tells apart from a slow start. Where nothing on the
    // host shows the container's interface (a macvlan), a Join of an earlier life is Docker's to judge.
    // An endpoint not joined long after CreateEndpoint (or Leave) was abandoned: Docker gave up on
    // the start or the stop (its retry of a call cut short by a crash carries an empty body).
    const old = (since: number | undefined) => grace.now - (since ?? 0) >= grace.ms;
    const joined = endpoint.sandboxKey !== undefined;
    const peerStayed = joined && view?.peerOnHost === true && old(endpoint.joinedAt);
    const thisLife = (endpoint.joinedAt ?? 0) >= grace.lifeStart;
    const unseen = joined && view !== undefined && view.alive === undefined && !thisLife;
    const gone = joined
      ? view?.alive === false || (peerStayed && !thisLife)
      : old(endpoint.leftAt ?? endpoint.createdAt);
    if (network && !gone && (peerStayed || unseen)) drift.slowStarts.push(endpoint);
    if (!network || !view || gone) drift.goneEndpoints.push(endpoint);
    else if (view.placement === 'missing') drift.missingVeths.push(endpoint);
    else if (view.placement === 'detached') drift.detachedVeths.push({ endpoint, bridge: bridgeOf(network) });
  }
  for (const link of links.values()) {
    // Only what carries this daemon's mark: another tether on the host may use the same prefix. A link
    // of the naming before marks is this daemon's only where its store names it (owned, so no orphan).
    if (!link.alias?.startsWith(ownerAlias) || owned.has(link.name)) continue;
    // Deleting a host end takes its peer with it, so a pair counts once.
    if (link.name.endsWith('p') && links.has(link.name.slice(0, -1)) && !owned.has(link.name.slice(0, -1))) continue;
    drift.orphanLinks.push(link.name);
  }
  return drift;
}

export function describeDrift(drift: Drift): string[] {
  return [
    ...drift.brokenBridges.map((n) => kindOf(n).broken),
    ...drift.goneEndpoints.map(
      (e) =>
        `endpoint ${e.id.slice(0, 12)} (${addressesOf(e).map(formatCidr)[0] ?? 'no address'}) has no ` +
        `container any more, or was abandoned before Join`,
    ),
    ...drift.missingVeths.map(
      (e) => `endpoint ${e.id.slice(0, 12)} has no interface ${[e.hostName, e.peerName].filter(Boolean).join(' or ')}`,
    ),
    ...drift.detachedVeths.map(({ endpoint, bridge }) => `veth ${endpoint.hostName} is not up on bridge ${bridge}`),
    ...drift.orphanLinks.map((name) => `interface ${name} belongs to no network or endpoint`),
  ];
}
