// The HTTP side of the plugin protocol, on fastify. Docker posts JSON without
// a Content-Type (and sometimes no body at all), so every body is read as
// text and parsed here; every reply, errors included, is JSON.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { TetherError } from '../errors.js';
import type { Route } from './route.js';

export const MEDIA_TYPE = 'application/vnd.docker.plugins.v1.2+json';
/** Docker's largest real request is a CreateNetwork with a few subnets; 1 MiB is far above it. */
export const BODY_LIMIT = 1024 * 1024;

export interface ServerOptions {
  readonly logger: Logger;
  readonly routes: readonly Route[];
  /** Extra routes (the operator API) registered on the same server. */
  readonly extend?: (app: FastifyInstance) => void;
  /** Told of every plugin call once it is answered (metrics). */
  readonly onCall?: (call: string, ok: boolean, seconds: number) => void;
  /** Serve HTTPS with client certificates checked against this CA (TCP transport). */
  readonly https?: { readonly key: Buffer; readonly cert: Buffer; readonly ca: Buffer };
}

export function buildServer(options: ServerOptions): FastifyInstance {
  const https = options.https && { ...options.https, requestCert: true, rejectUnauthorized: true };
  // Fastify types an HTTPS server apart from an HTTP one; the routes and hooks are the same.
  const app = (https
    ? Fastify({ logger: false, bodyLimit: BODY_LIMIT, https })
    : Fastify({ logger: false, bodyLimit: BODY_LIMIT })) as unknown as FastifyInstance;
  const log = options.logger;
  const onCall = options.onCall;
  if (onCall) {
    // Only the route table's methods are told: any other path would become a metric series of its own.
    const known = new Set(['/Plugin.Activate', ...options.routes.map((r) => r.path)]);
    app.addHook('onResponse', async (request, reply) => {
      const path = request.routeOptions.url;
      if (request.method !== 'POST' || path === undefined || !known.has(path)) return;
      onCall(path.slice(1), reply.statusCode === 200, reply.elapsedTime / 1000);
    });
  }

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.post('/Plugin.Activate', async (_request, reply) =>
    reply.type(MEDIA_TYPE).send({ Implements: ['NetworkDriver', 'IpamDriver'] }),
  );

  for (const route of options.routes) {
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const started = performance.now();
      const input = parseBody(route.path, request.body, route.schema);
      const result = await route.handle(input);
      log.debug({ call: route.path.slice(1), ms: +(performance.now() - started).toFixed(2) }, 'call');
      return reply.type(MEDIA_TYPE).send(result ?? {});
    };
    app.post(route.path, handler);
    // fastify answers HEAD for every GET route.
    if (route.probe) app.get(route.path, handler);
  }

  options.extend?.(app);

  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type(MEDIA_TYPE)
      .send({ Err: `tether does not implement ${request.method} ${request.url}` }),
  );

  app.setErrorHandler((error, request, reply) => {
    const call = request.url.slice(1);
    if (error instanceof TetherError) {
      const level = error.status >= 500 ? 'error' : 'warn';
      log[level]({ call, code: error.code, err: error.message }, 'call failed');
      return reply.code(error.status).type(MEDIA_TYPE).send({ Err: error.message });
    }
    const status =
      typeof (error as { statusCode?: unknown }).statusCode === 'number'
        ? (error as { statusCode: number }).statusCode
        : 500;
    log[status >= 500 ? 'error' : 'warn']({ call, err: error }, 'call failed');
    const message = status === 413 ? `request body is larger than ${BODY_LIMIT} bytes` : (error as Error).message;
    return reply.code(status).type(MEDIA_TYPE).send({ Err: message });
  });
  return app;
}

/** A request body (text) parsed as JSON and then by the schema; a failure is INVALID_REQUEST, naming the field. */
export function parseBody(path: string, body: unknown, schema: z.ZodType | undefined): unknown {
  const raw = typeof body === 'string' ? body.trim() : '';
  if (!schema) return undefined;
  let json: unknown;
  try {
    json = raw === '' ? null : JSON.parse(raw);
  } catch (error) {
    throw new TetherError(
      'INVALID_REQUEST',
      `${path.slice(1)}: the body is not valid JSON (${(error as Error).message})`,
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'body';
    throw new TetherError('INVALID_REQUEST', `${path.slice(1)}: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
