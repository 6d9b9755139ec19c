// `tether serve --ui-addr`: the read-only dashboard. The page (ui/) and the
// libraries it imports (preact, htm) are served from the package, never a CDN;
// GET /api/view answers the view now and GET /api/events pushes each change
// (server-sent events). A token, client certificates, or both guard it; open,
// on a loopback address, it answers only requests that name a loopback host
// (a page of another site that rebinds its name to 127.0.0.1 gets nothing).
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isLoopbackHost, type UiConfig } from '../listen-config.js';
import type { Problem } from '../process/recent-problems.js';
import { Access, loopbackHostHeader } from './access.js';
import { DockerNameReader } from './docker-names.js';
import { EventStreams } from './events.js';
import { LiveView } from './live.js';
import { loginPage, pageHeaders, type StaticFile, staticFiles } from './page.js';
import type { ViewSources } from './view.js';

export interface DashboardDeps {
  readonly app: ViewSources['app'];
  readonly host: string;
  readonly mode: ViewSources['mode'];
  readonly problems: () => Problem[];
  readonly dockerSocket: string;
  readonly log: Logger;
}

export interface Dashboard {
  readonly address: string;
  close(): Promise<void>;
}

const WRONG_TOKEN_DELAY_MS = 500;
/** How often the token file is looked at: a new token ends every session. */
const TOKEN_CHECK_MS = 2_000;
/** Paths a browser without a session may load: the login page and its style. */
const OPEN_PATHS = new Set(['/login', '/style.css']);

export async function startDashboard(ui: UiConfig, parts: DashboardDeps): Promise<Dashboard> {
  const token = ui.tokenFile ? (await readFile(ui.tokenFile, 'utf8')).trim() : undefined;
  if (token === '') throw new Error(`--ui-token-file ${ui.tokenFile} is empty`);
  const access = new Access(token);
  const tokenFile = ui.tokenFile;
  if (tokenFile) {
    watchFile(tokenFile, { interval: TOKEN_CHECK_MS }, () => {
      readFile(tokenFile, 'utf8').then(
        (text) => {
          if (text.trim() === '') return;
          access.rotate(text.trim());
          parts.log.info({ tokenFile }, 'the dashboard token changed: every session ended');
        },
        (error: Error) => parts.log.warn({ err: error.message }, 'the dashboard token file cannot be read'),
      );
    });
  }
  const streams = new EventStreams();
  const loopback = isLoopbackHost(ui.host);
  const names = new DockerNameReader(parts.dockerSocket);
  const live = new LiveView(
    {
      app: parts.app,
      host: parts.host,
      mode: parts.mode,
      problems: parts.problems,
      dockerNames: (ids) => names.names(ids),
    },
    parts.log,
  );
  const https = ui.tls && {
    key: readFileSync(ui.tls.key),
    cert: readFileSync(ui.tls.cert),
    ca: readFileSync(ui.tls.ca),
    requestCert: true,
    rejectUnauthorized: true,
  };
  const app = (https ? Fastify({ logger: false, https }) : Fastify({ logger: false })) as unknown as FastifyInstance;
  const files = staticFiles();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, new URLSearchParams(String(body))),
  );
  const refuseToken = async (from: string) => {
    parts.log.warn({ from }, 'a dashboard request with a wrong token');
    // A guesser gets two tries a second per connection, not thousands.
    await sleep(WRONG_TOKEN_DELAY_MS);
  };
  app.addHook('onRequest', async (request, reply) => {
    if (loopback && !loopbackHostHeader(request.headers.host)) {
      return reply.code(421).send({ error: 'the dashboard answers requests for a loopback host only' });
    }
    const path = request.url.split('?')[0] ?? '';
    const verdict = access.check(request.headers);
    if (verdict === 'wrong') await refuseToken(request.ip);
    if (verdict === 'open' || verdict === 'allowed' || (verdict === 'none' && OPEN_PATHS.has(path))) return;
    if (path.startsWith('/api/') || verdict === 'wrong') {
      return reply.code(401).send({ error: 'the dashboard needs its token' });
    }
    return reply.redirect('/login', 303);
  });
  const send = (file: StaticFile) => async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.headers(pageHeaders(file)).send(file.body);
  for (const file of files.values()) app.get(file.path, send(file));
  app.get('/login', send(loginPage()));
  app.post<{ Body: unknown }>('/login', async (request, reply) => {
    const typed = request.body instanceof URLSearchParams ? (request.body.get('token') ?? '') : '';
    const cookie = access.login(typed, Boolean(https));
    if (!cookie) {
      await refuseToken(request.ip);
      const refused = loginPage('That is not the token.');
      return reply.code(401).headers(pageHeaders(refused)).send(refused.body);
    }
    return reply.header('set-cookie', cookie).redirect('/', 303);
  });
  app.get('/api/view', async (_request, reply) =>
    reply
      .type('application/json')
      .header('cache-control', 'no-store')
      .send(await live.current()),
  );
  app.get('/api/events', (request, reply) => {
    reply.hijack();
    if (!streams.open(request.ip, reply.raw, (push) => live.subscribe(push))) {
      reply.raw.writeHead(429, { 'content-type': 'application/json' }).end('{"error":"too many event streams"}');
    }
  });
  const address = await app.listen({ host: ui.host, port: ui.port });
  return {
    address,
    close: async () => {
      if (tokenFile) unwatchFile(tokenFile);
      live.stop();
      // Open event streams would keep close() waiting.
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
