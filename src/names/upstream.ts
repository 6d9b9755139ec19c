// The host's usual resolvers, from its resolv.conf, and passing a query to
// them unchanged: over UDP for a UDP query, over TCP for a TCP one, one server
// after another until one answers.
import { createSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { parseIp } from '../net/ip.js';

/** How long one server may take; Docker's own resolver allows 4 s for all of them. */
const SERVER_TIMEOUT_MS = 1_500;

/** The nameserver lines of a resolv.conf, leaving out the address tether serves names on (no loops). */
export function nameservers(resolvConf: string, own: string): string[] {
  return resolvConf.split('\n').flatMap((line) => {
    const [keyword, address = ''] = line.trim().split(/\s+/);
    return keyword === 'nameserver' && address !== own && parseIp(address) ? [address] : [];
  });
}

export class Upstream {
  private servers: string[] = [];
  private readAt = -1;

  constructor(
    private readonly own: string,
    private readonly resolvConf = '/etc/resolv.conf',
    private readonly port = 53,
  ) {}

  /** The servers now: the file is read again when it changed, as resolvers do. */
  current(): string[] {
    let modified: number;
    try {
      modified = statSync(this.resolvConf).mtimeMs;
    } catch {
      return [];
    }
    if (modified !== this.readAt) {
      this.servers = nameservers(readFileSync(this.resolvConf, 'utf8'), this.own);
      this.readAt = modified;
    }
    return this.servers;
  }

  /** The first server's answer, as it sent it; undefined when none answered. */
  async forward(query: Buffer, proto: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    for (const server of this.current()) {
      const answer = await (proto === 'udp' ? overUdp : overTcp)(server, this.port, query).catch(() => undefined);
      if (answer) return answer;
    }
    return undefined;
  }
}

/** One query on a connected socket of its own: only that server's answer reaches it. */
function overUdp(server: string, port: number, query: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(parseIp(server)?.version === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => done(new Error('timed out')), SERVER_TIMEOUT_MS);
    let finished = false;
    const done = (error: Error | undefined, answer?: Buffer) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      if (answer) resolve(answer);
      else reject(error);
    };
    socket.on('message', (message) => done(undefined, message));
    // An unreachable server (ICMP) ends the wait at once.
    socket.on('error', (error) => done(error));
    // A server with no route fails the connect itself (ENETUNREACH).
    socket.connect(port, server, (error?: Error) => (error ? done(error) : socket.send(query)));
  });
}

/** One query over TCP, framed by its two-byte length as RFC 1035 says. */
function overTcp(server: string, port: number, query: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(SERVER_TIMEOUT_MS, () => socket.destroy(new Error('timed out')));
    socket.on('connect', () => socket.write(Buffer.concat([lengthOf(query), query])));
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const received = Buffer.concat(chunks);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.end();
        resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed before answering')));
  });
}

export const lengthOf = (message: Buffer): Buffer => {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return length;
};
