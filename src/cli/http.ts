// GET over a UNIX socket: the CLI's way to the daemon and to Docker's API.
import { request } from 'node:http';

export function getJson(socketPath: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) return reject(new Error(`${socketPath} answered ${res.statusCode} to ${path}: ${body}`));
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`${socketPath} answered ${path} with something that is not JSON`));
        }
      });
    });
    req.on('error', (error) => reject(new Error(`cannot reach ${socketPath}: ${error.message}`)));
    req.end();
  });
}
