// The host's usual resolvers, from its resolv.conf, and passing a query to
// them: over UDP for a UDP query, over TCP for a TCP one, one server after
// another until one answers. Each query goes out with a random ID of its own
// (from a port of the kernel's random choice), and only an answer with that ID
// and the same question is taken; the client gets it back with its own ID.
import { randomInt } from 'node:crypto';
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

  /** The first server's answer, with the client's ID; undefined when none answered. */
  async forward(query: Buffer, proto: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    const asked = Buffer.from(query);
    asked.writeUInt16BE(randomInt(0x10000), 0);
    const matches = (answer: Buffer) => answers(asked, answer);
    for (const server of this.current()) {
      const answer = await (proto === 'udp' ? overUdp : overTcp)(server, this.port, asked, matches).catch(
        () => undefined,
      );
      if (!answer) continue;
      const theirs = Buffer.from(answer);
      query.copy(theirs, 0, 0, 2);
      return theirs;
    }
    return undefined;
  }
}

/**
 * Whether the bytes answer the query: a response with its ID whose question section is the query's,
 * byte for byte but for the letters' case (a resolver may change it, RFC 4343).
 */
export function answers(query: Buffer, answer: Buffer): boolean {
  if (answer.length < 12 || answer.readUInt16BE(0) !== query.readUInt16BE(0)) return false;
  if (!(answer.readUInt16BE(2) & 0x8000) || answer.readUInt16BE(4) !== 1) return false;
  const end = questionEnd(query);
  return end !== undefined && end <= answer.length && sameText(query.subarray(12, end), answer.subarray(12, end));
}

/** Where the one question of a message ends: its name's labels, then type and class. */
function questionEnd(message: Buffer): number | undefined {
  let at = 12;
  while (at < message.length) {
    const label = message[at] ?? 0;
    if (label === 0) return at + 5 <= message.length ? at + 5 : undefined;
    // A compression pointer or a reserved label type: no query's question has one.
    if (label > 63) return undefined;
    at += label + 1;
  }
  return undefined;
}

const lower = (byte: number) => (byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte);
const sameText = (a: Buffer, b: Buffer) =>
  a.length === b.length && a.every((byte, i) => lower(byte) === lower(b[i] ?? -1));

/** One query on a connected socket of its own: only that server's datagrams reach it, and only an answer ends it. */
function overUdp(server: string, port: number, query: Buffer, matches: (b: Buffer) => boolean): Promise<Buffer> {
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
    // A datagram that does not answer the query (forged, or late for another) is not the answer.
    socket.on('message', (message) => {
      if (matches(message)) done(undefined, message);
    });
    // An unreachable server (ICMP) ends the wait at once.
    socket.on('error', (error) => done(error));
    // A server with no route fails the connect itself (ENETUNREACH).
    socket.connect(port, server, (error?: Error) => (error ? done(error) : socket.send(query)));
  });
}

/** One query over TCP, framed by its two-byte length as RFC 1035 says. */
function overTcp(server: string, port: number, query: Buffer, matches: (b: Buffer) => boolean): Promise<Buffer> {
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
        const answer = received.subarray(2, 2 + received.readUInt16BE(0));
        if (matches(answer)) resolve(answer);
        else reject(new Error('the answer is not for the query'));
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
