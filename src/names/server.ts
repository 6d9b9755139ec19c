// A DNS server on one address, over UDP and TCP: each query goes to the
// handler with the address it came from; the handler's answer goes back. TCP
// is bounded: connections in all and per source, an idle deadline, a query
// length no larger than any real query, answers in flight per connection
// (reading pauses past it), and a client that does not read its answers is cut.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import type { Logger } from 'pino';
import { type IpAddress, parseIp } from '../net/ip.js';
import { QUERY_LIMIT } from './guard.js';
import type { DnsStats } from './stats.js';
import { lengthOf } from './upstream.js';

/** Answers one query (raw bytes); undefined sends nothing back. */
export type QueryHandler = (query: Buffer, source: IpAddress, proto: 'udp' | 'tcp') => Promise<Buffer | undefined>;

export interface TcpLimits {
  readonly connections: number;
  readonly perSource: number;
  /** A client that sends nothing for this long is cut off (RFC 7766 suggests seconds). */
  readonly idleMs: number;
  /** Queries of one connection being answered at once; reading waits while there are this many. */
  readonly pipelined: number;
  /** Bytes of answers a client may leave unread before it is cut off. */
  readonly unread: number;
}

export const TCP_LIMITS: TcpLimits = { connections: 128, perSource: 16, idleMs: 10_000, pipelined: 16, unread: 65_536 };

export class DnsServer {
  private udp: Socket | undefined;
  private tcp: Server | undefined;
  private readonly perSource = new Map<string, number>();
  private readonly open = new Set<TcpSocket>();

  constructor(
    private readonly address: string,
    private readonly port: number,
    private readonly handle: QueryHandler,
    private readonly log: Logger,
    private readonly stats: DnsStats,
    private readonly limits: TcpLimits = TCP_LIMITS,
  ) {}

  async listen(): Promise<void> {
    const udp = createSocket({ type: parseIp(this.address)?.version === 6 ? 'udp6' : 'udp4' });
    udp.on('message', (query, from) => {
      const source = parseIp(from.address);
      if (source) void this.answer(query, source, 'udp', (bytes) => udp.send(bytes, from.port, from.address));
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.port, this.address, () => {
        udp.off('error', reject);
        udp.on('error', (error) => this.log.warn({ err: error.message }, 'DNS over UDP failed'));
        resolve();
      });
    });
    this.udp = udp;
    const tcp = createServer((socket) => this.serveTcp(socket));
    tcp.maxConnections = this.limits.connections;
    tcp.on('drop', () => this.stats.dropped('connections'));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      // The same port as UDP, the kernel's choice when asked for 0 (tests).
      tcp.listen(this.boundPort, this.address, () => resolve());
    });
    this.tcp = tcp;
  }

  /** The port bound (the one asked for, or the kernel's choice for 0). */
  get boundPort(): number {
    return this.udp?.address().port ?? this.port;
  }

  private serveTcp(socket: TcpSocket): void {
    const from = socket.remoteAddress ?? '';
    const source = parseIp(from);
    const held = this.perSource.get(from) ?? 0;
    if (!source || held >= this.limits.perSource) {
      this.stats.dropped('connections');
      return void socket.destroy();
    }
    this.perSource.set(from, held + 1);
    this.open.add(socket);
    socket.on('close', () => {
      this.open.delete(socket);
      const left = (this.perSource.get(from) ?? 1) - 1;
      if (left > 0) this.perSource.set(from, left);
      else this.perSource.delete(from);
    });
    socket.setTimeout(this.limits.idleMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    let pending = 0;
    const send = (bytes: Buffer) => {
      if (socket.destroyed) return;
      socket.write(Buffer.concat([lengthOf(bytes), bytes]));
      if (socket.writableLength > this.limits.unread) socket.destroy();
    };
    // Queries of this client are taken from the buffer while fewer than `pipelined` are being answered;
    // while as many are, the rest waits in the buffer and the socket is not read (at most one chunk more).
    const take = () => {
      while (buffered.length >= 2 && pending < this.limits.pipelined) {
        const length = buffered.readUInt16BE(0);
        // No real query is this long: nothing more of this client is read or buffered.
        if (length > QUERY_LIMIT) return void socket.destroy();
        if (buffered.length < 2 + length) break;
        const query = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        pending++;
        void this.answer(query, source, 'tcp', send).finally(() => {
          pending--;
          take();
        });
      }
      if (pending >= this.limits.pipelined) socket.pause();
      else if (socket.isPaused()) socket.resume();
    };
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      take();
    });
  }

  private async answer(query: Buffer, source: IpAddress, proto: 'udp' | 'tcp', send: (b: Buffer) => void) {
    try {
      const bytes = await this.handle(query, source, proto);
      if (bytes) send(bytes);
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'answering a DNS query failed');
    }
  }

  async close(): Promise<void> {
    this.udp?.close();
    const tcp = this.tcp;
    for (const socket of this.open) socket.destroy();
    if (tcp) await new Promise((resolve) => tcp.close(resolve));
  }
}
