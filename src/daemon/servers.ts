// The daemon's HTTP servers. Each has the plugin protocol's routes and the
// probes; the UNIX socket's (0600, root's) and TCP with mutual TLS also have the
// operator API. Plain TCP (--insecure-tcp, loopback only) does not: through it a
// local user who is not root could write policies and read what tether holds.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { type OperatorDeps, registerOperatorApi } from '../operator/api.js';
import { registerProbes } from '../operator/probes.js';
import type { Readiness } from '../operator/readiness.js';
import type { Route } from '../protocol/route.js';
import { buildServer, type ServerOptions } from '../protocol/server.js';

export interface ServerDeps {
  readonly log: Logger;
  readonly routes: readonly Route[];
  readonly readiness: Readiness;
  readonly operator: OperatorDeps;
}

export class DaemonServers {
  private onCall: ((call: string, ok: boolean, seconds: number) => void) | undefined;
  private readonly built: FastifyInstance[] = [];

  constructor(private readonly parts: ServerDeps) {}

  /** A server, closed with the daemon; with the operator API or without. */
  build(https: ServerOptions['https'] | undefined, operatorApi: boolean): FastifyInstance {
    const { log, routes, readiness, operator } = this.parts;
    const app = buildServer({
      logger: log,
      routes,
      extend: (app) => {
        registerProbes(app, readiness);
        if (operatorApi) registerOperatorApi(app, operator);
      },
      onCall: (...call) => this.onCall?.(...call),
      ...(https ? { https } : {}),
    });
    this.built.push(app);
    return app;
  }

  /** Sets who hears of each plugin call (metrics). */
  observe(listener: (call: string, ok: boolean, seconds: number) => void): void {
    this.onCall = listener;
  }

  async close(): Promise<void> {
    for (const app of this.built) await app.close();
  }
}
