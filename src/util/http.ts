// JSON over HTTP on a UNIX socket: the CLI's way to the daemon, and the
// daemon's and CLI's way to Docker's API.
import { request } from 'node:http';

/** An answer outside 2xx: the peer is there and said no. */
export class HttpStatusError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The answer's body, as text. */
    readonly body = '',
  ) {
    super(message);
  }
}

/**
 * Sends the request; resolves with the parsed JSON reply (undefined for an empty one) on a 2xx status.
 * A failure to connect keeps the socket's error (its `code`) as the cause.
 */
export function requestJson(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs?: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers =
      payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) };
    const req = request({ socketPath, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299)
          return reject(
            new HttpStatusError(`${socketPath} answered ${status} to ${method} ${path}: ${text.trim()}`, status, text),
          );
        if (text.trim() === '') return resolve(undefined);
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new Error(`${socketPath} answered ${method} ${path} with something that is not JSON`));
        }
      });
    });
    req.on('error', (error) => reject(new Error(`cannot reach ${socketPath}: ${error.message}`, { cause: error })));
    if (timeoutMs !== undefined)
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.end(payload);
  });
}

export const getJson = (socketPath: string, path: string, timeoutMs?: number) =>
  requestJson(socketPath, 'GET', path, undefined, timeoutMs);
