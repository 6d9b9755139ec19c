// The view pushed to open pages: rebuilt every half second while a page is
// open (nothing while none is), sent only when it changed. Readiness runs a
// store write and reads the firewall, so it is refreshed less often.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { buildView, type DashboardView, readReadiness, type ViewSources } from './view.js';

const TICK_MS = 500;
const READINESS_EVERY_MS = 5_000;

type Listener = (json: string) => void;

export class LiveView {
  private readonly listeners = new Set<Listener>();
  private last = '';
  private looping = false;
  /** The last round's failure, logged once rather than at every round. */
  private failure = '';
  private ready: DashboardView['readiness'] | undefined;
  private readyAt = 0;

  constructor(
    private readonly sources: ViewSources,
    private readonly log: Logger,
  ) {}

  /** The view now, as JSON. */
  async current(): Promise<string> {
    if (!this.ready || Date.now() - this.readyAt >= READINESS_EVERY_MS) {
      this.ready = await readReadiness(this.sources.app);
      this.readyAt = Date.now();
    }
    return JSON.stringify(await buildView(this.sources, this.ready));
  }

  /** Sends the view now and at each change; returns the unsubscription. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.last) listener(this.last);
    if (!this.looping) void this.loop();
    return () => this.listeners.delete(listener);
  }

  /** Forgets every page: the loop ends after its round. */
  stop(): void {
    this.listeners.clear();
  }

  /** Rounds while a page listens; each starts after the last ended, so a slow store never piles them up. */
  private async loop(): Promise<void> {
    this.looping = true;
    while (this.listeners.size > 0) {
      try {
        const json = await this.current();
        if (json !== this.last) {
          this.last = json;
          for (const listener of this.listeners) listener(json);
        }
        this.failure = '';
      } catch (error) {
        const message = (error as Error).message;
        if (message !== this.failure) this.log.warn({ err: message }, 'the dashboard could not build its view');
        this.failure = message;
      }
      await sleep(TICK_MS, undefined, { ref: false });
    }
    this.looping = false;
    this.last = '';
  }
}
