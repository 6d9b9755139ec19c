// Keeping the kernel in line with the store, over findDrift: the repair at
// start-up, the collection of endpoints whose container is gone, and the audit.
// One classification serves all three, so what the audit calls clean is
// exactly what the repair leaves.
import type { Link, LinkPlane } from '../dataplane/dataplane.js';
import { formatIp, type IpAddress } from '../net/ip.js';
import type { DriverContext } from './context.js';
import { type Drift, describeDrift, findDrift } from './drift.js';
import type { Endpoints } from './endpoints.js';
import type { Publishing } from './publishing.js';
import { addressesOf, type EndpointRecord } from './records.js';
import type { EndpointsDockerHolds, ReleaseContainerAddress } from './seams.js';

export interface UpkeepSettings {
  /** This daemon's mark on its links: reconcile, the collector and the audit touch no link without it. */
  readonly ownerAlias: string;
  /** How long a container start may take between Docker's calls before its endpoint counts as abandoned. */
  readonly abandonGraceMs: number;
  readonly releaseContainerAddress: ReleaseContainerAddress;
  readonly endpointsDockerHolds?: EndpointsDockerHolds;
}

export interface Reconciled {
  readonly bridgesRepaired: number;
  readonly endpointsFreed: number;
  readonly linksRemoved: number;
}

export class Upkeep {
  /** Addresses of endpoints already freed whose release failed (the store erred); the next round retries. */
  private readonly unreleased = new Map<string, IpAddress>();
  /** When this life began: Docker's Leave reaches tether for every Join since. */
  private readonly lifeStart = Date.now();

  constructor(
    private readonly ctx: DriverContext,
    private readonly links: LinkPlane,
    private readonly endpoints: Endpoints,
    private readonly publishing: Publishing,
    private readonly settings: UpkeepSettings,
  ) {}

  /**
   * Brings the kernel in line with the store at start-up: missing bridges come back, endpoints whose
   * container vanished while tether was down are freed, links nobody owns are deleted. Docker is
   * not asked here: at start-up it may be waiting for tether itself. The caller holds every lock.
   */
  async reconcile(free: (candidates: readonly EndpointRecord[]) => Promise<number>): Promise<Reconciled> {
    const { state, modes, firewall, log } = this.ctx;
    const endpointsFreed = await free((await this.drift()).goneEndpoints);
    // One listing serves the classification and every endpoint's repair.
    const links = await this.links.listLinks();
    const drift = this.driftOf(links);
    for (const network of drift.brokenBridges) await modes.of(network).repairNetwork(network);
    const misplaced = [...drift.missingVeths, ...drift.detachedVeths.map((d) => d.endpoint)];
    for (const endpoint of misplaced) {
      const network = state.network(endpoint.networkId);
      await modes.of(network).repairEndpoint(network, endpoint, links);
    }
    await this.publishing.holdRecorded();
    for (const name of drift.orphanLinks) {
      await this.links.deleteLink(name);
      log.info({ link: name }, 'removed an interface no network or endpoint owns');
    }
    await firewall.syncRules();
    // A policy table that cannot be written now (no nft) is no reason not to start: the last life's
    // table stays in force, and the readiness check and the audit say what is wrong.
    await firewall
      .syncPolicy()
      .catch((error: unknown) => log.error({ err: error }, 'applying policies at start failed'));
    return { bridgesRepaired: drift.brokenBridges.length, endpointsFreed, linksRemoved: drift.orphanLinks.length };
  }

  /**
   * Joined endpoints whose container is gone although Docker never said so: it stopped while tether
   * was down, or Docker's retry of a DeleteEndpoint cut short by a crash arrived with an empty body
   * (Docker does not resend it). Where Docker can be asked, its word overrules the timing: on a
   * loaded host a start can take longer than the grace, and Docker releases what it holds itself.
   */
  async goneEndpoints(askDocker: boolean): Promise<EndpointRecord[]> {
    const { goneEndpoints, slowStarts } = await this.drift();
    if (!askDocker) return goneEndpoints;
    const candidates = [...goneEndpoints, ...slowStarts];
    if (candidates.length === 0) return candidates;
    const held = await this.settings.endpointsDockerHolds?.([...new Set(candidates.map((e) => e.networkId))]);
    // With no Docker to ask, a slow start of this life stays: only Docker can tell it from a failed Leave.
    if (!held) return goneEndpoints;
    return candidates.filter((e) => !held.has(e.id));
  }

  /** Frees the endpoint if it is unchanged since it was judged gone; the caller holds its lock. */
  async freeIfUnchanged(candidate: EndpointRecord): Promise<boolean> {
    const endpoint = this.ctx.state.endpoints.get(candidate.id);
    if (!endpoint || endpoint.sandboxKey !== candidate.sandboxKey) return false;
    await this.endpoints.remove(endpoint);
    for (const cidr of addressesOf(endpoint)) this.unreleased.set(formatIp(cidr.address), cidr.address);
    await this.releaseAddresses();
    this.ctx.log.info({ endpoint: endpoint.id }, 'freed an endpoint whose container is gone');
    return true;
  }

  /** Releases the addresses of endpoints freed before, until the store takes each release. */
  async releaseAddresses(): Promise<void> {
    for (const [text, address] of this.unreleased) {
      await this.settings.releaseContainerAddress(address);
      this.unreleased.delete(text);
    }
  }

  /** Where the kernel differs from the store, links and firewall alike, in words. */
  async audit(): Promise<string[]> {
    const unread = this.ctx.containers?.failures() ?? [];
    return [...describeDrift(await this.drift()), ...(await this.ctx.firewall.verify()), ...unread];
  }

  verifyFirewall(): Promise<string[]> {
    return this.ctx.firewall.verify();
  }

  private async drift(): Promise<Drift> {
    return this.driftOf(await this.links.listLinks());
  }

  private driftOf(links: readonly Link[]): Drift {
    const { ownerAlias, abandonGraceMs } = this.settings;
    return findDrift(this.ctx.state.networks, this.ctx.state.endpoints.values(), links, this.ctx.modes, ownerAlias, {
      now: Date.now(),
      ms: abandonGraceMs,
      lifeStart: this.lifeStart,
    });
  }
}
