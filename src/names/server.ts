// A DNS server on one address, over UDP and TCP: each query goes to the
// handler with the address it came from; the handler's answer goes back.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import type { Logger } from 'pino';
import { type IpAddress, parseIp } from '../net/ip.js';
import { lengthOf } from './upstream.js';

/** Answers one query (raw bytes); undefined sends nothing back. */
export type QueryHandler = (query: Buffer, source: IpAddress, proto: 'udp' | 'tcp') => Promise<Buffer | undefined>;

/** A client that sends nothing for this long is cut off (RFC 7766 suggests seconds). */
const TCP_IDLE_MS = 10_000;

export class DnsServer {
  private udp: Socket | undefined;
  private tcp: Server | undefined;

  constructor(
    private readonly address: string,
    private readonly port: number,
    private readonly handle: QueryHandler,
    private readonly log: Logger,
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
    const tcp = createServer((socket) => {
      const source = parseIp(socket.remoteAddress ?? '');
      if (!source) return void socket.destroy();
      socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
      socket.on('error', () => socket.destroy());
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const query = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + query.length);
          void this.answer(query, source, 'tcp', (bytes) => socket.write(Buffer.concat([lengthOf(bytes), bytes])));
        }
      });
    });
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
    if (tcp) await new Promise((resolve) => tcp.close(resolve));
  }
}
