// A stand-in for Docker's API on a UNIX socket, for unit tests of tether's calls to it:
// it records each request and answers what the test says.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly body: string;
}
export interface Answer {
  readonly status: number;
  readonly body?: unknown /** Holds the answer this long. */;
  readonly delayMs?: number;
}

export class StandInDocker {
  readonly seen: SeenRequest[] = [];
  /** What each request gets; the test changes it as it goes. */
  answer: (request: SeenRequest) => Answer = () => ({ status: 200, body: {} });

  private constructor(
    private readonly dir: string,
    private readonly server: Server,
  ) {}

  get socket(): string {
    return join(this.dir, 'docker.sock');
  }

  static async start(): Promise<StandInDocker> {
    const dir = mkdtempSync(join(tmpdir(), 'tether-docker-api-'));
    const server = createServer();
    const docker = new StandInDocker(dir, server);
    server.on('request', (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        const request = { method: req.method ?? '', url: req.url ?? '', body };
        docker.seen.push(request);
        const answer = docker.answer(request);
        const reply = () =>
          res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer.body ?? {}));
        if (answer.delayMs) setTimeout(reply, answer.delayMs).unref();
        else reply();
      });
    });
    await new Promise<void>((done) => server.listen(docker.socket, done));
    return docker;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((done) => this.server.close(done));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
