// What Docker says of a joined endpoint's container (its name, network aliases
// and labels), read from Docker's API after Join: never in a plugin call
// (Docker may be waiting on tether; a read there can hang), and never blocking
// start-up. Policies need the labels (until they are read the endpoint matches
// no policy: fail-closed); cluster names need the name and aliases. A read that
// fails is retried, with growing pauses, and shown by the audit until it succeeds.
import type { Logger } from 'pino';
import type { EndpointContainer } from '../docker-view.js';
import { LABEL_KEY, LABEL_LIMITS, LABEL_PREFIX } from '../driver/endpoint-options.js';
import type { ContainerRecord } from '../driver/records.js';

/** Container labels tether reads: its own prefix, and Calico's for those moving from calico/libnetwork. */
const CONTAINER_LABEL_PREFIXES = [LABEL_PREFIX, 'org.projectcalico.label.'];
/** A container's network aliases: DNS names, as many as an endpoint's labels. */
const ALIAS_LIMITS = { count: LABEL_LIMITS.count, length: 253 } as const;

/** The endpoints waiting for their container to be read, and where what is read goes. */
export interface ContainerTarget {
  awaitingContainer(): readonly { readonly id: string; readonly networkId: string; readonly joinedAt?: number }[];
  recordContainer(id: string, container: ContainerRecord): Promise<void>;
}

export interface ContainerReaderDeps {
  readonly read: (ref: { networkId: string; endpointId: string }) => Promise<EndpointContainer>;
  readonly log: Logger;
  /** How long Docker may take to list a starting container's endpoint before that counts as a failure. */
  readonly listGraceMs?: number;
}

const FIRST_PAUSE_MS = 100;
const LONGEST_PAUSE_MS = 5_000;

/** tether's labels among a container's labels, prefixes taken off; tether.label.* wins over Calico's. */
function policyLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const prefix of [...CONTAINER_LABEL_PREFIXES].reverse()) {
    for (const [key, value] of Object.entries(labels)) {
      const name = key.slice(prefix.length);
      if (key.startsWith(prefix) && LABEL_KEY.test(name)) picked[name] = value;
    }
  }
  return picked;
}

/**
 * The record, or why it is refused: a container with more tether labels or aliases than a member
 * record may carry stays unread (so in no policy's set) and the audit says why.
 */
function withinLimits(container: ContainerRecord): ContainerRecord {
  const labels = Object.values(container.labels);
  if (labels.length > LABEL_LIMITS.count || labels.some((v) => v.length > LABEL_LIMITS.value)) {
    throw new Error(`more than ${LABEL_LIMITS.count} tether labels, or a value over ${LABEL_LIMITS.value} characters`);
  }
  const aliases = container.aliases ?? [];
  if (aliases.length > ALIAS_LIMITS.count || aliases.some((a) => a.length > ALIAS_LIMITS.length)) {
    throw new Error(`more than ${ALIAS_LIMITS.count} network aliases, or one over ${ALIAS_LIMITS.length} characters`);
  }
  return container;
}

export class ContainerReader {
  private timer: NodeJS.Timeout | undefined;
  private pause = FIRST_PAUSE_MS;
  private running = false;
  private closed = false;
  /** Endpoints whose last read failed, with why: the audit shows them. */
  private readonly failed = new Map<string, string>();
  /** Where reads go: the driver, which is built after the reader (it wakes the reader at each Join). */
  private target: ContainerTarget | undefined;

  constructor(private readonly deps: ContainerReaderDeps) {}

  /** Reads for the target from now on, starting with the endpoints already waiting. */
  serve(target: ContainerTarget): void {
    this.target = target;
    this.wake();
  }

  /** An endpoint joined: read soon. */
  wake(): void {
    this.pause = FIRST_PAUSE_MS;
    this.schedule(0);
  }

  /** The reads that failed, in words. */
  failures(): string[] {
    return [...this.failed].map(([id, why]) => `the container of endpoint ${id.slice(0, 12)} not read: ${why}`);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.closed || this.running || !this.target) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.round(), ms);
    this.timer.unref();
  }

  /** Reads every waiting endpoint once; comes back later while any is left. */
  private async round(): Promise<void> {
    const { target } = this;
    if (!target) return;
    this.running = true;
    try {
      // At once: each record may wait a moment for the cluster store, and they then share it.
      await Promise.all(target.awaitingContainer().map((endpoint) => this.readOne(target, endpoint)));
    } finally {
      this.running = false;
    }
    const waiting = new Set(target.awaitingContainer().map((e) => e.id));
    for (const id of this.failed.keys()) if (!waiting.has(id)) this.failed.delete(id);
    if (waiting.size === 0) return;
    this.schedule(this.pause);
    this.pause = Math.min(this.pause * 2, LONGEST_PAUSE_MS);
  }

  private async readOne(
    target: ContainerTarget,
    endpoint: { id: string; networkId: string; joinedAt?: number },
  ): Promise<void> {
    const { read, log } = this.deps;
    try {
      const container = await read({ networkId: endpoint.networkId, endpointId: endpoint.id });
      if (container === undefined) {
        // No Docker to ask: the endpoint has the labels of its driver options, no others, and no name.
        await target.recordContainer(endpoint.id, { labels: {} });
      } else if (container.found) {
        const { name, aliases, labels } = container;
        await target.recordContainer(endpoint.id, withinLimits({ name, aliases, labels: policyLabels(labels) }));
      } else if (Date.now() - (endpoint.joinedAt ?? 0) > (this.deps.listGraceMs ?? 10_000)) {
        this.failed.set(endpoint.id, 'Docker does not list the endpoint on its network');
        return;
      } else return;
      this.failed.delete(endpoint.id);
    } catch (error) {
      const message = (error as Error).message;
      if (this.failed.get(endpoint.id) !== message)
        log.warn({ endpoint: endpoint.id, err: message }, 'reading the container of an endpoint');
      this.failed.set(endpoint.id, message);
    }
  }
}
